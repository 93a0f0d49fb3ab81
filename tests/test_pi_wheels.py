"""Every pinned runtime requirement installs on a 64-bit Raspberry Pi: as a wheel, or with a listed build step."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "pi_wheels.py"


def load_script():
    spec = importlib.util.spec_from_file_location("pi_wheels", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_pin_is_read_from_the_requirements():
    pins = dict(load_script().pins())
    assert pins["spidev"] and pins["numpy"] and pins["Flask"]
    lines = [line for line in (ROOT / "requirements.txt").read_text().splitlines() if "==" in line]
    assert len(pins) == len(lines)


def test_only_compiled_packages_are_asked_for_their_platform():
    script = load_script()
    assert script.is_pure("Flask")
    assert not script.is_pure("numpy")


@pytest.mark.e2e
def test_each_requirement_has_an_aarch64_wheel_or_a_build_step():
    done = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=600)
    if done.returncode == 3:
        pytest.skip(f"the package index cannot be reached: {done.stderr.strip()}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "spidev==" in done.stdout and "built on the Pi" in done.stdout
    assert done.stdout.rstrip().endswith(" 0 problems")


@pytest.mark.e2e
def test_a_package_without_a_wheel_and_without_a_build_step_is_a_problem(monkeypatch, capsys):
    script = load_script()
    monkeypatch.setitem(script.__dict__, "SOURCE_BUILDS", {})
    monkeypatch.setattr(script, "pins", lambda: [("spidev", "3.8")])
    code = script.main()
    if code == 3:
        pytest.skip("the package index cannot be reached")
    assert code == 1
    assert "spidev==3.8: NO WHEEL for aarch64" in capsys.readouterr().out
