"""``enviro-sensor serve``: every setting checked, then gunicorn with a master that holds little.

A bad setting stops start-up with its one line before anything binds. Reading
every setting means importing every part's declaration: the sensor kinds'
table with each kind's module, every output module, the nodes' devices file
with tomllib. gunicorn's master never uses any of them, and what a process
imports stays in it for its life; so the check runs in a child forked for it,
which takes those modules with it when it exits, and the master goes on with
the HTTP side's settings alone (``web.server``). The worker reads every
setting again when it builds the app.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from enviro_sensor.web.server import ServiceApplication


def settings_are_usable() -> bool:
    """Whether every setting can be used; if not, the child has printed why."""
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child, which never returns
        code = 1
        try:
            from enviro_sensor.cli.startup import load_or_explain

            code = 0 if load_or_explain() is not None else 2
        finally:
            sys.stderr.flush()
            os._exit(code)
    _pid, status = os.waitpid(child, 0)
    return os.waitstatus_to_exitcode(status) == 0


def prepare(gunicorn_args: Sequence[str] = ()) -> ServiceApplication | None:
    """gunicorn's application, configured, or None after a bad setting was explained."""
    if not settings_are_usable():
        return None
    from enviro_sensor.web.server import ServiceApplication

    return ServiceApplication(gunicorn_args=gunicorn_args)


def run(gunicorn_args: Sequence[str] = ()) -> int:
    """Serve in the foreground until gunicorn is told to stop; 2 after a bad setting."""
    application = prepare(gunicorn_args)
    if application is None:
        return 2
    application.run()
    return 0
