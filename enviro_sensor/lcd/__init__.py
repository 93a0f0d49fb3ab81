"""The Enviro+ LCD: posted text rendered to fit 160x80 pixels, and pages of readings between messages.

``lcd.render`` turns text into an image and ``lcd.readings_page`` draws a
readings page (both pure, testable anywhere); ``lcd.screen`` decides what
shows between messages; ``lcd.display`` owns the panel the board provides
and draws on it.
"""
