"""A real mosquitto broker on a free loopback port, and a subscriber that keeps what it hears."""

from __future__ import annotations

import contextlib
import getpass
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.servers import free_port

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
needs_mosquitto = pytest.mark.skipif(
    not Path(MOSQUITTO).exists() or not shutil.which("openssl"),
    reason="needs mosquitto and mosquitto_passwd (Debian package mosquitto) and openssl",
)


def wait_for(
    check: Callable[[], object], seconds: float = 15.0, what: str = "condition", step: float = 0.02
) -> object:
    """Poll ``check`` every ``step`` seconds until it returns something true, or fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(step)
    raise AssertionError(f"{what}: not within {seconds} s")


class Broker:
    """One mosquitto process; ``start``/``stop`` may be repeated on the same port."""

    def __init__(self, folder: Path, *, users: dict[str, str] | None = None, tls: bool = False) -> None:
        self.folder = folder
        self.port = free_port()
        self.log = folder / "mosquitto.log"
        self.process: subprocess.Popen | None = None
        self.ca_file: Path | None = None
        lines = [
            f"listener {self.port} 127.0.0.1",
            "persistence false",  # a restarted broker knows nothing: we must tell it again
            f"log_dest file {self.log}",
            "log_type all",
            # As root mosquitto would switch to its own user, who cannot read our files.
            f"user {getpass.getuser()}",
        ]
        if users:
            password_file = folder / "passwords"
            for user, password in users.items():
                create = [] if password_file.exists() else ["-c"]
                subprocess.run(
                    ["mosquitto_passwd", "-b", *create, str(password_file), user, password],
                    check=True,
                    capture_output=True,
                    timeout=30,
                )
            lines += ["allow_anonymous false", f"password_file {password_file}"]
        else:
            lines.append("allow_anonymous true")
        if tls:
            self.ca_file = make_certificates(folder)
            lines += [
                f"cafile {self.ca_file}",
                f"certfile {folder / 'server.crt'}",
                f"keyfile {folder / 'server.key'}",
            ]
        self.config = folder / "mosquitto.conf"
        self.config.write_text("\n".join(lines) + "\n")

    def start(self) -> None:
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        wait_for(self._listening, 10, f"mosquitto on port {self.port}")

    def _listening(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(
                f"mosquitto exited: {self.process.stderr.read() if self.process.stderr else ''}"
            )
        with socket.socket() as sock:
            sock.settimeout(0.5)
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def make_certificates(folder: Path) -> Path:
    """A self-signed CA and a server certificate for 127.0.0.1 signed by it; returns the CA file."""

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60, cwd=folder)

    openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=enviro test CA",
    )  # fmt: skip
    openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
        "-subj", "/CN=127.0.0.1",
    )  # fmt: skip
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.crt", "-days", "2", "-extfile", "san.ext",
    )  # fmt: skip
    return folder / "ca.crt"


@contextlib.contextmanager
def running_broker(folder: Path, **options) -> Iterator[Broker]:
    broker = Broker(folder, **options)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


class Subscriber:
    """Subscribes to ``topics`` and keeps the last payload and every payload per topic."""

    def __init__(
        self, broker: Broker, *topics: str, username: str | None = None, password: str | None = None
    ):
        self.last: dict[str, str] = {}
        self.history: list[tuple[str, str, bool]] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = paho.Client(CallbackAPIVersion.VERSION2)
        if username:
            self.client.username_pw_set(username, password)
        if broker.ca_file is not None:
            self.client.tls_set(ca_certs=str(broker.ca_file))
        self.client.on_message = self._on_message
        self.client.on_connect = lambda client, *_: client.subscribe([(t, 1) for t in topics])
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.connect("127.0.0.1", broker.port, keepalive=10)
        self.client.loop_start()
        assert self._subscribed.wait(10), "the test subscriber could not subscribe"

    def _on_message(self, client, userdata, message) -> None:
        payload = message.payload.decode()
        with self._lock:
            self.last[message.topic] = payload
            self.history.append((message.topic, payload, bool(message.retain)))

    def snapshot(self) -> dict[str, str]:
        with self._lock:
            return dict(self.last)

    def payloads(self, topic: str) -> list[str]:
        with self._lock:
            return [payload for t, payload, _ in self.history if t == topic]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
