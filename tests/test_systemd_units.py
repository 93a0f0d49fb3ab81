"""The systemd units: systemd and Quadlet accept them, and the sandbox holds.

``systemd-analyze verify`` reports unknown keys as warnings and still exits
0, so any output at all fails these tests.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from enviro_sensor.settings import all_settings, load_settings
from tests.quadlet_tool import find_quadlet, quadlet_version
from tests.servers import free_port, wait_until_lcd_open, wait_until_serving
from tests.worker_lock import one_worker_at_a_time

ROOT = Path(__file__).resolve().parent.parent
UNITS = ROOT / "systemd"
SERVICE = UNITS / "enviro-sensor.service"
CONTAINER = UNITS / "enviro-sensor.container"
ENV_EXAMPLE = UNITS / "enviro-sensor.env.example"
ENVIRO_SENSOR = Path(sys.executable).with_name("enviro-sensor")
INSTALL_DIR = "/opt/enviro-sensor"
# systemd-analyze security: 0 is locked down, 10 is wide open; up to 2 is
# rated "OK" and is what a service that must reach devices and the network
# can get to.
EXPOSURE_LIMIT = 2.0


def analyze(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    return subprocess.run(["systemd-analyze", *args], capture_output=True, text=True, cwd=cwd)


def installed_from_this_checkout(folder: Path) -> Path:
    """The bare-Pi unit with /opt/enviro-sensor pointing at this checkout.

    verify checks that ExecStart's program exists; this is the one the
    documented installation makes, from this checkout's environment.
    """
    text = SERVICE.read_text()
    assert f"ExecStart={INSTALL_DIR}/.venv/bin/enviro-sensor serve" in text
    text = text.replace(f"{INSTALL_DIR}/.venv/bin/enviro-sensor", str(ENVIRO_SENSOR)).replace(
        INSTALL_DIR, str(ROOT)
    )
    unit = folder / SERVICE.name
    unit.write_text(text)
    return unit


@pytest.mark.e2e
def test_service_unit_verifies_without_a_word(tmp_path):
    unit = installed_from_this_checkout(tmp_path)
    result = analyze("verify", str(unit), cwd=tmp_path)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


@pytest.mark.e2e
def test_service_unit_is_rated_ok_by_systemd_analyze_security(tmp_path):
    unit = installed_from_this_checkout(tmp_path)
    result = analyze("security", "--offline=true", str(unit), cwd=tmp_path)
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+) (\w+)", result.stdout)
    assert found, result.stdout + result.stderr
    exposure = float(found.group(1))
    print(f"\nsystemd-analyze security {SERVICE.name}: {exposure} {found.group(2)}")
    assert exposure <= EXPOSURE_LIMIT, result.stdout


@pytest.fixture(scope="module")
def quadlet(tmp_path_factory) -> Path:
    with one_worker_at_a_time("quadlet", tmp_path_factory):  # a fetched one is cached under build/
        found = find_quadlet()
    if found is None:
        pytest.skip("podman's Quadlet generator is not installed and could not be fetched from Debian")
    return found


@pytest.mark.e2e
def test_quadlet_makes_a_service_that_verifies_without_a_word(quadlet, tmp_path):
    generated = tmp_path / "generated"
    generated.mkdir()
    env = {**os.environ, "QUADLET_UNIT_DIRS": str(UNITS)}
    result = subprocess.run([str(quadlet), str(generated)], capture_output=True, text=True, env=env)
    assert (result.returncode, result.stderr) == (0, ""), f"Quadlet {quadlet_version(quadlet)}"
    service = generated / "enviro-sensor.service"
    assert service.is_file()
    # The [Install] section becomes the links `systemctl enable` would make.
    for target in ("multi-user.target", "default.target"):
        assert (generated / f"{target}.wants" / service.name).exists()
    result = analyze("verify", str(service), cwd=tmp_path)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


@pytest.mark.e2e
def test_quadlet_unit_runs_the_hardened_image_with_health_checks(quadlet, tmp_path):
    env = {**os.environ, "QUADLET_UNIT_DIRS": str(UNITS)}
    dry = subprocess.run([str(quadlet), "-dryrun"], capture_output=True, text=True, env=env, check=True)
    start = re.search(r"^ExecStart=(.*)$", dry.stdout, re.MULTILINE).group(1)
    # The options tests/test_container.py runs the image with, plus readiness.
    for option in (
        "--read-only",
        "--cap-drop all",
        "--security-opt=no-new-privileges",
        "--security-opt unmask=/sys/firmware",
        "--network host",
        "--env=ENVIRO_*",
        "--sdnotify=healthy",
    ):
        assert option in start
    assert "--health-cmd" in start and "--health-on-failure kill" in start
    assert start.endswith(" localhost/enviro-sensor:latest")


def test_env_example_names_real_settings_at_their_defaults():
    defaults = {setting.env: setting.default for setting in all_settings()}
    shown = dict(re.findall(r"^#?(ENVIRO_\w+)=(.*)$", ENV_EXAMPLE.read_text(), re.MULTILINE))
    assert shown, "the example shows no settings"
    assert set(shown) - set(defaults) == set(), "not settings of the service"
    assert {name: defaults[name] for name in shown} == shown
    # And every value shown is one the service accepts.
    load_settings(environ=shown)


# --- MemoryDenyWriteExecute= ---------------------------------------------------

# Linux's own write-xor-execute switch for a process and its children
# (PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN: Linux 6.3): the same refusal the
# unit's MemoryDenyWriteExecute= makes, without needing systemd to run it.
WRITE_XOR_EXECUTE = """
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(65, 1, 0, 0, 0) != 0:
    sys.exit(f"PR_SET_MDWE: {os.strerror(ctypes.get_errno())}")
