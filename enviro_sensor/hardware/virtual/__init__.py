"""The virtual board: emulated chips behind the buses the drivers are given.

What a Pi with an Enviro+ and two extra breakouts would offer, without one:

- I2C bus 1 (``bus``): BME280 at 0x76, LTR559 at 0x23, ADS1015 at 0x49 with
  the MiCS-6814 on inputs 0-2, and on the header an AHT10 at 0x38 and a
  BMP280 at 0x77;
- GPIO lines (``gpio``): the gas heater on 24 and the PMS5003's and LCD's pins;
- a serial port with a PMS5003 sending frames (started on first request);
- the MEMS microphone's I2S capture (``microphone``), hearing the room;
- the ST7735 LCD, whose picture can be read back.

Every chip measures one ``Environment`` on the board's ``clock``, and
honours the ``faults`` set for it, so a demo can show a sensor failing.
Construction is cheap and starts no thread.

More I2C chips come on demand: ``provide_i2c_chip(emulation, address)``
attaches an emulated chip where none answers yet, given its factory
``(board, address) -> chip`` or the factory's import string, such as
"enviro_sensor.hardware.virtual.chips.aht10:emulate" (``enviro_sensor.hardware.virtual.chips`` lists
them). A chip defined elsewhere declares its faults with
``enviro_sensor.hardware.virtual.faults.register_device_faults``.

Time (``enviro_sensor.hardware.virtual.clock``): everything follows ``clock``, the wall
clock unless a test passes a ManualClock. I2C transfers take no time unless
``wire_time=True``. The PMS5003 sends a frame every
``pms5003_frame_interval`` seconds after ``pms5003_startup`` seconds of
quiet (1 s each, as the real sensor), and its frames settle
``pms5003_spin_up`` seconds after power-up or wake (30 s, the data
manual's figure); a test board with intervals of a few
milliseconds answers a particulate read in tens of milliseconds, even on a
ManualClock that nobody advances (see ``enviro_sensor.hardware.virtual.pms5003``).
"""

from __future__ import annotations

import errno
import importlib
import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from enviro_sensor.hardware.board import PINS, Board, ChipEmulation
from enviro_sensor.hardware.options import BoardOptions
from enviro_sensor.hardware.virtual.chips import (
    MICS6814,
    ADS1015Chip,
    AHT10Chip,
    BME280Chip,
    BMP280Chip,
    LTR559Chip,
    ads1015,
    aht10,
    bme280,
    bmp280,
    ltr559,
)
from enviro_sensor.hardware.virtual.clock import Clock, ManualClock, WallClock
from enviro_sensor.hardware.virtual.environment import Environment
from enviro_sensor.hardware.virtual.faults import Faults, parse_fault_spec
from enviro_sensor.hardware.virtual.gpio import VirtualGpio
from enviro_sensor.hardware.virtual.i2c import I2CChip, VirtualI2CBus
from enviro_sensor.hardware.virtual.microphone import VirtualMicrophone
from enviro_sensor.hardware.virtual.pms5003 import (
    FRAME_INTERVAL_SECONDS,
    SPIN_UP_SECONDS,
    STARTUP_SECONDS,
    VirtualPMS5003,
)

__all__ = ["ManualClock", "VirtualBoard", "WallClock", "load_emulation"]

# The only I2C bus a Pi offers on its header.
BUS_NUMBER = 1
# The 7-bit addresses the I2C specification leaves to devices: 0x00-0x07
# and 0x78-0x7F are reserved (general call, 10-bit addressing, ...).
FIRST_DEVICE_ADDRESS, LAST_DEVICE_ADDRESS = 0x08, 0x77


