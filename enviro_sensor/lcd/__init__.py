"""The Enviro+ LCD: posted text rendered to fit 160x80 pixels, and pages of readings between messages.

``enviro_sensor.lcd.render`` turns text into an image and ``enviro_sensor.lcd.readings_page`` draws a
readings page (both pure, testable anywhere); ``enviro_sensor.lcd.screen`` decides what
shows between messages; ``enviro_sensor.lcd.display`` owns the panel the board provides
and draws on it.
"""
