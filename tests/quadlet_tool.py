"""Find podman's Quadlet generator, or fetch the one Debian 13 ships.

Quadlet arrived in podman 4.4. Where the machine's podman is older (Debian
12 has 4.3), the Quadlet unit is checked with the generator of the podman
that Raspberry Pi OS and Debian 13 "trixie" ship: apt downloads that
package from the machine's own Debian mirror into a private list, and only
the generator (a self-contained program) is kept, under build/, so later
runs reuse it. Nothing is installed on the machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.podman_base import debian_mirrors

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "build" / "quadlet"
INSTALLED = (
    Path("/usr/libexec/podman/quadlet"),
    Path("/usr/lib/systemd/system-generators/podman-system-generator"),
)
SUITE = "trixie"


def find_quadlet() -> Path | None:
    """The machine's Quadlet generator, else a cached or fetched one; None if neither."""
    for path in (*INSTALLED, CACHE / "quadlet"):
        if path.is_file() and os.access(path, os.X_OK):
            return path
    try:
        return _fetch()
    except (OSError, subprocess.CalledProcessError):
        return None


def quadlet_version(quadlet: Path) -> str:
    return subprocess.run(
        [str(quadlet), "-version"], capture_output=True, text=True, check=True
    ).stdout.strip()


def _fetch() -> Path:
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        raise OSError("apt-get and dpkg-deb are needed to fetch Quadlet")
    archive, _ = debian_mirrors()
    with tempfile.TemporaryDirectory(prefix="quadlet-") as tmp:
        work = Path(tmp)
        (work / "lists/partial").mkdir(parents=True)
        (work / "cache/archives/partial").mkdir(parents=True)
        (work / "sources.list").write_text(f"deb {archive} {SUITE} main\n")
        # A private source list, package lists and cache: the machine's apt
        # configuration and state stay as they are.
        options = [
            f"-oDir::Etc::SourceList={work / 'sources.list'}",
            "-oDir::Etc::SourceParts=/dev/null",
            f"-oDir::State::Lists={work / 'lists'}",
            f"-oDir::Cache={work / 'cache'}",
            "-oDebug::NoLocking=true",
        ]
        if os.geteuid() == 0:
            # The private folders are root's; apt's download user cannot write them.
            options.append("-oAPT::Sandbox::User=root")
        quiet = {"check": True, "capture_output": True, "cwd": work}
        subprocess.run(["apt-get", *options, "update"], **quiet)
        subprocess.run(["apt-get", *options, "download", "podman"], **quiet)
        package = next(work.glob("podman_*.deb"))
        subprocess.run(["dpkg-deb", "-x", str(package), str(work / "root")], **quiet)
        CACHE.mkdir(parents=True, exist_ok=True)
        target = CACHE / "quadlet"
        shutil.copy2(work / "root/usr/libexec/podman/quadlet", target)
    return target
