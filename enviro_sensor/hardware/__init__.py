"""The board: the buses and pins the vendor drivers are constructed with.

Two kinds share one interface (``enviro_sensor.hardware.board.Board``): the real Enviro+ on
a Raspberry Pi, and the virtual board whose emulated chips the same drivers
talk to. ``open_board`` picks one from the board's options (``enviro_sensor.hardware.options``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from enviro_sensor.hardware.board import Board
from enviro_sensor.hardware.options import BoardOptions

log = logging.getLogger(__name__)

# The Pi's first user I2C bus: its presence is what tells a Pi with the
# interface enabled from any other machine.
REAL_BUS_DEVICE = "/dev/i2c-1"


def board_kind(choice: str, exists: Callable[[str], bool] = os.path.exists) -> str:
    """``real`` or ``virtual`` for the ENVIRO_BOARD choice (auto, real, virtual)."""
    if choice in ("real", "virtual"):
        return choice
    return "real" if exists(REAL_BUS_DEVICE) else "virtual"


def open_board(options: BoardOptions) -> Board:
    """Open the board the options ask for and log which one it is."""
    kind = board_kind(options.board)
    reason = (
        "ENVIRO_BOARD"
        if options.board != "auto"
        else f"{REAL_BUS_DEVICE} " + ("present" if kind == "real" else "absent")
    )
    log.info("using the %s board (%s)", kind, reason)
    if kind == "real":
        from enviro_sensor.hardware.real import RealBoard

        return RealBoard(options.serial_device)
    from enviro_sensor.hardware.virtual import VirtualBoard

    return VirtualBoard.from_options(options)
