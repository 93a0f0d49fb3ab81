"""The board: the buses and pins the vendor drivers are constructed with.

Two kinds share one interface (``hardware.board.Board``): the real Enviro+ on
a Raspberry Pi, and the virtual board whose emulated chips the same drivers
talk to. ``open_board`` picks one from the settings.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from enviro_sensor.hardware.board import Board

log = logging.getLogger(__name__)

# The Pi's first user I2C bus: its presence is what tells a Pi with the
# interface enabled from any other machine.
REAL_BUS_DEVICE = "/dev/i2c-1"


def board_kind(choice: str, exists: Callable[[str], bool] = os.path.exists) -> str:
    """``real`` or ``virtual`` for the ENVIRO_BOARD choice (auto, real, virtual)."""
    if choice in ("real", "virtual"):
        return choice
    return "real" if exists(REAL_BUS_DEVICE) else "virtual"


def open_board(settings: Any) -> Board:
    """Open the board the settings ask for and log which one it is."""
    kind = board_kind(settings.board)
    reason = (
        "ENVIRO_BOARD"
        if settings.board != "auto"
        else f"{REAL_BUS_DEVICE} " + ("present" if kind == "real" else "absent")
    )
    log.info("using the %s board (%s)", kind, reason)
    if kind == "real":
        from enviro_sensor.hardware.real import RealBoard

        return RealBoard(settings)
    from enviro_sensor.hardware.virtual import VirtualBoard

    return VirtualBoard.from_settings(settings)


def check_settings(settings: Any) -> None:
    """Stop start-up on board settings the chosen board cannot use (one line, naming the setting).

    The virtual board's faults are checked by the virtual board itself, so
    the settings never need the emulator; nothing is imported for a real
    board without faults. Raises ``hardware.virtual.faults.FaultSpecError``
    (a ValueError) whose message starts with the setting's name.
    """
    if not settings.virtual_faults:
        return
    from enviro_sensor.hardware.virtual.faults import FaultSpecError, parse_fault_spec

    spec = ",".join(f"{device}={fault}" for device, fault in settings.virtual_faults.items())
    try:
        parse_fault_spec(spec)
    except FaultSpecError as err:
        raise FaultSpecError(f"ENVIRO_VIRTUAL_FAULTS: {err}") from None
