"""Home Assistant entities of sensors and nodes that are no longer configured: found and removed.

Discovery configs are retained, so a sensor taken out of the configuration
(or a node taken out of the nodes file) would stay in Home Assistant for
ever, with its last state shown as live after every restart. At each
connection the service subscribes to its own config topics; the broker
hands it every retained one, and one the service would not announce now is
removed the way Home Assistant's MQTT discovery documents: an empty
retained config. The state and availability topics that entity read (named
in the old config itself) are emptied too, so no retained value outlives it.
"""

from __future__ import annotations

import json
from collections.abc import Container

from enviro_sensor.outputs import ha_discovery as ha


def topics_to_clear(topic: str, payload: bytes | bytearray, wanted: Container[str], base: str) -> list[str]:
    """What to empty for one retained message on a config topic: nothing if it is wanted (or
    already empty), else the topics its entity read and, last, the config itself."""
    if not payload or topic in wanted:
        return []
    try:
        config = json.loads(payload)
    except (UnicodeDecodeError, ValueError):
        config = None
    # A config that is not an object of ours is removed all the same: it sits under our node id.
    read = sorted(ha.topics_read_by(config, base)) if isinstance(config, dict) else []
    return [*read, topic]
