"""Emulated I2S capture of the Enviro+'s MEMS microphone through its ADAU7002.

On the board a PDM MEMS microphone feeds an Analog Devices ADAU7002
(stereo PDM to I2S/TDM converter): the Pi's I2S port receives 24-bit two's
complement samples, MSB first, in 32-bit slots (ADAU7002 datasheet, Rev. A,
"Serial Output Data Port"), which ALSA delivers as S32_LE words: the 24 bits
in the upper three bytes, the low byte zero. The board's one microphone is
one channel. ``capture`` hands out exactly those bytes.

What it hears comes from the room model (``Environment.sound``: the room
tone, talk, the kitchen), each source synthesised as noise of its own
spectrum at its level in dB SPL, converted to full scale with a sensitivity
typical of PDM MEMS microphones, -26 dBFS for a 94 dB SPL sine: an
assumption of the emulation, not a calibration of the product. A test may
play its own signal instead (``play``).

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
import math
import os
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy

from hardware.virtual.faults import register_device_faults

if TYPE_CHECKING:
    from hardware.virtual.clock import Clock
    from hardware.virtual.environment import Environment
    from hardware.virtual.faults import Faults

DEVICE = "microphone"
register_device_faults(DEVICE, {"absent", "overrun", "intermittent"})

# Full scale of the 24-bit data, and its place in the 32-bit slot.
SAMPLE_BITS = 24
SLOT_SHIFT = 32 - SAMPLE_BITS
FULL_SCALE = 1 << (SAMPLE_BITS - 1)
# The emulated microphone's output for a 94 dB SPL (1 Pa) sine, dBFS (a
# full-scale sine being 0 dBFS, as microphone datasheets count).
SENSITIVITY_DBFS = -26.0
REFERENCE_SPL_DB = 94.0

# A test's signal: (start time, frames, sample rate) -> samples in -1..1.
Signal = Callable[[float, int, int], numpy.ndarray]


def rms_for_spl(spl_db: float) -> float:
    """RMS in full-scale units of a sound at ``spl_db`` dB SPL."""
    # A sine at the sensitivity's level has a peak of 10^(dBFS/20), so an RMS of that over sqrt 2.
    return 10.0 ** ((spl_db - REFERENCE_SPL_DB + SENSITIVITY_DBFS) / 20.0) / math.sqrt(2.0)


def encode_s32le(samples: numpy.ndarray) -> bytes:
    """Samples in -1..1 as the ADAU7002's 24-bit data in S32_LE slots (clipped at full scale)."""
    counts = numpy.clip(numpy.round(samples * FULL_SCALE), -FULL_SCALE, FULL_SCALE - 1).astype("<i4")
    return (counts << SLOT_SHIFT).astype("<i4").tobytes()


def shaped_noise(
    rng: numpy.random.Generator, frames: int, rate: int, shape: Callable, rms: float
) -> numpy.ndarray:
    """Noise with the amplitude spectrum ``shape(frequencies)``, scaled to ``rms``."""
    frequencies = numpy.fft.rfftfreq(frames, 1.0 / rate)
    spectrum = rng.normal(size=frequencies.size) + 1j * rng.normal(size=frequencies.size)
    noise = numpy.fft.irfft(spectrum * shape(frequencies), n=frames)
    level = math.sqrt(float(numpy.mean(noise * noise)))
    return noise * (rms / level) if level > 0 else noise


def _room_tone(f: numpy.ndarray) -> numpy.ndarray:
    # Pink above 20 Hz: a room's hum and hiss fall off with frequency.
    return numpy.where(f >= 20.0, 1.0 / numpy.sqrt(numpy.maximum(f, 1.0)), 0.0)


def _speech(f: numpy.ndarray) -> numpy.ndarray:
    # The long-term speech spectrum: most energy 200 Hz-1 kHz, falling above.
    return numpy.where(f >= 100.0, 1.0 / (1.0 + (f / 700.0) ** 2), 0.0)


def _kitchen(f: numpy.ndarray) -> numpy.ndarray:
    # An extractor hood's broadband rush with pans on top: nearly flat.
    return numpy.where(f >= 50.0, 1.0 / (1.0 + f / 4000.0), 0.0)


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
        if self._signal is not None:
            samples = numpy.asarray(self._signal(start, frames, sample_rate), dtype=float)
        else:
            samples = self._room(start, frames, sample_rate)
        return encode_s32le(samples)

    def _room(self, start: float, frames: int, rate: int) -> numpy.ndarray:
        sound = self.environment.sound(start)
        # Seeded by the board's seed and the instant (to the millisecond): the same room replays alike.
        rng = numpy.random.default_rng([self.environment.seed, zlib.crc32(b"sound"), round(start * 1000)])
        samples = shaped_noise(rng, frames, rate, _room_tone, rms_for_spl(sound.room_db))
        if sound.talking_db is not None:
            talk = shaped_noise(rng, frames, rate, _speech, rms_for_spl(sound.talking_db))
            # Syllables: the voice comes and goes about four times a second.
            t = numpy.arange(frames) / rate
            syllables = numpy.abs(numpy.sin(2.0 * math.pi * 2.0 * t + rng.uniform(0, math.pi)))
            samples = samples + talk * syllables * math.sqrt(2.0)
        if sound.kitchen_db is not None:
            samples = samples + shaped_noise(rng, frames, rate, _kitchen, rms_for_spl(sound.kitchen_db))
        return samples
