"""The sensor routes and gauges on the virtual board, through the real drivers.

The board runs on a manual clock, and the test polls the collector itself,
so every reading can be compared with the environment model at that instant.
"""

import math
import re
import shutil

import pytest

from enviro_sensor.hardware.virtual.faults import DEVICE_FAULTS
from tests.sensor_support import PROMTOOL_ACCEPTED, PolledApp, assert_no_invalid_values, promtool_remarks

# Which sensor and group each emulated device's faults land on.
AFFECTED = {
    "bme280": ("bme280", "weather"),
    "ltr559": ("ltr559", "weather"),
    "ads1015": ("mics6814", "gas"),
    "pms5003": ("pms5003", "particulates"),
    "aht10": ("aht10", "i2c"),
    "bmp280": ("bmp280", "i2c"),
}
GROUP_ROUTES = {"weather": "weather", "gas": "gas", "particulates": "pollution", "i2c": "i2c"}


@pytest.fixture
def polled():
    app = PolledApp()
    yield app
    app.close()


def sensor_values(polled, route, sensor):
    reply = polled.client.get(route)
    assert reply.status_code == 200, reply.get_json()
    body = reply.get_json()["result"]["sensors"][sensor]
    assert body["status"] == "ok"
    assert body["stale"] is False
    assert body["time"].endswith("Z")
    return body["values"]


def test_values_equal_the_environment_model(polled):
    polled.poll()  # switches the gas heater on
    # The MICS6814's elements take minutes to reach working temperature.
    polled.clock.advance(1200)
    # The CPU temperature is averaged over five polls: let the window fill
    # with samples from after the jump.
    for _ in range(5):
        polled.poll("weather")
    polled.poll()
    truth = polled.board.environment.conditions()

    # BME280: 0.01 C, 0.18 Pa and 0.008 %RH resolution at 16x oversampling;
    # we run it at 1x (datasheet table 3: up to 0.0050 C / 2.62 Pa / 0.07 %RH),
    # and publish 2 decimals.
    bme = sensor_values(polled, "/api/sensors/weather", "bme280")
    assert bme["temperature_celsius"] == pytest.approx(truth.temperature_celsius, abs=0.02)
    assert bme["pressure_hectopascals"] * 100 == pytest.approx(truth.pressure_pascals, abs=5)
    assert bme["humidity_percent"] == pytest.approx(truth.humidity_percent, abs=0.1)
    # The compensation recovers the room from the board's heat.
    assert bme["temperature_compensated_celsius"] == pytest.approx(truth.room_temperature_celsius, abs=0.5)
    assert bme["humidity_compensated_percent"] == pytest.approx(truth.room_humidity_percent, abs=2)

    light = sensor_values(polled, "/api/sensors/weather", "ltr559")
    assert light["illuminance_lux"] == pytest.approx(truth.illuminance_lux, rel=0.02, abs=0.5)
    assert light["proximity"] == truth.proximity

    # ADS1015: 12 bits over +-6.144 V is 3 mV a step.
    gas = sensor_values(polled, "/api/sensors/gas", "mics6814")
    assert gas["oxidising_ohms"] == pytest.approx(truth.oxidising_ohms, rel=0.02)
    assert gas["reducing_ohms"] == pytest.approx(truth.reducing_ohms, rel=0.02)
    assert gas["nh3_ohms"] == pytest.approx(truth.nh3_ohms, rel=0.02)

    # PMS5003: whole ug/m3.
    pm = sensor_values(polled, "/api/sensors/pollution", "pms5003")
    assert pm["pm2_5_micrograms_per_cubic_meter"] == pytest.approx(truth.pm2_5_ugm3, abs=1)
    assert pm["pm10_micrograms_per_cubic_meter"] == pytest.approx(truth.pm10_ugm3, abs=1)
    assert pm["pm1_0_micrograms_per_cubic_meter"] == pytest.approx(truth.pm1_0_ugm3, abs=1)
    alias = polled.client.get("/api/sensors/particulates").get_json()["result"]["sensors"]["pms5003"][
        "values"
    ]
    assert alias == pm

    # AHT10 (20 bits) and BMP280 sit away from the Pi: they see the room.
    aht = polled.client.get("/api/sensors/i2c/aht10").get_json()["result"]
    assert aht["values"]["temperature_celsius"] == pytest.approx(truth.room_temperature_celsius, abs=0.02)
    assert aht["values"]["humidity_percent"] == pytest.approx(truth.room_humidity_percent, abs=0.02)
    bmp = polled.client.get("/api/sensors/i2c/bmp280").get_json()["result"]
    assert bmp["values"]["pressure_hectopascals"] * 100 == pytest.approx(truth.pressure_pascals, abs=5)


