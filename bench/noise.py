"""What the noise sensor costs: memory for the sound stack, time for a reading.

Run as ``.venv/bin/python -m bench.noise`` from the checkout. Prints:

- the resident memory a process gains by importing the sound stack
  (enviroplus.noise, sounddevice, cffi, PortAudio), which the noise reader
  imports only when it opens; measured in a fresh interpreter that has
  already imported the service (numpy included), as gunicorn's worker has;
- the time one reading of the virtual board takes: the emulation's
  synthesis of a second of the room at 16 kHz, and the product's decoding
  and analysis (FFT, band powers), each the median of ``--rounds``.

On a real board a reading also waits for its second of sound (and the
quarter second dropped before it); the analysis is the same.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

RSS_PROBE = """
from enviro_sensor.web.app import create_app
from enviro_sensor.sensors import registry
create_app()
registry.kinds()
def rss():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
before = rss()
from enviro_sensor.sensors import noise_capture
print(before, rss())
"""


def import_cost() -> tuple[int, int]:
    result = subprocess.run([sys.executable, "-c", RSS_PROBE], capture_output=True, text=True, check=True)
    before, after = (int(word) for word in result.stdout.split())
    return before, after


def read_times(rounds: int) -> tuple[float, float]:
    from enviro_sensor.hardware.virtual import ManualClock, VirtualBoard
    from enviro_sensor.sensors import noise_capture
    from enviro_sensor.sensors.noise import DURATION_SECONDS, SAMPLE_RATE

    clock = ManualClock()
    board = VirtualBoard(seed=1, clock=clock)
    microphone = board.open_microphone()
    noise = noise_capture.BoardNoise(microphone, SAMPLE_RATE, DURATION_SECONDS)
    frames = int(SAMPLE_RATE * DURATION_SECONDS)
    synthesis, analysis = [], []
    for _ in range(rounds):
        clock.advance(5.0)
        started = time.perf_counter()
        data = microphone.capture(frames, SAMPLE_RATE)
        captured = time.perf_counter()
        noise_capture.levels(noise_capture.decode_s32le(data)[:, 0], SAMPLE_RATE)
        analysed = time.perf_counter()
        synthesis.append(captured - started)
        analysis.append(analysed - captured)
    del noise
    return statistics.median(synthesis), statistics.median(analysis)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    before, after = import_cost()
    print(
        f"sound stack import: {before / 1024:.1f} MB -> {after / 1024:.1f} MB RSS (+{(after - before) / 1024:.1f} MB)"
    )
    synthesis, analysis = read_times(args.rounds)
    print(
        f"one reading (1 s at 16 kHz), median of {args.rounds}: emulation {synthesis * 1000:.1f} ms, "
        f"decoding and analysis {analysis * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
