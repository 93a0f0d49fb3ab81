"""Which pinned runtime requirements a 64-bit Raspberry Pi gets as a wheel, and what the rest need.

    .venv/bin/python scripts/pi_wheels.py

A requirement installed here as pure Python (its wheel tagged
``py3-none-any``) installs on any platform. For each of the others, pip asks
the package index (a configured mirror too) for a wheel of the pin that
installs on manylinux aarch64 with CPython 3.11 (Raspberry Pi OS bookworm,
64-bit); nothing is downloaded but the metadata. Every requirement without one must be listed
in SOURCE_BUILDS with the step its build needs on the Pi, and every one
listed there must really lack a wheel, so the list stays true. Exit 0 when
both hold, 1 otherwise, 3 when the index cannot be reached.
"""

from __future__ import annotations

import concurrent.futures
import importlib.metadata
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLATFORMS = ("manylinux2014_aarch64", "manylinux_2_28_aarch64", "manylinux_2_34_aarch64")
PYTHON = "3.11"
# Built from source on the Pi: what the build needs there (docs/deployment.md).
SOURCE_BUILDS = {
    "spidev": "a C compiler and the Python headers: `sudo apt install gcc python3-dev`",
    "sensirion-gas-index-algorithm": "a C compiler and the Python headers: `sudo apt install gcc python3-dev`",
}
UNREACHABLE = ("Could not fetch URL", "Failed to establish a new connection", "Max retries exceeded")


def pins(path: Path = ROOT / "requirements.txt") -> list[tuple[str, str]]:
    """(name, version) of every ``name==version`` line."""
    found = []
    for line in path.read_text().splitlines():
        match = re.match(r"^\s*([A-Za-z0-9_.\-]+)==([^\s;#]+)", line)
        if match:
            found.append((match.group(1), match.group(2)))
    return found


def is_pure(name: str) -> bool:
    """True when the installed distribution's wheel is tagged for any platform."""
    try:
        wheel = importlib.metadata.distribution(name).read_text("WHEEL") or ""
    except importlib.metadata.PackageNotFoundError:
        return False
    tags = [line.split(":", 1)[1].strip() for line in wheel.splitlines() if line.startswith("Tag:")]
    return bool(tags) and all(tag.endswith("-none-any") for tag in tags)


def wheel_for(name: str, version: str) -> tuple[str | None, str]:
    """The wheel's file name, or None, and pip's last words."""
    with tempfile.TemporaryDirectory() as target:
        command = [sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps", "--ignore-installed"]
        command += ["--only-binary=:all:", "--python-version", PYTHON, "--implementation", "cp"]
        command += [f"--platform={platform}" for platform in PLATFORMS]
        command += ["--target", target, "--quiet", "--report", "-", f"{name}=={version}"]
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        return None, done.stderr.strip()
    install = json.loads(done.stdout)["install"]
    return install[0]["download_info"]["url"].rsplit("/", 1)[-1], ""


def main() -> int:
    requirements = pins()
    pure = [pin for pin in requirements if is_pure(pin[0])]
    for name, version in pure:
        print(f"{name}=={version}: pure Python, any platform")
    platform_bound = [pin for pin in requirements if pin not in pure]
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda pin: wheel_for(*pin), platform_bound))
    problems = 0
    for (name, version), (wheel, error) in zip(platform_bound, answers, strict=True):
        if any(words in error for words in UNREACHABLE):
            print(f"cannot reach the package index: {error.splitlines()[-1]}", file=sys.stderr)
            return 3
        listed = SOURCE_BUILDS.get(name.lower())
        if wheel is not None and listed is None:
            print(f"{name}=={version}: {wheel}")
        elif wheel is None and listed is not None:
            print(f"{name}=={version}: no wheel, built on the Pi: needs {listed}")
        elif wheel is None:
            problems += 1
            print(f"{name}=={version}: NO WHEEL for aarch64 and no build step listed in SOURCE_BUILDS")
        else:
            problems += 1
            print(f"{name}=={version}: has a wheel now ({wheel}): take it off SOURCE_BUILDS")
    print(f"{len(requirements)} requirements, {problems} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
