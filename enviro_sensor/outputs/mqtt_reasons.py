"""Why an MQTT connection ended, in words a person can act on.

paho reports a lost connection as the reason code "Unspecified error"
(MQTT 5's 128), the same code a broker's own DISCONNECT may carry; what
tells them apart is whether the broker sent a DISCONNECT packet. Brokers
speaking MQTT 3.1.1 (as this service asks) never send one, so a code
without a packet is what the client saw on its socket.
"""

from __future__ import annotations

from typing import Any

# A broker's DISCONNECT (MQTT 5), by reason name: what it means for this service.
_FROM_BROKER = {
    "Normal disconnection": "the broker closed the connection",
    "Unspecified error": "the broker closed the connection without saying why",
    "Protocol error": "the broker found a protocol error in what this service sent",
    "Not authorized": "the broker no longer lets this user in (check ENVIRO_MQTT_URL's user and password)",
    "Server busy": "the broker is too busy",
    "Server shutting down": "the broker is shutting down",
    "Keep alive timeout": "the broker heard nothing from this service within the keep-alive time",
    "Session taken over": "another client connected with this service's client id",
    "Administrative action": "an administrator disconnected this service",
    "Message rate too high": "the broker found the messages too frequent",
    "Quota exceeded": "the broker's quota for this client is used up",
}


def disconnect_words(reason: Any, flags: Any, keepalive: float) -> str:
    """The reason a connection ended, from paho's ``on_disconnect`` arguments."""
    name = str(getattr(reason, "getName", lambda: reason)())
    from_broker = bool(getattr(flags, "is_disconnect_packet_from_server", False))
    if from_broker:
        return _FROM_BROKER.get(name, f"the broker closed the connection ({name})")
    if name == "Keep alive timeout":
        return f"the broker stopped answering (nothing heard within the {keepalive:g} s keep-alive)"
    if name == "Protocol error":
        return "the broker sent something that is not MQTT"
    if name == "Success":
        return "the connection was closed"
    # "Unspecified error" without a packet: the socket closed or failed.
    return "the connection was closed without a word from the broker: it stopped or restarted, or the network went down"
