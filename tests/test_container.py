"""The container image: lint, contents, and a real build and run with podman.

The image is built once per test session from a Debian base made locally
with debootstrap (see tests/podman_base.py), then run the way the Quadlet
unit runs it: read-only, no capabilities, settings handed on with
``--env=ENVIRO_*``. Where podman, debootstrap or root is missing, the
podman tests say so and skip.

The runtime is assembled file by file (only what runs), so the tests here
exercise what a missing file would break: every module the service imports,
every extension module and the libraries it links against, compiled
bytecode for a read-only tree, the LCD's fonts and drawing, the Swagger UI's
assets, and the Quadlet unit's shell-form health check. The image's size is
printed as a figure, never asserted.
"""

from __future__ import annotations

import io
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from PIL import Image

from enviro_sensor.version import VERSION
from tests.lcd_support import differing_pixels, ink
from tests.podman_base import ensure_base_image
from tests.servers import free_port, gunicorn_server, wait_until_lcd_open
from tests.test_lcd_render import REFERENCE, REFERENCE_MESSAGES
from tests.test_openapi import asset_urls
from tests.worker_lock import one_worker_at_a_time

ROOT = Path(__file__).resolve().parent.parent
CONTAINERFILE = ROOT / "Containerfile"
QUADLET_UNIT = ROOT / "systemd" / "enviro-sensor.container"
IMAGE = "localhost/enviro-sensor:test"
HADOLINT = Path(sys.executable).with_name("hadolint")
# Top-level folders that are not part of the running service.
NOT_PRODUCT = {"tests", "bench", "docs", "scripts", "systemd", "deploy", "build"}
# The CA bundle this machine trusts, handed to pip inside the build: a
# TLS-intercepting proxy's certificate is in the machine's bundle, not in
# pip's own. Elsewhere it is merely the usual public CAs.
CA_BUNDLE_VARIABLES = ("PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")
SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


@pytest.mark.e2e
def test_hadolint_has_nothing_to_say():
    result = subprocess.run([str(HADOLINT), "--no-color", str(CONTAINERFILE)], capture_output=True, text=True)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_the_checkout_holds_no_product_code_outside_the_package():
    # The image installs the package's wheel: code left beside it would not ship.
    loose = sorted(path.name for path in ROOT.glob("*.py"))
    folders = {
        path.name
        for path in ROOT.iterdir()
        if path.is_dir() and not path.name.startswith(".") and path.name not in NOT_PRODUCT
    }
    assert (loose, folders - {"enviro_sensor", "data"}) == ([], set())
    assert re.search(r"^COPY enviro_sensor/ ", CONTAINERFILE.read_text(), re.MULTILINE)


def test_image_version_label_follows_version_py():
    assert re.search(rf"^ARG VERSION={re.escape(VERSION)}$", CONTAINERFILE.read_text(), re.MULTILINE)


@pytest.mark.e2e
def test_healthcheck_script_tells_a_serving_service_from_a_silent_port():
    script = [str(Path(sys.executable).with_name("enviro-sensor")), "healthcheck"]
    with gunicorn_server() as (base, _process):
        port = base.rsplit(":", 1)[1]
        env = {**os.environ, "ENVIRO_HOST": "0.0.0.0", "ENVIRO_PORT": port}
        assert subprocess.run(script, env=env, capture_output=True).returncode == 0
    silent = {**os.environ, "ENVIRO_HOST": "127.0.0.1", "ENVIRO_PORT": str(free_port())}
    result = subprocess.run(script, env=silent, capture_output=True, text=True)
    assert result.returncode == 1
    assert "unhealthy" in result.stderr


# --- podman ------------------------------------------------------------------


