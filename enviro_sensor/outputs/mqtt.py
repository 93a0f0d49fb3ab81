"""MQTT with Home Assistant discovery: every sensor field appears in HA by itself.

Off unless ENVIRO_MQTT_URL is set (``mqtt://user:pass@host:1883``, or
``mqtts://`` with ENVIRO_MQTT_CA for TLS). Topics, with ``<node>`` this
host's name made safe for a topic:

- ``homeassistant/sensor/<node>/<sensor>_<key>/config``: one retained
  discovery config per field, from its ``Field`` declaration (device class,
  unit, state class), with the device block and ``expire_after`` from the
  group's freshness;
- ``<prefix>/<node>/availability``: ``online``, retained; the broker
  publishes ``offline`` (the last will) when the connection dies;
- ``<prefix>/<node>/<sensor>/availability``: ``online`` while the sensor is
  ok, ``offline`` while it fails, is paused, stale or warming up;
- ``<prefix>/<node>/<sensor>/state``: a JSON object of the reading's values,
  retained, on every accepted reading;
- for a remote sensor node ``<id>``, a Home Assistant device of its own
  (``via_device`` this one): discovery under
  ``homeassistant/sensor/<node>/<id>_<sensor>_<key>/config``, announced with
  its first reading, and ``<prefix>/<node>/nodes/<id>/<sensor>/state`` and
  ``.../availability``, ``expire_after`` from the node's own interval.

paho's network loop runs on its own thread and reconnects with back-off;
after every (re)connection everything above is published again. Publishing
never waits on the broker: paho writes to its socket from its loop, and a
reading that comes while the broker is away raises, so the hub counts it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import logging
import re
import socket
import ssl
import threading
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from enviro_sensor.config import parsers
from enviro_sensor.config.declarations import Setting, declare
from enviro_sensor.nodes.fields import NODE_FIELDS, field_of
from enviro_sensor.outputs import ha_discovery as ha
from enviro_sensor.outputs import mqtt_cleanup
from enviro_sensor.outputs.base import Output, OutputContext, Unavailable
from enviro_sensor.outputs.ha_discovery import OFFLINE, ONLINE
from enviro_sensor.outputs.mqtt_reasons import disconnect_words
from enviro_sensor.records import LOCAL_SOURCE, Reading, StatusChange
from enviro_sensor.sensors.base import Field
from enviro_sensor.sensors.config import Sensor
from enviro_sensor.version import SERVICE

if TYPE_CHECKING:
    import paho.mqtt.client as paho

    from enviro_sensor.nodes.devices import Device

log = logging.getLogger(__name__)

# Seconds between reconnection attempts: doubling from the first to the last.
RECONNECT_MIN, RECONNECT_MAX = 1, 60
# The broker declares us dead (and publishes the last will) after 1.5 times this.
KEEPALIVE_SECONDS = 30
# Readings paho may hold for the socket before publish refuses more: the
# hub's own queue is where a backlog belongs.
MAX_QUEUED_MESSAGES = 1000


class NotConnected(Unavailable):
    """The broker is away (the log says why): this record is not delivered."""


def node_id(hostname: str | None = None) -> str:
    """This host's name as Home Assistant allows in a node id (letters, digits, _ and -)."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", hostname or socket.gethostname()).strip("_")
    return name or "enviro"


