"""Sensirion SGP40 VOC sensor on I2C, its VOC index by Sensirion's algorithm (i2c group).

SGP40 datasheet (version 1.2): I2C address 0x59, fixed. A metal-oxide
sensor on a hotplate: each sgp40_measure_raw_signal (30 ms) gives SRAW_VOC,
raw ticks (0..65535) that fall as VOCs rise. Sensirion's gas index
algorithm turns the ticks into the VOC index, 1..500, where 100 is the
average of the past day (an index, relative to its own history, without a
unit); it reports 0 for its first 45 s. Read through Sensirion's
``sensirion-i2c-sgp4x`` on the board's bus (``enviro_sensor.sensors.sensirion``), the
index from ``sensirion-gas-index-algorithm``, sampled at the i2c group's
interval (the algorithm takes 1 to 10 s).

Humidity compensation: the datasheet's defaults (50 %RH, 25 C), which turn
it off; the reader asks no other sensor (see docs/architecture.md).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

from enviro_sensor.config.declarations import declare
from enviro_sensor.sensors.base import COMMON_ERROR_REASONS, Field, SensorReader, WarmingUp
from enviro_sensor.sensors.registry import SensorKind, register_kind

if TYPE_CHECKING:
    from sensirion_gas_index_algorithm.voc_algorithm import VocAlgorithm
    from sensirion_i2c_sgp4x.sgp40.device import Sgp40I2cDevice

    from enviro_sensor.clocks import Clock
    from enviro_sensor.hardware.board import Board
    from enviro_sensor.sensors.config import Sensor

log = logging.getLogger(__name__)

SGP40_ADDRESS = 0x59
SELF_TEST_PASSED = 0xD400
# The gas index algorithm's sampling interval, seconds (its documented range).
SAMPLING_LIMITS = (1, 10)
# The algorithm answers 0 for this long after it starts (its initial blackout).
BLACKOUT_SECONDS = 45.0

FIELDS = (
    Field(
        "voc_index",
        1.0,
        500.0,
        # An index, not a concentration: Home Assistant has no device class
        # for it (its VOC classes are concentrations in ug/m3 or ppb).
        "enviro_voc_index",
        "Sensirion VOC index, 1 to 500: 100 is the average of the past day, higher is worse.",
        decimals=0,
        example=100,
        label="VOC index",
    ),
    Field(
        "voc_raw_ticks",
        0.0,
        65535.0,
        "enviro_voc_raw_ticks",
        "SGP40 raw signal SRAW_VOC, ticks; it falls as VOCs rise.",
        decimals=0,
        example=30000,
        label="VOC raw signal",
    ),
)


@dataclasses.dataclass(frozen=True)
class SGP40Options:
    """The VOC algorithm samples at the I2C group's polling interval."""

    i2c_interval: float


SETTINGS = declare("sgp40", SGP40Options, shared=("i2c_interval",))


class SGP40Error(OSError):
    """The SGP40 answered, but not as its datasheet says it should."""


class SGP40Reader(SensorReader):
    """One raw measurement per poll, fed to the VOC index algorithm."""

    def __init__(self, sensor: Sensor, options: SGP40Options, clock: Clock) -> None:
        super().__init__(sensor, options, clock)
        interval = options.i2c_interval
        self.sampling_interval = int(min(max(round(interval), SAMPLING_LIMITS[0]), SAMPLING_LIMITS[1]))
        self._device: Sgp40I2cDevice | None = None
        self._algorithm: VocAlgorithm | None = None
        self._samples = 0

    def open(self, board: Board) -> None:
        # Sensirion's driver and algorithm (a compiled extension) are imported
        # with the part, not the table of kinds (see retrievers.bme280).
        from sensirion_gas_index_algorithm.voc_algorithm import VocAlgorithm
        from sensirion_i2c_sgp4x.sgp40.device import Sgp40I2cDevice

        from enviro_sensor.sensors.sensirion import SmbusConnection

        connection = SmbusConnection(board.i2c_bus(self.sensor.bus), self.clock)
        device = Sgp40I2cDevice(connection, self.address)
        result = device.measure_test()
        if result != SELF_TEST_PASSED:
            raise SGP40Error(f"{self.name} at 0x{self.address:02x} failed its self test (0x{result:04x})")
        log.info("%s: serial number 0x%012x", self.name, device.get_serial_number())
        self._device = device
        # A new algorithm learns the room again from scratch.
        self._algorithm, self._samples = VocAlgorithm(sampling_interval=self.sampling_interval), 0

    def read(self) -> dict[str, float]:
        device, algorithm = self._device, self._algorithm
        assert device is not None and algorithm is not None, "read before open"
        ticks = device.measure_raw().ticks
        index = algorithm.process(ticks)
        self._samples += 1
        if index == 0:
            left = BLACKOUT_SECONDS - self._samples * self.sampling_interval
            raise WarmingUp(max(left, float(self.sampling_interval)))
        return {"voc_index": float(index), "voc_raw_ticks": float(ticks)}

    def error_reason(self, err: BaseException) -> str | None:
        from enviro_sensor.sensors.sensirion import is_checksum_error

        return "checksum" if is_checksum_error(err) else None

    def close(self) -> None:
        device, self._device = self._device, None
        if device is not None:
            try:
                device.turn_heater_off()  # the hotplate draws a few mA for nothing
            except OSError as err:
                log.debug("%s: could not turn the heater off: %s", self.name, err)


KIND = register_kind(
    SensorKind(
        kind="sgp40",
        description="Sensirion SGP40 VOC index",
        fields=FIELDS,
        group="i2c",
        reader=SGP40Reader,
        settings=SETTINGS,
        address=SGP40_ADDRESS,
        emulation="enviro_sensor.hardware.virtual.chips.sgp40:emulate",
        error_reasons=(*COMMON_ERROR_REASONS, "checksum"),
    )
)
