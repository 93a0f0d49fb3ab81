"""An emulated Plantower PMS5003 particulate sensor on a pseudo-terminal.

The real sensor sits on the Pi's UART (9600 baud, 8N1) and, in its default
active mode, sends a 32-byte frame on its own about once a second. Here a
thread writes such frames, built from the environment model, into the master
side of a pty; the unmodified ``pms5003.PMS5003`` driver opens the slave side
as its serial device. The SET (enable) and RESET inputs come from the
virtual GPIO lines, so the driver's ``reset()`` really restarts the sensor.

Frame layout (Plantower PMS5003 data manual, appendix I), big-endian words:

    0x42 0x4D | frame length = 2*13+2 = 28 |
    PM1.0, PM2.5, PM10 at CF=1 ("standard particle") in ug/m3 |
    PM1.0, PM2.5, PM10 under atmospheric environment in ug/m3 |
    particles beyond 0.3, 0.5, 1.0, 2.5, 5.0, 10 um per 0.1 L of air |
    reserved | check code = sum of the 30 bytes before it

Time: the frame cadence (about a second, ``frame_interval``) and the quiet
time after power-up, reset or wake (``startup_seconds``) are on-chip times,
each timed by a ``Stopwatch`` on the board's clock. On the wall clock that is
real time. On a ManualClock (``real_time_waits=True``, its default) each
wait ends when the test advances the clock past it or after its real
duration, whichever comes first: a driver blocked on the serial port, which
no test can advance the clock for, still gets its frame after at most one
interval of real time, so a board with a short interval answers a read in
milliseconds. One frame goes out per elapsed wait, however far the clock
jumps (a sensor sends no backlog). On a ManualClock with
``real_time_waits=False`` frames go out only when the test advances the
clock; a driver reading from such a sensor waits for its own timeout, so
such tests step the sensor by hand: ``advance``, then ``catch_up``.

On a ManualClock the thread notices a clock advance, a pin change, a
command or a fault within a tick (at most 50 ms, less for short
intervals); on the wall clock it wakes for a pin change at once, and for
a command or a fault by the next frame (a command is obeyed before that
frame is sent). ``catch_up`` waits until it has acted on the time,
commands and faults as they are now.

Commands (data manual, appendix II), 7 bytes each, big-endian:

    0x42 0x4D | command | data high | data low | LRC = sum of the 5 bytes before it

    0xE1 change mode: data 0 passive, 1 active (the default at power-up)
    0xE2 read in passive mode: the answer is one 32-byte frame (appendix I)
    0xE4 sleep (data 0) or wake up (data 1)

The manual documents an answer for 0xE2 only, and so the emulation answers
nothing else; a command whose LRC does not match is ignored and counted.
Asleep (SET low or the 0xE4 command), fan and laser are off and nothing is
sent. After power-up, reset or wake the fan spins up: the manual wants 30 s
before the data are stable. Frames sent during ``spin_up_seconds`` are
unsettled: the fan, not yet at speed, draws less air, and every value falls
short by the fraction of the spin-up not yet run.
"""

from __future__ import annotations

import dataclasses
import fcntl
import logging
import math
import os
import select
import shutil
import struct
import tempfile
import termios
import threading
import tty
from typing import TYPE_CHECKING, Protocol

from enviro_sensor.hardware.board import PINS
from enviro_sensor.hardware.virtual.clock import Clock, Stopwatch, WallClock

if TYPE_CHECKING:
    from enviro_sensor.hardware.virtual.environment import Conditions
    from enviro_sensor.hardware.virtual.faults import Faults
    from enviro_sensor.hardware.virtual.gpio import VirtualGpio

log = logging.getLogger(__name__)

START = b"\x42\x4d"
FRAME_SIZE = 32
# Length field: 13 data words and the check code (manual: "2x13+2").
FRAME_LENGTH = FRAME_SIZE - 4
_WORDS = struct.Struct(">2sH13HH")

# The manual's "maximum range" for PM2.5 is at least 1000 ug/m3 (its
# effective range is 0..500); a working sensor reports nothing beyond it.
MAX_CONCENTRATION_UGM3 = 1000
# What the out-of-range fault reports: a sensor whose optics failed.
OUT_OF_RANGE_UGM3 = (1800, 2500, 3200)

# Received bytes a Linux serial port keeps for a reader (the N_TTY line
# discipline's 4096-byte buffer, one slot kept free); further bytes are lost
# (an overrun), so a reader that falls behind finds at most this much.
UART_BUFFER_BYTES = 4095

