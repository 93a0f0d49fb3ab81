"""The README's download examples (curl -o) against a real gunicorn: an error is never saved as the file.

Without ``-f`` curl writes whatever body comes back to the file and exits 0:
a 404's JSON error would sit in ``day.tar.gz`` as if it were the archive.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.servers import gunicorn_server

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
CURL = shutil.which("curl")


def downloads() -> list[list[str]]:
    """Every curl command of the README that saves to a file."""
    commands = []
    for line in README.read_text().splitlines():
        if line.startswith("curl ") and re.search(r"\s-\w*o\s", line):
            commands.append(shlex.split(line))
    return commands


def test_every_download_in_the_readme_fails_on_an_error_answer():
    found = downloads()
    assert len(found) >= 3  # the export, the archive and the LCD's PNG
    for command in found:
        assert "-f" in command or "--fail" in command or "-fsS" in command, shlex.join(command)


@pytest.mark.skipif(CURL is None, reason="needs curl")
@pytest.mark.e2e
def test_the_archive_example_saves_nothing_for_a_day_with_no_data(tmp_path):
    (command,) = [c for c in downloads() if any("/archive/" in arg for arg in c)]
    with gunicorn_server({"ENVIRO_DATA_DIR": str(tmp_path / "data")}) as (base, _):
        url = next(arg for arg in command if arg.startswith("http://pi:8000/"))
        run = [CURL, *command[1:-1], "-sS", url.replace("http://pi:8000", base)]
        missing = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
        # curl's exit status for an HTTP error with -f, and its one-line reason.
        assert missing.returncode == 22, missing
        assert "404" in missing.stderr
        assert not (tmp_path / "day.tar.gz").exists()
