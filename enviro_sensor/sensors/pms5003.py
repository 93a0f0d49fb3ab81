"""Plantower PMS5003 particulate sensor on the Pi's serial port (particulates group).

Plantower PMS5003 data manual (2016, v2.3): a laser particle counter sending
a 32-byte frame about once a second at 9600 baud. Mass concentrations of
PM1.0, PM2.5 and PM10 in ug/m3, both "CF=1, standard particle" and "under
atmospheric environment" (0..500 effective, 1000 maximum), and counts of
particles beyond 0.3, 0.5, 1.0, 2.5, 5.0 and 10 um per 0.1 L of air.
Enable pin GPIO 22, reset pin GPIO 27. Read through the pms5003 package.
The US EPA air quality index is derived from its readings by
``enviro_sensor.sensors.air_quality``.

With ``ENVIRO_PARTICULATES_DUTY`` (``on/period``, e.g. ``30/300``) the sensor
sleeps between readings: woken, its fan runs ``on`` seconds (the manual:
"stable data should be got at least 30 seconds after the sensor wakeup"),
one frame is read and published, and it sleeps until ``period`` seconds
have passed since waking. ``ENVIRO_PARTICULATES_SLEEP`` says how: ``pin``
(SET, pin 3, low; the default) or ``serial`` (the manual's appendix II
command 0xE4, data 0 sleep, 1 wake).
"""

from __future__ import annotations

import dataclasses
import logging
import struct
from typing import TYPE_CHECKING

from enviro_sensor.config import parsers
from enviro_sensor.config.declarations import Setting, declare
from enviro_sensor.sensors import air_quality, aqi
from enviro_sensor.sensors.base import COMMON_ERROR_REASONS, DutyState, Field, SensorReader, Withheld
from enviro_sensor.sensors.duty import DutyCycle, DutySchedule, Phase, parse_duty
from enviro_sensor.sensors.registry import SensorKind, register_kind

if TYPE_CHECKING:
    import pms5003

    from enviro_sensor.hardware.board import Board

# pms5003's size arguments (CF=1, atmospheric) and the JSON/label spelling of
# each size. pms5003 1.0 answers the atmospheric PM10 for size None, not 10.
MASS_SIZES = ((1.0, 1.0, "pm1_0", "1"), (2.5, 2.5, "pm2_5", "2.5"), (10, None, "pm10", "10"))
COUNT_SIZES = (
    (0.3, "0_3", "0.3"),
    (0.5, "0_5", "0.5"),
    (1.0, "1_0", "1"),
    (2.5, "2_5", "2.5"),
    (5, "5_0", "5"),
    (10, "10", "10"),
)
MAX_MASS = 1000.0  # the manual's "maximum range"
MAX_COUNT = 65535  # a 16-bit field
# Clean indoor air, for the API documentation's examples.
TYPICAL_MASS = {"pm1_0": 4.0, "pm2_5": 6.0, "pm10": 9.0}
TYPICAL_COUNT = {"0_3": 1100, "0_5": 320, "1_0": 45, "2_5": 6, "5_0": 2, "10": 1}


log = logging.getLogger(__name__)

# Host commands (data manual, appendix II): 42 4D, command, data high, data
# low, then the LRC, the sum of those five bytes.
_COMMAND_START = b"\x42\x4d"
SLEEP_OR_WAKE = 0xE4


def command(code: int, data: int) -> bytes:
    """The 7 bytes of a host command, LRC included."""
    body = _COMMAND_START + struct.pack(">BH", code, data)
    return body + struct.pack(">H", sum(body) & 0xFFFF)


SLEEP_COMMAND = command(SLEEP_OR_WAKE, 0)  # 42 4d e4 00 00 01 73
WAKE_COMMAND = command(SLEEP_OR_WAKE, 1)  # 42 4d e4 00 01 01 74


# Home Assistant's device class for each mass size.
MASS_DEVICE_CLASS = {"1": "pm1", "2.5": "pm25", "10": "pm10"}
MASS_LABELS = {"1": "PM1.0", "2.5": "PM2.5", "10": "PM10"}


def _mass_field(key: str, size: str, standard: str, example: float) -> Field:
    # The factory calibration is the plain name; the other is the
    # manual's "under atmospheric environment".
    name = MASS_LABELS[size]
    return Field(
        key,
        0.0,
        MAX_MASS,
        "enviro_particulate_matter_micrograms_per_cubic_meter",
        "Particulate matter mass concentration by size (um) and standard "
        "(cf1: the PMS5003's factory calibration, atmospheric: corrected for ambient air).",
        labels={"size": size, "standard": standard},
        # The frame carries whole ug/m3.
        decimals=0,
        example=example,
        label=name if standard == "cf1" else f"{name} (atmospheric)",
        device_class=MASS_DEVICE_CLASS[size],
        unit="µg/m³",
    )


