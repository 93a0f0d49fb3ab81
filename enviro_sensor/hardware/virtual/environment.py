"""The indoor environment the virtual board's chips measure.

A plausible room, as smooth functions of the time of day plus seeded noise:
the same seed and the same instant always give the same conditions, on any
machine, so a demo can be replayed and a test can name its expectations.

- The room follows a daily cycle of about 19-24 C (coolest before dawn,
  warmest mid-afternoon) and relative humidity moves against it (30-60 %).
- Pressure drifts slowly around 1013 hPa, a few hPa over hours, with the
  small twice-daily atmospheric tide.
- Daylight follows the sun from 06:30 to 19:30, with passing clouds; lamps
  are on in the early morning and the evening; at night it is dark (0 lux).
- Now and then someone waves at the proximity sensor for a few seconds.
- Cooking at meal times sends PM2.5 to 50-150 ug/m3, decaying over tens of
  minutes, over a baseline of 3-10 ug/m3; its fumes and steam move the gas
  resistances and the humidity.
- CO2 starts from the outdoor 420 ppm and follows the people at home: it
  builds up while they are in (overnight in a closed room it passes
  1000 ppm), cooking on gas adds to it, and airing the room (a window open
  for a quarter of an hour in the morning and the evening) brings it back
  to the outdoor level within minutes. It is a one-box ventilation model:
  d(CO2)/dt = people * emission / volume - air changes * (CO2 - outdoor).
- Sound (what the board's microphone hears, in dB SPL): a quiet room tone
  at night (about 25 dB), more by day (traffic, the fridge: about 33 dB);
  people talking now and then while they are up, more often when more
  of them are at home (about 60 dB at the board); the kitchen while a meal
  cooks (the extractor hood, pans: 55-68 dB). ``sound()`` gives the
  levels; the virtual microphone turns them into samples.
- The Pi's CPU (45-60 C) warms the board, so the BME280 on it reads warmer
  (and drier, in relative terms) than the room. The coupling is the one the
  vendor's compensation assumes with its factor of 2.25:
  board = room + (cpu - room) / (2.25 + 1).

Time: ``conditions()`` answers for the board clock's ``now`` (seconds since
the epoch), or for any instant given; the model keeps no state, so a
ManualClock may jump by hours and the values are those of the new instant.
"""

from __future__ import annotations

import dataclasses
import math
import zlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from enviro_sensor.hardware.virtual.clock import Clock

DAY = 86_400.0
HOUR = 3_600.0
MINUTE = 60.0

# The CPU-heat coupling: the factor Pimoroni's examples divide by.
BOARD_HEAT_FACTOR = 2.25


@dataclasses.dataclass(frozen=True)
class Sound:
    """What the microphone hears at one instant: each source's level in dB SPL (None: silent)."""

    room_db: float
    talking_db: float | None = None
    kitchen_db: float | None = None


@dataclasses.dataclass(frozen=True)
class Conditions:
    """The true values at one instant, in the units the chips' datasheets use.

    ``room_*`` are the room's own values, which the extra sensors on the
    header see; left out, they equal the board's (no CPU heating).
    """

    temperature_celsius: float  # air around the board, after the CPU's heat
    pressure_pascals: float
    humidity_percent: float  # relative humidity at temperature_celsius
    illuminance_lux: float
    proximity: int  # LTR559 raw count 0..2047
    oxidising_ohms: float  # MiCS-6814 elements at working temperature
    reducing_ohms: float
    nh3_ohms: float
    pm1_0_ugm3: float  # PMS5003 "standard particle" (CF=1) mass concentrations
    pm2_5_ugm3: float
    pm10_ugm3: float
    cpu_temperature_celsius: float
    room_temperature_celsius: float = math.nan  # the room, away from the board
    room_humidity_percent: float = math.nan  # relative humidity at room temperature

    def __post_init__(self) -> None:
        if math.isnan(self.room_temperature_celsius):
            object.__setattr__(self, "room_temperature_celsius", self.temperature_celsius)
        if math.isnan(self.room_humidity_percent):
            object.__setattr__(self, "room_humidity_percent", self.humidity_percent)


# -- seeded noise: pure functions of (seed, channel, time) --------------------

_MASK = (1 << 64) - 1


def _mix(value: int) -> int:
    """SplitMix64's finaliser: a well-spread 64-bit hash of a 64-bit value."""
    value = (value + 0x9E3779B97F4A7C15) & _MASK
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK
    return value ^ (value >> 31)


