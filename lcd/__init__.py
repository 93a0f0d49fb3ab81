"""The Enviro+ LCD: posted text rendered to fit 160x80 pixels, shown on the ST7735.

``lcd.render`` turns text into an image (pure, testable anywhere);
``lcd.display`` owns the panel the board provides and draws on it.
"""
