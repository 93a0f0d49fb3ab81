"""The emulated chips, read by Pimoroni's unmodified drivers and by plain smbus2 calls.

Each reading is compared with the environment model at the same instant,
within the resolution the sensor's datasheet gives; published figures
(Bosch's worked example, the AHT10 formulas) are checked as printed.
"""

from __future__ import annotations

import dataclasses
import struct

import ads1015
import bme280
import ltr559
import pytest
from gpiod.line import Value
from smbus2 import i2c_msg

from enviro_sensor.hardware.virtual import VirtualBoard
from enviro_sensor.hardware.virtual.chips import aht10 as aht10_chip
from enviro_sensor.hardware.virtual.chips import bosch
from enviro_sensor.hardware.virtual.chips.bme280 import BME280Chip
from enviro_sensor.hardware.virtual.chips.mics6814 import COLD_OHMS, element_ohms
from enviro_sensor.hardware.virtual.clock import ManualClock
from enviro_sensor.hardware.virtual.environment import Conditions
from enviro_sensor.hardware.virtual.faults import Faults
from enviro_sensor.hardware.virtual.i2c import VirtualI2CBus
from tests.virtual_support import MORNING, detected_type

# A morning instant (UTC 09:00) when the model's room is lit.
# A step past the end of an on-chip operation, clear of float rounding.
JUST_PAST = 1e-6


class FixedEnvironment:
    """An environment that always has the same conditions (for published figures)."""

    def __init__(self, clock, **values) -> None:
        self.clock = clock
        base = dict(
            temperature_celsius=25.08,
            pressure_pascals=100653.27,
            humidity_percent=40.0,
            illuminance_lux=0.0,
            proximity=0,
            oxidising_ohms=20e3,
            reducing_ohms=400e3,
            nh3_ohms=150e3,
            pm1_0_ugm3=1.0,
            pm2_5_ugm3=2.0,
            pm10_ugm3=3.0,
            cpu_temperature_celsius=50.0,
        )
        base.update(values)
        self._conditions = Conditions(**base)

    def conditions(self, at=None):
        return self._conditions


def raw_bosch_data(bus, address):
    """adc_P and adc_T from the data registers, as the datasheet packs them (20 bits each)."""
    data = bus.read_i2c_block_data(address, 0xF7, 6)
    adc_p = data[0] << 12 | data[1] << 4 | data[2] >> 4
    adc_t = data[3] << 12 | data[4] << 4 | data[5] >> 4
    return adc_p, adc_t


# -- BME280 / BMP280 ---------------------------------------------------------


def test_bosch_worked_example_through_the_compensation_math():
    # BMP280 datasheet (BST-BMP280-DS001) section 3.12, worked example:
    # with its calibration, adc_T 519888 is 25.08 C and adc_P 415148 is 100653.27 Pa
    # (double-precision formulas of section 8.1, which the BME280 shares).
    celsius, t_fine = bosch.compensate_temperature(bosch.DATASHEET_EXAMPLE, 519888)
    assert round(celsius, 2) == 25.08
    assert round(bosch.compensate_pressure(bosch.DATASHEET_EXAMPLE, 415148, t_fine), 2) == 100653.27


def test_bosch_worked_example_through_the_chip_and_the_real_driver(clock):
    # Same example, end to end: a chip holding the datasheet's calibration,
    # in a room at the example's 25.08 C and 100653.27 Pa. The real driver
    # decodes the chip's calibration and raw values back to the printed
    # figures, and the raw values are the datasheet's within the rounding
    # of those figures (0.005 C is 16 counts of adc_T; 0.005 Pa less than
    # one of adc_P, which also moves with t_fine: 0.01 hPa of slack).
    environment = FixedEnvironment(clock)
    bus = VirtualI2CBus(Faults())
    bus.attach(BME280Chip(environment, Faults(), calibration=bosch.DATASHEET_EXAMPLE))
    sensor = bme280.BME280(i2c_addr=0x76, i2c_dev=bus)
    sensor.setup(mode="forced")

    assert round(sensor.get_temperature(), 2) == 25.08
    assert round(sensor.get_pressure(), 2) == 1006.53
    adc_p, adc_t = raw_bosch_data(bus, 0x76)
    assert abs(adc_t - 519888) <= 16
    assert abs(adc_p - 415148) <= 6

    cal = sensor.calibration
    assert (cal.dig_t1, cal.dig_t2, cal.dig_t3) == (27504, 26435, -1000)
    assert (cal.dig_p1, cal.dig_p2, cal.dig_p3, cal.dig_p4, cal.dig_p5) == (36477, -10685, 3024, 2855, 140)
    assert (cal.dig_p6, cal.dig_p7, cal.dig_p8, cal.dig_p9) == (-7, 15500, -14600, 6000)