def load_emulation(emulation: ChipEmulation) -> Callable[[Any, int], Any]:
    """The chip factory ``emulation`` names: itself, or what "package.module:name" imports.

    The name after the colon may be dotted ("module:Class.method").
    """
    if not isinstance(emulation, str):
        return emulation
    module_name, sep, attribute = emulation.partition(":")
    if not sep or not module_name or not attribute:
        raise ValueError(f"an emulation is named 'package.module:name', got {emulation!r}")
    target: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise AttributeError(f"emulation {emulation!r}: no {part!r} in {target!r}") from None
    if not callable(target):
        raise TypeError(f"emulation {emulation!r} is not callable")
    return target


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
    ``wire_time`` makes I2C transfers last their time on a 100 kHz bus;
    ``pms5003_frame_interval`` and ``pms5003_startup`` set the PMS5003's
    frame cadence and quiet time after power-up, reset or wake, and
    ``pms5003_spin_up`` the fan's spin-up time before its frames settle (seconds).
    """

    kind = "virtual"

    def __init__(
        self,
        seed: int = 1,
        faults: Faults | Mapping[str, str] | str | None = None,
        clock: Clock | None = None,
        *,
        utc_offset_seconds: float = 0.0,
        wire_time: bool = False,
        pms5003_frame_interval: float = FRAME_INTERVAL_SECONDS,
        pms5003_startup: float = STARTUP_SECONDS,
        pms5003_spin_up: float = SPIN_UP_SECONDS,
    ) -> None:
        self.seed = seed
        self.clock: Clock = clock if clock is not None else WallClock()
        self.environment = Environment(self.clock, seed, utc_offset_seconds)
        self.faults = _faults(faults, seed)
        self.gpio = VirtualGpio()
        self._lock = threading.Lock()
        # Volts on the ADS1015's fourth input, free on the Enviro+'s header.
        self.analog_input_volts = 0.0

        heater = PINS["gas_heater"]
        self.gas_sensor = MICS6814(self.environment, heater_on=self.gpio.level(heater))
        self.gpio.on_change(heater, self.gas_sensor.heater_changed)

        self.bus = VirtualI2CBus(self.faults, self.clock, number=BUS_NUMBER, wire_time=wire_time)
        self.bme280: BME280Chip = bme280.emulate(self, bme280.ADDRESS)
        self.ltr559: LTR559Chip = ltr559.emulate(self, ltr559.ADDRESS)
        self.ads1015: ADS1015Chip = ads1015.emulate(self, ads1015.ADDRESS)
        self.aht10: AHT10Chip = aht10.emulate(self, aht10.ADDRESS)
        self.bmp280: BMP280Chip = bmp280.emulate(self, bmp280.ADDRESS)
        for chip in (self.bme280, self.ltr559, self.ads1015, self.aht10, self.bmp280):
            self.bus.attach(chip)
        # The breakouts fitted to the header by default, which another part
        # listed at their address replaces (a BME680 at 0x77, say).
        self._default_breakouts = {self.aht10.address, self.bmp280.address}

        self.pms5003 = VirtualPMS5003(
            self.environment,
            self.faults,
            self.gpio,
            clock=self.clock,
            frame_interval=pms5003_frame_interval,
            startup_seconds=pms5003_startup,
            spin_up_seconds=pms5003_spin_up,
        )
        self._serial_started = False
        self._panel: Any = None
        self.microphone = VirtualMicrophone(self.environment, self.faults, self.clock)

    @classmethod
    def from_options(cls, options: BoardOptions) -> VirtualBoard:
        """The board ``ENVIRO_VIRTUAL_SEED`` and ``ENVIRO_VIRTUAL_FAULTS`` describe.

        Its day follows this machine's time zone, so a demo is dark at night.
        """
        return cls(
            seed=options.virtual_seed,
            faults=options.virtual_faults,
            utc_offset_seconds=time.localtime().tm_gmtoff,
        )

    def adc_inputs(self) -> tuple[float, float, float, float]:
        """Volts on the ADS1015's inputs: the MiCS-6814's three dividers, then the free input."""
        oxidising, reducing, nh3 = self.gas_sensor.voltages()
        return oxidising, reducing, nh3, self.analog_input_volts

    # -- the Board interface ------------------------------------------------------

    def i2c_bus(self, number: int = BUS_NUMBER) -> VirtualI2CBus:
        """The emulated bus 1 (the same object every time); other buses do not exist."""
        if number != BUS_NUMBER:
            path = f"/dev/i2c-{number}"
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)
        return self.bus

    def provide_i2c_chip(self, emulation: ChipEmulation, address: int, bus: int = BUS_NUMBER) -> None:
        """Attach the chip ``emulation`` makes at ``address``, unless a chip is there already.

        ``emulation`` is a factory ``(board, address) -> chip`` or its
        import string ("enviro_sensor.hardware.virtual.chips.aht10:emulate"), imported
        only when a chip is made. The board's own chips stay where they are;
        a default breakout (the AHT10 at 0x38, the BMP280 at 0x77) gives way
        to another kind of part listed at its address.
        A bus other than 1 raises FileNotFoundError, as ``i2c_bus`` does; an
        address outside 0x08..0x77 ValueError.
        """
        i2c = self.i2c_bus(bus)
        if not FIRST_DEVICE_ADDRESS <= address <= LAST_DEVICE_ADDRESS:
            raise ValueError(f"I2C address 0x{address:02x} is reserved (devices use 0x08..0x77)")
        with self._lock:
            if address in i2c.addresses and address not in self._default_breakouts:
                return
            chip: I2CChip = load_emulation(emulation)(self, address)
            if address in i2c.addresses:
                if i2c.chip(address).name == chip.name:
                    return  # the default breakout is the part listed
                i2c.detach(address)
                self._default_breakouts.discard(address)
            if chip.address != address:
                raise ValueError(
                    f"emulation {emulation!r} made a chip at 0x{chip.address:02x}, not 0x{address:02x}"
                )
            i2c.attach(chip)

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

    def probe_spi(self, port: int, chip_select: int) -> None:
        """The emulated panel's SPI device is missing while ``st7735=absent`` is set."""
        if self.faults.configured("st7735") == "absent":
            raise FileNotFoundError(
                errno.ENOENT, "No such file or directory", f"/dev/spidev{port}.{chip_select}"
            )

    def probe_microphone(self) -> None:
        """As opening the capture device: ENODEV while ``microphone=absent`` is set."""
        self.microphone.check()

    def open_microphone(self) -> VirtualMicrophone:
        """The emulated microphone's I2S capture (raises OSError when it is absent)."""
        self.microphone.check()
        return self.microphone

    def open_lcd(self) -> Any:
        """The vendor st7735 driver on the emulated panel."""
        # Imported here: the LCD stack (numpy, Pillow, st7735) is only
        # needed once someone draws.
        from enviro_sensor.hardware.virtual.st7735 import VirtualPanel, open_virtual_st7735

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