def discovery_config(
    sensor: Sensor,
    field: Field,
    node: str,
    prefix: str,
    expire_after: float,
    *,
    name: str | None = None,
    dashboard_url: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """The retained discovery topic and payload of one field of one sensor."""
    return ha.field_config(
        field,
        name=name or field.label,
        object_id=f"{sensor.name}_{field.key}",
        node=node,
        base=f"{prefix}/{node}",
        sensor_path=sensor.name,
        device=ha.board_device(node, dashboard_url),
        expire_after=expire_after,
    )


def remote_discovery_config(
    remote: str,
    sensor: str,
    field: Field,
    node: str,
    prefix: str,
    expire_after: float,
    *,
    name: str | None = None,
    dashboard_url: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """The discovery topic and payload of one field of a remote node's sensor: a device per node."""
    return ha.field_config(
        field,
        name=name or field.label,
        object_id=f"{remote}_{sensor}_{field.key}",
        node=node,
        base=f"{prefix}/{node}",
        sensor_path=f"nodes/{remote}/{sensor}",
        device=ha.node_device(node, remote, dashboard_url),
        expire_after=expire_after,
    )


class MqttOutput(Output):
    """Publishes discovery, availability and states to one broker."""

    name = "mqtt"

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "enviro",
        ca_file: str | None = None,
        freshness: Mapping[str, float] | None = None,
        node: str | None = None,
        devices: Sequence[Device] = (),
        dashboard_url: str | None = None,
    ) -> None:
        parts = urllib.parse.urlsplit(url)
        self._tls = parts.scheme == "mqtts"
        self._host = parts.hostname or "localhost"
        self._port = parts.port or (8883 if self._tls else 1883)
        self._prefix = prefix.strip("/")
        self._node = node or node_id()
        self._freshness = dict(freshness or {})
        self._base = f"{self._prefix}/{self._node}"
        self._devices = {device.name: device for device in devices}
        self._dashboard_url = dashboard_url
        self._sensors: dict[str, Sensor] = {}
        # This board's configs, by topic: known once the sensors are (start).
        self._local_configs: dict[str, str] = {}
        self._node_config_topics: set[str] = set()
        self._lock = threading.Lock()
        # What a new connection is given again: each sensor's availability and last state.
        # Keyed by topic path under the base: ``<sensor>`` or ``nodes/<id>/<sensor>``.
        self._availability: dict[str, str] = {}
        self._last_state: dict[str, str] = {}
        # Each sensor's status (by topic path) and each node's last contact (by node).
        self._status: dict[str, str] = {}
        self._last_contact: dict[str, str] = {}
        # Remote nodes' discovery configs, by topic, announced again on every connection.
        self._remote_configs: dict[str, str] = {}
        self._connected = False
        self._closing = False
        self._refused: str | None = None
        # paho is imported here, by an output that is on: the registry
        # imports this module in every service, most of which have no broker.
        import paho.mqtt.client as paho
        from paho.mqtt.enums import CallbackAPIVersion

        self._client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=f"{SERVICE}-{self._node}", clean_session=True
        )
        if parts.username:
            self._client.username_pw_set(
                urllib.parse.unquote(parts.username),
                urllib.parse.unquote(parts.password) if parts.password is not None else None,
            )
        if self._tls:
            self._client.tls_set(ca_certs=ca_file, cert_reqs=ssl.CERT_REQUIRED)
        self._client.will_set(f"{self._base}/availability", OFFLINE, qos=1, retain=True)
        self._client.reconnect_delay_set(RECONNECT_MIN, RECONNECT_MAX)
        self._client.max_queued_messages_set(MAX_QUEUED_MESSAGES)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_connect_fail = self._on_connect_fail
        self._client.on_message = self._on_config_heard

    @property
    def where(self) -> str:
        """The broker, for log lines (never the credentials)."""
        return f"{'mqtts' if self._tls else 'mqtt'}://{self._host}:{self._port}"

    def start(self, sensors: Mapping[str, Sensor]) -> None:
        self._sensors = dict(sensors)
        self._local_configs = {topic: json.dumps(payload) for topic, payload in self.local_configs().items()}
        self._node_config_topics = {
            topic for remote in self._devices for topic in self.node_configs(remote, 0.0)
        }
        # connect_async + loop_start: the first connection, like every later
        # one, is made on paho's thread, so a broker that is down (or never
        # answers) holds up nothing here.
        self._client.connect_async(self._host, self._port, keepalive=KEEPALIVE_SECONDS)
        self._client.loop_start()

    @property
    def connected(self) -> bool:
        return self._connected

    def local_configs(self) -> dict[str, dict[str, Any]]:
        """Every config of this board, by topic: each sensor's fields and its status."""
        names = ha.entity_names({name: sensor.fields for name, sensor in self._sensors.items()})
        device = ha.board_device(self._node, self._dashboard_url)
        configs = {}
        for sensor in self._sensors.values():
            expire_after = self._freshness.get(sensor.group, 0.0)
            for field in sensor.fields:
                topic, payload = discovery_config(
                    sensor,
                    field,
                    self._node,
                    self._prefix,
                    expire_after,
                    name=names[sensor.name, field.key],
                    dashboard_url=self._dashboard_url,
                )
                configs[topic] = payload
            topic, payload = ha.status_config(sensor.name, node=self._node, base=self._base, device=device)
            configs[topic] = payload
        return configs

    def node_configs(
        self, remote: str, fresh_for: float, seen: Reading | None = None
    ) -> dict[str, dict[str, Any]]:
        """Every config of a remote node, by topic: its fields, its battery and its last contact.

        A node missing from the devices given (an output built without them)
        has what its reading ``seen`` holds.
        """
        device = self._devices.get(remote)
        sensors = dict(device.sensors()) if device is not None else {}
        if device is None and seen is not None:
            declared = [field_of(seen.sensor, key) for key in seen.values]
            sensors[seen.sensor] = tuple(field for field in declared if field is not None)
        sensors.update(NODE_FIELDS)
        names = ha.entity_names(sensors)
        configs = {}
        for sensor, fields in sensors.items():
            for field in fields:
                topic, payload = remote_discovery_config(
                    remote,
                    sensor,
                    field,
                    self._node,
                    self._prefix,
                    fresh_for,
                    name=names[sensor, field.key],
                    dashboard_url=self._dashboard_url,
                )
                configs[topic] = payload
        topic, payload = ha.last_contact_config(
            remote,
            node=self._node,
            base=self._base,
            device=ha.node_device(self._node, remote, self._dashboard_url),
        )
        configs[topic] = payload
        return configs

    def wanted_configs(self) -> set[str]:
        """The config topics this service announces now or may announce later (a configured node
        that has not spoken yet): the retained configs under its node id that are not among them
        belong to removed sensors and nodes."""
        wanted = {*self._local_configs, *self._node_config_topics}
        with self._lock:
            wanted.update(self._remote_configs)
        return wanted

    def handle_reading(self, reading: Reading) -> None:
        state = json.dumps(dict(reading.values), separators=(",", ":"))
        path = _path(reading.source, reading.sensor)
        if reading.source != LOCAL_SOURCE:
            self._discover_remote(reading)
        with self._lock:
            self._last_state[path] = state
        # Retained, so a Home Assistant that restarts shows values at once; a
        # dead service's old values are hidden by the availability topics.
        self._publish(f"{self._base}/{path}/state", state, retain=True)
        if reading.source != LOCAL_SOURCE:
            contact = _iso_time(reading.time)
            with self._lock:
                changed = self._last_contact.get(reading.source) != contact
                self._last_contact[reading.source] = contact
            if changed:
                self._publish(ha.last_contact_topic(self._base, reading.source), contact, retain=True)

    def handle_status(self, change: StatusChange) -> None:
        availability = ONLINE if change.status == "ok" else OFFLINE
        path = _path(change.source, change.sensor)
        with self._lock:
            self._availability[path] = availability
            if change.source == LOCAL_SOURCE:
                self._status[path] = change.status
        self._publish(f"{self._base}/{path}/availability", availability, retain=True)
        if change.source == LOCAL_SOURCE:
            self._publish(f"{self._base}/{path}/{ha.STATUS}", change.status, retain=True)

    def _discover_remote(self, reading: Reading) -> None:
        """Announce a remote node's fields the first time they are seen (and when its interval changes)."""
        configs = self.node_configs(reading.source, reading.fresh_for or 0.0, reading)
        # The entities of this reading, and the node's last contact.
        object_ids = {f"{reading.source}_{reading.sensor}_{key}" for key in reading.values}
        object_ids.add(f"{reading.source}_{ha.LAST_CONTACT}")
        for topic, payload in configs.items():
            if topic.split("/")[-2] not in object_ids:
                continue
            text = json.dumps(payload)
            with self._lock:
                if self._remote_configs.get(topic) == text:
                    continue
                self._remote_configs[topic] = text
            if not self._connected:
                raise NotConnected(self._refused or f"not connected to {self.where}")
            self._client.publish(topic, text, qos=1, retain=True)

    def _on_config_heard(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        """A retained config under this node id: removed when nothing configured announces it."""
        clear = mqtt_cleanup.topics_to_clear(
            message.topic, message.payload, self.wanted_configs(), self._base
        )
        for topic in clear:
            client.publish(topic, b"", qos=1, retain=True)
        if clear:
            log.info("removed %s from Home Assistant: no longer configured", message.topic.split("/")[-2])

    def _publish(self, topic: str, payload: str, *, retain: bool = False) -> None:
        if not self._connected:
            raise NotConnected(self._refused or f"not connected to {self.where}")
        import paho.mqtt.client as paho

        info = self._client.publish(topic, payload, qos=0, retain=retain)
        if info.rc != paho.MQTT_ERR_SUCCESS:
            raise NotConnected(f"{self.where}: {paho.error_string(info.rc)}")

    def _announce(self, client: paho.Client) -> None:
        """Everything a broker (or a Home Assistant that restarted) needs, retained where it lasts."""
        # Every retained config under this node id comes back (_on_config_heard): those
        # of sensors and nodes that are gone are removed.
        client.subscribe(f"{ha.config_prefix(self._node)}+/config", qos=1)
        for topic, text in self._local_configs.items():
            client.publish(topic, text, qos=1, retain=True)
        with self._lock:
            availability = dict(self._availability)
            states = dict(self._last_state)
            statuses = dict(self._status)
            contacts = dict(self._last_contact)
            remote_configs = dict(self._remote_configs)
        for topic, text in remote_configs.items():
            client.publish(topic, text, qos=1, retain=True)
        for sensor_name, value in availability.items():
            client.publish(f"{self._base}/{sensor_name}/availability", value, qos=1, retain=True)
        for sensor_name, status in statuses.items():
            client.publish(f"{self._base}/{sensor_name}/{ha.STATUS}", status, qos=1, retain=True)
        for sensor_name, state in states.items():
            client.publish(f"{self._base}/{sensor_name}/state", state, qos=0, retain=True)
        for remote, contact in contacts.items():
            client.publish(ha.last_contact_topic(self._base, remote), contact, qos=0, retain=True)
        # Last: Home Assistant shows the entities only once they are configured.
        client.publish(f"{self._base}/availability", ONLINE, qos=1, retain=True)

    def _on_connect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if reason.is_failure:
            message = f"MQTT broker {self.where} refused the connection: {reason}"
            if reason.value in (4, 5, 134, 135):  # bad user name or password / not authorized
                message += " (check the user and password in ENVIRO_MQTT_URL)"
            if message != self._refused:  # one line per cause, not one per retry
                log.error("%s", message)
            self._refused = message
            return
        self._refused = None
        log.info("connected to the MQTT broker %s", self.where)
        self._announce(client)
        self._connected = True

    def _on_connect_fail(self, client: paho.Client, userdata: Any) -> None:
        # paho does not say why (refused, unreachable, a TLS failure): name the usual causes.
        message = (
            f"cannot connect to the MQTT broker {self.where}: is it running and reachable"
            + ("; is its certificate signed by ENVIRO_MQTT_CA?" if self._tls else "?")
            + " Retrying with back-off."
        )
        if message != self._refused:
            log.error("%s", message)
        self._refused = message

    def _on_disconnect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if self._closing:
            self._connected = False
            return
        if self._connected:  # a connection that was up ended (not a refused attempt: that said why)
            message = (
                f"lost the MQTT broker {self.where}: {disconnect_words(reason, flags, KEEPALIVE_SECONDS)}"
            )
            log.warning("%s; reconnecting", message)
            # What a publish meanwhile is refused with, and so the output's last error.
            self._refused = message
        self._connected = False

    def close(self) -> None:
        self._closing = True
        if self._connected:
            # A clean stop says offline itself: the broker sends no will then.
            info = self._client.publish(f"{self._base}/availability", OFFLINE, qos=1, retain=True)
            with contextlib.suppress(ValueError, RuntimeError):  # the broker went away meanwhile
                info.wait_for_publish(2)
        self._client.disconnect()
        self._client.loop_stop()


def _iso_time(seconds: float) -> str:
    """A Unix time as Home Assistant's timestamp entities read it (ISO 8601 with its offset)."""
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).isoformat(timespec="seconds")