def test_the_driver_decodes_the_humidity_calibration_packing(board):
    # BME280 datasheet table 16: dig_H4 and dig_H5 are 12-bit words sharing 0xE5.
    sensor = bme280.BME280(i2c_addr=0x76, i2c_dev=board.i2c_bus())
    sensor.setup()
    cal, expected = sensor.calibration, bosch.TYPICAL_BME280
    assert (cal.dig_h1, cal.dig_h2, cal.dig_h3) == (expected.dig_h1, expected.dig_h2, expected.dig_h3)
    assert (cal.dig_h4, cal.dig_h5, cal.dig_h6) == (expected.dig_h4, expected.dig_h5, expected.dig_h6)


def test_trimming_words_sit_where_the_datasheet_puts_them():
    # BMP280 table 17: dig_T1 = 27504 = 0x6B70 at 0x88 (LSB) / 0x89 (MSB),
    # dig_T2 = 26435 = 0x6743, dig_T3 = -1000 = 0xFC18, dig_P1 = 36477 = 0x8E7D
    # (unsigned), ... dig_P9 = 6000 = 0x1770 at 0x9E / 0x9F; 0xA0 reserved.
    nvm = bosch.DATASHEET_EXAMPLE.registers(humidity=False)
    assert [nvm[a] for a in range(0x88, 0x90)] == [0x70, 0x6B, 0x43, 0x67, 0x18, 0xFC, 0x7D, 0x8E]
    assert (nvm[0x9E], nvm[0x9F], nvm[0xA0]) == (0x70, 0x17, 0x00)
    assert set(nvm) == set(range(0x88, 0xA2))
    # BME280 table 16: dig_H1 = 75 in 0xA1; dig_H2 = 362 = 0x016A in 0xE1/0xE2;
    # dig_H3 = 0 in 0xE3; dig_H4 = 313 = 0x139 as 0xE4 = 0x13 and 0xE5[3:0] = 0x9;
    # dig_H5 = 50 = 0x032 as 0xE5[7:4] = 0x2 and 0xE6 = 0x03; dig_H6 = 30 in 0xE7.
    nvm = bosch.TYPICAL_BME280.registers()
    assert nvm[0xA1] == 75
    assert [nvm[a] for a in range(0xE1, 0xE8)] == [0x6A, 0x01, 0x00, 0x13, 0x29, 0x03, 0x1E]
    assert bosch.TYPICAL_BME280.humidity_bytes() == bytes([0x6A, 0x01, 0x00, 0x13, 0x29, 0x03, 0x1E])


def test_negative_humidity_words_pack_as_twelve_bit_twos_complement():
    cal = dataclasses.replace(bosch.TYPICAL_BME280, dig_h4=-2, dig_h5=-3, dig_h6=-1)
    nvm = cal.registers()
    # -2 = 0xFFE, -3 = 0xFFD (12 bits), -1 = 0xFF (8 bits).
    assert (nvm[0xE4], nvm[0xE5], nvm[0xE6], nvm[0xE7]) == (0xFF, 0xDE, 0xFF, 0xFF)


@pytest.mark.parametrize(
    ("word", "value"),
    [
        ("dig_t1", -1),
        ("dig_t1", 0x10000),
        ("dig_t2", 0x8000),
        ("dig_h1", 256),
        ("dig_h4", 2048),
        ("dig_h6", -129),
    ],
)
def test_trimming_words_must_fit_their_registers(word, value):
    with pytest.raises(ValueError, match=word):
        dataclasses.replace(bosch.TYPICAL_BME280, **{word: value})


