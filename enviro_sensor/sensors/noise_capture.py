"""Recording the board's microphone through enviroplus.noise, and its levels in dBFS.

Imported only when the noise sensor opens (``enviro_sensor.sensors.noise``): importing
enviroplus.noise imports sounddevice, which loads PortAudio and raises
OSError where it is missing, and the whole stack costs memory a service
without the sensor should not pay.

``BoardNoise`` is enviroplus's ``Noise`` with its one injection point,
``_record``, given the board's capture: on the virtual board the emulated
I2S capture's S32_LE words; on a real board sounddevice with enviroplus's
device ("adau7002"), rate, channel and sample type, but through a blocking
input stream instead of the parent's ``sounddevice.rec``. ``rec`` hands the
samples over in a Python callback, which cffi builds in memory both
writable and executable: the systemd unit's MemoryDenyWriteExecute= (and
the kernel's PR_SET_MDWE) refuse that with a MemoryError. The blocking
stream needs no callback, and says whether samples were lost. The first
quarter second of each recording is dropped: the microphone's start-up
transient as its clock starts (a "plop" users of the board have reported).
enviroplus's own analysis works on either recording.

Levels are in dBFS: decibels of the RMS relative to full scale (samples in
-1..1), so a full-scale sine reads -3.01 dBFS. The bands are enviroplus's
``get_noise_profile`` split (see ``band_edges``); its figures are mean FFT
magnitudes, which do not add up to a level (a tone and a hiss of the same
power give very different means), so each band's level here is its power by
Parseval's theorem over the same FFT bins.
"""

from __future__ import annotations

import errno
import math
from typing import Any

import numpy
import sounddevice  # type: ignore[import-untyped]
from enviroplus import noise as enviroplus_noise  # type: ignore[import-untyped]

# The ALSA capture device of the Enviro+'s ADAU7002 (enviroplus.noise's name).
ALSA_DEVICE = "adau7002"
# Seconds dropped at the start of a real recording: the start-up transient.
SETTLE_SECONDS = 0.25
# The 24-bit data's smallest step, -138.5 dBFS: the format's floor, which
# digital silence reads as (its logarithm would be minus infinity).
FLOOR_DBFS = 20.0 * math.log10(2.0**-23)
# enviroplus.noise.Noise.get_noise_profile's defaults: bins below 100 Hz
# left out, then 12 %, 36 % and the rest of the remaining range.
NOISE_FLOOR_HZ = 100
LOW_SHARE, MID_SHARE = 0.12, 0.36
BANDS = ("low", "mid", "high")


class CaptureOverrun(OSError):
    """The capture fell behind and lost samples: the recording has gaps."""

    def __init__(self, message: str = "capture overrun: samples were lost") -> None:
        super().__init__(errno.EPIPE, message)


def decode_s32le(data: bytes) -> numpy.ndarray:
    """S32_LE words (24-bit data in the upper bytes) as one channel of floats in -1..1.

    Shaped (frames, 1) as sounddevice.rec returns it, which enviroplus reads.
    """
    words = numpy.frombuffer(data, dtype="<i4")
    return (words.astype(numpy.float64) / 2.0**31).reshape(-1, 1)


class BoardNoise(enviroplus_noise.Noise):
    """enviroplus.noise.Noise recording through the board's capture (``None``: sounddevice)."""

    def __init__(self, capture: Any, sample_rate: int, duration: float) -> None:
        super().__init__(sample_rate=sample_rate, duration=duration)
        self._capture = capture

    def check(self) -> None:
        """Raise unless the capture device exists (sounddevice: ValueError naming it)."""
        if self._capture is None:
            sounddevice.query_devices(ALSA_DEVICE, "input")

    def _record(self) -> numpy.ndarray:
        if self._capture is not None:
            frames = int(self.duration * self.sample_rate)
            return decode_s32le(self._capture.capture(frames, self.sample_rate))
        frames = int(self.duration * self.sample_rate)
        settle = int(SETTLE_SECONDS * self.sample_rate)
        with sounddevice.InputStream(
            device=ALSA_DEVICE, channels=1, samplerate=self.sample_rate, dtype="float64"
        ) as stream:
            stream.read(settle)
            recording, overflowed = stream.read(frames)
        if overflowed:
            raise CaptureOverrun()
        return recording

    def record(self) -> numpy.ndarray:
        """One recording of ``duration`` seconds, as a flat array of floats in -1..1."""
        return numpy.asarray(self._record(), dtype=numpy.float64)[:, 0]


def band_edges(sample_rate: int) -> dict[str, tuple[int, int]]:
    """Each band's FFT bins [start, end), as get_noise_profile splits them.

    enviroplus takes an FFT of ``sample_rate`` points, so bin k is k Hz:
    at 16 kHz low is 100-1048 Hz, mid 1048-3892 Hz, high 3892-8000 Hz.
    """
    count = sample_rate // 2 - NOISE_FLOOR_HZ
    mid_start = NOISE_FLOOR_HZ + int(count * LOW_SHARE)
    high_start = mid_start + int(count * MID_SHARE)
    ceiling = high_start + int(count * (1.0 - LOW_SHARE - MID_SHARE))
    return {"low": (NOISE_FLOOR_HZ, mid_start), "mid": (mid_start, high_start), "high": (high_start, ceiling)}


def dbfs(mean_square: float) -> float:
    """A mean square (full scale 1) in dBFS, no lower than the 24-bit floor."""
    if mean_square <= 0.0:
        return FLOOR_DBFS
    return max(FLOOR_DBFS, 10.0 * math.log10(mean_square))


def levels(samples: numpy.ndarray, sample_rate: int) -> dict[str, float]:
    """The sound level and each band's level of one recording, in dBFS."""
    count = len(samples)
    values = {"sound_level_dbfs": dbfs(float(numpy.mean(samples * samples)))}
    # The FFT enviroplus takes; Parseval: sum x^2 = sum |X|^2 / n over all n
    # bins, and a band of positive frequencies holds half its power.
    power = numpy.abs(numpy.fft.rfft(samples, n=sample_rate)) ** 2
    for band, (start, end) in band_edges(sample_rate).items():
        mean_square = 2.0 * float(numpy.sum(power[start:end])) / (sample_rate * count)
        values[f"{band}_band_level_dbfs"] = dbfs(mean_square)
    return values