def _path(source: str, sensor: str) -> str:
    """A sensor's topics under the base: its name, or ``nodes/<id>/<sensor>`` for a remote node's."""
    return sensor if source == LOCAL_SOURCE else f"nodes/{source}/{sensor}"


@parsers.described("mqtt:// or mqtts:// URL, or empty for none")
def broker_url(text: str) -> str | None:
    """``mqtt://[user:pass@]host[:port]`` or ``mqtts://...``; empty for none."""
    value = text.strip()
    if not value:
        return None
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in ("mqtt", "mqtts"):
        raise ValueError(f"expected mqtt://host[:port] or mqtts://host[:port], got scheme {parts.scheme!r}")
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number or out of range
    except ValueError:
        raise ValueError("has a port that is not a number from 1 to 65535") from None
    if not parts.hostname:
        raise ValueError("names no host")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("expected no path or query after the host and port")
    return value


@parsers.described("a topic level such as enviro (no spaces, # or +)")
def topic_prefix(text: str) -> str:
    value = text.strip().strip("/")
    if not value or any(c in value for c in "#+") or any(c.isspace() for c in value):
        raise ValueError(f"expected a topic such as enviro (no spaces, # or +), got {text!r}")
    return value


@dataclasses.dataclass(frozen=True)
class MqttOptions:
    #: None: the output is off.
    url: str | None
    prefix: str
    ca: str | None
    #: Where the service listens: the dashboard's address in each device's configuration_url.
    host: str
    port: int