# Data manual, active mode: a frame every 200-800 ms while the air changes
# fast and every 2.3 s while it is steady; the emulation sends one a second,
# in between. After power-up, reset or wake it stays quiet for a second
# while its fan spins up (the manual wants 30 s before the data are stable;
# the first frames come well before that).
FRAME_INTERVAL_SECONDS = 1.0
STARTUP_SECONDS = 1.0
# Data manual, appendix II: "stable data should be got at least 30 seconds
# after the sensor wakeup from the sleep mode because of the fan's performance".
SPIN_UP_SECONDS = 30.0

# Command bytes (data manual, appendix II).
COMMAND_SIZE = 7
CHANGE_MODE = 0xE1
READ_PASSIVE = 0xE2
SLEEP_OR_WAKE = 0xE4
# The longest the thread sleeps before looking again at the pins, faults
# and the board's clock, which announce nothing.
TICK_SECONDS = 0.05
# How long the thread waits for the kernel to count a frame it wrote (see
# ``_await_delivery``): at most 100 ms, in steps of half a millisecond.
DELIVERY_CHECKS = 200
DELIVERY_CHECK_SECONDS = 0.0005


class ConditionsSource(Protocol):
    """What the sensor measures: the environment model, or a test's stand-in."""

    def conditions(self) -> Conditions: ...


class FrameError(ValueError):
    """Bytes that are not a valid PMS5003 frame."""


@dataclasses.dataclass(frozen=True)
class ParticulateFrame:
    """The values one PMS5003 frame carries, in the manual's order and units."""

    pm1_0_cf1: int
    pm2_5_cf1: int
    pm10_cf1: int
    pm1_0_atm: int
    pm2_5_atm: int
    pm10_atm: int
    # Particles beyond 0.3, 0.5, 1.0, 2.5, 5.0 and 10 um per 0.1 L of air.
    counts: tuple[int, int, int, int, int, int]
    reserved: int = 0

    def words(self) -> tuple[int, ...]:
        """The 13 data words, in frame order."""
        return (
            self.pm1_0_cf1,
            self.pm2_5_cf1,
            self.pm10_cf1,
            self.pm1_0_atm,
            self.pm2_5_atm,
            self.pm10_atm,
            *self.counts,
            self.reserved,
        )


@dataclasses.dataclass(frozen=True)
class Command:
    """One host command: its code and 16-bit data word."""

    code: int
    data: int


def command_bytes(code: int, data: int) -> bytes:
    """The 7 bytes of a host command, with its LRC (the sum of the bytes before it)."""
    body = START + bytes([code]) + struct.pack(">H", data)
    return body + struct.pack(">H", sum(body) & 0xFFFF)


def parse_command(raw: bytes) -> Command:
    """The command in 7 bytes; FrameError if they are not a valid one."""
    if len(raw) != COMMAND_SIZE or raw[:2] != START:
        raise FrameError(f"a command is 42 4d and 5 more bytes, got {raw.hex(' ')}")
    code, data, lrc = struct.unpack(">BHH", raw[2:])
    if lrc != sum(raw[:5]) & 0xFFFF:
        raise FrameError(f"command LRC {lrc:#06x} != sum of bytes {sum(raw[:5]) & 0xFFFF:#06x}")
    return Command(code, data)


def checksum(frame: bytes) -> int:
    """The check code for a frame: the sum of its first 30 bytes."""
    return sum(frame[: FRAME_SIZE - 2]) & 0xFFFF


def build_frame(values: ParticulateFrame) -> bytes:
    """The 32 bytes the sensor sends for ``values``."""
    words = values.words()
    if any(not 0 <= word <= 0xFFFF for word in words):
        raise ValueError(f"frame words must fit 16 bits: {words}")
    body = _WORDS.pack(START, FRAME_LENGTH, *words, 0)
    return body[:-2] + struct.pack(">H", checksum(body))


def parse_frame(frame: bytes) -> ParticulateFrame:
    """The values in a 32-byte frame; FrameError if it is not a valid one."""
    if len(frame) != FRAME_SIZE:
        raise FrameError(f"a frame is {FRAME_SIZE} bytes, got {len(frame)}")
    start, length, *words, check = _WORDS.unpack(frame)
    if start != START:
        raise FrameError(f"frame must start with 42 4d, got {start.hex(' ')}")
    if length != FRAME_LENGTH:
        raise FrameError(f"frame length field must be {FRAME_LENGTH}, got {length}")
    if check != checksum(frame):
        raise FrameError(f"check code {check:#06x} != sum of bytes {checksum(frame):#06x}")
    return _frame(words[:3], words[3:6], words[6:12], reserved=words[12])


