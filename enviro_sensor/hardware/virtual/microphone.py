"""Emulated I2S capture of the Enviro+'s MEMS microphone through its ADAU7002.

On the board a PDM MEMS microphone feeds an Analog Devices ADAU7002
(stereo PDM to I2S/TDM converter): the Pi's I2S port receives 24-bit two's
complement samples, MSB first, in 32-bit slots (ADAU7002 datasheet, Rev. A,
"Serial Output Data Port"), which ALSA delivers as S32_LE words: the 24 bits
in the upper three bytes, the low byte zero. The board's one microphone is
one channel. ``capture`` hands out exactly those bytes.

What it hears comes from the room model (``Environment.sound``: the room
tone, talk, the kitchen), each source synthesised as noise of its own
spectrum at its level (``enviro_sensor.hardware.virtual.sound``, which needs numpy and is
imported at the first capture). A test may play its own signal instead
(``play``).

Time: a capture hands out the sound of the ``frames / sample_rate``
seconds that end at the board clock's now, as a capture stream that runs
all along holds them in ALSA's buffer; it does not move or wait on the
clock. The samples are a pure function of the seed and the instant, so a
replay hears the same room.

Faults (``ENVIRO_VIRTUAL_FAULTS=microphone=...``): ``absent`` (no such
capture device: ENODEV, as ALSA answers for a card that is not there),
``overrun`` (the capture fell behind and lost samples: EPIPE, as
``snd_pcm_readi`` reports an overrun), ``intermittent`` (overruns now and
then).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from enviro_sensor.hardware.virtual.faults import register_device_faults

if TYPE_CHECKING:
    from enviro_sensor.hardware.virtual.clock import Clock
    from enviro_sensor.hardware.virtual.environment import Environment
    from enviro_sensor.hardware.virtual.faults import Faults

DEVICE = "microphone"
register_device_faults(DEVICE, {"absent", "overrun", "intermittent"})

# A test's signal: (start time, frames, sample rate) -> samples in -1..1.
Signal = Callable[[float, int, int], Any]


class VirtualMicrophone:
    """The board's microphone as the Pi's I2S capture sees it."""

    name = DEVICE

    def __init__(self, environment: Environment, faults: Faults, clock: Clock) -> None:
        self.environment = environment
        self.faults = faults
        self.clock = clock
        self._signal: Signal | None = None

    def play(self, signal: Signal | None) -> None:
        """Hear ``signal`` instead of the room (None: the room again)."""
        self._signal = signal

    def check(self) -> None:
        """Raise as opening the capture device would when the microphone is absent."""
        if self.faults.configured(DEVICE) == "absent":
            raise OSError(errno.ENODEV, os.strerror(errno.ENODEV), "adau7002")

    def capture(self, frames: int, sample_rate: int) -> bytes:
        """The last ``frames`` mono S32_LE samples at ``sample_rate`` Hz."""
        self.check()
        start = self.clock.now() - frames / sample_rate
        if self.faults.check(DEVICE) in ("overrun", "intermittent"):
            raise OSError(errno.EPIPE, "capture overrun: samples were lost", "adau7002")
        # numpy only now: a board nobody records from does without it.
        from enviro_sensor.hardware.virtual.sound import encode_s32le, room

        if self._signal is not None:
            samples = self._signal(start, frames, sample_rate)
        else:
            samples = room(self.environment.sound(start), self.environment.seed, start, frames, sample_rate)
        return encode_s32le(samples)
