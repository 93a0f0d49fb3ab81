"""The microphone: enviroplus.noise recording the virtual board's I2S capture.

Known signals give known levels: a full-scale sine is -3.01 dBFS RMS (its
RMS is 1/sqrt 2 of full scale), a sine of amplitude 0.1 is 20 dB lower,
white noise of RMS r is 20 log10 r dBFS and shares its power among the
bands by their widths. The bands are enviroplus's own: a tone is in the
same band for its ``get_noise_profile`` as for this service. The samples
travel as the ADAU7002 sends them, 24-bit data in 32-bit little-endian
slots, which the emulation encodes and the product decodes.
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy
import pytest

from enviro_sensor.hardware.virtual import VirtualBoard
from enviro_sensor.hardware.virtual.clock import ManualClock
from enviro_sensor.hardware.virtual.sound import encode_s32le
from enviro_sensor.sensors import noise_capture, registry
from enviro_sensor.sensors.config import Sensor
from tests.sensor_support import PolledApp, kind_options
from tests.virtual_support import MORNING

RATE = 16_000
FULL_SCALE_SINE_DBFS = -3.0103  # 20 log10(1 / sqrt 2)
BAND_KEYS = ("low_band_level_dbfs", "mid_band_level_dbfs", "high_band_level_dbfs")


def tone(hertz: float, amplitude: float = 1.0):
    """A sine the microphone hears, as a function of (start, frames, rate)."""

    def signal(start: float, frames: int, rate: int) -> numpy.ndarray:
        # Timed from the capture's start: near 1.7e9 s a double's steps
        # (0.2 us) would add phase noise of their own.
        t = numpy.arange(frames) / rate
        return amplitude * numpy.sin(2.0 * math.pi * hertz * t)

    return signal


def white_noise(rms: float):
    def signal(start: float, frames: int, rate: int) -> numpy.ndarray:
        return numpy.random.default_rng(round(start * 1000)).normal(0.0, rms, frames)

    return signal


@pytest.fixture
def board():
    board = VirtualBoard(seed=7, clock=ManualClock(MORNING))
    yield board
    board.close()


def opened_reader(board):
    kind = registry.kinds()["microphone"]
    reader = kind.reader(Sensor("microphone", kind, None, 1, "noise"), kind_options(kind), board.clock)
    reader.open(board)
    return reader


# -- the samples on the wire --------------------------------------------------------


def test_the_slots_carry_24_bit_data_in_their_upper_bytes():
    # Written out by hand from the format: 0.5 of full scale is 0x400000 in
    # 24 bits, 0x40000000 in its 32-bit slot; -1 is 0x800000, 0x80000000.
    assert noise_capture.decode_s32le(bytes.fromhex("00000040 00000080 00ffff7f"))[:, 0].tolist() == [
        0.5,
        -1.0,
        (2**23 - 1) / 2**23,
    ]
    # The emulation writes the same words, and clips what is beyond full scale.
    assert encode_s32le(numpy.array([0.5, -1.0, 1.0, -3.0])) == bytes.fromhex(
        "00000040 00000080 00ffff7f 00000080"
    )


# -- known signals through enviroplus.noise --------------------------------------


def test_a_full_scale_sine_is_minus_3_dbfs(board):
    reader = opened_reader(board)
    board.microphone.play(tone(1000.0))
    values = reader.read()
    assert values["sound_level_dbfs"] == pytest.approx(FULL_SCALE_SINE_DBFS, abs=0.001)
    assert values["low_band_level_dbfs"] == pytest.approx(FULL_SCALE_SINE_DBFS, abs=0.001)
    # Nothing in the other bands but the 24-bit format's rounding, far below.
    assert values["mid_band_level_dbfs"] < -120
    assert values["high_band_level_dbfs"] < -120


def test_tones_in_two_bands_add_up_by_power(board):
    reader = opened_reader(board)
    mid, high = tone(2000.0, 0.1), tone(6000.0, 0.01)
    board.microphone.play(lambda *args: mid(*args) + high(*args))
    values = reader.read()
    assert values["mid_band_level_dbfs"] == pytest.approx(FULL_SCALE_SINE_DBFS - 20.0, abs=0.01)
    assert values["high_band_level_dbfs"] == pytest.approx(FULL_SCALE_SINE_DBFS - 40.0, abs=0.01)
    total = 10 * math.log10(0.1**2 / 2 + 0.01**2 / 2)  # -23.0 dBFS
    assert values["sound_level_dbfs"] == pytest.approx(total, abs=0.01)


def test_white_noise_shares_its_power_among_the_bands_by_width(board):
    reader = opened_reader(board)
    board.microphone.play(white_noise(0.01))
    values = reader.read()
    assert values["sound_level_dbfs"] == pytest.approx(-40.0, abs=0.1)
    # Out of the 8000 Hz up to Nyquist: 948, 2844 and 4108 Hz wide.
    for key, width in zip(BAND_KEYS, (948, 2844, 4108), strict=True):
        assert values[key] == pytest.approx(-40.0 + 10 * math.log10(width / 8000), abs=0.3), key


def test_the_bands_are_enviroplus_own(board):
    # Each tone just inside a band's edges: enviroplus's get_noise_profile
    # (its mean FFT magnitude per band) finds it in the same band as we do.
    noise = noise_capture.BoardNoise(board.open_microphone(), RATE, 1.0)
    edges = noise_capture.band_edges(RATE)
    assert edges == {"low": (100, 1048), "mid": (1048, 3892), "high": (3892, 8000)}
    for index, (band, (start, end)) in enumerate(edges.items()):
        for hertz in (start, end - 1):
            board.microphone.play(tone(hertz, 0.5))
            profile = noise.get_noise_profile()[:3]
            assert max(range(3), key=lambda i: profile[i]) == index, (band, hertz)
            values = noise_capture.levels(noise.record(), RATE)
            assert values[f"{band}_band_level_dbfs"] == pytest.approx(FULL_SCALE_SINE_DBFS - 6.02, abs=0.01)


def test_digital_silence_reads_as_the_format_floor(board):
    reader = opened_reader(board)
    board.microphone.play(lambda start, frames, rate: numpy.zeros(frames))
    values = reader.read()
    assert values == {key: pytest.approx(-138.47, abs=0.01) for key in ("sound_level_dbfs", *BAND_KEYS)}


# -- the room --------------------------------------------------------------------------


def test_the_room_is_quiet_at_night_louder_by_day_and_loud_when_people_talk(board):
    reader = opened_reader(board)
    environment = board.environment
    night = MORNING - 6 * 3600  # 03:00
    board.clock.advance(night - board.clock.now())
    assert environment.sound().talking_db is None and environment.sound().kitchen_db is None
    quiet = reader.read()["sound_level_dbfs"]
    # A morning hour later in the day, while nobody talks or cooks, is louder.
    # Mid-way through the model's 3-minute spells of talk, so the second
    # captured is all in one.
    moments = [MORNING + 3 * 3600 + minute * 60 + 90 for minute in range(0, 600, 3)]
    scenes = {at: environment.sound(at) for at in moments}
    calm = next(at for at, s in scenes.items() if s.talking_db is None and s.kitchen_db is None)
    talk = next(at for at, s in scenes.items() if s.talking_db is not None and s.kitchen_db is None)
    board.clock.advance(calm - board.clock.now())
    day = reader.read()["sound_level_dbfs"]
    board.clock.advance(talk - board.clock.now())
    talking = reader.read()
    assert -105 < quiet < day - 5 < -85
    assert talking["sound_level_dbfs"] > day + 20
    # Speech is mostly below 1 kHz.
    assert talking["low_band_level_dbfs"] > talking["high_band_level_dbfs"] + 10


def test_the_kitchen_is_heard_while_a_meal_cooks(board):
    environment = board.environment
    days = [MORNING - 9 * 3600 + minute * 60 for minute in range(0, 3 * 24 * 60, 2)]
    cooking = [at for at in days if environment.cooking(at)]
    assert cooking, "the model's days have meals"
    assert all(7.0 <= environment.local_hour(at) <= 21.0 for at in cooking)
    assert all(environment.sound(at).kitchen_db is not None for at in cooking)
    assert all(environment.sound(at).kitchen_db is None for at in days if at not in cooking)
    reader = opened_reader(board)
    board.clock.advance(cooking[len(cooking) // 2] - board.clock.now())
    assert reader.read()["sound_level_dbfs"] > -75


def test_the_same_seed_and_instant_hear_the_same_room():
    def capture(seed):
        board = VirtualBoard(seed=seed, clock=ManualClock(MORNING + 1234.5))
        return board.open_microphone().capture(RATE, RATE)

    assert capture(3) == capture(3)
    assert capture(3) != capture(4)


# -- faults --------------------------------------------------------------------------


def test_an_absent_microphone_cannot_be_opened(board):
    board.faults.set("microphone", "absent")
    with pytest.raises(OSError, match="No such device"):
        opened_reader(board)


def test_an_overrun_is_a_failed_read_with_its_reason(board):
    reader = opened_reader(board)
    board.faults.set("microphone", "overrun")
    with pytest.raises(OSError) as caught:
        reader.read()
    assert reader.error_reason(caught.value) == "overrun"
    board.faults.clear("microphone")
    assert reader.read()["sound_level_dbfs"] < -60


def test_the_faults_are_in_the_virtual_boards_setting():
    board = VirtualBoard(faults="microphone=overrun")
    assert board.faults.configured("microphone") == "overrun"
    with pytest.raises(ValueError, match="microphone cannot have fault 'stuck'"):
        VirtualBoard(faults="microphone=stuck")


# -- through the service -------------------------------------------------------------


@pytest.fixture
def polled():
    polled = PolledApp(noise_interval=5.0)
    yield polled
    polled.close()


def test_the_noise_route_metrics_and_spec(polled):
    polled.board.microphone.play(tone(1000.0, 0.5))
    polled.poll("noise")
    reply = polled.client.get("/api/sensors/noise")
    assert reply.status_code == 200
    values = reply.get_json()["result"]["sensors"]["microphone"]["values"]
    assert values["sound_level_dbfs"] == pytest.approx(-9.0, abs=0.05)  # rounded to 0.1 dB
    assert values["low_band_level_dbfs"] == pytest.approx(-9.0, abs=0.05)
    text = polled.client.get("/metrics").get_data(as_text=True)
    assert 'enviro_sound_level_dbfs{sensor="microphone"} -9.0' in text
    assert 'enviro_sound_band_level_dbfs{band="low",sensor="microphone"} -9.0' in text
    assert 'enviro_sound_band_level_dbfs{band="high",sensor="microphone"}' in text
    groups = polled.client.get("/api/sensors").get_json()["result"]
    assert "noise" in str(groups)
    spec = polled.client.get("/apispec.json").get_json()
    assert "/api/sensors/noise" in spec["paths"]
    assert "sound_level_dbfs" in str(spec)


def test_faults_through_the_service(polled):
    polled.board.faults.set("microphone", "overrun")
    polled.poll("noise")
    text = polled.client.get("/metrics").get_data(as_text=True)
    assert 'enviro_sensor_read_errors_total{reason="overrun",sensor="microphone"} 1.0' in text
    reply = polled.client.get("/api/sensors/noise")
    assert reply.status_code == 503
    assert "overrun" in reply.get_json()["error"]["message"]
    polled.board.faults.clear("microphone")
    polled.clock.advance(5.0)
    polled.poll("noise")
    assert polled.client.get("/api/sensors/noise").status_code == 200


def test_an_absent_microphone_is_reported_and_the_rest_carries_on():
    polled = PolledApp(faults={"microphone": "absent"})
    try:
        polled.poll("noise", "weather")
        reply = polled.client.get("/api/sensors/noise")
        assert reply.status_code == 503
        assert "No such device" in reply.get_json()["error"]["message"]
        assert polled.client.get("/api/sensors/weather").status_code == 200
    finally:
        polled.close()


def test_without_portaudio_the_sensor_is_absent_and_the_service_runs(tmp_path, monkeypatch):
    # What sounddevice raises at import where PortAudio is not installed.
    (tmp_path / "sounddevice.py").write_text("raise OSError('PortAudio library not found')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for module in ("sounddevice", "enviroplus.noise", "enviro_sensor.sensors.noise_capture"):
        monkeypatch.delitem(sys.modules, module, raising=False)
        package, _, name = module.rpartition(".")
        if package:  # a package keeps its imported submodules as attributes
            monkeypatch.delattr(sys.modules[package], name, raising=False)
    polled = PolledApp()
    try:
        polled.poll("noise", "weather")
        reply = polled.client.get("/api/sensors/noise")
        assert reply.status_code == 503
        message = reply.get_json()["error"]["message"]
        assert "PortAudio library not found" in message and "libportaudio2" in message
        assert polled.client.get("/api/sensors/weather").status_code == 200
        assert polled.client.get("/metrics").status_code == 200
    finally:
        polled.close()


def test_a_portaudio_that_kills_its_process_leaves_the_service_alone(tmp_path, monkeypatch):
    # Where ALSA's configuration is missing, PortAudio fails a C assertion
    # as sounddevice starts it, and the process aborts.
    (tmp_path / "sounddevice.py").write_text("import os\nos.abort()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    polled = PolledApp()
    try:
        polled.poll("noise", "weather")
        reply = polled.client.get("/api/sensors/noise")
        assert reply.status_code == 503
        assert "PortAudio killed the process as it started (SIGABRT)" in reply.get_json()["error"]["message"]
        assert polled.client.get("/api/sensors/weather").status_code == 200
    finally:
        polled.close()


def test_the_sound_stack_is_not_imported_until_the_sensor_opens():
    code = (
        "import sys\n"
        "from enviro_sensor.web.app import create_app\n"
        "from enviro_sensor.sensors import registry\n"
        "create_app(); registry.kinds(); print('sounddevice' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip() == "False"
