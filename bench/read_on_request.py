"""The original design, for comparison: sensors read inside the request.

``gunicorn bench.read_on_request:app`` serves the sensor routes by asking the
drivers on every request, as the service this one replaces did, on the
virtual board, whose chips take their datasheet conversion times and whose
bus runs at the Pi's 100 kHz:

- weather: ``get_temperature``, ``get_pressure``, ``get_humidity`` (each a
  bus read of its own; the BME280 in the driver's default normal mode), then
  the light sensor's lux and proximity;
- gas: four passes over the ADC's three channels (the original asked for all
  three readings and then each one again), each a single-shot conversion;
- pollution: the next PMS5003 frame, which arrives about once a second.

Only the benchmark uses it.
"""

from __future__ import annotations

import threading

import ads1015
import bme280
import ltr559
import pms5003
from flask import Flask, jsonify

from enviro_sensor.hardware.virtual import VirtualBoard
from enviro_sensor.sensors.mics6814 import CHANNELS, GAIN, resistance

# The bus takes its wire time here, as a real 100 kHz bus would.
board = VirtualBoard(seed=1, wire_time=True)
bus = board.i2c_bus(1)
weather_sensor = bme280.BME280(i2c_addr=0x76, i2c_dev=bus)
weather_sensor.setup()
light_sensor = ltr559.LTR559(i2c_dev=bus)
adc = ads1015.ADS1015(i2c_addr=0x49, i2c_dev=bus)
adc.set_mode("single")
adc.set_programmable_gain(GAIN)
adc.set_sample_rate(1600)
particle_sensor = pms5003.PMS5003(
    device=board.serial_device(),
    pin_enable=board.driver_pin("pms5003_enable"),
    pin_reset=board.driver_pin("pms5003_reset"),
)
# The drivers keep state between calls; one request at a time may use them.
driver_lock = threading.Lock()

app = Flask(__name__)


@app.get("/healthz")
def healthz():
    """No driver involved: answers as soon as a thread is free."""
    return jsonify({"result": {"status": "ok"}})


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


@app.get("/api/sensors/gas")
def gas():
    with driver_lock:
        for _ in range(4):
            values = {f"{name}_ohms": resistance(adc.get_voltage(mux)) for name, mux in CHANNELS}
    return jsonify({"result": values})


@app.get("/api/sensors/pollution")
def pollution():
    with driver_lock:
        frame = particle_sensor.read()
    return jsonify({"result": {"pm2_5_micrograms_per_cubic_meter": frame.pm_ug_per_m3(2.5)}})
