"""The built-in sensor groups: the Enviro+'s own parts and the I2C header."""

from __future__ import annotations

from enviro_sensor.sensors.registry import GroupSpec, register_group

register_group(
    GroupSpec(
        "weather",
        "BME280 temperature (raw and CPU-heat compensated), pressure, humidity; LTR559 light and proximity.",
        interval=2.0,
    )
)
register_group(
    GroupSpec(
        "gas",
        "MICS6814 oxidising, reducing and NH3 sensing resistances. "
        "503 while the heater warms up (ENVIRO_GAS_WARMUP).",
        interval=2.0,
    )
)
# "pollution" is what the original service called the particulate route.
register_group(
    GroupSpec(
        "particulates",
        "PMS5003 particulate mass (PM1, PM2.5, PM10; standard and atmospheric) and particle counts.",
        interval=2.0,
        aliases=("pollution",),
    )
)
register_group(
    GroupSpec(
        "i2c",
        "The extra I2C sensors of ENVIRO_I2C_SENSORS (by default an AHT10 and a BMP280).",
        interval=5.0,
    )
)
register_group(
    GroupSpec(
        "noise",
        "The MEMS microphone's sound level and enviroplus's low, mid and high band levels, in dBFS "
        "(one second of sound per poll).",
        interval=5.0,
    )
)
