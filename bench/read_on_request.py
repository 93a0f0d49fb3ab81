"""The original design, for comparison: sensors read inside the request.

``gunicorn bench.read_on_request:app`` serves ``/api/sensors/weather`` by
asking the drivers on every request, as the service this one replaces did
(``get_temperature``, ``get_pressure``, ``get_humidity``, each a conversion
of its own, then the light sensor), on the virtual board, whose chips take
their datasheet conversion times. Only the benchmark uses it.
"""

from __future__ import annotations

import threading

import bme280
import ltr559
from flask import Flask, jsonify

from hardware.virtual import VirtualBoard

board = VirtualBoard(seed=1)
bus = board.i2c_bus(1)
weather_sensor = bme280.BME280(i2c_addr=0x76, i2c_dev=bus)
weather_sensor.setup(mode="forced")
light_sensor = ltr559.LTR559(i2c_dev=bus)
# The drivers keep state between calls; one request at a time may use them.
driver_lock = threading.Lock()

app = Flask(__name__)


@app.get("/api/sensors/weather")
def weather():
    with driver_lock:
        values = {
            "temperature_celsius": weather_sensor.get_temperature(),
            "pressure_hectopascals": weather_sensor.get_pressure(),
            "humidity_percent": weather_sensor.get_humidity(),
            "illuminance_lux": light_sensor.get_lux(),
            "proximity": light_sensor.get_proximity(),
        }
    return jsonify({"result": values})
