"""A broker that goes away: one line in words, the reason and its time kept, one line when it is back."""

from __future__ import annotations

import logging

import pytest

from tests.mosquitto import needs_mosquitto, running_broker, wait_for
from tests.test_mqtt import mqtt_app, output_state, wait_connected

# Each test starts a real program (a server, mount, or the service's command).
pytestmark = pytest.mark.e2e


@needs_mosquitto
def test_a_lost_broker_is_said_in_words_and_its_return_is_said_too(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="enviro_sensor.outputs")
    with running_broker(tmp_path) as broker:
        polled = mqtt_app(f"mqtt://127.0.0.1:{broker.port}")
        try:
            wait_connected(polled)
            polled.poll()
            broker.stop()
            wait_for(lambda: not output_state(polled)["connected"], what="the output noticing")
            for _ in range(3):
                polled.clock.advance(1)
                polled.poll("weather")
            polled.service.outputs.drain()
            lost = [r.getMessage() for r in caplog.records if "lost the MQTT broker" in r.getMessage()]
            assert len(lost) == 1, lost
            assert "Unspecified error" not in lost[0]
            assert "stopped or restarted, or the network went down" in lost[0]
            state = output_state(polled)
            assert "stopped or restarted" in state["last_error"]
            assert state["last_error_at"].endswith("Z")
            dropped = state["dropped"]["error"]
            assert dropped >= 3 and state["errors"] == dropped
            broker.start()
            wait_connected(polled, 30)
            polled.clock.advance(1)
            polled.poll("weather")
            wait_for(lambda: output_state(polled)["up"], what="up again")
            state = output_state(polled)
            assert "stopped or restarted" in state["last_error"] and state["last_error_at"]
            back = [r.getMessage() for r in caplog.records if "output mqtt is back" in r.getMessage()]
            assert len(back) == 1 and f"dropped {dropped} while it was down" in back[0], back
        finally:
            polled.close()