def test_pressure_compensation_guards_against_a_zero_dig_p1():
    # Datasheet 8.1: "return 0; // avoid exception caused by division by zero".
    cal = dataclasses.replace(bosch.DATASHEET_EXAMPLE, dig_p1=0)
    assert bosch.compensate_pressure(cal, 415148, 128422.0) == 0.0


def test_humidity_compensation_is_the_datasheets():
    # BME280 datasheet 8.1 (double), with t_fine at 25 C (128000) and
    # TYPICAL_BME280's words, worked by hand:
    # var_H = 128000 - 76800 = 51200
    # var_H = (adc_H - (313 * 64 + 50 / 16384 * 51200)) * (362 / 65536 * (1 + 30 / 67108864 * 51200))
    #       = (30000 - 20188.25) * 0.005523681640625 * 1.02288818359375 = 55.43745
    # var_H * (1 - 75 * var_H / 524288) = 55.43745 * 0.99206965 = 54.99781
    assert bosch.compensate_humidity(bosch.TYPICAL_BME280, 30000, 128000.0) == pytest.approx(
        54.99781, abs=1e-5
    )


def assert_bme280_matches(sensor, conditions):
    # Resolution at x16 oversampling (datasheet tables 3-5): 0.0003 C,
    # 0.18 Pa, 0.008 %RH per count; the emulation is within half a count.
    assert sensor.temperature == pytest.approx(conditions.temperature_celsius, abs=0.001)
    assert sensor.pressure * 100 == pytest.approx(conditions.pressure_pascals, abs=0.2)
    assert sensor.humidity == pytest.approx(conditions.humidity_percent, abs=0.01)


def test_bme280_in_forced_mode_reads_the_model(board):
    sensor = bme280.BME280(i2c_addr=0x76, i2c_dev=board.i2c_bus())
    sensor.setup(mode="forced")
    sensor.update_sensor()
    assert_bme280_matches(sensor, board.environment.conditions())


def test_bme280_in_normal_mode_reads_reset_values_until_the_first_measurement(board, clock):
    # Datasheet 5.4.7-5.4.9: the data registers reset to 0x80000 / 0x8000, and
    # the first normal-mode measurement ends t_measure (113 ms at x16) after
    # the mode is set. The driver reads at once after setup, so its first
    # answer is the reset value, as on a real board.
    sensor = bme280.BME280(i2c_addr=0x76, i2c_dev=board.i2c_bus())
    sensor.setup()  # normal mode, x16 everywhere
    assert raw_bosch_data(board.i2c_bus(), 0x76) == (0x80000, 0x80000)

    clock.advance(0.12)
    sensor.update_sensor()
    assert_bme280_matches(sensor, board.environment.conditions())

    clock.advance(3600)  # an hour later the chip has new values, still the model's
    sensor.update_sensor()
    assert_bme280_matches(sensor, board.environment.conditions())


def test_bme280_busy_bit_lasts_the_datasheet_measurement_time():
    # Datasheet 9.1: t_measure,max = 1.25 + 2.3*osrs_t + (2.3*osrs_p + 0.575)
    # + (2.3*osrs_h + 0.575) ms: 112.8 ms at x16 for all three.
    clock = ManualClock(MORNING, real_time_waits=False)
    bus = VirtualBoard(clock=clock).i2c_bus()
    bus.write_byte_data(0x76, 0xF2, 0b101)  # osrs_h x16
    bus.write_byte_data(0x76, 0xF4, 0b101_101_01)  # osrs_t, osrs_p x16, forced
    assert bus.read_byte_data(0x76, 0xF3) & 0x08
    clock.advance(0.1125)
    assert bus.read_byte_data(0x76, 0xF3) & 0x08
    clock.advance(0.0005)
    assert not bus.read_byte_data(0x76, 0xF3) & 0x08
    # Forced mode ends in sleep mode (datasheet 3.3.3).
    assert bus.read_byte_data(0x76, 0xF4) & 0b11 == 0


def test_bme280_soft_reset_restores_reset_values(board, clock):
    bus = board.i2c_bus()
    bus.write_byte_data(0x76, 0xF4, 0b001_001_11)
    clock.advance(1)
    assert raw_bosch_data(bus, 0x76) != (0x80000, 0x80000)
    bus.write_byte_data(0x76, 0xE0, 0xB6)  # datasheet 5.4.2: only 0xB6 resets
    assert bus.read_byte_data(0x76, 0xF4) == 0
    assert raw_bosch_data(bus, 0x76) == (0x80000, 0x80000)


