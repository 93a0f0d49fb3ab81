"""Home Assistant's own released package, for checking what the service announces to it.

The MQTT discovery payloads are validated by the discovery schema and the
unit tables of a pinned Home Assistant release, installed from PyPI into a
virtualenv of its own (Home Assistant needs a newer Python than the
service's). The virtualenv is made once, under ``build/`` in the checkout,
by ``scripts/test`` before pytest starts (or by the first test that needs
it), and reused; without a Python the release runs on, the tests that need
it skip and say why.

To move to a newer release: set ``HOME_ASSISTANT_VERSION`` to it and
``HOME_ASSISTANT_PYTHON`` to the Python minor version it needs (its
``requires-python`` on PyPI), run ``scripts/test -k home_assistant``, and
read what the new schema says about our payloads. ``ENVIRO_HA_PYTHON`` names
the interpreter when it is not found by itself (pyenv or ``pythonX.Y`` on
PATH).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

#: The release the payloads are checked against: the newest that runs on Python 3.13.0.
HOME_ASSISTANT_VERSION = "2025.4.4"
HOME_ASSISTANT_PYTHON = "3.13"
CHECKOUT = Path(__file__).resolve().parents[2]
VENV = CHECKOUT / "build" / f"homeassistant-{HOME_ASSISTANT_VERSION}"
VALIDATOR = Path(__file__).with_name("validate_discovery.py")
# Installing the release and its dependencies takes minutes, once.
INSTALL_TIMEOUT_SECONDS = 1800


def find_python() -> str | None:
    """An interpreter of HOME_ASSISTANT_PYTHON: ENVIRO_HA_PYTHON, pyenv's, or one on PATH."""
    named = os.environ.get("ENVIRO_HA_PYTHON")
    if named:
        return named if shutil.which(named) else None
    pyenv = shutil.which("pyenv")
    if pyenv is not None:
        found = subprocess.run([pyenv, "root"], capture_output=True, text=True, check=False).stdout.strip()
        versions = sorted(Path(found, "versions").glob(f"{HOME_ASSISTANT_PYTHON}.*")) if found else []
        for version in reversed(versions):
            if (version / "bin" / "python").exists():
                return str(version / "bin" / "python")
    return shutil.which(f"python{HOME_ASSISTANT_PYTHON}")


class InstallFailed(RuntimeError):
    """pip could not install the pinned release."""


def install() -> str | None:
    """Makes the virtualenv with the pinned release, once; None when it is ready, else why it cannot be.

    ``scripts/test`` runs it (``python -m tests.home_assistant``) before
    pytest, as it installs the other programs the tests use.
    """
    marker = VENV / "installed"
    if marker.exists() and marker.read_text() == HOME_ASSISTANT_VERSION:
        return None
    base = find_python()
    if base is None:
        return (
            f"Home Assistant {HOME_ASSISTANT_VERSION} needs Python {HOME_ASSISTANT_PYTHON}, and none was found "
            "(pyenv, python3.13 on PATH, or ENVIRO_HA_PYTHON): the discovery payloads are NOT checked"
        )
    shutil.rmtree(VENV, ignore_errors=True)
    subprocess.run([base, "-m", "venv", str(VENV)], check=True)
    done = subprocess.run(
        [
            str(VENV / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            f"homeassistant=={HOME_ASSISTANT_VERSION}",
        ],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_SECONDS,
        check=False,
    )
    if done.returncode != 0:
        raise InstallFailed(
            f"pip could not install homeassistant=={HOME_ASSISTANT_VERSION}:\n{done.stderr[-3000:]}"
        )
    marker.write_text(HOME_ASSISTANT_VERSION)
    return None


def venv_python() -> Path:
    """The virtualenv's interpreter with the pinned release installed; skips when it cannot be made."""
    try:
        reason = install()
    except InstallFailed as err:
        pytest.fail(str(err))
    if reason is not None:
        pytest.skip(reason)
    return VENV / "bin" / "python"


def validate(payloads: dict[str, dict]) -> dict[str, list[str]]:
    """What Home Assistant's release says is wrong with each payload, by topic (empty: nothing)."""
    done = subprocess.run(
        [str(venv_python()), str(VALIDATOR)],
        input=json.dumps(payloads),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"the validator failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


def units(*names: str) -> dict[str, str]:
    """Home Assistant's own spelling of some unit constants (homeassistant.const)."""
    script = "import json, sys, homeassistant.const as c; print(json.dumps({n: getattr(c, n) for n in sys.argv[1:]}))"
    done = subprocess.run(
        [str(venv_python()), "-c", script, *names], capture_output=True, text=True, timeout=300, check=True
    )
    return json.loads(done.stdout)