def test_gauges_carry_the_same_values_in_base_units(polled):
    polled.poll()
    weather = polled.client.get("/api/sensors/weather").get_json()["result"]["sensors"]["bme280"]["values"]
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for s in polled.metric_samples()}
    assert samples[("enviro_pressure_pascals", (("sensor", "bme280"),))] == pytest.approx(
        weather["pressure_hectopascals"] * 100
    )
    assert samples[("enviro_humidity_ratio", (("sensor", "bme280"),))] == pytest.approx(
        weather["humidity_percent"] / 100
    )
    assert samples[("enviro_sensor_up", (("sensor", "pms5003"),))] == 1


def test_groups_answer_503_before_any_reading_and_404_for_unknown_names(polled):
    for route in ("/api/sensors/weather", "/api/sensors/gas", "/api/sensors/pollution", "/api/sensors/i2c"):
        reply = polled.client.get(route)
        assert reply.status_code == 503
        assert "no valid reading" in reply.get_json()["error"]["message"]
        assert int(reply.headers["Retry-After"]) > 0
    index = polled.client.get("/api/sensors").get_json()["result"]["groups"]
    assert {group["status"] for group in index.values()} == {"starting"}
    missing = polled.client.get("/api/sensors/i2c/sht31")
    assert missing.status_code == 404
    assert "aht10" in missing.get_json()["error"]["message"]
    # A sensor of another group is not found here either.
    assert polled.client.get("/api/sensors/i2c/bme280").status_code == 404


def test_disabled_group_is_reported_and_answers_503():
    polled = PolledApp(groups=("weather",))
    try:
        polled.poll()
        index = polled.client.get("/api/sensors").get_json()["result"]["groups"]
        assert index["gas"]["status"] == "disabled"
        assert index["weather"]["status"] == "ok"
        reply = polled.client.get("/api/sensors/gas")
        assert reply.status_code == 503
        assert "disabled" in reply.get_json()["error"]["message"]
    finally:
        polled.close()


def test_gas_reports_warming_up_not_data():
    polled = PolledApp(gas_warmup=600.0)
    try:
        polled.poll("gas")
        reply = polled.client.get("/api/sensors/gas")
        assert reply.status_code == 503
        message = reply.get_json()["error"]["message"]
        # The status said once, then what is left of it.
        assert re.fullmatch(
            r"no valid reading from the gas group yet \(mics6814: warming up, \d+ s left\)", message
        )
        one = polled.client.get("/api/sensors/gas/mics6814").get_json()["error"]["message"]
        assert re.fullmatch(r"no valid reading from mics6814 yet: warming up, \d+ s left", one)
        index = polled.client.get("/api/sensors").get_json()["result"]["groups"]
        assert index["gas"]["status"] == "warming-up"
        names = {s.name for s in polled.metric_samples()}
        assert "enviro_gas_resistance_ohms" not in names
    finally:
        polled.close()


def test_http_requests_cause_no_bus_traffic(polled):
    polled.poll()
    before = polled.board.bus.transactions
    routes = [
        "/api/sensors",
        "/api/sensors/weather",
        "/api/sensors/gas",
        "/api/sensors/i2c/aht10",
        "/metrics",
    ]
    for number in range(1000):
        assert polled.client.get(routes[number % len(routes)]).status_code == 200
    assert polled.board.bus.transactions == before
    polled.poll("weather")
    assert polled.board.bus.transactions > before  # the counter does count


# Faults under which a driver's call never returns by itself, and the call.
# (The AHT10 and BMP280 readers give up on a busy chip after a few polls of
# their own.)
HANGING_CALLS = {
    ("bme280", "stuck"): "read",
    ("ltr559", "stuck"): "open",  # the vendor's set-up waits for a soft reset
    ("ads1015", "stuck"): "open",  # the vendor's set-up times ten conversions
    ("pms5003", "silent"): "read",
}
STEADY_FAULTS = [
    (device, fault)
    for device, faults in sorted(DEVICE_FAULTS.items())
    if device in AFFECTED
    for fault in sorted(faults)
    if fault != "intermittent"
]


