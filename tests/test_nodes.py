"""Remote nodes in the service: their readings in /api/nodes, /metrics and every output, and the HTTP push."""

from __future__ import annotations

import base64
import json
import sqlite3

import pytest

from enviro_sensor.history.database import path_in
from enviro_sensor.nodes import protocol
from enviro_sensor.nodes.fields import BATTERY_VOLTS
from enviro_sensor.nodes.protocol import Code, Packet
from enviro_sensor.outputs.influx import line
from enviro_sensor.outputs.mqtt import remote_discovery_config
from tests.history_support import FLUSH, history_output
from tests.node_support import doc_devices, kitchen_packet
from tests.sensor_support import PolledApp
from tests.test_outputs import RecordingOutput

KEY = bytes(range(32))
AUTH = {"Authorization": f"Bearer {KEY.hex()}"}


def packet(sequence: int, temperature: float = 21.5, wake: int = 300, battery_mv: int = 3712) -> bytes:
    return kitchen_packet(sequence, temperature, wake, battery_mv)


def send(polled: PolledApp, data: bytes) -> Code:
    code = protocol.decode_answer(polled.service.nodes.receive(data)).code
    polled.settle()
    return code


@pytest.fixture
def polled(tmp_path):
    app = PolledApp(nodes_file=doc_devices(), data_dir=str(tmp_path), history_flush=FLUSH)
    yield app
    app.close()


def samples(polled: PolledApp, name: str) -> dict:
    return {tuple(sorted(s.labels.items())): s.value for s in polled.metric_samples() if s.name == name}


def test_a_node_is_waiting_until_its_first_packet(polled):
    node = polled.client.get("/api/nodes/kitchen").get_json()["result"]
    assert (node["status"], node["readings"]) == ("waiting", {})
    assert "last_contact" not in node and "battery_volts" not in node
    assert node["measurements"] == [
        "bme280.temperature_celsius",
        "bme280.humidity_percent",
        "bme280.pressure_hectopascals",
    ]
    assert samples(polled, "enviro_node_up") == {(("node", "kitchen"),): 0.0}


def test_a_stored_packet_shows_in_the_api_and_the_metrics(polled):
    assert send(polled, packet(1)) is Code.STORED
    node = polled.client.get("/api/nodes/kitchen").get_json()["result"]
    assert node["status"] == "ok"
    assert (node["battery_volts"], node["sequence"], node["transport"]) == (3.712, 1, "tcp")
    assert (node["measure_interval_seconds"], node["wake_interval_seconds"]) == (60, 300)
    assert node["readings"]["bme280"]["values"] == {
        "temperature_celsius": 21.5,
        "humidity_percent": 45.2,
        "pressure_hectopascals": 1013.2,
    }
    assert node["readings"]["battery"]["values"] == {"voltage_volts": 3.712}
    assert polled.client.get("/api/nodes/1001").status_code == 200  # the id works too
    assert polled.client.get("/api/nodes").get_json()["result"]["nodes"][0]["name"] == "kitchen"
    temperatures = samples(polled, "enviro_temperature_celsius")
    assert temperatures[(("node", "kitchen"), ("sensor", "bme280"))] == 21.5
    assert samples(polled, "enviro_pressure_pascals")[(("node", "kitchen"), ("sensor", "bme280"))] == 101320.0
    assert samples(polled, "enviro_node_battery_volts") == {
        (("node", "kitchen"), ("sensor", "battery")): 3.712
    }
    assert samples(polled, "enviro_node_up") == {(("node", "kitchen"),): 1.0}
    stored = samples(polled, "enviro_node_packets_total")
    assert stored[(("result", "stored"), ("transport", "tcp"))] == 1


def test_remote_readings_leave_the_local_sensors_alone(polled):
    polled.poll("weather")
    local = polled.client.get("/api/sensors/weather/bme280").get_json()["result"]["values"]
    assert send(polled, packet(1, temperature=-30.0)) is Code.STORED
    assert polled.client.get("/api/sensors/weather/bme280").get_json()["result"]["values"] == local
    temperatures = samples(polled, "enviro_temperature_celsius")
    assert temperatures[(("sensor", "bme280"),)] == local["temperature_celsius"]
    assert temperatures[(("node", "kitchen"), ("sensor", "bme280"))] == -30.0


