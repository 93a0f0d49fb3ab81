"""docs/architecture.md's tables about the sensor kinds agree with the kinds' declarations."""

from __future__ import annotations

import re
from pathlib import Path

from enviro_sensor.sensors import registry
from enviro_sensor.sensors.base import COMMON_ERROR_REASONS

ARCHITECTURE = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"


def table_after(heading_text: str) -> list[list[str]]:
    """The rows (cells) of the first Markdown table after the line containing ``heading_text``."""
    lines = ARCHITECTURE.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if heading_text in line)
    rows = []
    for line in lines[start + 1 :]:
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
        elif rows:
            break
    return rows[2:]  # past the header and its rule


def names(cell: str) -> set[str]:
    return set(re.findall(r"`([a-z0-9_]+)`", cell))


def test_the_read_error_reasons_are_those_each_kind_declares():
    text = ARCHITECTURE.read_text()
    for reason in COMMON_ERROR_REASONS:
        assert f"`{reason}`" in text
    documented = {}
    for kinds, reasons in table_after("some kinds add their own"):
        for kind in names(kinds):
            documented[kind] = names(reasons)
    declared = {
        name: set(kind.error_reasons) - set(COMMON_ERROR_REASONS)
        for name, kind in registry.kinds().items()
        if set(kind.error_reasons) - set(COMMON_ERROR_REASONS)
    }
    assert documented == declared


def test_the_sensor_groups_table_has_every_group():
    documented = {row[0] for row in table_after("## Sensor groups")}
    assert documented == set(registry.groups())
    for row in table_after("## Sensor groups"):
        kinds = {name for name, kind in registry.kinds().items() if kind.group == row[0] and kind.on_board}
        assert kinds <= names(row[1]), row