def test_bmp280_with_plain_smbus_calls_reads_the_room(board, clock):
    # The sequence of BMP280 datasheet 3.9-3.11, as a hand-written reader does it.
    bus = board.i2c_bus()
    assert bus.read_byte_data(0x77, 0xD0) == 0x58
    calibration = bytes(bus.read_i2c_block_data(0x77, 0x88, 24))
    bus.write_byte_data(0x77, 0xF4, 0b010_101_01)  # osrs_t x2, osrs_p x16, forced
    polls = 0
    while bus.read_byte_data(0x77, 0xF3) & 0x08:
        clock.advance(0.005)
        polls += 1
    adc_p, adc_t = raw_bosch_data(bus, 0x77)

    # Decode with the vendor driver's calibration class, independent of the
    # emulation; the words are little-endian, T1 and P1 unsigned (table 17).
    cal = bme280.BME280Calibration()
    words = struct.unpack("<HhhHhhhhhhhh", calibration)
    names = ("dig_t1", "dig_t2", "dig_t3", *(f"dig_p{i}" for i in range(1, 10)))
    for name, value in zip(names, words, strict=True):
        setattr(cal, name, value)
    room = board.environment.conditions()
    assert polls >= 1
    assert cal.compensate_temperature(adc_t) == pytest.approx(room.room_temperature_celsius, abs=0.001)
    assert cal.compensate_pressure(adc_p) == pytest.approx(room.pressure_pascals, abs=0.2)


def test_bmp280_through_i2c_rdwr(board):
    bus = board.i2c_bus()
    pointer, answer = i2c_msg.write(0x77, [0xD0]), i2c_msg.read(0x77, 1)
    bus.i2c_rdwr(pointer, answer)
    assert list(answer) == [0x58]


# -- LTR559 -------------------------------------------------------------------


def test_ltr559_reads_the_model_light_and_proximity(board, clock):
    sensor = ltr559.LTR559(i2c_dev=board.i2c_bus())
    clock.advance(0.15)  # past the first measurements: ALS every 50 ms, PS every 100 ms
    sensor.update_sensor()
    conditions = board.environment.conditions()
    assert conditions.illuminance_lux > 50
    # One count of CH0 at the driver's gain 4 and 50 ms is 1.1 lux, one of
    # CH1 0.55 lux (Lite-On appendix A): the reading is within those.
    assert sensor.get_lux(passive=True) == pytest.approx(conditions.illuminance_lux, abs=1.7)
    assert sensor.get_proximity(passive=True) == conditions.proximity
    assert (sensor.get_part_id(), sensor.get_revision()) == (0x09, 0x02)


def test_ltr559_channels_clip_each_on_its_own_in_bright_light():
    # Sun straight on the sensor: at the driver's gain 4 and 50 ms, CH0
    # (visible + IR) saturates near 74,000 lux, but the IR photodiode (CH1)
    # collects less than half as much light and keeps counting. At gain 1
    # the same light fits both channels: the IR count at gain 4 is four
    # times that one, as if CH0 had never clipped.
    clock = ManualClock(MORNING)
    board = VirtualBoard(clock=clock)
    board.environment.illuminance = lambda t: 100_000.0
    sensor = ltr559.LTR559(i2c_dev=board.i2c_bus())
    clock.advance(0.15)
    sensor.update_sensor()
    ch0_gain4, ch1_gain4 = sensor.get_raw_als(passive=True)
    assert ch0_gain4 == 0xFFFF
    assert 0 < ch1_gain4 < 0xFFFF

    sensor.set_light_options(active=True, gain=1)
    clock.advance(0.15)
    sensor.update_sensor()
    ch0_gain1, ch1_gain1 = sensor.get_raw_als(passive=True)
    assert ch0_gain1 < 0xFFFF  # nothing clips at gain 1
    assert ch1_gain1 / ch0_gain1 == pytest.approx(0.30 / 0.70, rel=1e-3)  # the light's IR share
    assert ch1_gain4 == pytest.approx(4 * ch1_gain1, abs=4)
    # Derived from the clipped CH0 instead, CH1 would have read 3/7 of 65535.
    assert ch1_gain4 > 0xFFFF * 0.30 / 0.70 + 1000

    # Brighter still, the IR photodiode saturates too.
    board.environment.illuminance = lambda t: 250_000.0
    sensor.set_light_options(active=True, gain=4)
    clock.advance(0.15)
    sensor.update_sensor()
    assert sensor.get_raw_als(passive=True) == (0xFFFF, 0xFFFF)


