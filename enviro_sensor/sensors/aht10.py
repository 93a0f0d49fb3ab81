"""AHT10 temperature and humidity on smbus2 (no vendor library).

Aosong AHT10 datasheet (v1.1): I2C address 0x38. Initialise with 0xE1 0x08
0x00 (load calibration); trigger a measurement with 0xAC 0x33 0x00, wait at
least 75 ms, read 6 bytes: a status byte (bit 7 busy, bit 3 calibrated), then
20 bits of humidity and 20 bits of temperature.
RH = S_RH / 2^20 * 100 %, T = S_T / 2^20 * 200 - 50 C.
Operating range -40..85 C, 0..100 %RH.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from enviro_sensor.sensors import quantities
from enviro_sensor.sensors.base import SensorReader
from enviro_sensor.sensors.registry import SensorKind, register_kind

if TYPE_CHECKING:
    from enviro_sensor.hardware.board import Board

INITIALISE = (0xE1, 0x08, 0x00)
TRIGGER = (0xAC, 0x33, 0x00)
SOFT_RESET = 0xBA
STATUS_BUSY = 0x80
STATUS_CALIBRATED = 0x08
MEASUREMENT_SECONDS = 0.08  # datasheet: "wait more than 75 ms"
BUSY_POLLS = 5


class AHT10Error(OSError):
    """The AHT10 answered, but not as its datasheet says it should."""


def decode(frame: bytes) -> tuple[float, float]:
    """(temperature C, humidity %) from the 6 bytes after a measurement."""
    if len(frame) != 6:
        raise AHT10Error(f"expected 6 bytes, got {len(frame)}")
    raw_humidity = (frame[1] << 12) | (frame[2] << 4) | (frame[3] >> 4)
    raw_temperature = ((frame[3] & 0x0F) << 16) | (frame[4] << 8) | frame[5]
    return raw_temperature / 2**20 * 200.0 - 50.0, raw_humidity / 2**20 * 100.0


class AHT10Reader(SensorReader):
    """One triggered measurement per poll."""

    _bus: Any = None

    def open(self, board: Board) -> None:
        # smbus2 is imported with the part, not the table of kinds (see retrievers.bme280).
        from smbus2 import i2c_msg

        bus = board.i2c_bus(self.sensor.bus)
        bus.i2c_rdwr(i2c_msg.write(self.address, [SOFT_RESET]))
        self.clock.sleep(0.02)  # soft reset takes up to 20 ms
        bus.i2c_rdwr(i2c_msg.write(self.address, INITIALISE))
        self.clock.sleep(0.01)
        if not self._status(bus) & STATUS_CALIBRATED:
            raise AHT10Error(f"AHT10 at 0x{self.address:02x} reports no calibration")
        self._bus = bus

    def _status(self, bus: Any) -> int:
        from smbus2 import i2c_msg

        status = i2c_msg.read(self.address, 1)
        bus.i2c_rdwr(status)
        return bytes(status)[0]

    def read(self) -> dict[str, float]:
        from smbus2 import i2c_msg

        assert self._bus is not None, "read before open"
        self._bus.i2c_rdwr(i2c_msg.write(self.address, TRIGGER))
        for _ in range(BUSY_POLLS):
            self.clock.sleep(MEASUREMENT_SECONDS)
            frame = i2c_msg.read(self.address, 6)
            self._bus.i2c_rdwr(frame)
            data = bytes(frame)
            if not data[0] & STATUS_BUSY:
                if not data[0] & STATUS_CALIBRATED:
                    # Without its calibration the chip's numbers mean nothing.
                    raise AHT10Error(f"AHT10 at 0x{self.address:02x} lost its calibration")
                temperature, humidity = decode(data)
                return {"temperature_celsius": temperature, "humidity_percent": humidity}
        raise AHT10Error(f"AHT10 at 0x{self.address:02x} stayed busy")

    def close(self) -> None:
        self._bus = None


KIND = register_kind(
    SensorKind(
        kind="aht10",
        description="Aosong AHT10 temperature and humidity",
        fields=(quantities.temperature(), quantities.humidity()),
        group="i2c",
        reader=AHT10Reader,
        address=0x38,
        emulation="enviro_sensor.hardware.virtual.chips.aht10:emulate",
    )
)