def test_a_node_goes_stale_after_three_of_its_own_intervals(polled):
    assert send(polled, packet(1, wake=60)) is Code.STORED
    polled.clock.advance(3 * 60 + 29)
    assert polled.client.get("/api/nodes/kitchen").get_json()["result"]["status"] == "ok"
    polled.clock.advance(2)
    node = polled.client.get("/api/nodes/kitchen").get_json()["result"]
    assert (node["status"], node["stale"], node["readings"]["bme280"]["stale"]) == ("stale", True, True)
    assert (("node", "kitchen"), ("sensor", "bme280")) not in samples(polled, "enviro_temperature_celsius")
    assert samples(polled, "enviro_node_up") == {(("node", "kitchen"),): 0.0}


def test_out_of_range_values_are_refused_counted_and_never_shown(polled):
    assert send(polled, packet(1, temperature=150.0)) is Code.INVALID_VALUES
    node = polled.client.get("/api/nodes/kitchen").get_json()["result"]
    assert (node["readings"], node["last_refusal"], node["refused"]) == ({}, "invalid_values", 1)
    rejected = samples(polled, "enviro_node_readings_rejected_total")
    key = (("field", "bme280.temperature_celsius"), ("node", "kitchen"), ("reason", "out_of_range"))
    assert rejected == {key: 1.0}
    assert send(polled, packet(1)) is Code.REPLAYED  # its sequence number was used up
    assert send(polled, packet(2)) is Code.STORED


def test_an_empty_battery_reading_is_left_out(polled):
    assert send(polled, packet(1, battery_mv=0)) is Code.STORED
    node = polled.client.get("/api/nodes/kitchen").get_json()["result"]
    assert "battery_volts" not in node
    assert "battery" not in node["readings"]


def test_unknown_nodes_get_no_label_of_their_own(polled):
    stranger = protocol.encode(Packet(4242, 1, 0, 0, 0, ()), KEY)
    for _ in range(3):
        assert send(polled, stranger) is Code.UNKNOWN_DEVICE
    text = polled.client.get("/metrics").get_data(as_text=True)
    assert "4242" not in text
    assert 'enviro_node_packets_total{result="unknown_device",transport="tcp"} 3.0' in text
    assert polled.client.get("/api/nodes/4242").status_code == 404
    assert polled.client.get("/api/nodes/%C2%B9").status_code == 404  # a superscript one is no id


# -- the outputs ------------------------------------------------------------------


def test_the_history_keeps_a_node_as_its_own_series(polled, tmp_path):
    polled.poll("weather")
    assert send(polled, packet(1)) is Code.STORED
    history_output(polled).flush()
    db = sqlite3.connect(path_in(str(tmp_path)))
    try:
        sensors = {row[0] for row in db.execute("SELECT DISTINCT sensor FROM series")}
    finally:
        db.close()
    assert {"bme280", "kitchen/bme280", "kitchen/battery"} <= sensors
    polled.clock.advance(60)
    answer = polled.client.get(
        "/api/history?sensor=kitchen/bme280&field=temperature_celsius&since=-1h&step=60"
    )
    assert answer.status_code == 200
    (series,) = answer.get_json()["result"]["series"]
    assert (series["sensor"], series["unit"]) == ("kitchen/bme280", "°C")
    assert [point["mean"] for point in series["points"]] == [21.5]
    export = polled.client.get("/api/history/export?sensor=kitchen/battery&since=-1h").get_data(as_text=True)
    assert ",kitchen/battery,voltage_volts,Battery,V,3.712," in export
    assert polled.client.get("/api/history?sensor=attic/bme280").status_code == 400


def test_every_output_gets_the_node_as_the_source():
    recorder = RecordingOutput()
    polled = PolledApp(nodes_file=doc_devices(), outputs=[recorder])
    try:
        # No data directory: published to every output, kept on no disk.
        assert send(polled, packet(1)) is Code.ACCEPTED
    finally:
        polled.close()
    records = [(type(r).__name__, r.source, r.sensor) for r in recorder.records]
    assert records == [
        ("StatusChange", "kitchen", "bme280"),
        ("StatusChange", "kitchen", "battery"),
        ("Reading", "kitchen", "bme280"),
        ("Reading", "kitchen", "battery"),
    ]
    reading = recorder.records[2]
    assert reading.group == "nodes"
    assert reading.fresh_for == 3 * 300 + 30
    assert line(reading, "pi").startswith("enviro,host=pi,node=kitchen,sensor=bme280 ")