def _channel(name: str) -> int:
    # crc32, unlike hash(), is the same in every process.
    return zlib.crc32(name.encode())


def uniform(seed: int, name: str, index: int) -> float:
    """A number in [0, 1) fixed by the seed, a channel name and an integer."""
    value = 0
    for part in (seed, _channel(name), index):
        value = _mix(value ^ (part & _MASK))
    return (value >> 11) / float(1 << 53)


def smooth_noise(seed: int, name: str, t: float, period: float) -> float:
    """Noise in [-1, 1] that changes smoothly over about ``period`` seconds.

    Value noise: seeded values on a lattice every ``period`` seconds, joined
    by smoothstep, so nearby instants give nearby values.
    """
    x = t / period
    k = math.floor(x)
    f = x - k
    a = 2.0 * uniform(seed, name, k) - 1.0
    b = 2.0 * uniform(seed, name, k + 1) - 1.0
    return a + (b - a) * f * f * (3.0 - 2.0 * f)


def saturation_vapour_hpa(celsius: float) -> float:
    """Saturation vapour pressure over water (Magnus formula, WMO coefficients)."""
    return 6.112 * math.exp(17.62 * celsius / (243.12 + celsius))


def relative_humidity_at(percent: float, from_celsius: float, to_celsius: float) -> float:
    """The relative humidity of the same air warmed (or cooled) to ``to_celsius``."""
    return percent * saturation_vapour_hpa(from_celsius) / saturation_vapour_hpa(to_celsius)


def board_temperature(room_celsius: float, cpu_celsius: float) -> float:
    """What a sensor on the board reads: the room plus the CPU's heat."""
    return room_celsius + (cpu_celsius - room_celsius) / (BOARD_HEAT_FACTOR + 1.0)


# -- the model ---------------------------------------------------------------

SUNRISE_HOUR, SUNSET_HOUR = 6.5, 19.5
LAMP_HOURS = ((6.5, 7.75), (18.0, 23.0))
# Meals: (earliest start hour, latest start hour, chance per day).
MEALS = ((7.0, 8.5, 0.35), (12.0, 13.5, 0.45), (18.0, 20.0, 0.8))
WAVE_SLOT = 10 * MINUTE
WAVE_CHANCE = 0.25
# Sound, dB SPL at the board: the room tone at night and by day (a quiet
# bedroom-like 25 dB, a lived-in flat's 33 dB), conversation at a metre or
# two (about 60 dB), an extractor hood and pans while a meal cooks. Talk
# comes in TALK_SLOT spells, each taken with a chance that grows with the
# people at home (TALK_CHANCE per two people).
QUIET_HOURS = (23.0, 7.0)
ROOM_DB_NIGHT, ROOM_DB_DAY = 25.0, 33.0
TALK_SLOT = 3 * MINUTE
TALK_CHANCE = 0.4
TALK_DB = (56.0, 66.0)
KITCHEN_DB = (55.0, 68.0)
# CO2: the outdoor level (NOAA's global mean, 2024, rounded), what one
# person adds to 60 m3 of living space per hour (about 18 l/h of CO2 at
# rest: 18e-3 / 60 = 300 ppm/h), the air changes per hour with the windows
# closed (0.5, a typical dwelling) and aired (a window wide open: 6), and
# the history the model integrates over (after 8 h closed, under 2 % of
# the start remains).
OUTDOOR_CO2_PPM = 420.0
CO2_PPM_PER_PERSON_HOUR = 300.0
AIR_CHANGES_CLOSED, AIR_CHANGES_AIRED = 0.5, 6.0
CO2_HISTORY = 8 * HOUR
CO2_STEP = 5 * MINUTE
# Hours the window is open, and the people at home by hour of the day.
AIRING_HOURS = ((7.5, 7.75), (17.5, 17.75))
PEOPLE_BY_HOUR = ((0.0, 7.0, 2.0), (7.0, 8.5, 2.0), (8.5, 17.0, 0.5), (17.0, 24.0, 2.0))
# Cooking on gas: ppm of CO2 that come with each ug/m3 of cooking smoke
# (both are combustion products and leave the room together).
CO2_PPM_PER_SMOKE = 3.0