def _fields() -> tuple[Field, ...]:
    fields = []
    for _, _, key, label in MASS_SIZES:
        example = TYPICAL_MASS[key]
        fields.append(_mass_field(f"{key}_micrograms_per_cubic_meter", label, "cf1", example))
        fields.append(
            _mass_field(f"{key}_atmospheric_micrograms_per_cubic_meter", label, "atmospheric", example)
        )
    for _, key, label in COUNT_SIZES:
        fields.append(
            Field(
                f"particles_{key}um_per_deciliter",
                0,
                MAX_COUNT,
                "enviro_particles_per_deciliter",
                "Particles larger than the size label (um) in 0.1 L of air.",
                labels={"size": label},
                decimals=0,
                example=TYPICAL_COUNT[key],
                label=f"Particles > {label} µm",
                unit="particles/dL",  # no Home Assistant device class counts particles
            )
        )
    return (*fields, *_air_quality_fields())


def _air_quality_fields() -> tuple[Field, ...]:
    """The US EPA AQI derived from the hourly averages (retrievers.air_quality)."""
    # PM at the PMS5003's 1000 ug/m3 maximum, on the last row's line, is an AQI of 1844.
    highest = 2000.0
    sub_index = (
        "US EPA AQI sub-index (2024 breakpoints) of one pollutant's NowCast over the last 12 clock hours. "
        "Updated hourly; absent until two hours have averages."
    )
    return (
        Field(
            air_quality.INDEX_KEY,
            0.0,
            highest,
            "enviro_air_quality_index",
            "US EPA Air Quality Index (2024 breakpoints, NowCast): the higher of the PM2.5 and PM10 "
            "sub-indices, from an indoor low-cost sensor, not a regulatory monitor. Updated hourly; "
            "absent until two hours have averages.",
            optional=True,
            decimals=0,
            example=25,
            label="Air quality index",
            device_class="aqi",
        ),
        Field(
            "air_quality_index_pm2_5",
            0.0,
            highest,
            "enviro_air_quality_subindex",
            sub_index,
            labels={"pollutant": "pm2.5"},
            optional=True,
            decimals=0,
            example=25,
            label="AQI (PM2.5)",
            device_class="aqi",
        ),
        Field(
            "air_quality_index_pm10",
            0.0,
            highest,
            "enviro_air_quality_subindex",
            sub_index,
            labels={"pollutant": "pm10"},
            optional=True,
            decimals=0,
            example=8,
            label="AQI (PM10)",
            device_class="aqi",
        ),
        Field(
            air_quality.CATEGORY_KEY,
            1,
            6,
            "enviro_air_quality_category",
            "US EPA AQI category of enviro_air_quality_index: 1 Good, 2 Moderate, 3 Unhealthy for "
            "Sensitive Groups, 4 Unhealthy, 5 Very Unhealthy, 6 Hazardous.",
            optional=True,
            decimals=0,
            example=1,
            label="Air quality category",
            # One of six named levels: Home Assistant keeps no statistics of it.
            state_class=None,
            options=dict(enumerate(aqi.CATEGORIES, 1)),
        ),
    )


