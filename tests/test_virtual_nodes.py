"""Simulated battery nodes (ENVIRO_VIRTUAL_NODES): their rooms, batteries and sequence numbers,
and the demo: a gunicorn service whose virtual nodes reach /api/nodes and /metrics."""

from __future__ import annotations

import asyncio
import resource
import time

import pytest
import requests

from enviro_sensor.hardware.virtual import ManualClock
from enviro_sensor.nodes.intake import NodeIntake
from enviro_sensor.nodes.listener import raise_open_files_limit
from enviro_sensor.nodes.protocol import Code
from enviro_sensor.nodes.virtual import DRAIN_MV, FIRST_VIRTUAL_ID, VirtualNodes, virtual_devices
from tests.node_support import running_listener
from tests.servers import free_port, gunicorn_server


def test_virtual_devices_have_their_own_ids_names_and_random_keys():
    devices = virtual_devices(3, taken={FIRST_VIRTUAL_ID + 1})
    assert [d.id for d in devices] == [FIRST_VIRTUAL_ID, FIRST_VIRTUAL_ID + 2, FIRST_VIRTUAL_ID + 3]
    assert [d.name for d in devices] == ["virtual-001", "virtual-002", "virtual-003"]
    assert len({d.key for d in devices}) == 3
    assert virtual_devices(1)[0].key != virtual_devices(1)[0].key  # never the same twice
    assert all(d.virtual for d in devices)


def test_virtual_nodes_wake_send_and_drain_their_batteries():
    clock = ManualClock()
    devices = virtual_devices(5)
    published = []
    intake = NodeIntake(devices, published.append, clock)
    with running_listener(intake) as listener:
        nodes = VirtualNodes(devices, "127.0.0.1", listener.port, clock)
        batteries = [node.battery_mv for node in nodes.nodes]
        for _ in range(3):
            # No journal (no data directory): published, not kept on disk.
            assert asyncio.run(nodes.round()) == [Code.ACCEPTED] * 5
            clock.advance(10)
    assert [node.battery_mv for node in nodes.nodes] == [b - 3 * DRAIN_MV for b in batteries]
    views = {view.device.name: view for view in intake.views()}
    assert {view.stored for view in views.values()} == {3}
    assert {view.wake_interval for view in views.values()} == {10}
    # Each node has a room of its own.
    temperatures = {view.readings[0].values["temperature_celsius"] for view in views.values()}
    assert len(temperatures) == 5
    assert all(15 < t < 30 for t in temperatures)
    assert nodes.answers == {"accepted": 15}


def test_started_nodes_wake_when_their_clock_says_so():
    # Two nodes spread over a 10 s interval: the first wakes at once, the
    # second 5 s later, then the first again; by the clock, not real time.
    clock = ManualClock()
    devices = virtual_devices(2)
    intake = NodeIntake(devices, lambda event: None, clock)

    def stored() -> list[int]:
        views = {view.device.name: view.stored for view in intake.views()}
        return [views[device.name] for device in devices]

    def becomes(expected: list[int]) -> None:
        deadline = time.monotonic() + 30  # a loaded machine's event loop may be slow to run
        while stored() != expected:
            assert time.monotonic() < deadline, stored()
            time.sleep(0.01)
        # The service stores a packet before its answer reaches the node.
        while sum(nodes.answers.values()) < sum(expected):
            assert time.monotonic() < deadline, nodes.answers
            time.sleep(0.01)

    with running_listener(intake) as listener:
        nodes = VirtualNodes(devices, "127.0.0.1", listener.port, clock)
        nodes.start()
        try:
            becomes([1, 0])
            clock.advance(5)
            becomes([1, 1])
            clock.advance(5)
            becomes([2, 1])
        finally:
            nodes.stop()
    assert nodes.answers == {"accepted": 3}  # no journal (no data directory): kept nowhere


def test_the_listener_raises_the_open_files_limit_it_needs():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 4096:
        pytest.skip(f"the hard open-files limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
    try:
        assert raise_open_files_limit(3024) == 3024
        assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == 3024
        assert raise_open_files_limit(100) == 3024  # never lowered
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.mark.e2e
def test_the_demo_shows_virtual_nodes_sending_through_the_listener(tmp_path):
    environment = {"ENVIRO_VIRTUAL_NODES": "3", "ENVIRO_NODES_PORT": str(free_port())}
    with gunicorn_server(environment, log=tmp_path / "gunicorn.log") as (base, _):
        deadline = time.monotonic() + 30
        while True:
            nodes = requests.get(base + "/api/nodes", timeout=5).json()["result"]["nodes"]
            if all(node["stored"] >= 1 for node in nodes):
                break
            assert time.monotonic() < deadline, nodes
            time.sleep(0.5)
        assert [node["name"] for node in nodes] == ["virtual-001", "virtual-002", "virtual-003"]
        assert {node["status"] for node in nodes} == {"ok"}
        assert {node["transport"] for node in nodes} == {"tcp"}
        metrics = requests.get(base + "/metrics", timeout=5).text
        assert 'enviro_temperature_celsius{node="virtual-001",sensor="bme280"}' in metrics
        assert 'enviro_node_packets_total{result="stored",transport="tcp"}' in metrics
    assert "listening for remote nodes" in (tmp_path / "gunicorn.log").read_text()


def test_a_listener_that_stopped_makes_the_service_unhealthy(registry):
    from tests.app_support import virtual_app

    app = virtual_app(registry, virtual_nodes=1, lcd="off", start=True)
    service = app.extensions["enviro"]
    try:
        client = app.test_client()
        assert client.get("/healthz").status_code == 200
        service.listener.stop()
        reply = client.get("/healthz")
        assert reply.status_code == 503
        assert "remote nodes' listener has stopped" in reply.get_json()["error"]["message"]
    finally:
        service.stop()