class Environment:
    """Deterministic for a seed; ``conditions()`` answers for the clock's now.

    ``utc_offset_seconds`` places the day: the board's local time is UTC
    plus this offset (0 keeps the model the same on every machine).
    """

    def __init__(self, clock: Clock, seed: int = 1, utc_offset_seconds: float = 0.0) -> None:
        self.clock = clock
        self.seed = seed
        self.utc_offset_seconds = utc_offset_seconds

    def conditions(self, at: float | None = None) -> Conditions:
        """The conditions at ``at`` (seconds since the epoch), by default now."""
        t = self.clock.now() if at is None else at
        room = self.room_temperature(t)
        cooking = self.cooking_pm2_5(t)
        room_humidity = self.room_humidity(t, room, cooking)
        cpu = self.cpu_temperature(t, room)
        board = board_temperature(room, cpu)
        board_humidity = relative_humidity_at(room_humidity, room, board)
        pm1_0, pm2_5, pm10 = self.particulates(t, cooking)
        oxidising, reducing, nh3 = self.gas_resistances(t, board_humidity, cooking)
        return Conditions(
            temperature_celsius=board,
            pressure_pascals=self.pressure(t),
            humidity_percent=board_humidity,
            illuminance_lux=self.illuminance(t),
            proximity=self.proximity(t),
            oxidising_ohms=oxidising,
            reducing_ohms=reducing,
            nh3_ohms=nh3,
            pm1_0_ugm3=pm1_0,
            pm2_5_ugm3=pm2_5,
            pm10_ugm3=pm10,
            cpu_temperature_celsius=cpu,
            room_temperature_celsius=room,
            room_humidity_percent=room_humidity,
        )

    # -- time of day ---------------------------------------------------------

    def local_hour(self, t: float) -> float:
        """Hours since local midnight at ``t``."""
        return ((t + self.utc_offset_seconds) % DAY) / HOUR

    def _day(self, t: float) -> int:
        return math.floor((t + self.utc_offset_seconds) / DAY)

    def _noise(self, name: str, t: float, period: float) -> float:
        return smooth_noise(self.seed, name, t, period)

    # -- the quantities --------------------------------------------------------

    def room_temperature(self, t: float) -> float:
        """Room air, C: coolest at 03:00, warmest at 15:00."""
        daily = math.cos(2.0 * math.pi * (self.local_hour(t) - 15.0) / 24.0)
        return (
            21.5
            + 2.0 * daily
            + 0.5 * self._noise("temperature-days", t, DAY)
            + 0.25 * self._noise("temperature", t, 40 * MINUTE)
        )

    def room_humidity(self, t: float, room_celsius: float, cooking_ugm3: float) -> float:
        """Room relative humidity, %: lower when warmer, raised by cooking steam."""
        steam = min(1.0, cooking_ugm3 / 100.0)
        value = 44.0 - 2.5 * (room_celsius - 21.5) + 5.0 * self._noise("humidity", t, 4 * HOUR) + 4.0 * steam
        return min(60.0, max(30.0, value))

    def cpu_temperature(self, t: float, room_celsius: float) -> float:
        """The Pi's CPU, C: the room plus a load that comes and goes."""
        load = 0.5 + 0.35 * self._noise("cpu-load", t, 15 * MINUTE) + 0.15 * self._noise("cpu", t, 90)
        value = 45.0 + 0.6 * (room_celsius - 19.0) + 11.0 * min(1.0, max(0.0, load))
        return min(60.0, max(45.0, value))

    def pressure(self, t: float) -> float:
        """Station pressure, Pa: weather drift plus the semidiurnal tide."""
        offset = 300.0 * (2.0 * uniform(self.seed, "pressure-offset", 0) - 1.0)
        tide = 40.0 * math.cos(4.0 * math.pi * (self.local_hour(t) - 10.0) / 24.0)
        return (
            101_300.0
            + offset
            + 350.0 * self._noise("pressure-weather", t, 8 * HOUR)
            + 120.0 * self._noise("pressure", t, 2 * HOUR)
            + tide
        )

    def illuminance(self, t: float) -> float:
        """Light at the sensor, lux: daylight with clouds, lamps, darkness at night."""
        hour = self.local_hour(t)
        day = self._day(t)
        lux = 0.0
        if SUNRISE_HOUR < hour < SUNSET_HOUR:
            sun = math.sin(math.pi * (hour - SUNRISE_HOUR) / (SUNSET_HOUR - SUNRISE_HOUR)) ** 1.5
            peak = 350.0 + 350.0 * uniform(self.seed, "daylight", day)
            clouds = 0.55 + 0.45 * (0.5 + 0.5 * self._noise("clouds", t, 30 * MINUTE))
            lux += peak * sun * clouds
        for number, (on, off) in enumerate(LAMP_HOURS):
            if on <= hour < off:
                lux += 200.0 + 80.0 * uniform(self.seed, "lamp", day * 8 + number)
        return lux

    def proximity(self, t: float) -> int:
        """LTR559 proximity count: a few counts of crosstalk, more when a hand waves."""
        count = 2.0 + 2.0 * (0.5 + 0.5 * self._noise("crosstalk", t, 5 * MINUTE))
        slot = math.floor(t / WAVE_SLOT)
        hour = self.local_hour(t)
        if 7.0 <= hour < 23.0 and uniform(self.seed, "wave", slot) < WAVE_CHANCE:
            start = slot * WAVE_SLOT + 30.0 + 500.0 * uniform(self.seed, "wave-start", slot)
            length = 2.0 + 4.0 * uniform(self.seed, "wave-length", slot)
            if start <= t < start + length:
                peak = 400.0 + 1100.0 * uniform(self.seed, "wave-peak", slot)
                count += peak * math.sin(math.pi * (t - start) / length) ** 2
        return max(0, min(2047, round(count)))

    def _meals(self, t: float) -> list[tuple[float, float, float, float]]:
        """Meals of yesterday and today that started by ``t``: (start, cooking s, peak, decay s)."""
        meals = []
        today = self._day(t)
        for day in (today - 1, today):
            midnight = day * DAY - self.utc_offset_seconds
            for number, (earliest, latest, chance) in enumerate(MEALS):
                meal = day * len(MEALS) + number
                if uniform(self.seed, "meal", meal) >= chance:
                    continue
                start = midnight + HOUR * (
                    earliest + (latest - earliest) * uniform(self.seed, "meal-start", meal)
                )
                if start > t:
                    continue
                cooking = (10.0 + 15.0 * uniform(self.seed, "meal-length", meal)) * MINUTE
                peak = 50.0 + 100.0 * uniform(self.seed, "meal-peak", meal)
                decay = (15.0 + 15.0 * uniform(self.seed, "meal-decay", meal)) * MINUTE
                meals.append((start, cooking, peak, decay))
        return meals

    def cooking_pm2_5(self, t: float) -> float:
        """PM2.5 from cooking, ug/m3: rises while a meal cooks, then decays."""
        total = 0.0
        for start, cooking, peak, decay in self._meals(t):
            since = t - start
            if since < cooking:
                x = since / cooking
                total += peak * x * x * (3.0 - 2.0 * x)
            else:
                total += peak * math.exp(-(since - cooking) / decay)
        return total

    def cooking(self, t: float) -> bool:
        """True while a meal cooks (the stove and the hood are on)."""
        return any(t - start < length for start, length, _, _ in self._meals(t))

    def sound(self, t: float | None = None) -> Sound:
        """The sound sources the board hears at ``t`` (by default now), in dB SPL."""
        t = self.clock.now() if t is None else t
        hour = self.local_hour(t)
        night_start, night_end = QUIET_HOURS
        quiet = hour >= night_start or hour < night_end
        room = (ROOM_DB_NIGHT if quiet else ROOM_DB_DAY) + 2.0 * self._noise("room-sound", t, 10 * MINUTE)
        talking = None
        slot = math.floor(t / TALK_SLOT)
        chance = TALK_CHANCE * self.people(t) / 2.0
        if not quiet and uniform(self.seed, "talk", slot) < chance:
            low, high = TALK_DB
            talking = low + (high - low) * uniform(self.seed, "talk-level", slot)
        kitchen = None
        if self.cooking(t):
            low, high = KITCHEN_DB
            kitchen = low + (high - low) * (0.5 + 0.5 * self._noise("kitchen", t, 2 * MINUTE))
        return Sound(room_db=room, talking_db=talking, kitchen_db=kitchen)

    def particulates(self, t: float, cooking_ugm3: float) -> tuple[float, float, float]:
        """PM1.0, PM2.5 and PM10 in ug/m3 (CF=1): baseline dust plus cooking smoke."""
        baseline = 6.5 + 3.5 * self._noise("dust", t, 2 * HOUR)
        flicker = 0.4 * self._noise("dust-flicker", t, 20)
        pm2_5 = max(0.0, baseline + cooking_ugm3 + flicker)
        # Smoke is fine (mostly below 1 um); house dust is coarser.
        pm1_0 = max(0.0, 0.66 * baseline + 0.8 * cooking_ugm3 + flicker)
        pm10 = max(pm2_5, 1.55 * baseline + 1.15 * cooking_ugm3 + flicker)
        return min(pm1_0, pm2_5), pm2_5, pm10

    def people(self, t: float) -> float:
        """People in the room at ``t``: two at night and in the evening, fewer by day."""
        hour = self.local_hour(t)
        for start, end, count in PEOPLE_BY_HOUR:
            if start <= hour < end:
                return count * (0.8 + 0.4 * uniform(self.seed, "people", self._day(t)))
        return 0.0

    def aired(self, t: float) -> bool:
        """True while the window is open."""
        hour = self.local_hour(t)
        return any(start <= hour < end for start, end in AIRING_HOURS)

    def co2(self, t: float | None = None) -> float:
        """Room CO2 at ``t`` (by default now), ppm: the one-box model stepped over CO2_HISTORY.

        Not part of ``conditions()``: it integrates, and only a CO2 sensor asks.

        Steps fall on a fixed lattice of the time, so the same instant gives
        the same value whatever was asked before (the model keeps no state).
        """
        t = self.clock.now() if t is None else t
        step = CO2_STEP
        first = math.floor((t - CO2_HISTORY) / step) * step
        excess = 0.0  # ppm above outdoors
        at = first
        while at < t:
            dt = min(step, t - at)
            hours = dt / HOUR
            emission = self.people(at) * CO2_PPM_PER_PERSON_HOUR
            changes = AIR_CHANGES_AIRED if self.aired(at) else AIR_CHANGES_CLOSED
            # Exact for a constant emission over the step: relax towards
            # emission / changes with the time constant 1 / changes.
            steady = emission / changes
            excess = steady + (excess - steady) * math.exp(-changes * hours)
            at += dt
        excess += CO2_PPM_PER_SMOKE * self.cooking_pm2_5(t)
        noise = 8.0 * self._noise("co2", t, 10 * MINUTE)
        return OUTDOOR_CO2_PPM + max(0.0, excess + noise)

    def tvoc_ppb(self, t: float | None = None) -> float:
        """Total VOCs, ppb (ethanol equivalent): a clean-room baseline, people and cooking.

        About 100 ppb in an empty aired room; people add to it as they add
        CO2 (their breath and skin), cooking fumes far more for a while.
        """
        t = self.clock.now() if t is None else t
        people = max(0.0, self.co2(t) - OUTDOOR_CO2_PPM) * 0.25
        cooking = 15.0 * self.cooking_pm2_5(t)
        baseline = 100.0 * (1.0 + 0.2 * self._noise("tvoc", t, 30 * MINUTE))
        return baseline + people + cooking

    def gas_resistances(
        self, t: float, humidity_percent: float, cooking_ugm3: float
    ) -> tuple[float, float, float]:
        """Oxidising, reducing and NH3 element resistances (warm), ohms.

        Metal-oxide resistance falls with humidity; cooking fumes (reducing
        gases) lower the reducing and NH3 elements, while combustion NO2
        raises the oxidising one.
        """
        fumes = cooking_ugm3 / 100.0 + 0.05 * (1.0 + self._noise("voc", t, 30 * MINUTE))
        wet = (max(humidity_percent, 5.0) / 35.0) ** -0.3
        drift = math.exp(0.08 * self._noise("gas-drift", t, 6 * HOUR))

        def base(name: str, ohms: float) -> float:
            # Each part's clean-air resistance differs (datasheet: a wide R0 spread).
            return ohms * (0.85 + 0.3 * uniform(self.seed, name, 0))

        oxidising = base("r0-oxidising", 20_000.0) * drift * (1.0 + 0.6 * fumes) / math.sqrt(wet)
        reducing = base("r0-reducing", 400_000.0) * drift * wet / (1.0 + 2.5 * fumes)
        nh3 = base("r0-nh3", 160_000.0) * drift * wet / (1.0 + 1.0 * fumes)
        return oxidising, reducing, nh3
