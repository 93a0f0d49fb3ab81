"""Constants the virtual-board tests share."""

# 09:00 UTC on 15 November 2023: daylight in the model's room.
MORNING = 1_700_038_800.0

# Board arguments for tests that read the PMS5003: a frame every 10 ms after
# 20 ms of start-up (the real sensor: 1 s each), so a driver's read takes
# milliseconds, even on a ManualClock that nobody advances meanwhile.
FAST_PMS5003 = {"pms5003_frame_interval": 0.01, "pms5003_startup": 0.02, "pms5003_spin_up": 0.02}
