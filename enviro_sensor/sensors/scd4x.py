"""Sensirion SCD40/SCD41 CO2, temperature and humidity on I2C (i2c group).

SCD4x datasheet (version 1.5): I2C address 0x62, fixed. A photoacoustic
NDIR CO2 sensor with an SHT4x-class temperature and humidity sensor.
Periodic measurement gives a new value every 5 s; CO2 in ppm (output range
0-40000 ppm, accuracy +-(50 ppm + 5 %) from 400 to 2000 ppm on the SCD40,
+-(40 ppm + 5 %) on the SCD41), temperature in C (-10..60 C operating
range) and relative humidity in % (0..100 %RH). Read through Sensirion's
``sensirion-i2c-scd4x`` on the board's bus (``enviro_sensor.sensors.sensirion``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from enviro_sensor.sensors import quantities
from enviro_sensor.sensors.base import COMMON_ERROR_REASONS, Field, SensorReader, WarmingUp
from enviro_sensor.sensors.registry import SensorKind, register_kind

if TYPE_CHECKING:
    from sensirion_i2c_scd4x import Scd4xDevice

    from enviro_sensor.clocks import Clock
    from enviro_sensor.hardware.board import Board
    from enviro_sensor.sensors.config import Sensor

log = logging.getLogger(__name__)

SCD4X_ADDRESS = 0x62
# A new measurement every 5 s in periodic mode (datasheet section 3.5.1).
MEASUREMENT_INTERVAL = 5.0
# A measurement is served again until two more should have come: a poll
# between two measurements gets the latest one, a sensor that stopped
# measuring fails within three intervals.
KEEP_SECONDS = 3 * MEASUREMENT_INTERVAL
# What get_sensor_variant says (bits 15-12) for each kind.
VARIANT_NAMES = {"scd40": "SCD40", "scd41": "SCD41"}

FIELDS = (
    Field(
        "co2_ppm",
        0.0,
        40_000.0,
        # Prometheus has no base unit for a volume fraction other than a
        # ratio; CO2 limits and every CO2 meter are written in ppm, so the
        # metric keeps ppm, a documented exception like ug/m3.
        "enviro_carbon_dioxide_ppm",
        "CO2 concentration, parts per million by volume (NDIR).",
        decimals=0,
        example=650,
        label="CO₂",
        device_class="carbon_dioxide",
        unit="ppm",
    ),
    quantities.temperature(low=-10.0, high=60.0),
    quantities.humidity(),
)


class SCD4xError(OSError):
    """The SCD4x answered, but not as its datasheet says it should."""


class SCD4xReader(SensorReader):
    """Periodic measurement, started at open; each poll takes the newest value."""

    def __init__(self, sensor: Sensor, options: Any, clock: Clock) -> None:
        super().__init__(sensor, options, clock)
        self._device: Scd4xDevice | None = None
        self._started = 0.0
        self._latest: dict[str, float] | None = None
        self._latest_at = 0.0

    def open(self, board: Board) -> None:
        # Sensirion's driver is imported with the part, not the table of kinds
        # (see retrievers.bme280).
        from sensirion_driver_adapters.i2c_adapter.i2c_channel import I2cChannel
        from sensirion_i2c_scd4x import Scd4xDevice

        from enviro_sensor.sensors.sensirion import SENSIRION_CRC, SmbusConnection

        connection = SmbusConnection(board.i2c_bus(self.sensor.bus), self.clock)
        device = Scd4xDevice(I2cChannel(connection, self.address, crc=SENSIRION_CRC))
        # Sensirion's start-up sequence: wake an SCD41 that was powered down
        # (it does not acknowledge; the driver ignores that), stop a periodic
        # measurement a previous run left going (only then does it listen
        # to other commands), and reload the settings from its EEPROM.
        device.wake_up()
        device.stop_periodic_measurement()
        device.reinit()
        serial = device.get_serial_number()
        variant = device.get_sensor_variant()
        expected = VARIANT_NAMES.get(self.sensor.kind.kind)
        if expected is not None and variant.name != expected:
            raise SCD4xError(
                f"{self.name} at 0x{self.address:02x} is an {variant.name.lower()}, "
                f"not an {self.sensor.kind.kind}: list it as {variant.name.lower()}"
            )
        device.start_periodic_measurement()
        log.info("%s: serial number 0x%012x, measuring every %g s", self.name, serial, MEASUREMENT_INTERVAL)
        self._device, self._started = device, self.clock.monotonic()
        self._latest = None

    def read(self) -> dict[str, float]:
        device = self._device
        assert device is not None, "read before open"
        now = self.clock.monotonic()
        if device.get_data_ready_status():
            co2, temperature, humidity = device.read_measurement()
            self._latest = {
                "co2_ppm": float(co2.value),
                "temperature_celsius": temperature.value,
                "humidity_percent": humidity.value,
            }
            self._latest_at = now
            return dict(self._latest)
        if self._latest is not None and now - self._latest_at <= KEEP_SECONDS:
            return dict(self._latest)
        since = self._latest_at if self._latest is not None else self._started
        if self._latest is None and now - since < MEASUREMENT_INTERVAL:
            raise WarmingUp(MEASUREMENT_INTERVAL - (now - since))
        raise SCD4xError(f"{self.name} at 0x{self.address:02x}: no new measurement for {now - since:.0f} s")

    def error_reason(self, err: BaseException) -> str | None:
        from enviro_sensor.sensors.sensirion import is_checksum_error

        return "checksum" if is_checksum_error(err) else None

    def close(self) -> None:
        # Left measuring, the sensor would keep heating itself; the next
        # open stops it anyway, so a failure here changes nothing.
        device, self._device = self._device, None
        if device is not None:
            try:
                device.stop_periodic_measurement()
            except OSError as err:
                log.debug("%s: could not stop measuring: %s", self.name, err)


for _kind, _description in (
    ("scd40", "Sensirion SCD40 CO2, temperature and humidity"),
    ("scd41", "Sensirion SCD41 CO2, temperature and humidity"),
):
    register_kind(
        SensorKind(
            kind=_kind,
            description=_description,
            fields=FIELDS,
            group="i2c",
            reader=SCD4xReader,
            address=SCD4X_ADDRESS,
            emulation=f"enviro_sensor.hardware.virtual.chips.scd4x:{'emulate' if _kind == 'scd41' else 'emulate_scd40'}",
            error_reasons=(*COMMON_ERROR_REASONS, "checksum"),
        )
    )
