"""Lite-On LTR-559ALS-01 on the Enviro+'s I2C bus 1 at 0x23 (weather group).

Datasheet DS86-2013-0003: illuminance 0.01..64k lux, proximity an 11-bit
count (0..2047; larger is nearer). Read through the ltr559 package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from enviro_sensor.sensors.base import Field, SensorReader
from enviro_sensor.sensors.registry import SensorKind, register_kind

if TYPE_CHECKING:
    import ltr559

    from enviro_sensor.hardware.board import Board

LTR559_ADDRESS = 0x23
ALS_FULL_SCALE = 0xFFFF
FIRST_MEASUREMENT_SECONDS = 0.15

FIELDS = (
    Field(
        "illuminance_lux",
        0.0,
        64000.0,
        "enviro_illuminance_lux",
        "Ambient light in lux.",
        example=180.0,
        label="Light",
        device_class="illuminance",
        unit="lx",
    ),
    Field(
        "proximity",
        0,
        2047,
        "enviro_proximity",
        "Proximity as the LTR559's raw 11-bit count (0 to 2047, larger is nearer; no unit).",
        decimals=0,
        example=3,
        label="Proximity",
    ),
)


class LightSaturated(ValueError):
    """The light sensor's counts are at full scale: no lux can be derived."""


class LTR559Reader(SensorReader):
    """Ambient light and proximity."""

    _driver: ltr559.LTR559 | None = None

    def open(self, board: Board) -> None:
        import ltr559  # with the part, not the table of kinds (see retrievers.bme280)

        driver = ltr559.LTR559(i2c_dev=board.i2c_bus(self.sensor.bus))
        # Until its first conversion ends the driver holds zeros, which would
        # read as darkness: wait out one measurement period (the driver sets
        # 50 ms integration, 50 ms repeat; proximity every 100 ms).
        self.clock.sleep(FIRST_MEASUREMENT_SECONDS)
        self._driver = driver

    def read(self) -> dict[str, float]:
        driver = self._driver
        assert driver is not None, "read before open"
        # One status read decides which channels hold new data, then both are read.
        driver.update_sensor()
        if ALS_FULL_SCALE in driver.get_raw_als(passive=True):
            # A saturated channel makes the lux formula meaningless (the
            # datasheet's range shrinks with gain: 64k lux at 1x, 16k at 4x).
            raise LightSaturated("LTR559 light channel saturated")
        return {
            "illuminance_lux": driver.get_lux(passive=True),
            "proximity": driver.get_proximity(passive=True),
        }

    def error_reason(self, err: BaseException) -> str | None:
        return "invalid_reading" if isinstance(err, LightSaturated) else None

    def close(self) -> None:
        self._driver = None


KIND = register_kind(
    SensorKind(
        kind="ltr559",
        description="Lite-On LTR-559 light and proximity",
        fields=FIELDS,
        group="weather",
        reader=LTR559Reader,
        address=LTR559_ADDRESS,
        on_board=True,
        emulation="enviro_sensor.hardware.virtual.chips.ltr559:emulate",
    )
)
