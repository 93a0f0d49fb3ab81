"""``enviro-sensor``: the one command that runs, checks and describes the service.

Each subcommand imports what it needs when it runs, so ``--help`` and
``healthcheck`` (run by podman every 30 s) stay light.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from enviro_sensor.version import SERVICE, VERSION


def _serve(args: argparse.Namespace, extra: list[str]) -> int:
    from enviro_sensor.cli.serve import run

    return run(extra)


def _check(args: argparse.Namespace, extra: list[str]) -> int:
    from enviro_sensor.cli.check import run_check

    return run_check(sys.stdout, sys.stderr)


def _settings(args: argparse.Namespace, extra: list[str]) -> int:
    from enviro_sensor.cli.settings_table import show_settings

    return show_settings(sys.stdout, markdown=args.markdown)


def _send_node(args: argparse.Namespace, extra: list[str]) -> int:
    from enviro_sensor.cli import send_node

    return send_node.main(extra, prog=f"{SERVICE} send-node")


def _healthcheck(args: argparse.Namespace, extra: list[str]) -> int:
    from enviro_sensor.cli import healthcheck

    return healthcheck.main()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=SERVICE,
        description="Enviro+ sensors as JSON, Prometheus metrics, MQTT and more. "
        "Every setting comes from ENVIRO_* environment variables (see `enviro-sensor settings`).",
    )
    parser.add_argument("--version", action="version", version=f"{SERVICE} {VERSION}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="run the service under gunicorn (the virtual board unless a real one is found)",
        description="Run the service under gunicorn with one worker, in the foreground. "
        "Options after `serve` are gunicorn's own (e.g. --access-logfile /dev/null) and "
        "override the service's defaults; ENVIRO_HOST and ENVIRO_PORT choose where it listens.",
    )
    serve.set_defaults(run=_serve, takes_extra=True)
    check = commands.add_parser(
        "check",
        help="check the settings and the hardware, and say what the service would run",
        description="Validate every setting, say which board the service would open and why, "
        "probe each configured part (I2C addresses, the serial port, SPI, the GPIO chip, the "
        "microphone) and say how to enable what is missing. Exits 2 on a bad setting, 1 when a "
        "part is missing, 0 when everything answers.",
    )
    check.set_defaults(run=_check, takes_extra=False)
    settings = commands.add_parser(
        "settings",
        help="list every setting with its value, where it came from, its range and meaning",
        description="Every ENVIRO_* setting with its current value and where it came from "
        "(default or environment), its unit and range; secrets are masked.",
    )
    settings.add_argument("--markdown", action="store_true", help="print the README's table of defaults")
    settings.set_defaults(run=_settings, takes_extra=False)
    send_node = commands.add_parser(
        "send-node",
        help="send one remote-node packet and show the answer (for testing a node's firmware)",
        description="Send one remote-node packet and show the answer; `enviro-sensor send-node --help` "
        "lists its options.",
        add_help=False,
    )
    send_node.set_defaults(run=_send_node, takes_extra=True)
    healthcheck = commands.add_parser(
        "healthcheck",
        help="exit 0 when the local service answers /healthz (for podman and systemd)",
        description="Exit 0 when the service on ENVIRO_HOST:ENVIRO_PORT answers /healthz with 200, "
        "1 otherwise, with the reason on standard error.",
    )
    healthcheck.set_defaults(run=_healthcheck, takes_extra=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and not args.takes_extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return int(args.run(args, extra))
    except BrokenPipeError:
        # `enviro-sensor settings | head`: the reader has gone; say nothing more.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
