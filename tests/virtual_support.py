"""Constants the virtual-board tests share."""

# 09:00 UTC on 15 November 2023: daylight in the model's room.
MORNING = 1_700_038_800.0
