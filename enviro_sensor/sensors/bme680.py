"""Bosch BME680 temperature, pressure, humidity and gas resistance on I2C (i2c group).

Datasheet BST-BME680-DS001: I2C address 0x76 or 0x77 (SDO; on an Enviro+
0x76 is the board's BME280, so a breakout goes at 0x77), chip id 0x61.
Temperature -40..85 C, pressure 300..1100 hPa, humidity 0..100 %RH; the
gas sensor's resistance (ohms, lower with more VOCs) after the hotplate
has heated to 320 C. Read through Pimoroni's ``bme680`` on the board's bus.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from enviro_sensor.sensors import quantities
from enviro_sensor.sensors.base import Field, SensorReader
from enviro_sensor.sensors.registry import SensorKind, register_kind

if TYPE_CHECKING:
    import bme680

    from enviro_sensor.hardware.board import Board

BME680_ADDRESS = 0x77
# 320 C, Bosch's and Pimoroni's example temperature. 30 ms: the datasheet's
# "approximately 20-30 ms are necessary for the heater to reach the
# intended target temperature", and short enough that the driver, which
# polls for new data for about 100 ms, sees the measurement finish.
HEATER_CELSIUS, HEATER_MS = 320, 30

FIELDS = (
    quantities.temperature(),
    quantities.pressure(),
    quantities.humidity(),
    Field(
        "gas_resistance_ohms",
        # The datasheet's gas ranges span about 240 ohms to 8 Mohm at mid-scale.
        100.0,
        1.0e9,
        "enviro_gas_resistance_ohms",
        "Metal-oxide gas sensor resistance by channel (MICS6814: oxidising, reducing, nh3; BME680: voc); "
        "it falls as reducing gases, NH3 and VOCs rise and rises with oxidising gases such as NO2.",
        labels={"channel": "voc"},
        # Left out of a reading whose heater had not reached its temperature.
        optional=True,
        decimals=0,
        example=120_000,
        label="Gas resistance",
        unit="Ω",
    ),
)


class BME680Error(OSError):
    """The BME680 did not finish a measurement in time."""


class BME680Reader(SensorReader):
    """One forced measurement per poll, with the gas hotplate."""

    _driver: bme680.BME680 | None = None

    def open(self, board: Board) -> None:
        import bme680  # with the part, not the table of kinds (see retrievers.bme280)

        try:
            driver = bme680.BME680(self.address, i2c_device=board.i2c_bus(self.sensor.bus))
        except RuntimeError as err:
            # The driver says "not found" for a wrong chip id and for a bus error alike.
            raise BME680Error(str(err)) from err
        # Forced mode a few times a minute: the IIR filter is meant for
        # faster sampling and would only delay a change (datasheet 3.4.4).
        driver.set_filter(bme680.FILTER_SIZE_0)
        driver.set_gas_heater_temperature(HEATER_CELSIUS)
        driver.set_gas_heater_duration(HEATER_MS)
        driver.select_gas_heater_profile(0)
        self._driver = driver

    def read(self) -> dict[str, float]:
        driver = self._driver
        assert driver is not None, "read before open"
        if not driver.get_sensor_data():
            raise BME680Error(f"BME680 at 0x{self.address:02x} did not finish a measurement")
        data = driver.data
        values = {
            "temperature_celsius": data.temperature,
            "pressure_hectopascals": data.pressure,
            "humidity_percent": data.humidity,
        }
        if data.heat_stable:
            values["gas_resistance_ohms"] = data.gas_resistance
        return values

    def close(self) -> None:
        self._driver = None


KIND = register_kind(
    SensorKind(
        kind="bme680",
        description="Bosch BME680 temperature, pressure, humidity and gas",
        fields=FIELDS,
        group="i2c",
        reader=BME680Reader,
        address=BME680_ADDRESS,
        emulation="enviro_sensor.hardware.virtual.chips.bme680:emulate",
    )
)