def _podman_missing() -> str | None:
    for tool in ("podman", "debootstrap"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (Debian package {tool})"
    if os.geteuid() != 0:
        return "building the image's base with debootstrap needs root"
    return None


def podman(*args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=check, env=env)


def run_options() -> list[str]:
    """Options this machine's podman needs to start a container at all."""
    options = ["--network=host"]  # never podman's bridge network
    # Where podman itself runs confined (a container in a container), crun
    # cannot start containers but runc can, and no runtime may set resource
    # limits above the caller's own: podman's defaults are higher.
    if shutil.which("runc"):
        options.append("--runtime=runc")
    for name, limit in (("nofile", resource.RLIMIT_NOFILE), ("nproc", resource.RLIMIT_NPROC)):
        _soft, hard = resource.getrlimit(limit)
        value = 4096 if hard == resource.RLIM_INFINITY else min(hard, 4096)
        options.append(f"--ulimit={name}={value}:{value}")
    return options


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> str:
    reason = _podman_missing()
    if reason:
        pytest.skip(f"podman image tests skipped: {reason}")
    # Workers running tests of the image build it one after another: the
    # second build is podman's layer cache.
    with one_worker_at_a_time("container-image", tmp_path_factory):
        return _build_image()


def _build_image() -> str:
    started = time.monotonic()
    made_base = ensure_base_image()
    base_seconds = time.monotonic() - started
    command = ["build", "--isolation=chroot", "--format=docker", "--network=host", "--tag", IMAGE]
    candidates = [os.environ.get(v, "") for v in CA_BUNDLE_VARIABLES] + [SYSTEM_CA_BUNDLE]
    bundle = next((path for path in candidates if os.path.isfile(path)), None)
    if bundle:
        command += ["--secret", f"id=pip_cert,src={bundle}"]
    build = subprocess.run(["podman", *command, str(ROOT)], capture_output=True, text=True)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    size = json.loads(podman("image", "inspect", IMAGE).stdout)[0]["Size"]
    print(
        f"\nimage {IMAGE}: {size / 1e6:.0f} MB; base "
        f"{'bootstrapped' if made_base else 'reused'} in {base_seconds:.0f} s, "
        f"build {time.monotonic() - started - base_seconds:.0f} s"
    )
    return IMAGE


@pytest.fixture
def container(image):
    """Start the image as the Quadlet unit does; yield (base URL, name)."""
    name = f"enviro-sensor-test-{uuid.uuid4().hex[:8]}"
    port = free_port()
    # The settings reach podman's environment (systemd's EnvironmentFile in
    # the unit) and are handed on by prefix, as the unit does.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENVIRO_")}
    env.update({"ENVIRO_HOST": "127.0.0.1", "ENVIRO_PORT": str(port), "ENVIRO_BOARD": "virtual"})
    hardening = ["--read-only", "--cap-drop=all", "--security-opt=no-new-privileges"]
    hardening += ["--security-opt=unmask=/sys/firmware"]
    base = f"http://127.0.0.1:{port}"
    try:
        # Inside try: a container podman created but could not start is removed too.
        podman(
            "run", "--detach", "--name", name, *run_options(), *hardening, "--env=ENVIRO_*", image, env=env
        )
        _wait_until_serving(base, name)
        yield base, name
    finally:
        podman("rm", "--force", "--time=0", name, check=False)


def _wait_until_serving(base: str, name: str, deadline_seconds: float = 60) -> None:
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        try:
            requests.get(base + "/healthz", timeout=1)
            return
        # Not listening yet, or still starting on a busy machine (as tests/servers.py).
        except (requests.ConnectionError, requests.Timeout):
            running = podman("inspect", "--format", "{{.State.Running}}", name, check=False).stdout.strip()
            if running != "true":
                break
            time.sleep(0.2)
    logs = podman("logs", name, check=False)
    raise AssertionError(f"{name} did not serve {base}/healthz\n{logs.stdout[-3000:]}{logs.stderr[-3000:]}")


@pytest.mark.e2e
def test_image_is_non_root_in_the_device_groups(image):
    config = json.loads(podman("image", "inspect", image).stdout)[0]
    assert config["Config"]["User"] not in ("", "0", "root")
    assert config["Labels"]["org.opencontainers.image.version"] == VERSION
    assert "8000/tcp" in config["Config"]["ExposedPorts"]
    ids = podman(
        "run",
        "--rm",
        *run_options(),
        image,
        "python3",
        "-c",
        "import os; print(os.getuid(), *os.getgroups())",
    ).stdout.split()
    uid, groups = int(ids[0]), {int(g) for g in ids[1:]}
    assert uid != 0
    # dialout, and i2c, spi and gpio as Raspberry Pi OS numbers them
    assert {20, 997, 998, 999} <= groups


@pytest.mark.e2e
def test_image_size_is_reported(image, capsys):
    """The image's size as figures (uncompressed, and what `podman save` writes), never a limit."""
    size = json.loads(podman("image", "inspect", image).stdout)[0]["Size"]
    save = subprocess.Popen(["podman", "save", image], stdout=subprocess.PIPE)
    saved = sum(len(chunk) for chunk in iter(lambda: save.stdout.read(1 << 20), b""))
    assert save.wait() == 0
    history = podman("history", "--no-trunc", "--format", "{{.Size}}\t{{.CreatedBy}}", image).stdout
    layers = [line.split("\t", 1) for line in history.splitlines() if not line.startswith("0 B")]
    with capsys.disabled():
        print(f"\n{image}: {size / 1e6:.1f} MB (podman image inspect), {saved / 1e6:.1f} MB as podman save")
        for layer_size, created_by in layers:
            step = re.sub(r"^/bin/sh -c #\(nop\) |\bdir:[0-9a-f]+ ", "", created_by.strip())
            print(f"  layer {layer_size:>9}  {step[:70]}")
    assert size > 0 and saved > 0 and layers


# Run inside the image: import what gunicorn imports to serve, then every
# extension module the image carries (a module whose shared library was left
# out fails here). Prints the ones that fail, as JSON.
IMPORT_EVERYTHING = """
import importlib, importlib.machinery, json, os, site
from pathlib import Path
import gunicorn.app.base, gunicorn.workers.gthread
from enviro_sensor.cli import healthcheck, main
from enviro_sensor.web import app, server
import sounddevice  # the noise sensor's: finds PortAudio and starts it (ALSA's configuration)
from enviro_sensor.lcd import fonts
from enviro_sensor.lcd.startup import startup_message
fonts.default_faces()
startup_message("0.0.0.0", 8000)
failed = []
for root in [Path(os.__file__).parent / "lib-dynload", *map(Path, site.getsitepackages())]:
    for path in sorted(root.rglob("*.so")):
        relative = path.relative_to(root).as_posix()
        suffix = next((s for s in importlib.machinery.EXTENSION_SUFFIXES if relative.endswith(s)), "")
        name = relative.removesuffix(suffix).replace("/", ".")
        if not all(part.isidentifier() for part in name.split(".")):
            continue  # a wheel's vendored library (numpy.libs/...), loaded by its module
        try:
            importlib.import_module(name)
        except Exception as err:
            failed.append(f"{name}: {err!r}")
print(json.dumps(failed))
"""


@pytest.mark.e2e
def test_the_image_holds_everything_the_service_loads(image):
    options = [*run_options(), "--read-only", "--env=ENVIRO_BOARD=virtual"]
    run = podman("run", "--rm", *options, image, "python3", "-v", "-c", IMPORT_EVERYTHING, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    assert json.loads(run.stdout.splitlines()[-1]) == []
    # The tree is read-only at run time: a module without valid bytecode is
    # compiled again at every start, which a Pi Zero feels.
    # (python -v names a compiled file in quotes, a source file without.)
    from_source = re.findall(r"^# code object from (/\S+\.py)$", run.stderr, re.MULTILINE)
    assert from_source == []


@pytest.mark.e2e
def test_container_serves_the_virtual_board_and_stops_gracefully(container):
    base, name = container
    assert requests.get(base + "/healthz", timeout=5).json() == {"result": {"status": "ok"}}
    metrics = requests.get(base + "/metrics", timeout=5).text
    assert re.search(r'^enviro_build_info\{.*board="virtual".*\} 1\.0$', metrics, re.MULTILINE), metrics[
        :2000
    ]

    # The image's HEALTHCHECK runs inside the container and finds it healthy.
    assert podman("healthcheck", "run", name, check=False).returncode == 0
    assert podman("inspect", "--format", "{{.State.Health.Status}}", name).stdout.strip() == "healthy"
    # The Quadlet unit's HealthCmd is a string, which podman runs with /bin/sh -c.
    health_command = re.search(r"^HealthCmd=(.+)$", QUADLET_UNIT.read_text(), re.MULTILINE).group(1)
    assert podman("exec", name, "/bin/sh", "-c", health_command, check=False).returncode == 0

    # SIGTERM, then SIGKILL only after 20 s: gunicorn must be done by then.
    podman("stop", "--time=20", name)
    state = json.loads(podman("inspect", name).stdout)[0]["State"]
    logs = podman("logs", name)
    logs = logs.stdout + logs.stderr
    assert state["ExitCode"] == 0, logs[-3000:]  # 137 would mean it was killed
    assert "service stopped" in logs


@pytest.mark.e2e
def test_container_draws_text_on_the_lcd_and_serves_the_docs_page(container):
    base, _name = container
    # Latin text comes out exactly as the reference image: Pillow, FreeType,
    # the packaged font and the panel driver all work in the image.
    message = REFERENCE_MESSAGES["long"]
    wait_until_lcd_open(base)
    assert requests.post(base + "/api/lcd", json={"message": message}, timeout=10).status_code == 200
    frame = requests.get(base + "/api/lcd", timeout=10)
    assert frame.headers["Content-Type"] == "image/png"
    reference = Image.open(REFERENCE / "long.png")
    assert differing_pixels(Image.open(io.BytesIO(frame.content)).convert("RGB"), reference) == 0

    # Arrows and ticks are not in Noto Sans: DejaVu Sans, from Debian, draws them.
    drawn = requests.post(base + "/api/lcd", json={"message": "Heating \u2192 on \u2713"}, timeout=10)
    assert drawn.json()["result"]["replaced_characters"] == 0, drawn.text
    frame = Image.open(io.BytesIO(requests.get(base + "/api/lcd", timeout=10).content)).convert("RGB")
    assert ink(frame) is not None

    # The Swagger UI page and every asset it references come from the image.
    page = requests.get(base + "/api/docs", timeout=10)
    assert page.status_code == 200
    urls = asset_urls(page.text)
    assert urls
    for url in urls:
        assert requests.get(base + url, timeout=10).status_code == 200, url
