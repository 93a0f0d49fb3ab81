"""``enviro-sensor check``: the plan, the probes, and what to do about what is missing.

On the virtual board the probes run against the emulation, so its faults
make a part missing the way a loose wire or a disabled interface would; on a
real board they open the device files, here in a folder of the test's own.
"""

from __future__ import annotations

import errno
import io
import subprocess
import sys
from pathlib import Path

import pytest

from enviro_sensor.cli.check import run_check
from enviro_sensor.hardware import probe
from enviro_sensor.hardware.real import RealBoard

ENVIRO_SENSOR = Path(sys.executable).with_name("enviro-sensor")


@pytest.fixture
def environment(monkeypatch, tmp_path):
    """A clean ENVIRO_* environment on the virtual board; returns a setter."""
    import os

    for name in [name for name in os.environ if name.startswith("ENVIRO_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("ENVIRO_BOARD", "virtual")

    def set_(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return set_


def check() -> tuple[int, list[str]]:
    out = io.StringIO()
    code = run_check(out)
    return code, out.getvalue().splitlines()


def test_a_whole_virtual_board_answers_every_probe(environment):
    code, lines = check()
    assert code == 0, "\n".join(lines)
    assert "board: virtual (ENVIRO_BOARD=virtual)" in lines
    assert "group weather, every 2 s: bme280 (0x76), ltr559 (0x23)" in lines
    assert "group i2c, every 5 s: aht10 (0x38), bmp280 (0x77)" in lines
    assert "lcd: readings, a page every 10 s" in lines
    probed = [line.split(": ", 1)[0].strip() for line in lines if line.startswith("  ok")]
    assert len(probed) == 9
    assert not [line for line in lines if "MISSING" in line]


def test_the_plan_follows_the_settings(environment, tmp_path):
    environment(
        ENVIRO_GROUPS="weather,gas",
        ENVIRO_I2C_SENSORS="scd41@0x62",
        ENVIRO_LCD="off",
        ENVIRO_DATA_DIR=str(tmp_path),
        ENVIRO_MQTT_URL="mqtt://127.0.0.1:1",
        ENVIRO_WEATHER_INTERVAL="7",
    )
    code, lines = check()
    assert code == 0, "\n".join(lines)
    assert "group weather, every 7 s: bme280 (0x76), ltr559 (0x23)" in lines
    assert "group particulates: off (not in ENVIRO_GROUPS)" in lines
    assert "lcd: off (ENVIRO_LCD=off)" in lines
    outputs = (
        next(line for line in lines if line.startswith("outputs: ")).removeprefix("outputs: ").split(", ")
    )
    assert {"history", "mqtt"} <= set(outputs)
    # Only the polled parts are probed: no SPI for an LCD that is off, no serial port.
    assert not [line for line in lines if "SPI" in line or "serial port" in line]
    assert list(tmp_path.iterdir()) == []  # nothing written: no history file made


def test_missing_parts_are_named_with_what_to_do(environment):
    environment(ENVIRO_VIRTUAL_FAULTS="bme280=absent,pms5003=absent,st7735=absent,microphone=absent")
    code, lines = check()
    assert code == 1
    text = "\n".join(lines)
    assert "MISSING bme280: I2C bus 1 at 0x76" in text
    assert "check the wiring and the address (`i2cdetect -y 1`" in text
    assert "MISSING pms5003: serial port" in text and "do_serial_hw 0" in text
    assert "MISSING lcd: SPI 0.1" in text and "do_spi 0" in text
    assert "MISSING microphone" in text and "dtoverlay=adau7002-simple" in text
    assert "ok      ltr559: I2C bus 1 at 0x23: answers" in text
    assert lines[-1] == "4 missing: the service would run without them and report them failing"


@pytest.mark.e2e
def test_a_bad_setting_is_the_services_own_line_and_exit_2():
    result = subprocess.run(
        [str(ENVIRO_SENSOR), "check"],
        env={"PATH": "/usr/bin:/bin", "ENVIRO_I2C_SENSORS": "aht10@0x76"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "enviro-sensor: ENVIRO_I2C_SENSORS: aht10@0x76 collides with the board's bme280 at 0x76 on bus 1"
    ]


def test_on_a_pi_without_its_interfaces_each_probe_says_how_to_enable_it(tmp_path):
    board = RealBoard(str(tmp_path / "serial0"), devices=str(tmp_path))
    i2c = probe.probe_i2c(board, "bme280", 1, 0x76)
    assert (i2c.ok, i2c.detail) == (False, "No such file or directory")
    assert "raspi-config nonint do_i2c 0" in i2c.fix and "dtparam=i2c_arm=on" in i2c.fix
    spi = probe.probe_spi(board, "lcd")
    assert not spi.ok and "raspi-config nonint do_spi 0" in spi.fix
    serial = probe.probe_serial(board, "pms5003")
    assert not serial.ok and "enable_uart=1" in serial.fix
    gpio = probe.probe_gpio(board, "lcd")
    assert not gpio.ok and "no GPIO chip" in gpio.fix
    # Present device files open (here plain files stand in for them).
    (tmp_path / "spidev0.1").touch()
    (tmp_path / "gpiochip0").touch()
    (tmp_path / "serial0").touch()
    assert probe.probe_spi(board, "lcd").ok
    assert probe.probe_gpio(board, "lcd").ok
    assert probe.probe_serial(board, "pms5003").ok


@pytest.mark.parametrize(
    ("interface", "group"), [("i2c", "i2c"), ("spi", "spi"), ("serial", "dialout"), ("gpio", "gpio")]
)
def test_a_device_that_is_not_permitted_names_the_group(interface, group):
    fix = probe.advice(interface, PermissionError(errno.EACCES, "Permission denied"))
    assert f"sudo usermod -aG {group} enviro" in fix


@pytest.mark.e2e
def test_every_subcommand_has_help():
    for command in ("serve", "check", "settings", "send-node", "healthcheck"):
        result = subprocess.run(
            [str(ENVIRO_SENSOR), command, "--help"], capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, command
        assert result.stdout.startswith(f"usage: enviro-sensor {command}"), (command, result.stdout[:200])