def test_ltr559_reads_zero_lux_in_the_dark():
    clock = ManualClock(MORNING - 9 * 3600)  # midnight UTC: the model's room is dark
    board = VirtualBoard(clock=clock)
    sensor = ltr559.LTR559(i2c_dev=board.i2c_bus())
    clock.advance(0.1)
    assert board.environment.conditions().illuminance_lux == 0
    assert sensor.get_lux() == 0


def test_ltr559_status_flags_new_data_once_per_measurement():
    clock = ManualClock(MORNING, real_time_waits=False)
    bus = VirtualBoard(clock=clock).i2c_bus()
    bus.write_byte_data(0x23, 0x85, 0b001_000)  # 50 ms integration, 50 ms repeat
    bus.write_byte_data(0x23, 0x80, 0b010_0_1)  # gain 4, active
    assert bus.read_byte_data(0x23, 0x8C) & 0x04 == 0
    clock.advance(0.05 + JUST_PAST)
    status = bus.read_byte_data(0x23, 0x8C)
    assert status & 0x04 and (status >> 4) & 0b111 == 0b010  # new data, at gain 4
    bus.read_i2c_block_data(0x23, 0x88, 4)
    assert bus.read_byte_data(0x23, 0x8C) & 0x04 == 0  # read: no longer new


def test_ltr559_soft_reset_bit_clears_and_restores_defaults():
    clock = ManualClock(MORNING, real_time_waits=False)
    bus = VirtualBoard(clock=clock).i2c_bus()
    bus.write_byte_data(0x23, 0x82, 0x00)
    bus.write_byte_data(0x23, 0x80, 0x02)
    assert bus.read_byte_data(0x23, 0x80) & 0x02
    clock.advance(0.01)
    assert bus.read_byte_data(0x23, 0x80) == 0x00
    assert bus.read_byte_data(0x23, 0x82) == 0x7F  # PS_LED default


# -- ADS1015 and the MiCS-6814 --------------------------------------------------


def gas_adc(board):
    """The ADC set up as the Enviro+ gas readout does (enviroplus.gas)."""
    adc = ads1015.ADS1015(i2c_addr=0x49, i2c_dev=board.i2c_bus())
    chip_type = detected_type(adc, board)
    adc.set_mode("single")
    adc.set_programmable_gain(6.144)
    adc.set_sample_rate(1600)
    return adc, chip_type


def heater_on(board):
    # What enviroplus does with the heater pin: drive GPIO 24 high.
    lines, offset = board.driver_pin("gas_heater")
    lines.set_value(offset, Value.ACTIVE)


def resistance_tolerance(ohms):
    # One 3 mV count of the ADS1015 at +-6.144 V, through R = V*56000/(3.3-V).
    volts = 3.3 * ohms / (ohms + 56000)
    return abs(element_ohms(volts + 0.003) - ohms)


def test_ads1015_is_detected_as_an_ads1015(board):
    # The driver times ten conversions at 1600 SPS against 1/128 s (ADS1115 at its setting).
    assert gas_adc(board)[1] == "ADS1015"


def test_gas_resistances_read_the_warm_model_after_warm_up(board, clock):
    adc, _ = gas_adc(board)
    heater_on(board)
    clock.advance(1800)  # 15 heater time constants
    expected = board.gas_sensor.resistances()
    warm = board.environment.conditions()
    assert expected == pytest.approx((warm.oxidising_ohms, warm.reducing_ohms, warm.nh3_ohms), rel=1e-5)
    for channel, ohms in zip(("in0/gnd", "in1/gnd", "in2/gnd"), expected, strict=True):
        measured = element_ohms(adc.get_voltage(channel))
        assert measured == pytest.approx(ohms, abs=resistance_tolerance(ohms))