SETTINGS = declare(
    "mqtt",
    MqttOptions,
    Setting(
        "url",
        "",
        broker_url,
        "MQTT broker to publish to with Home Assistant discovery, `mqtt://[user:pass@]host[:1883]` "
        "or `mqtts://...`; empty for none",
    ),
    Setting("prefix", "enviro", topic_prefix, "first level of the MQTT state and availability topics"),
    Setting(
        "ca", "", parsers.optional_file, "CA certificate file for `mqtts://` (default: the system's CAs)"
    ),
    shared=("host", "port"),
)


def from_context(context: OutputContext, options: MqttOptions) -> MqttOutput | None:
    """On when ENVIRO_MQTT_URL is set."""
    if options.url is None:
        return None
    return MqttOutput(
        options.url,
        prefix=options.prefix,
        ca_file=options.ca,
        freshness=context.freshness,
        devices=context.devices,
        dashboard_url=dashboard_url(options.host, options.port),
    )


def dashboard_url(host: str, port: int) -> str:
    """The dashboard's address for Home Assistant's "visit" link: the bound address, or this
    host's name when the service listens on every interface."""
    if host in ("", "0.0.0.0", "::"):
        host = socket.gethostname()
    elif ":" in host:
        host = f"[{host}]"  # an IPv6 literal
    return f"http://{host}:{port}/"
