"""``enviro-sensor check``: the settings validated, the plan said, the hardware probed.

The first thing a maker runs after wiring: it reads the settings as the
service would (a bad one is the same single line, exit 2), says which board
it would open and why, which groups, sensors, outputs, nodes and LCD mode it
would run, then probes every interface a configured part needs on that
board and says, for each one missing or not permitted, what to do. Exit 1
when anything is missing. Nothing is started: no polling, no output
connects, nothing is written.
"""

from __future__ import annotations

from typing import TextIO

from prometheus_client import CollectorRegistry

from enviro_sensor import hardware
from enviro_sensor.cli.startup import load_or_explain
from enviro_sensor.hardware import probe
from enviro_sensor.hardware.board import Board
from enviro_sensor.hardware.probe import Finding
from enviro_sensor.sensors.config import GroupConfig, Sensor
from enviro_sensor.service import Service
from enviro_sensor.settings import BOARD, LCD, NODES, Settings
from enviro_sensor.version import SERVICE, VERSION

# The Enviro+ wires its LCD to SPI port 0, chip select 1 (hardware.real).
LCD_SPI = (0, 1)


def board_reason(settings: Settings) -> str:
    """Which board, and why: ENVIRO_BOARD, or whether the Pi's I2C bus is there."""
    choice = settings.of(BOARD).board
    kind = hardware.board_kind(choice)
    if choice != "auto":
        return f"{kind} (ENVIRO_BOARD={choice})"
    seen = "present" if kind == "real" else "absent: I2C is not enabled, or this is not a Pi"
    return f"{kind} ({hardware.REAL_BUS_DEVICE} {seen})"


def _where(sensor: Sensor) -> str:
    if sensor.address is None:
        return sensor.name
    bus = f" bus {sensor.bus}" if sensor.bus != 1 else ""
    return f"{sensor.name} (0x{sensor.address:02x}{bus})"


def plan(settings: Settings, service: Service) -> list[str]:
    """What the service would run, one line each."""
    lines = [f"board: {board_reason(settings)}"]
    for group in service.groups:
        lines.append(_group_line(group))
    outputs = ", ".join(output.name for output in service.outputs.outputs)
    lines.append(f"outputs: {outputs}")
    nodes = settings.of(NODES)
    if nodes.file or nodes.port is not None or nodes.virtual:
        listening = f"listening on TCP port {nodes.port}" if nodes.port is not None else "no TCP port"
        lines.append(
            f"remote nodes: {len(nodes.file)} in ENVIRO_NODES_FILE, {listening}, {nodes.virtual} virtual"
        )
    else:
        lines.append("remote nodes: none")
    lcd = settings.of(LCD)
    lines.append(
        f"lcd: {lcd.mode}, a page every {lcd.page_seconds:g} s"
        if lcd.enabled
        else "lcd: off (ENVIRO_LCD=off)"
    )
    return lines


def _group_line(group: GroupConfig) -> str:
    if not group.enabled:
        return f"group {group.name}: off ({group.disabled_reason})"
    sensors = ", ".join(_where(sensor) for sensor in group.sensors)
    return f"group {group.name}, every {group.interval:g} s: {sensors}"


def probes(board: Board, service: Service, lcd_on: bool) -> list[Finding]:
    """A finding for every interface a configured, polled part needs."""
    findings = []
    gpio_for: list[str] = []
    for group in service.groups:
        if not group.enabled:
            continue
        for sensor in group.sensors:
            if sensor.address is not None:
                findings.append(probe.probe_i2c(board, sensor.name, sensor.bus, sensor.address))
            interfaces = sensor.kind.interfaces
            if "serial" in interfaces:
                findings.append(probe.probe_serial(board, sensor.name))
            if "microphone" in interfaces:
                findings.append(probe.probe_microphone(board, sensor.name))
            if "gpio" in interfaces:
                gpio_for.append(sensor.name)
    if lcd_on:
        findings.append(probe.probe_spi(board, "lcd", *LCD_SPI))
        gpio_for.append("lcd")
    if gpio_for:
        findings.append(probe.probe_gpio(board, "/".join(gpio_for)))
    return findings


def run_check(out: TextIO, err: TextIO | None = None) -> int:
    settings = load_or_explain(err or out)
    if settings is None:
        return 2
    from_environment = sum(1 for source in settings.sources.values() if source == "environment")
    out.write(f"{SERVICE} {VERSION}: the settings are valid ({from_environment} set in the environment)\n")
    service = Service(settings, CollectorRegistry(auto_describe=True))
    for line in plan(settings, service):
        out.write(line + "\n")
    board = service.open_board()
    try:
        findings = probes(board, service, settings.of(LCD).enabled)
    finally:
        board.close()
    missing = [finding for finding in findings if not finding.ok]
    out.write(f"hardware: {len(findings) - len(missing)} of {len(findings)} answer\n")
    for finding in findings:
        mark = "ok     " if finding.ok else "MISSING"
        out.write(f"  {mark} {finding.what}: {finding.detail}\n")
        if finding.fix:
            out.write(f"          -> {finding.fix}\n")
    if missing:
        out.write(f"{len(missing)} missing: the service would run without them and report them failing\n")
    out.flush()
    return 1 if missing else 0