def test_gas_warm_up_is_observable(board, clock):
    adc, _ = gas_adc(board)

    def reducing():
        return element_ohms(adc.get_voltage("in1/gnd"))

    cold = reducing()
    assert cold == pytest.approx(COLD_OHMS[1], abs=resistance_tolerance(COLD_OHMS[1]))
    heater_on(board)
    readings = []
    for _ in range(6):
        clock.advance(60)
        readings.append(reducing())
    assert readings == sorted(readings, reverse=True)  # falling from cold towards warm
    warm = board.environment.conditions().reducing_ohms
    assert readings[0] > 1.5 * warm
    assert readings[-1] < cold
    clock.advance(1200)
    warm = board.environment.conditions().reducing_ohms
    assert reducing() == pytest.approx(warm, abs=resistance_tolerance(warm) + 0.001 * warm)


def test_ads1015_conversion_time_follows_the_data_rate():
    # Datasheet SBAS473: a single-shot conversion takes 1/DR; OS (bit 15) reads 0 meanwhile.
    clock = ManualClock(MORNING, real_time_waits=False)
    bus = VirtualBoard(clock=clock).i2c_bus()

    def start(data_rate_field):
        config = 0x8000 | 0b100 << 12 | 0b000 << 9 | 0x0100 | data_rate_field << 5 | 0x03
        bus.write_i2c_block_data(0x49, 0x01, [config >> 8, config & 0xFF])

    def busy():
        return not bus.read_i2c_block_data(0x49, 0x01, 2)[0] & 0x80

    start(0b000)  # 128 SPS
    assert busy()
    clock.advance(1 / 250)
    assert busy()
    clock.advance(1 / 128 - 1 / 250 + JUST_PAST)
    assert not busy()
    start(0b110)  # 3300 SPS
    assert busy()
    clock.advance(1 / 3300 + JUST_PAST)
    assert not busy()


def test_ads1015_pga_clips_at_full_scale(board, clock):
    # At +-2.048 V the reducing channel (about 2.9 V) is beyond full scale: 0x7FF.
    adc, _ = gas_adc(board)
    heater_on(board)
    clock.advance(1800)
    adc.set_programmable_gain(2.048)
    assert adc.get_voltage("in1/gnd") == pytest.approx(2047 / 2048 * 2.048)


# -- AHT10 ----------------------------------------------------------------------------


def test_aht10_formulas_on_literal_bytes():
    # AHT10 datasheet, signal transformation: RH = S_RH/2^20*100 %, T = S_T/2^20*200-50 C.
    # S_RH = 0x80000 (half scale), S_T = 0x56666.
    humidity, celsius = aht10_chip.decode_measurement(bytes([0x80, 0x00, 0x05, 0x66, 0x66]))
    assert humidity == 50.0
    assert celsius == pytest.approx(0x56666 / 2**20 * 200 - 50)
    assert round(celsius, 3) == 17.5
    assert aht10_chip.encode_measurement(50.0, 17.5) == bytes([0x80, 0x00, 0x05, 0x66, 0x66])


def aht10_values(frame):
    status = frame[0]
    s_rh = frame[1] << 12 | frame[2] << 4 | frame[3] >> 4
    s_t = (frame[3] & 0x0F) << 16 | frame[4] << 8 | frame[5]
    return status, s_rh / 2**20 * 100, s_t / 2**20 * 200 - 50


def test_aht10_with_i2c_rdwr_reads_the_room(board, clock):
    bus = board.i2c_bus()
    bus.i2c_rdwr(i2c_msg.write(0x38, [0xE1, 0x08, 0x00]))  # initialise: calibration on
    bus.i2c_rdwr(i2c_msg.write(0x38, [0xAC, 0x33, 0x00]))  # trigger
    status = i2c_msg.read(0x38, 1)
    bus.i2c_rdwr(status)
    assert bytes(status)[0] & 0x80  # busy

    clock.advance(0.08)  # datasheet: the measurement is done within 75 ms
    frame = i2c_msg.read(0x38, 6)
    bus.i2c_rdwr(frame)
    status, humidity, celsius = aht10_values(list(frame))
    room = board.environment.conditions()
    assert status & 0x80 == 0 and status & 0x08
    # 20 bits: 0.0001 %RH and 0.0002 C per count.
    assert humidity == pytest.approx(room.room_humidity_percent, abs=1e-4)
    assert celsius == pytest.approx(room.room_temperature_celsius, abs=2e-4)