class PMS5003Reader(SensorReader):
    """One frame per poll (or per duty cycle); a bad frame gets a reset and one more try."""

    _driver: pms5003.PMS5003 | None = None
    _reopen = False
    _schedule: DutySchedule | None = None

    def open(self, board: Board) -> None:
        # The driver (and pyserial) is imported with the part, not the table
        # of kinds (see retrievers.bme280).
        import pms5003

        if self._driver is not None:
            # The pins are still ours: only the serial port needs opening again.
            self._driver.setup()
            self._reopen = False
        else:
            self._driver = pms5003.PMS5003(
                device=board.serial_device(),
                baudrate=9600,
                pin_enable=board.driver_pin("pms5003_enable"),
                pin_reset=board.driver_pin("pms5003_reset"),
            )
        # The driver drives SET high; a sleep command from before a restart
        # outlives it, so a serial sleeper is woken by command too. Either
        # way the sensor is awake now, and its first cycle begins.
        self._set_awake(True)
        duty = self.options.duty
        if duty is not None:
            self._schedule = DutySchedule(duty, self.clock.monotonic())

    def read(self) -> dict[str, float]:
        schedule = self._schedule
        if schedule is None:
            return self._read_frame()
        now = self.clock.monotonic()
        phase = schedule.phase(now)
        if phase is Phase.WAKE:
            self._set_awake(True)
            schedule.woke(now)
            phase = schedule.phase(now)
        if phase is not Phase.READ:
            state = self.duty_state()
            assert state is not None
            raise Withheld(state)
        # Still awake after a failed read: the next poll tries again.
        import serial

        values = self._read_frame()
        schedule.read()
        try:
            self._set_awake(False)
        except (serial.SerialException, OSError) as err:
            log.warning("%s: cannot put the sensor to sleep: %s", self.name, err)
        return values

    def duty_state(self) -> DutyState | None:
        schedule = self._schedule
        if schedule is None:
            return None
        now = self.clock.monotonic()
        return DutyState(schedule.read_done, max(0.0, schedule.next_reading_at() - now))

    def _read_frame(self) -> dict[str, float]:
        import pms5003
        import serial

        driver = self._driver
        assert driver is not None, "read before open"
        if self._reopen:
            driver.setup()
            self._reopen = False
        try:
            # The sensor sends whether or not anyone listens, and the port
            # buffers ~4 KB (minutes of frames): drop the backlog so this
            # poll reads the next frame, not one from long ago. pms5003 has
            # no call for this; its port is the only handle.
            driver._serial.reset_input_buffer()
            try:
                frame = driver.read()
            except (pms5003.ChecksumMismatchError, pms5003.ReadTimeoutError):
                # A frame cut short or garbled: resynchronise as the manual's
                # reset pin allows, then one more try.
                driver.reset()
                frame = driver.read()
        except (serial.SerialException, OSError, pms5003.SerialTimeoutError):
            # The port went away or went quiet: open it afresh next time.
            self._reopen = True
            raise
        values = {}
        for size, atmospheric_size, key, _ in MASS_SIZES:
            values[f"{key}_micrograms_per_cubic_meter"] = frame.pm_ug_per_m3(
                size, atmospheric_environment=False
            )
            values[f"{key}_atmospheric_micrograms_per_cubic_meter"] = frame.pm_ug_per_m3(
                atmospheric_size, atmospheric_environment=True
            )
        for size, key, _ in COUNT_SIZES:
            values[f"particles_{key}um_per_deciliter"] = frame.pm_per_1l_air(size)
        return values

    def rest(self) -> None:
        # Asleep, fan and laser are off, which spares their life while nobody
        # listens (paused).
        self._set_awake(False)

    def wake(self) -> None:
        # The fan needs about 30 s to give stable data again (data manual):
        # a duty cycle starts over and withholds its reading until then.
        self._set_awake(True)
        if self._schedule is not None:
            self._schedule.woke(self.clock.monotonic())

    def _set_awake(self, awake: bool) -> None:
        """Wake or sleep the sensor the way ENVIRO_PARTICULATES_SLEEP says."""
        driver = self._driver
        if driver is None:
            return
        if self.options.sleep == "serial":
            # The manual's sleep/wake command; SET stays high.
            driver._serial.write(WAKE_COMMAND if awake else SLEEP_COMMAND)
            driver._serial.flush()
        else:
            # SET (pin 3) low: sleep mode; high: working (data manual).
            driver.set_pin(driver._pin_enable, awake)

    def error_reason(self, err: BaseException) -> str | None:
        import pms5003

        if isinstance(err, pms5003.ChecksumMismatchError):
            return "checksum"
        if isinstance(err, pms5003.ReadTimeoutError | pms5003.SerialTimeoutError):
            return "no_data"
        return None

    def close(self) -> None:
        # pms5003 offers no close(); its port is the one thing to release.
        serial_port = getattr(self._driver, "_serial", None)
        if serial_port is not None:
            serial_port.close()
        self._driver = None


@dataclasses.dataclass(frozen=True)
class PMS5003Options:
    """The PMS5003's settings; ``data_dir`` keeps the air quality index's hours."""

    #: None: always on.
    duty: DutyCycle | None
    sleep: str
    data_dir: str | None


SETTINGS = declare(
    "pms5003",
    PMS5003Options,
    Setting(
        "duty",
        "",
        parsers.Parser(parse_duty, "on/period in seconds, or empty for always on"),
        "PMS5003 duty cycle `on/period` in seconds, e.g. `30/300`: woken, fan run `on` seconds, one "
        "reading, asleep until `period` seconds have passed since waking; empty: always on",
    ),
    Setting(
        "sleep",
        "pin",
        parsers.choice("pin", "serial"),
        "how the PMS5003 is put to sleep and woken: `pin` (its SET pin, GPIO 22) or `serial` "
        "(the data manual's sleep/wake command)",
    ),
    prefix="particulates",
    shared=("data_dir",),
)

KIND = register_kind(
    SensorKind(
        kind="pms5003",
        description="Plantower PMS5003 particulate sensor on the serial port",
        paused_note="the PMS5003's fan stops",
        fields=_fields(),
        group="particulates",
        reader=PMS5003Reader,
        interfaces=("serial", "gpio"),  # its data on the UART, SET and RESET on GPIO 22 and 27
        on_board=True,
        error_reasons=(*COMMON_ERROR_REASONS, "checksum", "no_data"),
        derivation=air_quality.from_options,
        settings=SETTINGS,
        reading_period=lambda options: options.duty.period if options.duty is not None else 0.0,
    )
)
