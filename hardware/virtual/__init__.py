"""The virtual board: emulated chips behind the buses the drivers are given."""

from __future__ import annotations

from hardware.board import Board


class VirtualBoard(Board):
    """Placeholder until the emulations land: no device answers."""

    kind = "virtual"

    @classmethod
    def from_settings(cls, settings) -> VirtualBoard:
        return cls()

    def i2c_bus(self, number: int = 1):
        raise OSError("no virtual bus yet")

    def driver_pin(self, name: str):
        raise OSError("no virtual pins yet")

    def serial_device(self) -> str:
        raise OSError("no virtual serial port yet")

    def open_lcd(self):
        raise OSError("no virtual LCD yet")

    def cpu_temperature(self) -> float:
        raise OSError("no virtual CPU yet")
