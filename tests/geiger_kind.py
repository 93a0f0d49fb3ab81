"""A sensor kind that exists only in the tests: a Geiger counter on I2C.

Everything a new part needs, in one module and nothing else: its
declaration (fields, group, reader) and its emulated chip. The "datasheet":
a 16-bit count of pulses in the last minute, big-endian, in registers
0x00-0x01; a chip id 0x6E in register 0x0F; address 0x40.
"""

from __future__ import annotations

from enviro_sensor.hardware.virtual.chips.registers import RegisterChip
from enviro_sensor.hardware.virtual.faults import register_device_faults, unregister_device_faults
from enviro_sensor.sensors.base import Field, SensorReader
from enviro_sensor.sensors.registry import SensorKind, register_kind, unregister_kind

ADDRESS = 0x40
CHIP_ID = 0x6E
REG_COUNTS, REG_CHIP_ID = 0x00, 0x0F
# Background radiation indoors: about 20 counts a minute on a small tube.
BACKGROUND_CPM = 20
FAULTS = ("absent", "ioerror", "out-of-range")


class GeigerChip(RegisterChip):
    """The emulated counter: background counts that follow the board's clock."""

    name = "geiger"

    def __init__(self, board, address: int) -> None:
        super().__init__(address, board.faults)
        self._clock = board.clock

    def counts(self) -> int:
        if self.fault() == "out-of-range":
            return 0xFFFF
        minute = int(self._clock.now() // 60)
        return BACKGROUND_CPM + minute % 7

    def read_register(self, register: int) -> int:
        if register == REG_CHIP_ID:
            return CHIP_ID
        if register in (REG_COUNTS, REG_COUNTS + 1):
            return self.counts().to_bytes(2, "big")[register - REG_COUNTS]
        return 0

    def write_register(self, register: int, value: int) -> None:
        pass


def emulate(board, address: int = ADDRESS) -> GeigerChip:
    return GeigerChip(board, address)


class GeigerReader(SensorReader):
    _bus = None

    def open(self, board):
        bus = board.i2c_bus(self.sensor.bus)
        if bus.read_byte_data(self.address, REG_CHIP_ID) != CHIP_ID:
            raise OSError("not a Geiger counter")
        self._bus = bus

    def read(self):
        high, low = self._bus.read_i2c_block_data(self.address, REG_COUNTS, 2)
        return {"radiation_counts_per_minute": (high << 8) | low}


KIND = SensorKind(
    kind="geiger",
    description="Test Geiger counter",
    fields=(
        Field(
            "radiation_counts_per_minute",
            0,
            10_000,
            "enviro_radiation_counts_per_minute",
            "Pulses the tube counted in the last minute.",
            decimals=0,
            example=20,
            label="Radiation",
            unit="CPM",
        ),
    ),
    group="radiation",
    reader=GeigerReader,
    address=ADDRESS,
    emulation=emulate,
)


def register() -> None:
    register_kind(KIND)
    register_device_faults("geiger", FAULTS)


def unregister() -> None:
    unregister_kind("geiger")
    unregister_device_faults("geiger")