def _frame(cf1: list[int], atm: list[int], counts: list[int], reserved: int = 0) -> ParticulateFrame:
    """A ParticulateFrame from its three groups of words, in frame order."""
    return ParticulateFrame(
        pm1_0_cf1=cf1[0],
        pm2_5_cf1=cf1[1],
        pm10_cf1=cf1[2],
        pm1_0_atm=atm[0],
        pm2_5_atm=atm[1],
        pm10_atm=atm[2],
        counts=(counts[0], counts[1], counts[2], counts[3], counts[4], counts[5]),
        reserved=reserved,
    )


def atmospheric(cf1_ugm3: float) -> float:
    """The "atmospheric environment" value the sensor reports beside a CF=1 one.

    The manual does not give the relation. Field data from these sensors
    show the two equal up to about 30 ug/m3 and the atmospheric one rising
    at two thirds of the rate above; the emulation follows that.
    """
    return cf1_ugm3 if cf1_ugm3 <= 30 else 30 + (cf1_ugm3 - 30) * 2 / 3


# How the counts follow from the masses: each size band's mass is carried
# by particles of one representative diameter (um) with the density usually
# assumed for urban aerosol (1.65 g/cm3).
_DENSITY_G_PER_CM3 = 1.65
_BAND_DIAMETERS_UM = (0.4, 0.7, 1.6, 3.5, 7.0)  # 0.3-0.5, 0.5-1, 1-2.5, 2.5-5, 5-10
_FINE_SHARE_BELOW_0_5_UM = 0.4  # of PM1.0's mass
_COARSE_SHARE_BELOW_5_UM = 0.7  # of the PM10 - PM2.5 mass
_BEYOND_10_PER_5_TO_10 = 0.1  # the coarse tail the PM10 inlet leaves out


def _count_per_deciliter(mass_ugm3: float, diameter_um: float) -> float:
    particle_ug = _DENSITY_G_PER_CM3 * math.pi / 6 * diameter_um**3 * 1e-6
    return mass_ugm3 / particle_ug * 1e-4  # 0.1 L is 1e-4 m3


def particle_counts(pm1_0: float, pm2_5: float, pm10: float) -> tuple[int, int, int, int, int, int]:
    """Cumulative counts beyond 0.3 .. 10 um per 0.1 L consistent with the masses."""
    band_masses = (
        pm1_0 * _FINE_SHARE_BELOW_0_5_UM,
        pm1_0 * (1 - _FINE_SHARE_BELOW_0_5_UM),
        pm2_5 - pm1_0,
        (pm10 - pm2_5) * _COARSE_SHARE_BELOW_5_UM,
        (pm10 - pm2_5) * (1 - _COARSE_SHARE_BELOW_5_UM),
    )
    bands = [_count_per_deciliter(m, d) for m, d in zip(band_masses, _BAND_DIAMETERS_UM, strict=True)]
    bands.append(bands[-1] * _BEYOND_10_PER_5_TO_10)
    beyond_0_3, beyond_0_5, beyond_1, beyond_2_5, beyond_5, beyond_10 = (
        min(0xFFFF, round(sum(bands[i:]))) for i in range(len(bands))
    )
    return beyond_0_3, beyond_0_5, beyond_1, beyond_2_5, beyond_5, beyond_10


def frame_values(pm1_0: float, pm2_5: float, pm10: float, fan_speed: float = 1.0) -> ParticulateFrame:
    """What a working sensor reports for these CF=1 mass concentrations (ug/m3).

    ``fan_speed`` below 1 is a fan still spinning up: it draws that share
    of the air, and the sensor counts that share of the particles.
    """
    pm1_0, pm2_5, pm10 = (value * fan_speed for value in (pm1_0, pm2_5, pm10))

    def clamp(value: float) -> float:
        return min(max(value, 0.0), MAX_CONCENTRATION_UGM3)

    # Each size class includes the smaller ones: PM1.0 <= PM2.5 <= PM10.
    pm1_0 = clamp(pm1_0)
    pm2_5 = max(clamp(pm2_5), pm1_0)
    pm10 = max(clamp(pm10), pm2_5)
    cf1 = [round(v) for v in (pm1_0, pm2_5, pm10)]
    atm = [round(atmospheric(v)) for v in (pm1_0, pm2_5, pm10)]
    return _frame(cf1, atm, list(particle_counts(pm1_0, pm2_5, pm10)))


