"""SGX MICS6814 gas sensor, read through a TI ADS1015 ADC at 0x49 on bus 1 (gas group).

The MICS6814 (datasheet 1143 rev 8) has three metal-oxide sensing elements
whose resistance changes with their target gases: oxidising (NO2 raises
it), reducing (CO lowers it) and NH3 (lowers it). On the Enviro+ each forms
a divider with 56 kOhm on a 3.3 V rail, read on ADS1015 channels 0, 1 and
2, so R = V * 56000 / (3.3 - V). The
heater (GPIO 24) must run for minutes before the resistances mean anything:
until ``warmup_seconds`` have passed the group reports "warming up".
Each channel's ratio to its learned clean-air resistance, Rs/R0, is derived
by ``enviro_sensor.sensors.gas_baseline``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from enviro_sensor.sensors import gas_baseline
from enviro_sensor.sensors.base import Field, SensorReader, WarmingUp
from enviro_sensor.sensors.registry import SensorKind, register_kind

if TYPE_CHECKING:
    from enviro_sensor.clocks import Clock
    from enviro_sensor.hardware.board import Board
    from enviro_sensor.sensors.config import Sensor
    from enviro_sensor.sensors.timed_ads1015 import TimedADS1015

ADS1015_ADDRESS = 0x49
SUPPLY_VOLTS = 3.3
LOAD_OHMS = 56_000.0
# +-6.144 V full scale: the widest range, covering the 3.3 V rail.
GAIN = 6.144
CHANNELS = (("oxidising", "in0/gnd"), ("reducing", "in1/gnd"), ("nh3", "in2/gnd"))
# Warm elements in clean indoor air, for the API documentation's examples.
TYPICAL_OHMS = {"oxidising": 20_000.0, "reducing": 400_000.0, "nh3": 160_000.0}
# What each channel is called where people read it.
CHANNEL_LABELS = {"oxidising": "Oxidising gas", "reducing": "Reducing gas", "nh3": "NH₃"}


def resistance(volts: float) -> float:
    """Sensing resistance from the divider voltage; inf at or past the rail."""
    if volts >= SUPPLY_VOLTS:
        return math.inf
    return volts * LOAD_OHMS / (SUPPLY_VOLTS - volts)


def _channel_field(channel: str) -> Field:
    return Field(
        f"{channel}_ohms",
        # A divider reading at the ground or supply rail is no reading; this
        # spans several decades beyond the datasheet's sensing ranges.
        1.0,
        1.0e8,
        "enviro_gas_resistance_ohms",
        "Metal-oxide gas sensor resistance by channel (MICS6814: oxidising, reducing, nh3; BME680: voc); "
        "it falls as reducing gases, NH3 and VOCs rise and rises with oxidising gases such as NO2.",
        labels={"channel": channel},
        # A 12-bit ADC step is tens of ohms at these resistances.
        decimals=0,
        example=TYPICAL_OHMS[channel],
        label=CHANNEL_LABELS[channel],
        unit="Ω",  # Home Assistant has no device class for a resistance
    )


def _ratio_field(channel: str) -> Field:
    return Field(
        gas_baseline.ratio_key(channel),
        # Any two resistances the channel's own range allows.
        0.0,
        1.0e8,
        "enviro_gas_resistance_ratio",
        "Gas sensor resistance over its clean-air baseline learned from the last days, Rs/R0, by channel "
        "(MICS6814); 1 in clean air, below 1 as reducing gases or NH3 rise, above 1 on the oxidising "
        "channel as NO2 rises. Absent while the baseline is learned.",
        labels={"channel": channel},
        optional=True,
        decimals=3,
        example=1.0,
        label=f"{CHANNEL_LABELS[channel]} (Rs/R0)",
    )


class MICS6814Reader(SensorReader):
    """Three gas resistances from one conversion pass per poll."""

    def __init__(self, sensor: Sensor, options: gas_baseline.GasOptions, clock: Clock) -> None:
        super().__init__(sensor, options, clock)
        self.warmup_seconds = options.warmup
        self._adc: TimedADS1015 | None = None
        self._heater: tuple | None = None
        self._heater_on_since = 0.0

    def open(self, board: Board) -> None:
        # The drivers are imported with the part, not the table of kinds (see
        # retrievers.bme280).
        import gpiod
        import gpiodevice
        from gpiod.line import Direction, Value

        from enviro_sensor.sensors.timed_ads1015 import TimedADS1015

        adc = TimedADS1015(self.clock.sleep, i2c_addr=self.address, i2c_dev=board.i2c_bus(self.sensor.bus))
        chip = adc.detect_chip_type()
        adc.set_mode("single")
        adc.set_programmable_gain(GAIN)
        # The ADS1115 variant converts far slower; its fastest useful rate.
        adc.set_sample_rate(128 if chip == "ADS1115" else 1600)
        if self._heater is None:
            self._heater = gpiodevice.get_pin(
                board.driver_pin("gas_heater"),
                "enviro-mics6814-heater",
                gpiod.LineSettings(direction=Direction.OUTPUT, output_value=Value.ACTIVE),
            )
            # A line handed in as (lines, offset) comes back as it was, its
            # settings unapplied: drive it explicitly.
            lines, offset = self._heater
            lines.set_value(offset, Value.ACTIVE)
            self._heater_on_since = self.clock.monotonic()
        self._adc = adc

    def read(self) -> dict[str, float]:
        adc = self._adc
        assert adc is not None, "read before open"
        values = {f"{channel}_ohms": resistance(adc.get_voltage(mux)) for channel, mux in CHANNELS}
        warm_for = self.clock.monotonic() - self._heater_on_since
        if warm_for < self.warmup_seconds:
            raise WarmingUp(self.warmup_seconds - warm_for)
        return values

    def close(self) -> None:
        from gpiod.line import Value

        if self._heater is not None:
            lines, offset = self._heater
            lines.set_value(offset, Value.INACTIVE)
            self._heater = None
        self._adc = None


KIND = register_kind(
    SensorKind(
        kind="mics6814",
        description="SGX MICS6814 gas sensor through an ADS1015",
        fields=(
            *(_channel_field(channel) for channel, _ in CHANNELS),
            *(_ratio_field(channel) for channel, _ in CHANNELS),
        ),
        group="gas",
        reader=MICS6814Reader,
        interfaces=("gpio",),  # the heater's enable, GPIO 24
        address=ADS1015_ADDRESS,
        on_board=True,
        emulation="enviro_sensor.hardware.virtual.chips.ads1015:emulate",
        derivation=gas_baseline.from_options,
        settings=gas_baseline.SETTINGS,
    )
)