def test_aht10_with_block_calls_and_soft_reset(board, clock):
    bus = board.i2c_bus()
    bus.write_i2c_block_data(0x38, 0xE1, [0x08, 0x00])
    bus.write_i2c_block_data(0x38, 0xAC, [0x33, 0x00])
    clock.advance(0.1)
    status, humidity, celsius = aht10_values(bus.read_i2c_block_data(0x38, 0x00, 6))
    assert status == 0x08 and 0 < humidity < 100 and -40 < celsius < 85

    bus.write_byte(0x38, 0xBA)  # soft reset: back to the power-on state
    clock.advance(0.02)
    assert bus.read_byte(0x38) & 0x08 == 0


# -- the same chips elsewhere on the bus ---------------------------------------------------


@pytest.mark.parametrize(
    ("emulation", "address", "register", "answer"),
    [
        ("enviro_sensor.hardware.virtual.chips.bme280:emulate", 0x50, 0xD0, 0x60),  # chip id
        ("enviro_sensor.hardware.virtual.chips.bmp280:emulate", 0x51, 0xD0, 0x58),
        ("enviro_sensor.hardware.virtual.chips.ltr559:emulate", 0x52, 0x86, 0x92),  # part id
        ("enviro_sensor.hardware.virtual.chips.ads1015:emulate", 0x48, 0x01, 0x85),  # config MSB after reset
        (
            "enviro_sensor.hardware.virtual.chips.aht10:emulate",
            0x39,
            0x00,
            0x00,
        ),  # status: idle, not initialised
    ],
)
def test_each_chip_can_be_provided_at_another_address(board, emulation, address, register, answer):
    board.provide_i2c_chip(emulation, address)
    chip = board.bus.chip(address)
    assert chip.address == address
    assert board.i2c_bus().read_byte_data(address, register) == answer
    # Faults go by device name: the board's own part and the extra one share them.
    board.faults.set(chip.name, "absent")
    with pytest.raises(OSError):
        board.i2c_bus().read_byte_data(address, register)


def test_a_second_ads1015_reads_the_same_gas_sensor(board, clock):
    # An ADS1015 breakout at 0x48 (ADDR to ground) wired to the MiCS-6814 as the Enviro+ wires its own.
    board.provide_i2c_chip("enviro_sensor.hardware.virtual.chips.ads1015:emulate", 0x48)
    heater_on(board)
    clock.advance(1800)
    readings = []
    for address in (0x49, 0x48):
        adc = ads1015.ADS1015(i2c_addr=address, i2c_dev=board.i2c_bus())
        assert detected_type(adc, board) == "ADS1015"
        adc.set_mode("single")
        adc.set_programmable_gain(6.144)
        readings.append(adc.get_voltage("in0/gnd"))
    assert readings[0] == readings[1]
    assert element_ohms(readings[1]) == pytest.approx(
        board.gas_sensor.resistances()[0], abs=resistance_tolerance(board.gas_sensor.resistances()[0])
    )


def test_an_aht10_at_its_alternative_address_reads_the_room(board, clock):
    # The AHT10's ADR pin moves it from 0x38 to 0x39.
    board.provide_i2c_chip("enviro_sensor.hardware.virtual.chips.aht10:emulate", 0x39)
    bus = board.i2c_bus()
    bus.write_i2c_block_data(0x39, 0xE1, [0x08, 0x00])
    bus.write_i2c_block_data(0x39, 0xAC, [0x33, 0x00])
    clock.advance(0.08)
    status, humidity, celsius = aht10_values(bus.read_i2c_block_data(0x39, 0x00, 6))
    room = board.environment.conditions()
    assert status == 0x08
    assert humidity == pytest.approx(room.room_humidity_percent, abs=1e-4)
    assert celsius == pytest.approx(room.room_temperature_celsius, abs=2e-4)
