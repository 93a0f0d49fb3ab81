"""Start the real gunicorn on a free loopback port, and stop it again."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
#: The console script ``pip install`` made: what a user runs.
ENVIRO_SENSOR = Path(sys.executable).with_name("enviro-sensor")


GUNICORN = Path(sys.executable).with_name("gunicorn")


def serve_command(*gunicorn_args: str, checkout: Path = ROOT) -> list[str]:
    """The command that serves ``checkout`` (run it there): ``enviro-sensor serve``.

    A checkout from before the package was made is served the way it was
    then (``gunicorn -c gunicorn.conf.py app:app``), so benchmarks can
    compare commits across the change.
    """
    if (checkout / "gunicorn.conf.py").exists():
        return [str(GUNICORN), "-c", "gunicorn.conf.py", *gunicorn_args, "app:app"]
    if checkout.resolve() == ROOT:
        return [str(ENVIRO_SENSOR), "serve", *gunicorn_args]
    # Another checkout's package comes first on the path when run from its folder.
    starter = "import sys; from enviro_sensor.cli.main import main; sys.exit(main())"
    return [sys.executable, "-c", starter, "serve", *gunicorn_args]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_serving(url: str, process: subprocess.Popen, deadline_seconds: float = 30) -> None:
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            requests.get(url, timeout=5)
            return
        # Not listening yet, or still importing on a busy machine.
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {deadline_seconds} s")


@contextlib.contextmanager
def gunicorn_server(
    env: dict[str, str] | None = None, log: Path | None = None
) -> Iterator[tuple[str, subprocess.Popen]]:
    """Run ``enviro-sensor serve`` (gunicorn); yields (base URL, process).

    Its output is a pipe for ``process.communicate``, or the file ``log``: a
    test making thousands of requests fills a pipe nobody reads (64 kB of
    access log), and gunicorn then blocks on its next log line.
    """
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ENVIRO_")}
    environment.update({"ENVIRO_HOST": "127.0.0.1", "ENVIRO_PORT": str(port), "ENVIRO_BOARD": "virtual"})
    environment.update(env or {})
    output = log.open("w") if log is not None else subprocess.PIPE
    process = subprocess.Popen(
        serve_command(),
        cwd=ROOT,
        env=environment,
        stdout=output,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base + "/healthz", process)
        yield base, process
    finally:
        stop(process)
        if log is not None:
            output.close()  # type: ignore[union-attr]


def stop(process: subprocess.Popen, grace_seconds: float = 20) -> None:
    """SIGTERM, then SIGKILL if it has not ended within ``grace_seconds``."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=grace_seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_lcd_open(base: str, deadline_seconds: float = 60) -> None:
    """Wait until a served app's LCD panel is open (GET /api/lcd answers 200).

    The panel's set-up sleeps about a second after the service starts
    serving, more on a loaded machine; meanwhile a drawing waits 2 s at
    most and is then answered 503, "try again".
    """
    deadline = time.monotonic() + deadline_seconds
    while requests.get(base + "/api/lcd", timeout=10).status_code != 200:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the LCD at {base} did not open within {deadline_seconds} s")
        time.sleep(0.2)
