"""The virtual board's GPIO lines, as the vendor drivers see them.

``gpiodevice.get_pin`` passes a ``(lines, offset)`` tuple through unchanged,
so a driver given ``VirtualGpio.pin(n)`` never asks for a gpiochip: it calls
``lines.set_value(offset, Value.ACTIVE)`` (and could call ``get_value``) on
the object handed out here, the same calls it makes on a gpiod
``LineRequest``. Emulated chips listen with ``on_change`` to react to their
reset, enable and data/command pins.

Lines are numbered by BCM GPIO, as ``enviro_sensor.hardware.board.PINS`` names them.
A level changes at once and listeners hear it on the driving thread;
nothing here keeps time.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterable

from gpiod.line import Value

LevelCallback = Callable[[bool], None]


class VirtualLines:
    """The ``gpiod.LineRequest`` calls the drivers make, on the virtual lines.

    Offsets are BCM GPIO numbers, as on the Pi's own gpiochip.
    """

    def __init__(self, gpio: VirtualGpio) -> None:
        self._gpio = gpio

    def set_value(self, line: int, value: Value) -> None:
        """Drive ``line`` to ``value`` (Value.ACTIVE is high)."""
        self._gpio.drive(line, bool(value))

    def set_values(self, values: dict[int, Value]) -> None:
        """Drive several lines, in the order given."""
        for line, value in values.items():
            self.set_value(line, value)

    def get_value(self, line: int) -> Value:
        """The line's level as a gpiod Value."""
        return Value.ACTIVE if self._gpio.level(line) else Value.INACTIVE

    def get_values(self, lines: Iterable[int] | None = None) -> list[Value]:
        """Levels of ``lines`` (every line driven so far when None)."""
        return [self.get_value(line) for line in (lines if lines is not None else self._gpio.lines())]

    def release(self) -> None:
        """Nothing to give back: the virtual lines are never claimed."""


class VirtualGpio:
    """Levels of the board's GPIO lines, and who wants to hear of a change.

    An undriven line rests low unless a chip declared a pull-up with
    ``pull`` (the PMS5003's SET and RESET inputs are pulled up inside the
    sensor, per its data manual). Safe to use from any thread; callbacks run
    on the thread that drove the line, outside the lock, so they may read
    levels themselves.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Held while a change is announced, so listeners hear the changes in
        # the order they happened even when two threads drive lines at once.
        # Reentrant: a callback may drive a line itself.
        self._announcing = threading.RLock()
        self._driven: dict[int, bool] = {}
        self._pulled: dict[int, bool] = {}
        self._listeners: dict[int, list[LevelCallback]] = defaultdict(list)
        self._lines = VirtualLines(self)

    def pin(self, number: int) -> tuple[VirtualLines, int]:
        """The ``(lines, offset)`` tuple to pass as a vendor driver's pin."""
        return self._lines, number

    def level(self, number: int) -> bool:
        """True when the line is high."""
        with self._lock:
            return self._level(number)

    def lines(self) -> list[int]:
        """Numbers of the lines driven or pulled so far."""
        with self._lock:
            return sorted(self._driven.keys() | self._pulled.keys())

    def pull(self, number: int, level: bool) -> None:
        """Declare the level an undriven line rests at (a chip's pull resistor)."""
        self._change(number, lambda: self._pulled.__setitem__(number, level))

    def drive(self, number: int, level: bool) -> None:
        """Set the line's level, as a driver's ``set_value`` does."""
        self._change(number, lambda: self._driven.__setitem__(number, bool(level)))

    def on_change(self, number: int, callback: LevelCallback) -> None:
        """Call ``callback(level)`` each time the line's level changes."""
        with self._lock:
            self._listeners[number].append(callback)

    def _level(self, number: int) -> bool:
        if number in self._driven:
            return self._driven[number]
        return self._pulled.get(number, False)

    def _change(self, number: int, update: Callable[[], None]) -> None:
        with self._announcing:
            with self._lock:
                before = self._level(number)
                update()
                after = self._level(number)
                listeners = list(self._listeners[number]) if after != before else []
            for callback in listeners:
                callback(after)
