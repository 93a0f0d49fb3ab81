"""The SCD40/SCD41: its emulation against the datasheet, read by Sensirion's own driver.

Figures from the SCD4x datasheet (version 1.5): the CRC example
(0xBEEF -> 0x92, section 3.11), the read_measurement example (0x01F4 0x33
0x6667 0xA2 0x5EB9 0x3C: 500 ppm, 25 C, 37 %RH) and the
set_temperature_offset example (5.4 C: 0x07E6 0x48). Time is a ManualClock:
the 5 s measurement interval passes when the test advances it.
"""

from __future__ import annotations

import pytest
from sensirion_driver_adapters.i2c_adapter.i2c_channel import I2cChannel
from sensirion_i2c_driver.errors import I2cChecksumError
from sensirion_i2c_scd4x import Scd4xDevice
from sensirion_i2c_scd4x.result_types import SignalRelativeHumidity, SignalTemperature

from enviro_sensor.hardware.virtual import VirtualBoard
from enviro_sensor.hardware.virtual.chips import scd4x as chip
from enviro_sensor.hardware.virtual.chips.sensirion import crc8, frame_words, unframe_words
from enviro_sensor.hardware.virtual.clock import ManualClock
from enviro_sensor.hardware.virtual.environment import DAY, HOUR, Environment
from enviro_sensor.sensors import registry
from enviro_sensor.sensors.base import WarmingUp
from enviro_sensor.sensors.config import Sensor, parse_i2c_sensors
from enviro_sensor.sensors.scd4x import KEEP_SECONDS, SCD4xError
from enviro_sensor.sensors.sensirion import SENSIRION_CRC, SmbusConnection
from enviro_sensor.settings import SettingsError, load_settings
from tests.sensor_support import PolledApp, kind_options
from tests.virtual_support import MORNING


def test_crc_is_the_datasheet_example():
    assert crc8(b"\xbe\xef") == 0x92
    # The driver's calculator, as the reader configures it, agrees.
    assert SENSIRION_CRC(b"\xbe\xef") == 0x92


def test_read_measurement_example_from_the_datasheet():
    # The driver's conversions give the datasheet's rounded values ...
    temperature, humidity = SignalTemperature(0x6667).value, SignalRelativeHumidity(0x5EB9).value
    assert (round(temperature, 2), round(humidity, 2)) == (25.0, 37.0)
    # ... the emulation encodes those exact values as the same words ...
    words = [500, chip.temperature_word(temperature), chip.humidity_word(humidity)]
    assert words == [0x01F4, 0x6667, 0x5EB9]
    # ... and frames them with the datasheet's CRCs.
    assert frame_words(words) == bytes.fromhex("01f4 33 6667 a2 5eb9 3c")


def test_temperature_offset_example_through_the_driver():
    assert chip.offset_word(5.4) == 0x07E6
    assert frame_words([0x07E6]) == bytes.fromhex("07e6 48")
    clock = ManualClock(MORNING)
    board = VirtualBoard(seed=3, clock=clock)
    board.provide_i2c_chip("enviro_sensor.hardware.virtual.chips.scd4x:emulate", 0x62)
    device = Scd4xDevice(I2cChannel(SmbusConnection(board.i2c_bus(1), clock), 0x62, crc=SENSIRION_CRC))
    assert round(device.get_temperature_offset().value, 2) == 4.0  # the factory default
    device.set_temperature_offset(5.4)
    assert board.i2c_bus(1).chip(0x62).offset_word == 0x07E6
    assert round(device.get_temperature_offset().value, 2) == 5.4


def test_an_argument_with_a_wrong_crc_is_ignored():
    assert unframe_words(bytes.fromhex("07e6 49")) is None
    scd = chip.SCD4xChip(Environment(ManualClock(MORNING)), VirtualBoard(clock=ManualClock()).faults)
    scd.write(bytes.fromhex("241d 07e6 49"))
    assert scd.offset_word == chip.offset_word(4.0)


@pytest.fixture
def board():
    clock = ManualClock(MORNING, real_time_waits=False)
    board = VirtualBoard(seed=3, clock=clock)
    yield board
    board.close()


def reader_on(board, kind="scd41", chip_kind=None):
    kinds = registry.kinds()
    board.provide_i2c_chip(kinds[chip_kind or kind].emulation, 0x62)
    sensor = Sensor(kind, kinds[kind], 0x62, 1, "i2c")
    return kinds[kind].reader(sensor, kind_options(kinds[kind]), board.clock)


def test_the_driver_reads_the_room_every_5_seconds(board):
    reader = reader_on(board)
    reader.open(board)
    started = board.clock.monotonic()
    with pytest.raises(WarmingUp):
        reader.read()
    board.clock.advance(4.9 - (board.clock.monotonic() - started))
    with pytest.raises(WarmingUp):
        reader.read()  # the first measurement takes the whole interval
    board.clock.advance(0.2)
    values = reader.read()
    env = board.environment
    assert values["co2_ppm"] == round(env.co2())
    # The resolution of the words: 175 / 65535 C, 100 / 65535 %RH.
    assert values["temperature_celsius"] == pytest.approx(
        env.conditions().room_temperature_celsius, abs=0.003
    )
    assert values["humidity_percent"] == pytest.approx(env.conditions().room_humidity_percent, abs=0.01)
    # Between two measurements a poll gets the latest one again.
    assert reader.read() == values
    bus = board.i2c_bus(1)
    assert not bus.chip(0x62)._buffer  # read once, the buffer is empty


