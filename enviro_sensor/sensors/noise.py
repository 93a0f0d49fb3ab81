"""The Enviro+'s MEMS microphone on the Pi's I2S port (noise group).

A PDM MEMS microphone behind an Analog Devices ADAU7002 PDM-to-I2S
converter (ADAU7002 datasheet, Rev. A: 24-bit samples in 32-bit slots),
captured by ALSA as the device "adau7002" (the ``adau7002-simple`` device
tree overlay) and recorded through a subclass of enviroplus.noise.Noise
(``enviro_sensor.sensors.noise_capture``). One second at 16 kHz
per poll. Units: dBFS, decibels of the RMS relative to digital full scale
(a full-scale sine is -3.01 dBFS); the whole band and enviroplus's low,
mid and high bands (100-1048, 1048-3892, 3892-8000 Hz).

No sound pressure in dB SPL or dB(A): that needs the microphone's
sensitivity (dBFS at 94 dB SPL) from the part's datasheet and the gain of
the chain, and neither is published for the board; see docs/monitoring.md.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
from typing import TYPE_CHECKING, Any

from enviro_sensor.sensors.base import COMMON_ERROR_REASONS, Field, SensorReader
from enviro_sensor.sensors.registry import SensorKind, register_kind

if TYPE_CHECKING:
    from enviro_sensor.hardware.board import Board

# enviroplus.noise's default rate; a second of it makes the FFT's bins 1 Hz
# wide with no padding, and is a sound level meter's "slow" averaging time.
SAMPLE_RATE = 16_000
DURATION_SECONDS = 1.0
# The 24-bit format's floor (-138.5 dBFS) rounded down; nothing exceeds full scale.
LOW_DBFS, HIGH_DBFS = -140.0, 0.0
BAND_RANGES_HZ = {"low": "100-1048", "mid": "1048-3892", "high": "3892-8000"}
# A quiet room through a typical MEMS microphone, for the API's examples.
TYPICAL_DBFS = {"sound_level": -90.0, "low": -93.0, "mid": -96.0, "high": -99.0}


def _fields() -> tuple[Field, ...]:
    fields = [
        Field(
            "sound_level_dbfs",
            LOW_DBFS,
            HIGH_DBFS,
            "enviro_sound_level_dbfs",
            "Sound level over one second of the microphone, dB relative to full scale "
            "(RMS; a full-scale sine is -3.01; not calibrated to sound pressure).",
            decimals=1,
            example=TYPICAL_DBFS["sound_level"],
            label="Sound level",
            unit="dBFS",  # not Home Assistant's sound_pressure, which is dB SPL
        )
    ]
    for band in BAND_RANGES_HZ:
        fields.append(
            Field(
                f"{band}_band_level_dbfs",
                LOW_DBFS,
                HIGH_DBFS,
                "enviro_sound_band_level_dbfs",
                "Sound level in one of enviroplus's frequency bands (low 100-1048 Hz, "
                "mid 1048-3892 Hz, high 3892-8000 Hz), dB relative to full scale.",
                labels={"band": band},
                decimals=1,
                example=TYPICAL_DBFS[band],
                label=f"Sound level ({band} band)",
                unit="dBFS",
            )
        )
    return tuple(fields)


# Seconds a child process may take to import sounddevice (a Pi Zero: about one).
PROBE_TIMEOUT_SECONDS = 30.0


class MicrophoneUnavailable(RuntimeError):
    """The sound stack cannot record at all (no PortAudio library, or one that cannot start)."""


def sound_stack_problem() -> str | None:
    """Why sounddevice cannot be imported here, or None, found out in a child process.

    Importing sounddevice starts PortAudio, and PortAudio's ALSA host API
    aborts the whole process (a failed C assertion, nothing Python can
    catch) where ALSA's configuration is missing: tried in a child first,
    that costs the child, not the service. The child gets this process's
    module path.
    """
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, sys.path))}
    try:
        result = subprocess.run(
            [sys.executable, "-c", "import sounddevice"],
            capture_output=True,
            text=True,
            env=environment,
            timeout=PROBE_TIMEOUT_SECONDS,
        )
    except subprocess.TimeoutExpired:
        return f"importing sounddevice took more than {PROBE_TIMEOUT_SECONDS:g} s"
    if result.returncode == 0:
        return None
    lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
    if result.returncode < 0:
        name = signal.Signals(-result.returncode).name
        detail = next((line for line in lines if "Assertion" in line or "ALSA lib" in line), "")
        return (
            f"PortAudio killed the process as it started ({name}){': ' + detail if detail else ''}; "
            "check ALSA's configuration (Debian package libasound2-data)"
        )
    problem = lines[-1] if lines else f"importing sounddevice failed (exit status {result.returncode})"
    return f"{problem} (install PortAudio, Debian package libportaudio2)"


class NoiseReader(SensorReader):
    """One second of sound per poll, its level and band levels."""

    _noise: Any = None

    def open(self, board: Board) -> None:
        if "sounddevice" not in sys.modules:
            problem = sound_stack_problem()
            if problem is not None:
                raise MicrophoneUnavailable(f"cannot record sound: {problem}")
        try:
            # Here, not at import: sounddevice loads PortAudio as it is
            # imported, and the sound stack is memory only this sensor needs.
            from enviro_sensor.sensors import noise_capture
        except OSError as err:
            raise MicrophoneUnavailable(
                f"cannot record sound: {err} (install PortAudio, Debian package libportaudio2)"
            ) from None
        noise = noise_capture.BoardNoise(board.open_microphone(), SAMPLE_RATE, DURATION_SECONDS)
        noise.check()
        self._noise = noise

    def read(self) -> dict[str, float]:
        from enviro_sensor.sensors import noise_capture

        assert self._noise is not None, "read before open"
        return noise_capture.levels(self._noise.record(), SAMPLE_RATE)

    def error_reason(self, err: BaseException) -> str | None:
        if isinstance(err, OSError) and err.errno == errno.EPIPE:
            return "overrun"
        return None

    def close(self) -> None:
        self._noise = None


KIND = register_kind(
    SensorKind(
        kind="microphone",
        interfaces=("microphone",),
        description="MEMS microphone (ADAU7002 on I2S) sound level",
        fields=_fields(),
        group="noise",
        reader=NoiseReader,
        on_board=True,
        error_reasons=(*COMMON_ERROR_REASONS, "overrun"),
    )
)
