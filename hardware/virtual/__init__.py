"""The virtual board: emulated chips behind the buses the drivers are given.

What a Pi with an Enviro+ and two extra breakouts would offer, without one:

- I2C bus 1 (``bus``): BME280 at 0x76, LTR559 at 0x23, ADS1015 at 0x49 with
  the MiCS-6814 on inputs 0-2, and on the header an AHT10 at 0x38 and a
  BMP280 at 0x77;
- GPIO lines (``gpio``): the gas heater on 24 and the PMS5003's and LCD's pins;
- a serial port with a PMS5003 sending frames (started on first request);
- the ST7735 LCD, whose picture can be read back.

Every chip measures one ``Environment`` on the board's ``clock``, and
honours the ``faults`` set for it, so a demo can show a sensor failing.
Construction is cheap and starts no thread.
"""

from __future__ import annotations

import errno
import os
import threading
import time
from collections.abc import Mapping
from typing import Any

from hardware.board import PINS, Board
from hardware.virtual.chips import (
    MICS6814,
    ADS1015Chip,
    AHT10Chip,
    BME280Chip,
    BMP280Chip,
    LTR559Chip,
)
from hardware.virtual.clock import ManualClock, WallClock
from hardware.virtual.environment import Environment
from hardware.virtual.faults import Faults, parse_fault_spec
from hardware.virtual.gpio import VirtualGpio
from hardware.virtual.i2c import VirtualI2CBus
from hardware.virtual.pms5003 import VirtualPMS5003

__all__ = ["ManualClock", "VirtualBoard", "WallClock"]

# The only I2C bus a Pi offers on its header.
BUS_NUMBER = 1


def _faults(faults: Faults | Mapping[str, str] | str | None, seed: int) -> Faults:
    if isinstance(faults, Faults):
        return faults
    if isinstance(faults, str):
        return Faults(parse_fault_spec(faults), seed=seed)
    initial = dict(faults or {})
    for device, fault in initial.items():
        parse_fault_spec(f"{device}={fault}")  # the setting's own validation
    return Faults(initial, seed=seed)


class VirtualBoard(Board):
    """The Enviro+ and its extra sensors, emulated.

    ``faults`` is a Faults, a ``{device: fault}`` mapping or an
    ``ENVIRO_VIRTUAL_FAULTS``-style string; ``clock`` defaults to the wall
    clock; ``utc_offset_seconds`` sets where the model's day falls (0: UTC).
    """

    kind = "virtual"

    def __init__(
        self,
        seed: int = 1,
        faults: Faults | Mapping[str, str] | str | None = None,
        clock: Any = None,
        *,
        utc_offset_seconds: float = 0.0,
    ) -> None:
        self.seed = seed
        self.clock = clock if clock is not None else WallClock()
        self.environment = Environment(self.clock, seed, utc_offset_seconds)
        self.faults = _faults(faults, seed)
        self.gpio = VirtualGpio()
        self._lock = threading.Lock()
        # Volts on the ADS1015's fourth input, free on the Enviro+'s header.
        self.analog_input_volts = 0.0

        heater = PINS["gas_heater"]
        self.gas_sensor = MICS6814(self.environment, heater_on=self.gpio.level(heater))
        self.gpio.on_change(heater, self.gas_sensor.heater_changed)

        self.bus = VirtualI2CBus(self.faults, self.clock, number=BUS_NUMBER)
        self.bme280 = BME280Chip(self.environment, self.faults)
        self.ltr559 = LTR559Chip(self.environment, self.faults)
        self.ads1015 = ADS1015Chip(self.environment, self.faults, self._adc_inputs)
        self.aht10 = AHT10Chip(self.environment, self.faults, seed=seed)
        self.bmp280 = BMP280Chip(self.environment, self.faults)
        for chip in (self.bme280, self.ltr559, self.ads1015, self.aht10, self.bmp280):
            self.bus.attach(chip)

        self.pms5003 = VirtualPMS5003(self.environment, self.faults, self.gpio)
        self._serial_started = False
        self._panel = None

    @classmethod
    def from_settings(cls, settings) -> VirtualBoard:
        """The board ``ENVIRO_VIRTUAL_SEED`` and ``ENVIRO_VIRTUAL_FAULTS`` describe.

        Its day follows this machine's time zone, so a demo is dark at night.
        """
        return cls(
            seed=settings.virtual_seed,
            faults=settings.virtual_faults,
            utc_offset_seconds=time.localtime().tm_gmtoff,
        )

    def _adc_inputs(self) -> tuple[float, float, float, float]:
        oxidising, reducing, nh3 = self.gas_sensor.voltages()
        return oxidising, reducing, nh3, self.analog_input_volts

    # -- the Board interface ------------------------------------------------------

    def i2c_bus(self, number: int = BUS_NUMBER) -> VirtualI2CBus:
        """The emulated bus 1 (the same object every time); other buses do not exist."""
        if number != BUS_NUMBER:
            path = f"/dev/i2c-{number}"
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)
        return self.bus

    def driver_pin(self, name: str) -> Any:
        """The ``(lines, offset)`` tuple of ``PINS[name]`` on the virtual GPIO."""
        return self.gpio.pin(PINS[name])

    def serial_device(self) -> str:
        """Path of the PMS5003's pseudo-terminal; starts the sensor on first call."""
        with self._lock:
            if not self._serial_started:
                self.pms5003.start()
                self._serial_started = True
            return self.pms5003.device_path

    def open_lcd(self) -> Any:
        """The vendor st7735 driver on the emulated panel."""
        # Imported here: the LCD stack (numpy, Pillow, st7735) is only
        # needed once someone draws.
        from hardware.virtual.st7735 import VirtualPanel, open_virtual_st7735

        with self._lock:
            if self._panel is None:
                self._panel = VirtualPanel(self.faults, self.gpio)
            panel = self._panel
        return open_virtual_st7735(panel, self.gpio)

    def lcd_frame(self) -> Any:
        """What the emulated panel shows, as a PIL image; None before any drawing."""
        with self._lock:
            panel = self._panel
        return panel.frame() if panel is not None else None

    def cpu_temperature(self) -> float:
        """The model's CPU temperature now, in degrees Celsius."""
        return self.environment.conditions().cpu_temperature_celsius

    def close(self) -> None:
        """Stop the PMS5003's thread and close its pseudo-terminal."""
        with self._lock:
            if self._serial_started:
                self.pms5003.stop()
                self._serial_started = False
