"""The package as a user or a packager gets it: one wheel, installed anywhere, run as ``enviro-sensor``.

The wheel is built from the checkout by pip (through the build backend
pyproject.toml names), installed into a new virtual environment, and run
from another folder: what it serves comes from the wheel alone. The pinned
requirements are not installed again; the new environment sees this one's
packages (a path in a ``.pth`` file, which leaves this checkout's own
editable install out).
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
import requests
from packaging.utils import canonicalize_name

from enviro_sensor.version import VERSION
from tests.servers import free_port, stop, wait_until_serving

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if (
        done.returncode != 0
        and "Could not find a version that satisfies the requirement hatchling" in done.stderr
    ):
        pytest.skip("the build backend cannot be fetched from the package index")
    assert done.returncode == 0, done.stderr
    [built] = out.glob("*.whl")
    return built


def test_one_wheel_holds_the_package_with_its_templates_and_static_files(wheel):
    assert wheel.name == f"enviro_sensor-{VERSION}-py3-none-any.whl"
    names = set(zipfile.ZipFile(wheel).namelist())
    tracked = subprocess.run(
        ["git", "ls-files", "enviro_sensor"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    tracked = [name for name in tracked if (ROOT / name).is_file()]  # not a deletion yet to commit
    if not tracked:
        pytest.skip("not a git checkout")
    assert set(tracked) - names == set()
    assert "enviro_sensor/web/templates/dashboard.html" in names
    assert "enviro_sensor/web/static/vendor/uplot/uPlot.iife.min.js" in names
    assert not [name for name in names if "__pycache__" in name or name.startswith("tests/")]
    entry_points = zipfile.ZipFile(wheel).read(f"enviro_sensor-{VERSION}.dist-info/entry_points.txt").decode()
    assert "enviro-sensor = enviro_sensor.cli.main:main" in entry_points
    metadata = zipfile.ZipFile(wheel).read(f"enviro_sensor-{VERSION}.dist-info/METADATA").decode()
    pins = [line.strip() for line in (ROOT / "requirements.txt").read_text().splitlines() if "==" in line]
    required = {
        _normal(line.split(": ", 1)[1]) for line in metadata.splitlines() if line.startswith("Requires-Dist:")
    }
    assert {_normal(pin.split("#")[0]) for pin in pins} <= required


def _normal(pin: str) -> str:
    name, _, version = pin.strip().partition("==")
    return f"{canonicalize_name(name)}=={version}"


def test_the_installed_wheel_serves_from_another_folder(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    (site / "requirements.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "--quiet",
            "--no-deps",
            str(wheel),
        ],
        check=True,
        timeout=300,
    )
    command = venv / "bin" / "enviro-sensor"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENVIRO_")}
    env.update(ENVIRO_HOST="127.0.0.1", ENVIRO_PORT=str(port), ENVIRO_BOARD="virtual", ENVIRO_LCD="off")
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import enviro_sensor; print(enviro_sensor.__file__)"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert where.startswith(str(site)), where  # the wheel's copy, not this checkout
    checked = subprocess.run(
        [str(command), "check"], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "board: virtual (ENVIRO_BOARD=virtual)" in checked.stdout
    listed = subprocess.run(
        [str(command), "settings"], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=60
    )
    assert f"ENVIRO_PORT={port}\n    environment;" in listed.stdout
    process = subprocess.Popen(
        [str(command), "serve"],
        cwd=elsewhere,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base + "/healthz", process)
        weather = requests.get(base + "/api/sensors/weather", timeout=10)
        assert weather.status_code in (200, 503)  # 503 only until the first poll
        assert "group" in weather.json().get("result", {}) or weather.json()["error"]["status"] == 503
        page = requests.get(base + "/", headers={"Accept": "text/html"}, timeout=10)
        assert page.status_code == 200 and "<html" in page.text.lower()  # the template came with the wheel
        script = requests.get(base + "/static/vendor/uplot/uPlot.iife.min.js", timeout=10)
        assert script.status_code == 200
    finally:
        stop(process)
        process.communicate()