def out_of_range_values() -> ParticulateFrame:
    """What a sensor with failed optics reports: masses beyond its range."""
    return ParticulateFrame(
        *OUT_OF_RANGE_UGM3, *OUT_OF_RANGE_UGM3, counts=particle_counts(*OUT_OF_RANGE_UGM3)
    )


def corrupt(frame: bytes) -> bytes:
    """The frame with one bit of PM2.5 flipped on the line: the check code no longer matches."""
    return frame[:7] + bytes([frame[7] ^ 0x04]) + frame[8:]


class VirtualPMS5003:
    """A PMS5003 behind a pty, honouring SET, RESET, the host's commands and faults.

    ``frame_interval`` is the time between frames (about a second on the
    real sensor); ``startup_seconds`` the quiet time after power-up, reset or
    wake before the first frame; ``spin_up_seconds`` the time after which
    its frames are settled (0: at once); all on ``clock`` (see the module notes).
    """

    def __init__(
        self,
        environment: ConditionsSource,
        faults: Faults,
        gpio: VirtualGpio,
        *,
        clock: Clock | None = None,
        frame_interval: float = FRAME_INTERVAL_SECONDS,
        startup_seconds: float = STARTUP_SECONDS,
        spin_up_seconds: float = 0.0,
    ) -> None:
        if frame_interval <= 0 or startup_seconds < 0 or spin_up_seconds < 0:
            raise ValueError(
                "the frame interval must be positive and the start-up and spin-up times not negative"
            )
        self._environment = environment
        self._faults = faults
        self._gpio = gpio
        self._clock: Clock = clock if clock is not None else WallClock()
        self._interval = frame_interval
        self._startup = startup_seconds
        self._spin_up = spin_up_seconds
        # A ManualClock jumps without telling anyone, so on one the thread
        # looks every tick. On the wall clock only a pin, a command, a fault or
        # stop() changes anything before the next frame is due; pins, stop() and
        # catch_up() wake the thread, so it sleeps until the frame (a command or
        # fault that came meanwhile is taken before that frame; an absent port
        # goes by then). Twenty wake-ups a second were half the idle service's CPU.
        self._tick = min(TICK_SECONDS, frame_interval / 2)
        if isinstance(self._clock, WallClock):
            self._tick = frame_interval
        self._enable_pin = PINS["pms5003_enable"]
        self._reset_pin = PINS["pms5003_reset"]
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._master = self._slave = -1
        self._directory: str | None = None
        self._link: str | None = None
        self._slave_path = ""
        self._present = True
        # The wait before the next frame: the start-up time, then the interval.
        self._waiting = Stopwatch(self._clock)
        self._wait_seconds = startup_seconds
        self._frames_sent = 0
        self._unsettled_frames = 0
        self._model_failing = False
        # The host's commands: mode, sleep, the bytes of a command not yet
        # whole, and what was received (for tests and demos).
        self._passive = False
        self._asleep_by_command = False
        self._command_bytes = b""
        self._commands: list[Command] = []
        self._commands_ignored = 0
        self._read_requested = False
        self._started_up = False
        # Time since the fan last started (power-up, reset or wake).
        self._fan = Stopwatch(self._clock)
        # Passes of the thread's loop begun and finished (``catch_up``).
        self._passes = threading.Condition()
        self._passes_begun = self._passes_done = 0
        # Manual, pin definitions: SET and RESET are pulled up inside the
        # sensor, so with nothing driving them it runs.
        gpio.pull(self._enable_pin, True)
        gpio.pull(self._reset_pin, True)
        gpio.on_change(self._enable_pin, self._on_pin_change)
        gpio.on_change(self._reset_pin, self._on_pin_change)

    @property
    def device_path(self) -> str:
        """The serial device to give the driver (a link to the pty, like /dev/serial0)."""
        if self._link is None:
            raise RuntimeError("the virtual PMS5003 is not started")
        return self._link

    @property
    def frame_interval(self) -> float:
        """Seconds between frames, on the board's clock."""
        return self._interval

    @property
    def startup_seconds(self) -> float:
        """Seconds of quiet after power-up, reset or wake, on the board's clock."""
        return self._startup

    @property
    def frames_sent(self) -> int:
        """Frames written to the serial line so far (valid or not)."""
        with self._lock:
            return self._frames_sent

    @property
    def spin_up_seconds(self) -> float:
        """Seconds after power-up, reset or wake before frames are settled, on the board's clock."""
        return self._spin_up

    @property
    def unsettled_frames(self) -> int:
        """Frames sent while the fan was still spinning up."""
        with self._lock:
            return self._unsettled_frames

    @property
    def commands(self) -> list[Command]:
        """Every valid command received, oldest first."""
        with self._lock:
            return list(self._commands)

    @property
    def commands_ignored(self) -> int:
        """Commands dropped for a wrong LRC or an unknown code."""
        with self._lock:
            return self._commands_ignored

    @property
    def passive(self) -> bool:
        """True in passive mode: frames only on a read request (command 0xE2)."""
        with self._lock:
            return self._passive

    def running(self) -> bool:
        """True while the sensor is powered, awake and out of reset."""
        return (
            self._present
            and not self._asleep_by_command
            and self._gpio.level(self._enable_pin)
            and self._gpio.level(self._reset_pin)
        )

    def fan_running(self) -> bool:
        """True while the fan turns: powered and awake (SET high, no sleep command)."""
        return self._present and not self._asleep_by_command and self._gpio.level(self._enable_pin)

    def fan_speed(self) -> float:
        """The share of its working speed the fan has reached (0 while asleep)."""
        if not self.fan_running():
            return 0.0
        if self._spin_up <= 0:
            return 1.0
        return min(1.0, self._fan.elapsed() / self._spin_up)

    def start(self) -> None:
        """Open the pty and start sending frames."""
        if self._thread is not None:
            return
        self._master, self._slave = os.openpty()
        # Raw: no echo, no line editing, bytes pass as they are (a UART).
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self._directory = tempfile.mkdtemp(prefix="enviro-serial-")
        self._link = os.path.join(self._directory, "serial0")
        self._slave_path = os.ttyname(self._slave)
        os.symlink(self._slave_path, self._link)
        self._present = True
        self._restart()
        self._follow_presence()  # an absent sensor's port is missing from the start
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="virtual-pms5003", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop sending, close the pty and remove the device link."""
        if self._thread is None:
            return
        self._stopping.set()
        self._wake.set()
        self._thread.join()
        self._thread = None
        os.close(self._master)
        os.close(self._slave)
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
        self._directory = self._link = None

    def catch_up(self, timeout: float = 5.0) -> None:
        """Wait until the sensor has acted on the board's time, pins and faults as they are now.

        For tests that move a ManualClock or set a fault and then look at
        what the sensor did: the thread makes one whole pass begun after
        this call. Raises RuntimeError when the sensor is not started, and
        TimeoutError if the pass does not finish within ``timeout`` seconds.
        """
        if self._thread is None:
            raise RuntimeError("the virtual PMS5003 is not started")
        with self._passes:
            target = self._passes_begun + 1
            self._wake.set()
            if not self._passes.wait_for(lambda: self._passes_done >= target, timeout):
                raise TimeoutError("the virtual PMS5003's thread did not answer")

    def _on_pin_change(self, level: bool) -> None:
        # Taking the lock waits out a frame being written, so once a pin has
        # fallen nothing more goes out. Waking or leaving reset restarts the
        # fan and the measurement.
        with self._lock:
            if level:
                self._restart_locked()
        self._wake.set()

    def _restart(self) -> None:
        with self._lock:
            self._restart_locked()

    def _restart_locked(self) -> None:
        # The fan's stopwatch first: it never reads less than the start-up's.
        self._fan = Stopwatch(self._clock)
        self._waiting = Stopwatch(self._clock)
        self._wait_seconds = self._startup
        self._read_requested = False
        self._started_up = False

    def _take_commands(self) -> None:
        """Read what the host wrote and act on each whole command (lock held)."""
        try:
            received = os.read(self._master, 4096)
        except (BlockingIOError, OSError):
            received = b""
        data = self._command_bytes + received
        while len(data) >= COMMAND_SIZE:
            start = data.find(START)
            if start < 0:
                data = data[-1:]  # the 0x42 of a command cut in two may be last
                break
            if len(data) - start < COMMAND_SIZE:
                data = data[start:]
                break
            try:
                command = parse_command(data[start : start + COMMAND_SIZE])
            except FrameError:
                self._commands_ignored += 1
                data = data[start + 2 :]
                continue
            data = data[start + COMMAND_SIZE :]
            self._obey(command)
        self._command_bytes = data

    def _obey(self, command: Command) -> None:
        if command.code == CHANGE_MODE and command.data in (0, 1):
            self._passive = command.data == 0
        elif command.code == READ_PASSIVE:
            self._read_requested = self._passive
        elif command.code == SLEEP_OR_WAKE and command.data in (0, 1):
            asleep = command.data == 0
            if self._asleep_by_command and not asleep:
                self._restart_locked()  # woken: the fan starts again
            self._asleep_by_command = asleep
        else:
            self._commands_ignored += 1
            return
        self._commands.append(command)

    def _run(self) -> None:
        while not self._stopping.is_set():
            # Cleared before the pass: a wake during it makes the next wait return at once.
            self._wake.clear()
            with self._passes:
                self._passes_begun += 1
            self._follow_presence()
            with self._lock:
                self._take_commands()
                if self._waiting.passed(self._wait_seconds):
                    self._started_up = True
                if self._read_requested and self._started_up:
                    # Passive mode: one frame in answer, the cadence unchanged.
                    self._read_requested = False
                    if self.running():
                        self._send_frame()
                if self._waiting.passed(self._wait_seconds):
                    if self.running() and not self._passive:
                        self._send_frame()
                    # Asleep or in reset the cadence runs on, sending nothing,
                    # and waking restarts it: no backlog of missed frames.
                    self._waiting = Stopwatch(self._clock)
                    self._wait_seconds = self._interval
                # Real time at least as long as this makes the wait pass (a
                # Stopwatch counts real time too); a clock advance or a
                # change of faults is seen within a tick.
                remaining = self._wait_seconds - self._waiting.elapsed()
            with self._passes:
                self._passes_done += 1
                self._passes.notify_all()
            self._wake.wait(min(self._tick, max(0.0, remaining)))

    def _follow_presence(self) -> None:
        """Remove the device link while ``absent`` is set; restore it after."""
        absent = self._faults.configured("pms5003") == "absent"
        link = self._link
        if link is None:
            return
        if absent and self._present:
            self._present = False
            os.unlink(link)
        elif not absent and not self._present:
            os.symlink(self._slave_path, link)
            self._present = True
            self._restart()

    def _send_frame(self) -> None:
        """Write the next frame as the faults in force shape it (lock held)."""
        fault = self._faults.check("pms5003")
        if fault in ("silent", "absent"):
            return
        try:
            if fault == "out-of-range":
                values = out_of_range_values()
            else:
                c = self._environment.conditions()
                speed = self.fan_speed()
                values = frame_values(c.pm1_0_ugm3, c.pm2_5_ugm3, c.pm10_ugm3, fan_speed=speed)
                if speed < 1.0:
                    self._unsettled_frames += 1
        except Exception:
            # A broken model must not end the sensor's thread: this frame is
            # lost. Said once, not once a second, until frames flow again.
            if not self._model_failing:
                log.exception("virtual PMS5003: no conditions from the environment")
            self._model_failing = True
            return
        self._model_failing = False
        frame = build_frame(values)
        if fault in ("corrupt", "intermittent"):
            frame = corrupt(frame)
        self._write(frame)

    def _write(self, frame: bytes) -> None:
        waiting = self._line_bytes()
        if waiting + len(frame) > UART_BUFFER_BYTES:
            return  # overrun: the reader is behind and the frame is lost
        try:
            os.write(self._master, frame)
        except BlockingIOError:
            return
        self._frames_sent += 1
        self._await_delivery(waiting, waiting + len(frame))

    def _line_bytes(self) -> int:
        """Bytes received and not yet read, as the reader's FIONREAD counts them."""
        return struct.unpack("i", fcntl.ioctl(self._slave, termios.FIONREAD, b"\0\0\0\0"))[0]

    def _await_delivery(self, before: int, expected: int) -> None:
        """Wait until the bytes just written are counted on the reader's side.

        Linux hands bytes from a pty's master to its slave through a work
        queue, so FIONREAD lags a write, by microseconds or, on a busy
        machine, by milliseconds; the next overrun check needs them counted.
        ``poll`` on the slave runs that work when there is nothing to read;
        otherwise it runs by itself soon. A reader taking bytes meanwhile
        also ends the wait: it keeps up, and the buffer is no concern.
        """
        poller = select.poll()
        poller.register(self._slave, select.POLLIN)
        for _ in range(DELIVERY_CHECKS):
            poller.poll(0)
            waiting = self._line_bytes()
            if waiting >= min(expected, UART_BUFFER_BYTES) or waiting < before or waiting == 0:
                return
            if self._stopping.wait(DELIVERY_CHECK_SECONDS):
                return
