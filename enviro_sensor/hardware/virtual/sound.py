"""Sound for the virtual microphone: noise shaped like a room's sources, as 24-bit words.

Kept apart from ``enviro_sensor.hardware.virtual.microphone`` because it needs numpy,
which a virtual board that nobody records from should not load.

The level of each source is in dB SPL, converted to full scale with a
sensitivity typical of PDM MEMS microphones, -26 dBFS for a 94 dB SPL sine:
an assumption of the emulation, not a calibration of the product. The
samples go out as the ADAU7002 sends them: 24-bit two's complement in the
upper bytes of 32-bit little-endian slots (S32_LE).
"""

from __future__ import annotations

import math
import random
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy

if TYPE_CHECKING:
    from enviro_sensor.hardware.virtual.environment import Sound

# Full scale of the 24-bit data, and its place in the 32-bit slot.
SAMPLE_BITS = 24
SLOT_SHIFT = 32 - SAMPLE_BITS
FULL_SCALE = 1 << (SAMPLE_BITS - 1)
# The emulated microphone's output for a 94 dB SPL (1 Pa) sine, dBFS (a
# full-scale sine being 0 dBFS, as microphone datasheets count).
SENSITIVITY_DBFS = -26.0
REFERENCE_SPL_DB = 94.0


def rms_for_spl(spl_db: float) -> float:
    """RMS in full-scale units of a sound at ``spl_db`` dB SPL."""
    # A sine at the sensitivity's level has a peak of 10^(dBFS/20), so an RMS of that over sqrt 2.
    return 10.0 ** ((spl_db - REFERENCE_SPL_DB + SENSITIVITY_DBFS) / 20.0) / math.sqrt(2.0)


def encode_s32le(samples: numpy.ndarray) -> bytes:
    """Samples in -1..1 as the ADAU7002's 24-bit data in S32_LE slots (clipped at full scale)."""
    counts = numpy.clip(numpy.round(samples * FULL_SCALE), -FULL_SCALE, FULL_SCALE - 1).astype("<i4")
    return (counts << SLOT_SHIFT).astype("<i4").tobytes()


class Draws:
    """Seeded Gaussian and uniform draws, from the standard library's generator.

    Not numpy.random: importing it holds about 4 MiB for the worker's life
    (docs/benchmarks.md), for noise that needs only this. Gaussian by
    Box-Muller over the generator's bytes, one array operation at a time.
    """

    def __init__(self, *seed: int) -> None:
        self._random = random.Random(":".join(str(part) for part in seed))

    def normal(self, size: int) -> numpy.ndarray:
        words = numpy.frombuffer(self._random.randbytes(8 * size), dtype="<u4").reshape(2, size)
        radius = numpy.sqrt(-2.0 * numpy.log((words[0] + 1.0) / 2.0**32))  # (0, 1]: no log of 0
        return radius * numpy.cos(2.0 * math.pi * (words[1] / 2.0**32))

    def uniform(self, low: float, high: float) -> float:
        return self._random.uniform(low, high)


def shaped_noise(draws: Draws, frames: int, rate: int, shape: Callable, rms: float) -> numpy.ndarray:
    """Noise with the amplitude spectrum ``shape(frequencies)``, scaled to ``rms``."""
    frequencies = numpy.fft.rfftfreq(frames, 1.0 / rate)
    spectrum = draws.normal(frequencies.size) + 1j * draws.normal(frequencies.size)
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


def room(sound: Sound, seed: int, start: float, frames: int, rate: int) -> numpy.ndarray:
    """``frames`` samples of the room's ``sound`` from ``start``, a pure function of seed and instant."""
    # Seeded by the board's seed and the instant (to the millisecond): the same room replays alike.
    draws = Draws(seed, zlib.crc32(b"sound"), round(start * 1000))
    samples = shaped_noise(draws, frames, rate, _room_tone, rms_for_spl(sound.room_db))
    if sound.talking_db is not None:
        talk = shaped_noise(draws, frames, rate, _speech, rms_for_spl(sound.talking_db))
        # Syllables: the voice comes and goes about four times a second
        # (|sin| has a mean square of one half, hence the sqrt 2).
        t = numpy.arange(frames) / rate
        syllables = numpy.abs(numpy.sin(2.0 * math.pi * 2.0 * t + draws.uniform(0, math.pi)))
        samples = samples + talk * syllables * math.sqrt(2.0)
    if sound.kitchen_db is not None:
        samples = samples + shaped_noise(draws, frames, rate, _kitchen, rms_for_spl(sound.kitchen_db))
    return samples