def test_a_sensor_that_stops_measuring_fails_within_three_intervals(board):
    reader = reader_on(board)
    reader.open(board)
    board.clock.advance(5.0)
    reader.read()
    board.faults.set("scd41", "stuck")
    board.clock.advance(KEEP_SECONDS - 1)
    reader.read()  # the latest value still stands
    board.clock.advance(2)
    with pytest.raises(SCD4xError, match="no new measurement"):
        reader.read()


def test_a_corrupted_word_is_a_checksum_error(board):
    reader = reader_on(board)
    reader.open(board)
    board.faults.set("scd41", "corrupt")
    board.clock.advance(5.0)
    with pytest.raises(I2cChecksumError) as caught:
        reader.read()
    assert reader.error_reason(caught.value) == "checksum"


def test_while_measuring_it_ignores_idle_mode_commands(board):
    reader = reader_on(board)
    reader.open(board)
    with pytest.raises(OSError):  # not acknowledged, as the datasheet says
        reader._device.get_serial_number()


def test_an_scd40_listed_as_an_scd41_is_named(board):
    reader = reader_on(board, kind="scd41", chip_kind="scd40")
    with pytest.raises(SCD4xError, match="is an scd40, not an scd41"):
        reader.open(board)


def test_the_room_model_co2_builds_up_and_airing_clears_it():
    env = Environment(ManualClock(), seed=5)
    midnight = (MORNING // DAY) * DAY
    before_airing = env.co2(midnight + 7.49 * HOUR)
    after_airing = env.co2(midnight + 7.76 * HOUR)
    afternoon = env.co2(midnight + 16 * HOUR)
    assert before_airing > 1000  # a night with the windows shut
    assert after_airing < before_airing - 400
    assert 420 <= afternoon < before_airing
    # Stateless: the same instant gives the same value whatever came before.
    assert env.co2(midnight + 7.49 * HOUR) == before_airing


def test_listed_in_the_setting_and_collisions_refused():
    (spec,) = parse_i2c_sensors("scd41@0x62")
    assert (spec.name, spec.kind, spec.address, spec.bus) == ("scd41", "scd41", 0x62, 1)
    with pytest.raises(SettingsError, match="scd40@0x62 collides with another scd41 at 0x62 on bus 1"):
        load_settings({"ENVIRO_I2C_SENSORS": "scd41@0x62,scd40@0x62"})
    with pytest.raises(SettingsError, match="scd41@0x76 collides with the board's bme280"):
        load_settings({"ENVIRO_I2C_SENSORS": "scd41@0x76"})


@pytest.fixture
def polled():
    polled = PolledApp(environ={"ENVIRO_I2C_SENSORS": "aht10@0x38,scd41@0x62"}, i2c_interval=5.0)
    yield polled
    polled.close()


def test_through_the_service_with_its_faults(polled):
    polled.poll("i2c")
    polled.clock.advance(5.0)
    polled.poll("i2c")
    body = polled.client.get("/api/sensors/i2c/scd41").get_json()["result"]
    # Measured within the last poll's fraction of a second: the room's CO2 then.
    assert body["values"]["co2_ppm"] == pytest.approx(polled.board.environment.co2(), abs=3)
    text = polled.client.get("/metrics").get_data(as_text=True)
    assert 'enviro_carbon_dioxide_ppm{sensor="scd41"}' in text
    polled.board.faults.set("scd41", "out-of-range")
    polled.clock.advance(5.0)
    polled.poll("i2c")
    text = polled.client.get("/metrics").get_data(as_text=True)
    assert 'enviro_readings_rejected_total{field="co2_ppm",reason="out_of_range",sensor="scd41"} 1.0' in text
    polled.board.faults.set("scd41", "corrupt")
    polled.clock.advance(5.0)
    polled.poll("i2c")
    text = polled.client.get("/metrics").get_data(as_text=True)
    assert 'enviro_sensor_read_errors_total{reason="checksum",sensor="scd41"} 1.0' in text
    polled.board.faults.set("scd41", "absent")
    polled.poll("i2c")
    text = polled.client.get("/metrics").get_data(as_text=True)
    assert 'enviro_sensor_read_errors_total{reason="io_error",sensor="scd41"} 1.0' in text
    polled.board.faults.clear("scd41")
    polled.clock.advance(5.0)
    polled.poll("i2c")  # set up again, and measuring from now
    assert polled.service.latest.view("scd41").status == "warming-up"
    polled.clock.advance(5.0)
    polled.poll("i2c")
    assert polled.service.latest.view("scd41").status == "ok"
    assert polled.service.latest.view("aht10").status == "ok"  # never noticed


# Home Assistant's sensor device classes and the units it accepts for each
# (developers.home-assistant.io, "Sensor entity", device classes), for the
# classes this service's parts use.
HA_DEVICE_CLASS_UNITS = {
    "aqi": {None},  # unitless
    "atmospheric_pressure": {"cbar", "bar", "hPa", "mmHg", "inHg", "kPa", "mbar", "Pa", "psi"},
    "carbon_dioxide": {"ppm"},
    "humidity": {"%"},
    "illuminance": {"lx"},
    "pm1": {"µg/m³"},
    "pm10": {"µg/m³"},
    "pm25": {"µg/m³"},
    "temperature": {"°C", "°F", "K"},
}


def test_every_declared_device_class_is_home_assistants_with_a_unit_it_takes():
    fields = [field for kind in registry.kinds().values() for field in kind.fields]
    classes = {field.device_class for field in fields if field.device_class is not None}
    assert "carbon_dioxide" in classes
    for field in fields:
        if field.device_class is not None:
            assert field.unit in HA_DEVICE_CLASS_UNITS[field.device_class], field.key