os.execv(sys.argv[1], sys.argv[1:])
"""
WRITABLE_CODE = """
import mmap
try:
    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
except PermissionError:
    print("refused")
"""


def under_write_xor_execute(*command: str) -> list[str]:
    return [sys.executable, "-c", WRITE_XOR_EXECUTE, *command]


@pytest.fixture(scope="module")
def write_xor_execute():
    probe = subprocess.run(under_write_xor_execute(sys.executable, "-c", WRITABLE_CODE), capture_output=True)
    if probe.returncode != 0 and b"PR_SET_MDWE" in probe.stderr:
        pytest.skip(f"this kernel has no PR_SET_MDWE (Linux 6.3+): {probe.stderr.decode().strip()}")
    return probe


def test_write_xor_execute_refuses_writable_code(write_xor_execute):
    # Without this the next test would prove nothing.
    assert write_xor_execute.stdout.decode().strip() == "refused"


# Serves: the Python child the W^X wrapper starts becomes the service.
@pytest.mark.e2e
def test_service_with_numpy_and_pillow_runs_without_writable_code(write_xor_execute):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENVIRO_")}
    env.update({"ENVIRO_HOST": "127.0.0.1", "ENVIRO_PORT": str(port), "ENVIRO_BOARD": "virtual"})
    # The unit's own command line, with this checkout's command.
    program, *arguments = shlex.split(re.search(r"^ExecStart=(.*)$", SERVICE.read_text(), re.MULTILINE)[1])
    assert program == f"{INSTALL_DIR}/.venv/bin/enviro-sensor"
    command = under_write_xor_execute(str(ENVIRO_SENSOR), *arguments)
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base + "/healthz", process)
        assert requests.get(base + "/metrics", timeout=5).status_code == 200
        # Drawing runs Pillow's text rendering and numpy's RGB565 conversion.
        wait_until_lcd_open(base)
        drawn = requests.post(base + "/api/lcd", json={"message": "W^X"}, timeout=10)
        assert drawn.status_code == 200, drawn.text
        frame = requests.get(base + "/api/lcd", timeout=5)
        assert frame.headers["Content-Type"] == "image/png"
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output[-3000:]