def test_home_assistant_gets_a_device_per_node():
    topic, config = remote_discovery_config("kitchen", "battery", BATTERY_VOLTS, "pi", "enviro", 930.2)
    assert topic == "homeassistant/sensor/pi/kitchen_battery_voltage_volts/config"
    assert config["state_topic"] == "enviro/pi/nodes/kitchen/battery/state"
    assert config["device"]["identifiers"] == ["enviro-sensor_pi_node_kitchen"]
    assert config["device"]["via_device"] == "enviro-sensor_pi"
    assert (config["device_class"], config["unit_of_measurement"], config["expire_after"]) == (
        "voltage",
        "V",
        931,
    )


def test_the_file_tree_writes_a_file_per_node_sensor(tmp_path):
    polled = PolledApp(nodes_file=doc_devices(), export_dir=str(tmp_path))
    try:
        assert send(polled, packet(1)) is Code.ACCEPTED
        document = json.loads((tmp_path / "nodes" / "kitchen" / "bme280.json").read_text())
        assert (document["node"], document["values"]["temperature_celsius"]) == ("kitchen", 21.5)
        assert (
            'enviro_temperature_celsius{node="kitchen",sensor="bme280"} 21.5'
            in (tmp_path / "enviro.prom").read_text()
        )
    finally:
        polled.close()


# -- sequence numbers across restarts ---------------------------------------------


def test_sequence_numbers_survive_a_restart_and_are_written_in_batches(tmp_path):
    first = PolledApp(nodes_file=doc_devices(), data_dir=str(tmp_path))
    sequences = first.service.nodes.sequences
    for sequence in range(1, 11):
        assert send(first, packet(sequence)) is Code.STORED
        first.clock.advance(1)
    assert sequences.writes == 0, "written before a minute passed"
    first.clock.advance(60)
    assert send(first, packet(11)) is Code.STORED
    assert sequences.writes == 1
    assert send(first, packet(12)) is Code.STORED
    first.service.nodes.close()  # what a clean stop does
    first.close()
    assert sequences.writes == 2
    second = PolledApp(nodes_file=doc_devices(), data_dir=str(tmp_path))
    try:
        assert send(second, packet(12)) is Code.REPLAYED
        assert send(second, packet(13)) is Code.STORED
    finally:
        second.close()


def test_after_a_crash_only_the_last_minute_of_sequence_numbers_is_forgotten(tmp_path):
    first = PolledApp(nodes_file=doc_devices(), data_dir=str(tmp_path))
    assert send(first, packet(1)) is Code.STORED
    first.clock.advance(61)
    assert send(first, packet(2)) is Code.STORED  # written with this one
    assert send(first, packet(3)) is Code.STORED  # not yet written: then the power goes
    first.close()
    second = PolledApp(nodes_file=doc_devices(), data_dir=str(tmp_path))
    try:
        assert send(second, packet(2)) is Code.REPLAYED
        assert send(second, packet(3)) is Code.STORED  # the documented window
    finally:
        second.close()


# -- the HTTP push ----------------------------------------------------------------


def push(polled: PolledApp, body, headers=AUTH, node="kitchen", **options):
    reply = polled.client.post(f"/api/nodes/{node}/readings", json=body, headers=headers, **options)
    polled.settle()
    return reply


def test_a_push_is_stored_like_a_packet(polled):
    body = {"sequence": 5, "battery_volts": 3.6, "wake_interval_seconds": 120,
            "values": {"bme280.temperature_celsius": 19.25}}  # fmt: skip
    reply = push(polled, body)
    assert reply.status_code == 200
    assert reply.get_json() == {"result": {"node": "kitchen", "sequence": 5, "code": "stored", "stored": 1}}
    node = polled.client.get("/api/nodes/kitchen").get_json()["result"]
    assert (node["transport"], node["battery_volts"], node["wake_interval_seconds"]) == ("http", 3.6, 120)
    assert node["readings"]["bme280"]["values"] == {"temperature_celsius": 19.25}
    # One counter for both ways in: the packet must now go above 5.
    assert send(polled, packet(5)) is Code.REPLAYED
    assert samples(polled, "enviro_node_packets_total")[(("result", "stored"), ("transport", "http"))] == 1


