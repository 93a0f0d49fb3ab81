"""MQTT with Home Assistant discovery, against a real mosquitto on loopback."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import threading
from pathlib import Path

import pytest

from enviro_sensor.outputs.mqtt import node_id
from enviro_sensor.records import Reading
from enviro_sensor.version import VERSION
from tests.mosquitto import Subscriber, needs_mosquitto, running_broker, wait_for
from tests.sensor_support import PolledApp
from tests.servers import gunicorn_server
from tests.test_outputs import RecordingOutput

pytestmark = needs_mosquitto

NODE = node_id()


def mqtt_app(url: str, **environ: str) -> PolledApp:
    return PolledApp(environ={"ENVIRO_MQTT_URL": url, **environ})


def output_state(polled: PolledApp) -> dict:
    return polled.client.get("/api/outputs").get_json()["result"]["outputs"]["mqtt"]


def wait_connected(polled: PolledApp, seconds: float = 15) -> None:
    wait_for(lambda: output_state(polled)["connected"], seconds, "the MQTT output connecting")


def configs(heard: dict[str, str]) -> dict[str, dict]:
    return {
        topic: json.loads(payload)
        for topic, payload in heard.items()
        if topic.startswith(f"homeassistant/sensor/{NODE}/") and payload
    }


def expected_topics(polled: PolledApp) -> set[str]:
    sensors = polled.service.latest.sensors().values()
    return {
        f"homeassistant/sensor/{NODE}/{sensor.name}_{field.key}/config"
        for sensor in sensors
        for field in sensor.fields
    } | {f"homeassistant/sensor/{NODE}/{sensor.name}_status/config" for sensor in sensors}


@pytest.mark.e2e
def test_every_field_is_announced_with_what_home_assistant_accepts(tmp_path):
    with running_broker(tmp_path) as broker:
        heard = Subscriber(broker, "homeassistant/#", "enviro/#")
        polled = mqtt_app(f"mqtt://127.0.0.1:{broker.port}")
        try:
            wait_connected(polled)
            wanted = expected_topics(polled)
            # bme280, ltr559, mics6814 (and its ratios), pms5003 (and its AQI), aht10, bmp280, microphone,
            # and each sensor's status
            assert len(wanted) == 5 + 2 + 3 + 3 + 12 + 4 + 2 + 2 + 4 + 7
            wait_for(lambda: wanted <= set(configs(heard.snapshot())), what="every discovery config")
            found = configs(heard.snapshot())
            assert set(found) == wanted
            sensors = polled.service.latest.sensors()
            device = {
                "identifiers": [f"enviro-sensor_{NODE}"],
                "name": f"Enviro+ {NODE}",
                "manufacturer": "Pimoroni",
                "model": "Enviro+",
                "sw_version": VERSION,
                "configuration_url": f"http://{socket.gethostname()}:8000/",
            }
            for topic, config in found.items():
                sensor_name = config["state_topic"].split("/")[-2]
                object_id = topic.split("/")[-2]
                assert config["unique_id"] == config["object_id"] == f"{NODE}_{object_id}"
                # What Home Assistant 2026.2 and later name the entity by.
                assert config["default_entity_id"] == f"sensor.{NODE}_{object_id}"
                assert config["device"] == device
                if object_id.endswith("_status"):
                    continue
                field = next(f for f in sensors[sensor_name].fields if object_id == f"{sensor_name}_{f.key}")
                # The field's own label; the sensor's name only where two sensors share it.
                assert config["name"] in (field.label, f"{field.label} ({sensor_name})"), topic
                assert config.get("device_class") == field.device_class or field.options, topic
                assert config.get("unit_of_measurement") == field.unit
                assert config.get("suggested_display_precision") == (
                    None if field.options else field.decimals
                )
                # Fresh for 3 polls of 1 s plus the 2 s read timeout.
                assert config["expire_after"] == 5
                if field.options is None and field.optional:  # "None" is unknown to Home Assistant
                    assert config["value_template"] == f"{{{{ value_json.get('{field.key}') }}}}"
                elif field.options is None:
                    assert config["value_template"] == f"{{{{ value_json.{field.key} }}}}"
                assert {"topic": f"enviro/{NODE}/availability"} in config["availability"]
            names = {topic.split("/")[-2]: config["name"] for topic, config in found.items()}
            assert (
                names["bme280_temperature_celsius"] == "Temperature (bme280)"
            )  # aht10 and bmp280 have one too
            assert names["bme280_temperature_compensated_celsius"] == "Temperature (compensated)"
            assert names["pms5003_pm2_5_micrograms_per_cubic_meter"] == "PM2.5"
            assert names["pms5003_particles_0_3um_per_deciliter"] == "Particles > 0.3 µm"
            assert names["bme280_status"] == "Status (bme280)"
            # Counts and integer readings are shown without decimals.
            precision = {
                topic.split("/")[-2]: c.get("suggested_display_precision") for topic, c in found.items()
            }
            assert precision["pms5003_particles_0_3um_per_deciliter"] == 0
            assert precision["pms5003_pm2_5_micrograms_per_cubic_meter"] == 0
            assert precision["ltr559_proximity"] == 0
            assert precision["bme280_temperature_celsius"] == 2
            # The AQI category is one of six named levels, with no statistics kept.
            category = found[f"homeassistant/sensor/{NODE}/pms5003_air_quality_category/config"]
            assert category["device_class"] == "enum" and "state_class" not in category
            assert category["options"][0] == "Good" and len(category["options"]) == 6
            status = found[f"homeassistant/sensor/{NODE}/bme280_status/config"]
            assert status["entity_category"] == "diagnostic" and "ok" in status["options"]
            # A failing sensor's status stays visible: it hangs on the service's availability only.
            assert status["availability_topic"] == f"enviro/{NODE}/availability"
            # Retained: a Home Assistant that starts later still finds them.
            late = Subscriber(broker, "homeassistant/#", f"enviro/{NODE}/availability")
            wait_for(lambda: wanted <= set(configs(late.snapshot())), what="retained configs")
            # Each subscription gets its retained messages in its own time.
            availability = f"enviro/{NODE}/availability"
            wait_for(lambda: availability in late.snapshot(), what="retained availability")
            assert late.snapshot()[availability] == "online"
            late.close()

            polled.poll()
            recorder_readings = {s: polled.service.latest.view(s).values for s in sensors}
            for name, values in recorder_readings.items():
                wait_for(
                    lambda n=name: heard.snapshot().get(f"enviro/{NODE}/{n}/status") == "ok",
                    what=f"{name}'s status",
                )
                topic = f"enviro/{NODE}/{name}/state"
                wait_for(lambda t=topic: t in heard.snapshot(), what=f"state of {name}")
                assert json.loads(heard.snapshot()[topic]) == dict(values)
                wait_for(
                    lambda n=name: heard.snapshot().get(f"enviro/{NODE}/{n}/availability") == "online",
                    what=f"{name} available",
                )
            state = output_state(polled)
            assert state["up"] and state["connected"]
            assert state["dropped"]["error"] == 0
        finally:
            polled.close()
            heard.close()


@pytest.mark.e2e
def test_a_sensor_whose_reading_goes_stale_is_made_unavailable(tmp_path):
    with running_broker(tmp_path) as broker:
        heard = Subscriber(broker, "enviro/#")
        polled = PolledApp(environ={"ENVIRO_MQTT_URL": f"mqtt://127.0.0.1:{broker.port}"})
        try:
            wait_connected(polled)
            polled.poll("i2c")
            topic = f"enviro/{NODE}/aht10/availability"
            wait_for(lambda: heard.snapshot().get(topic) == "online", what="aht10 online")
            polled.board.faults.set("aht10", "ioerror")
            polled.clock.advance(1)
            polled.poll("i2c")
            # A failed read while the last reading is still fresh changes nothing...
            # ("online" may be said twice: once with the first reading, once more when
            # the connection's announcements, made on the broker's answer, come after it)
            assert set(heard.payloads(topic)) == {"online"}
            # ...a reading older than its freshness (5 s here) does.
            polled.clock.advance(5)
            polled.poll("i2c")
            wait_for(lambda: heard.snapshot().get(topic) == "offline", what="aht10 offline")
            assert heard.snapshot()[f"enviro/{NODE}/bmp280/availability"] == "online"
        finally:
            polled.close()
            heard.close()


@pytest.mark.e2e
def test_a_restarted_broker_is_given_everything_again(tmp_path):
    with running_broker(tmp_path) as broker:
        polled = mqtt_app(f"mqtt://127.0.0.1:{broker.port}")
        try:
            wait_connected(polled)
            polled.poll()
            broker.stop()
            wait_for(lambda: not output_state(polled)["connected"], what="the output noticing")
            polled.clock.advance(1)
            polled.poll("weather")  # while the broker is away: counted, never waited for
            state = output_state(polled)
            assert not state["up"]
            assert state["dropped"]["error"] >= 2
            # Same port, no persistence: it knows nothing of us.
            broker.start()
            heard = Subscriber(broker, "homeassistant/#", "enviro/#")
            try:
                wait_connected(polled, 30)  # paho's back-off: 1 s, then 2 s, 4 s...
                wanted = expected_topics(polled)
                wait_for(lambda: wanted <= set(configs(heard.snapshot())), what="configs announced again")
                # The service's own availability comes last, after the states.
                service_availability = f"enviro/{NODE}/availability"
                wait_for(lambda: service_availability in heard.snapshot(), what="the service's availability")
                assert heard.snapshot()[service_availability] == "online"
                for name in polled.service.latest.sensors():
                    # The last states and each sensor's availability, told again.
                    wait_for(lambda n=name: f"enviro/{NODE}/{n}/state" in heard.snapshot(), what=name)
                    wait_for(
                        lambda n=name: heard.snapshot().get(f"enviro/{NODE}/{n}/availability") == "online",
                        what=f"{name}'s availability",
                    )
                bme280 = json.loads(heard.snapshot()[f"enviro/{NODE}/bme280/state"])
                assert bme280 == dict(polled.service.latest.view("bme280").values)
                polled.clock.advance(1)
                polled.poll("weather")
                wait_for(lambda: output_state(polled)["up"], what="up again")
            finally:
                heard.close()
        finally:
            polled.close()


@pytest.mark.e2e
def test_user_and_password_work_and_a_wrong_one_is_one_clear_line(tmp_path, caplog):
    with running_broker(tmp_path, users={"enviro": "s3cret:@/x"}) as broker:
        heard = Subscriber(broker, "enviro/#", username="enviro", password="s3cret:@/x")
        # Reserved characters percent-encoded in the URL, as URLs want them.
        good = mqtt_app(f"mqtt://enviro:s3cret%3A%40%2Fx@127.0.0.1:{broker.port}")
        try:
            wait_connected(good)
            wait_for(lambda: heard.snapshot().get(f"enviro/{NODE}/availability") == "online", what="online")
        finally:
            good.close()
        caplog.set_level(logging.INFO, logger="enviro_sensor.outputs.mqtt")
        caplog.clear()
        bad = mqtt_app(f"mqtt://enviro:wrong@127.0.0.1:{broker.port}")
        try:
            # Let paho try at least three times (1 s, 2 s back-off).
            wait_for(lambda: broker.log_text().count("not authorised") >= 3, 20, "three refused attempts")
            bad.poll("weather")  # records that cannot go: counted, not logged again
            lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
            assert lines == [
                f"MQTT broker mqtt://127.0.0.1:{broker.port} refused the connection: "
                "Not authorized (check the user and password in ENVIRO_MQTT_URL)"
            ]
            assert "wrong" not in lines[0]
            state = output_state(bad)
            assert state["up"] is False and state["connected"] is False
            metrics = bad.client.get("/metrics").get_data(as_text=True)
            assert 'enviro_output_up{output="mqtt"} 0.0' in metrics
            # Two readings and two status changes.
            assert output_state(bad)["dropped"]["error"] == 4
            assert "Not authorized" in output_state(bad)["last_error"]
        finally:
            bad.close()
            heard.close()


@pytest.mark.e2e
def test_tls_with_the_given_ca(tmp_path):
    with running_broker(tmp_path, tls=True) as broker:
        heard = Subscriber(broker, "enviro/#")
        polled = mqtt_app(f"mqtts://127.0.0.1:{broker.port}", ENVIRO_MQTT_CA=str(broker.ca_file))
        try:
            wait_connected(polled)
            polled.poll("weather")
            wait_for(lambda: f"enviro/{NODE}/bme280/state" in heard.snapshot(), what="a state over TLS")
        finally:
            polled.close()
            heard.close()
        # Without our CA the broker's certificate is not trusted: never connected.
        untrusting = mqtt_app(f"mqtts://127.0.0.1:{broker.port}")
        try:
            wait_for(lambda: "unknown ca" in broker.log_text(), 10, "the handshake refused")
            state = output_state(untrusting)
            assert not state["connected"] and not state["up"]
        finally:
            untrusting.close()


def test_a_black_holed_broker_slows_nothing_else():
    # Accepts the connection, never answers: paho waits for a CONNACK that never comes.
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    recorder = RecordingOutput()
    polled = PolledApp(
        environ={"ENVIRO_MQTT_URL": f"mqtt://127.0.0.1:{server.getsockname()[1]}"}, outputs=[recorder]
    )
    try:
        wait_for(lambda: held, what="a connection to the black hole")
        for _ in range(20):
            polled.clock.advance(0.5)
            polled.poll("weather", "i2c")  # settle(): every output, mqtt included, kept up
            assert polled.client.get("/api/sensors/weather").status_code == 200
        readings = [r for r in recorder.records if isinstance(r, Reading)]
        assert len(readings) == 20 * 4
        states = polled.client.get("/api/outputs").get_json()["result"]["outputs"]
        assert states["recorder"]["sent"] == len(recorder.records)
        assert states["http"]["sent"] == states["recorder"]["sent"]
        assert states["mqtt"]["up"] is False and states["mqtt"]["queued"] == 0
        assert states["mqtt"]["dropped"]["error"] == len(recorder.records)
    finally:
        polled.close()
        stop.set()
        acceptor.join(5)
        for sock in held:
            sock.close()
        server.close()


def _worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children")
    return [int(pid) for pid in children.read_text().split()] if children.exists() else []


@pytest.mark.e2e
def test_offline_after_the_service_is_killed(tmp_path):
    with running_broker(tmp_path) as broker:
        heard = Subscriber(broker, "homeassistant/#", "enviro/#")
        env = {
            "ENVIRO_MQTT_URL": f"mqtt://127.0.0.1:{broker.port}",
            "ENVIRO_LCD": "off",
            "ENVIRO_WEATHER_INTERVAL": "0.5",
        }
        try:
            with gunicorn_server(env) as (_, process):
                availability = f"enviro/{NODE}/availability"
                wait_for(lambda: heard.snapshot().get(availability) == "online", 30, "online")
                wait_for(lambda: f"enviro/{NODE}/bme280/state" in heard.snapshot(), 30, "a state")
                # SIGKILL: no clean disconnect, so only the broker's last will can say offline.
                for pid in [*_worker_pids(process.pid), process.pid]:
                    os.kill(pid, signal.SIGKILL)
                process.wait(10)
                wait_for(lambda: heard.snapshot().get(availability) == "offline", 30, "offline")
                assert "offline" in heard.payloads(availability)
        finally:
            heard.close()


@pytest.mark.e2e
def test_a_remote_node_is_a_home_assistant_device_of_its_own(tmp_path):
    from enviro_sensor.nodes import protocol
    from tests.node_support import doc_devices, kitchen_packet

    packet = kitchen_packet()
    with running_broker(tmp_path) as broker:
        heard = Subscriber(broker, "homeassistant/#", "enviro/#")
        polled = PolledApp(
            environ={"ENVIRO_MQTT_URL": f"mqtt://127.0.0.1:{broker.port}"}, nodes_file=doc_devices()
        )
        try:
            wait_connected(polled)
            # No data directory: published (to MQTT too), kept on no disk.
            assert protocol.decode_answer(polled.service.nodes.receive(packet)).code is protocol.Code.ACCEPTED
            state_topic = f"enviro/{NODE}/nodes/kitchen/bme280/state"
            wanted = {
                f"homeassistant/sensor/{NODE}/kitchen_{sensor}_{key}/config"
                for sensor, key in [
                    ("bme280", "temperature_celsius"),
                    ("bme280", "humidity_percent"),
                    ("bme280", "pressure_hectopascals"),
                    ("battery", "voltage_volts"),
                ]
            }
            wait_for(
                lambda: wanted <= set(configs(heard.snapshot())) and heard.snapshot().get(state_topic),
                what="the node's discovery and state",
            )
            found = configs(heard.snapshot())
            for topic in wanted:
                config = found[topic]
                assert config["device"]["identifiers"] == [f"enviro-sensor_{NODE}_node_kitchen"]
                assert config["device"]["via_device"] == f"enviro-sensor_{NODE}"
                assert config["expire_after"] == 3 * 300 + 30
            assert (
                found[f"homeassistant/sensor/{NODE}/kitchen_battery_voltage_volts/config"]["name"]
                == "Battery"
            )
            battery = found[f"homeassistant/sensor/{NODE}/kitchen_battery_voltage_volts/config"]
            assert battery["entity_category"] == "diagnostic"
            contact = f"enviro/{NODE}/nodes/kitchen/last_contact"
            contact_config = f"homeassistant/sensor/{NODE}/kitchen_last_contact/config"
            wait_for(
                lambda: contact in heard.snapshot() and contact_config in configs(heard.snapshot()),
                what="the node's last contact and its config",
            )
            config = configs(heard.snapshot())[contact_config]
            assert (config["device_class"], config["entity_category"]) == ("timestamp", "diagnostic")
            assert config["state_topic"] == contact
            # The reading's own time, as the node's packet came in (the service's clock).
            assert heard.snapshot()[contact].endswith("+00:00")
            assert json.loads(heard.snapshot()[state_topic])["temperature_celsius"] == 21.5
            node_availability = f"enviro/{NODE}/nodes/kitchen/bme280/availability"
            wait_for(
                lambda: heard.snapshot().get(node_availability) == "online", what="the node's availability"
            )
        finally:
            heard.close()
            polled.close()


def retained(broker, *topics: str) -> dict[str, str]:
    """What a client that subscribes now is handed: the broker's retained messages.

    The service's availability is retained throughout, so once it has come
    every other retained message of the subscription has been delivered too.
    """
    late = Subscriber(broker, *topics, f"enviro/{NODE}/availability")
    try:
        wait_for(lambda: f"enviro/{NODE}/availability" in late.snapshot(), what="the retained messages")
        return late.snapshot()
    finally:
        late.close()


@pytest.mark.e2e
def test_a_removed_sensor_and_node_leave_nothing_on_the_broker(tmp_path):
    from enviro_sensor.nodes import protocol
    from tests.node_support import doc_devices, kitchen_packet

    packet = kitchen_packet()
    with running_broker(tmp_path) as broker:
        # First the board with an AHT10 and a node "kitchen" that has spoken.
        before = PolledApp(
            environ={
                "ENVIRO_MQTT_URL": f"mqtt://127.0.0.1:{broker.port}",
                "ENVIRO_I2C_SENSORS": "aht10@0x38",
            },
            nodes_file=doc_devices(),
        )
        try:
            wait_connected(before)
            before.poll()
            assert (
                protocol.decode_answer(before.service.nodes.receive(packet)).code is protocol.Code.ACCEPTED
            )  # no data directory: published, kept nowhere
            before.settle()
        finally:
            before.close()
        gone = [
            f"homeassistant/sensor/{NODE}/aht10_temperature_celsius/config",
            f"homeassistant/sensor/{NODE}/aht10_status/config",
            f"enviro/{NODE}/aht10/state",
            f"enviro/{NODE}/aht10/availability",
            f"enviro/{NODE}/aht10/status",
            f"homeassistant/sensor/{NODE}/kitchen_bme280_temperature_celsius/config",
            f"homeassistant/sensor/{NODE}/kitchen_battery_voltage_volts/config",
            f"homeassistant/sensor/{NODE}/kitchen_last_contact/config",
            f"enviro/{NODE}/nodes/kitchen/bme280/state",
            f"enviro/{NODE}/nodes/kitchen/bme280/availability",
            f"enviro/{NODE}/nodes/kitchen/battery/state",
            f"enviro/{NODE}/nodes/kitchen/last_contact",
        ]
        # The problem: all of it is retained, and would show in Home Assistant for ever.
        left = retained(broker, "homeassistant/#", "enviro/#")
        assert set(gone) <= set(left), sorted(set(gone) - set(left))

        # Then the same board without the AHT10 and without the nodes file.
        heard = Subscriber(broker, "homeassistant/#", "enviro/#")
        after = mqtt_app(f"mqtt://127.0.0.1:{broker.port}", ENVIRO_I2C_SENSORS="")
        try:
            wait_connected(after)
            wait_for(
                lambda: all(heard.payloads(topic)[-1:] == [""] for topic in gone),
                what="the removed topics emptied",
            )
            left = retained(broker, "homeassistant/#", "enviro/#")
            assert not set(gone) & set(left), sorted(set(gone) & set(left))
            # What is still configured stays.
            assert f"homeassistant/sensor/{NODE}/bme280_temperature_celsius/config" in left
            assert f"homeassistant/sensor/{NODE}/bme280_status/config" in left
        finally:
            after.close()
            heard.close()
