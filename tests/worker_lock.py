"""A lock that one pytest-xdist worker holds at a time, for set-ups they must not do at once.

Each worker makes its own module fixtures; where two would build the same
thing into one shared place (podman's image store, build/), the second
waits for the first and then finds it made (podman's layer cache, the
cached file). The workers of one run share the parent of their base
temporary folders.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator

import pytest


@contextlib.contextmanager
def one_worker_at_a_time(name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    folder = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        folder = folder.parent
    with open(folder / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