def test_a_base64_key_works_too(polled):
    headers = {"Authorization": "Bearer " + base64.b64encode(KEY).decode()}
    assert (
        push(polled, {"sequence": 1, "values": {"bme280.humidity_percent": 40}}, headers).status_code == 200
    )


@pytest.mark.parametrize(
    ("body", "headers", "node", "status", "result"),
    [
        ({"sequence": 1, "values": {"bme280.temperature_celsius": 20}}, {}, "kitchen", 401, "bad_tag"),
        ({"sequence": 1, "values": {"bme280.temperature_celsius": 20}}, {"Authorization": "Bearer " + "00" * 32}, "kitchen", 401, "bad_tag"),
        ({"sequence": 1, "values": {"bme280.temperature_celsius": 20}}, AUTH, "attic", 404, "unknown_device"),
        ({"sequence": 1, "values": {"bme280.temperature_celsius": 200}}, AUTH, "kitchen", 422, "invalid_values"),
        ({"sequence": 1, "values": {"scd4x.co2_ppm": 400}}, AUTH, "kitchen", 400, "malformed"),
        ({"sequence": 1, "values": {"bme280.temperature_celsius": "warm"}}, AUTH, "kitchen", 400, "malformed"),
        ({"sequence": -1, "values": {"bme280.temperature_celsius": 20}}, AUTH, "kitchen", 400, "malformed"),
        ({"sequence": True, "values": {"bme280.temperature_celsius": 20}}, AUTH, "kitchen", 400, "malformed"),
        ({"values": {"bme280.temperature_celsius": 20}}, AUTH, "kitchen", 400, "malformed"),
        ({"sequence": 1, "values": {}}, AUTH, "kitchen", 400, "malformed"),
        ({"sequence": 1, "values": {"bme280.temperature_celsius": 20}, "extra": 1}, AUTH, "kitchen", 400, "malformed"),
        ([1, 2], AUTH, "kitchen", 400, "malformed"),
    ],
)  # fmt: skip
def test_bad_pushes_are_refused_with_json_errors_and_counted(polled, body, headers, node, status, result):
    reply = push(polled, body, headers, node)
    assert reply.status_code == status
    assert reply.get_json()["error"]["status"] == status
    if status == 401:
        assert reply.headers["WWW-Authenticate"].startswith("Bearer")
    assert samples(polled, "enviro_node_packets_total")[(("result", result), ("transport", "http"))] == 1
    assert polled.client.get("/api/nodes/kitchen").get_json()["result"]["readings"] == {}


def test_a_replayed_push_not_json_and_a_non_finite_value_are_refused(polled):
    assert push(polled, {"sequence": 9, "values": {"bme280.temperature_celsius": 20}}).status_code == 200
    assert push(polled, {"sequence": 9, "values": {"bme280.temperature_celsius": 20}}).status_code == 409
    reply = polled.client.post("/api/nodes/kitchen/readings", data="sequence=10", headers=AUTH)
    assert reply.status_code == 415
    reply = polled.client.post(
        "/api/nodes/kitchen/readings",
        data='{"sequence": 10, "values": {"bme280.temperature_celsius": NaN}}',
        content_type="application/json",
        headers=AUTH,
    )
    assert reply.status_code == 422
    huge = {"sequence": 11, "values": {"bme280.temperature_celsius": 10**400}}
    assert push(polled, huge).status_code == 422
    assert polled.client.get("/api/nodes/kitchen").get_json()["result"]["readings"]["bme280"]["values"] == {
        "temperature_celsius": 20.0
    }


def test_a_push_from_another_sites_page_is_refused(polled):
    body = {"sequence": 1, "values": {"bme280.temperature_celsius": 20}}
    reply = push(polled, body, {**AUTH, "Sec-Fetch-Site": "cross-site"})
    assert reply.status_code == 403
    assert "sequence" not in polled.client.get("/api/nodes/kitchen").get_json()["result"]