@pytest.mark.parametrize(("device", "fault"), STEADY_FAULTS)
def test_each_fault_is_reported_contained_and_recovered(device, fault):
    sensor, group = AFFECTED[device]
    polled = PolledApp(faults={device: fault}, particulates_interval=1.0, read_timeout=1.5)
    try:
        if (device, fault) in HANGING_CALLS:
            # The driver does not answer: its read timeout passes on the clock.
            polled.poll_giving_up_on(sensor, HANGING_CALLS[device, fault])
        else:
            polled.poll()
        polled.poll()
        index = polled.client.get("/api/sensors").get_json()["result"]["groups"]
        affected = index[group]["sensors"][sensor]
        assert affected["status"] == "failing", affected
        assert affected["reason"]
        for other, entry in index.items():
            if other != group:
                assert entry["status"] == "ok", (other, entry)
        reply = polled.client.get(f"/api/sensors/{GROUP_ROUTES[group]}")
        if len(polled.collector.groups[group].sensors) == 1:
            assert reply.status_code == 503
            assert sensor in reply.get_json()["error"]["message"]
        else:
            assert reply.status_code == 200
            assert reply.get_json()["result"]["status"] == "degraded"
            assert "values" not in reply.get_json()["result"]["sensors"][sensor]
        assert_no_invalid_values(polled)
        up = {s.labels["sensor"]: s.value for s in polled.metric_samples() if s.name == "enviro_sensor_up"}
        assert up[sensor] == 0
        assert all(value == 1 for name, value in up.items() if name != sensor)

        polled.board.faults.clear()
        recovered_after = None
        interval = polled.collector.groups[group].interval
        for poll in range(1, 3):
            # The schedule: one interval between polls. A driver call that
            # hung during the fault is given time to return first.
            polled.clock.advance(interval)
            polled.collector.wait_idle(sensor, timeout=10)
            polled.poll(group)
            if polled.service.latest.view(sensor).status == "ok":
                recovered_after = poll
                break
        assert recovered_after is not None, polled.service.latest.view(sensor)
    finally:
        polled.close()


@pytest.mark.parametrize("device", sorted(AFFECTED))
def test_intermittent_faults_never_publish_bad_values(device):
    sensor, group = AFFECTED[device]
    polled = PolledApp(faults={device: "intermittent"}, particulates_interval=1.0)
    try:
        reasons = set()
        for _ in range(20 if device != "pms5003" else 6):
            # Intermittent I2C faults strike in spells of board time.
            polled.clock.advance(1.0)
            polled.poll(group)
            assert_no_invalid_values(polled)
            reasons.add(polled.service.latest.view(sensor).error_reason)
        errors = sum(
            s.value
            for s in polled.metric_samples()
            if s.name == "enviro_sensor_read_errors_total" and s.labels["sensor"] == sensor
        )
        if device == "pms5003":
            # A corrupt frame costs a reset and a second read, which the
            # next good frame usually answers: only checksum failures show.
            assert reasons <= {None, "checksum"}
        else:
            assert errors > 0
    finally:
        polled.close()


def test_stale_reading_is_flagged_and_leaves_metrics():
    polled = PolledApp(weather_interval=0.1, read_timeout=0.5)
    try:
        polled.poll("weather")
        polled.board.faults.set("bme280", "ioerror")
        freshness = polled.collector.groups["weather"].freshness
        while polled.service.latest.view("bme280").age_seconds <= freshness:
            polled.poll("weather")  # each poll moves the board's clock on
        body = polled.client.get("/api/sensors/weather").get_json()["result"]
        assert body["sensors"]["bme280"]["stale"] is True
        assert body["sensors"]["bme280"]["status"] == "stale"
        assert (
            "IOError" in body["sensors"]["bme280"]["reason"]
            or "OSError" in body["sensors"]["bme280"]["reason"]
        )
        names = {(s.name, s.labels.get("sensor")) for s in polled.metric_samples()}
        assert ("enviro_temperature_celsius", "bme280") not in names
        assert ("enviro_illuminance_lux", "ltr559") in names
        assert not math.isnan(body["sensors"]["bme280"]["values"]["temperature_celsius"])
    finally:
        polled.close()


@pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool (Debian package prometheus) is not installed"
)
@pytest.mark.e2e
def test_promtool_has_nothing_to_say_but_the_documented_unit(polled):
    polled.poll()
    polled.client.get("/api/sensors/weather")
    polled.client.get("/nowhere")
    text = polled.client.get("/metrics").get_data(as_text=True)
    assert "enviro_temperature_celsius" in text
    assert promtool_remarks(text) <= PROMTOOL_ACCEPTED


@pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool (Debian package prometheus) is not installed"
)
@pytest.mark.e2e
def test_promtool_notices_a_badly_named_metric():
    # The check above can fail: promtool does speak up about a real problem.
    bad = "# HELP enviro_thing_milliseconds x\n# TYPE enviro_thing_milliseconds gauge\nenviro_thing_milliseconds 1\n"
    assert promtool_remarks(bad) - PROMTOOL_ACCEPTED
