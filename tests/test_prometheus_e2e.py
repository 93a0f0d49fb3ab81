"""A real Prometheus scrapes two Pis (two gunicorns on the virtual board).

The kitchen Pi is healthy; the other one's BME280 does not answer
(``ENVIRO_VIRTUAL_FAULTS=bme280=absent``). Through Prometheus' HTTP API the
test sees what an operator would: both targets up with their locations, each
Pi's readings, the sensor-down alert for the faulty Pi only, every shipped
rule evaluating cleanly, and every dashboard query running.

The configuration is the shipped example with the targets replaced and the
intervals shortened to a second; the rules are the shipped ones, with each
``for`` cut to two seconds (see ``rules_waiting``), since waiting minutes for
an alert is not a test anyone would run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json

import pytest
import yaml

from tests.prometheus_server import (
    DASHBOARD,
    EXAMPLE_CONFIG,
    RULES,
    PrometheusAPI,
    metric_names_in,
    needs_prometheus,
    prometheus_server,
    rules_waiting,
    wait_for,
)
from tests.servers import gunicorn_server

pytestmark = [pytest.mark.e2e, needs_prometheus]

# Warm-up would keep the gas readings back for ten minutes.
SERVICE_ENV = {"ENVIRO_GAS_WARMUP": "0"}
FAULTS = "bme280=absent"


@dataclasses.dataclass(frozen=True)
class Scrape:
    api: PrometheusAPI
    healthy: str  # instance label (host:port) of the fault-free Pi
    faulty: str  # and of the Pi with the absent BME280


def scrape_config(healthy: str, faulty: str, rules_file) -> dict:
    """The example prometheus.yml, pointed at the test's two Pis."""
    config = yaml.safe_load(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    config["global"].update(scrape_interval="1s", scrape_timeout="1s", evaluation_interval="1s")
    config["rule_files"] = [str(rules_file)]
    (job,) = config["scrape_configs"]
    # The healthy Pi has its location set; the faulty one gets its location
    # from the example's relabelling of the host name.
    job["static_configs"] = [
        {"targets": [healthy], "labels": {"location": "kitchen"}},
        {"targets": [faulty]},
    ]
    return config


@pytest.fixture(scope="module")
def scrape(tmp_path_factory) -> Scrape:
    directory = tmp_path_factory.mktemp("prometheus")
    with contextlib.ExitStack() as stack:
        healthy_base, _ = stack.enter_context(gunicorn_server(SERVICE_ENV))
        faulty_base, _ = stack.enter_context(
            gunicorn_server({**SERVICE_ENV, "ENVIRO_VIRTUAL_FAULTS": FAULTS})
        )
        healthy = healthy_base.removeprefix("http://")
        # Named "localhost" so the relabelling has a host name to work on.
        faulty = "localhost:" + faulty_base.rsplit(":", 1)[1]
        rules = rules_waiting(RULES, directory / "enviro.rules.yml", "2s")
        api = stack.enter_context(prometheus_server(scrape_config(healthy, faulty, rules), directory))
        yield Scrape(api, healthy, faulty)


def _by_instance(results: list[dict], label: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for result in results:
        found.setdefault(result["metric"]["instance"], set()).add(result["metric"].get(label, ""))
    return found


def test_prometheus_scrapes_both_pis_with_their_locations(scrape):
    def health(targets):
        return {instance: target["health"] for instance, target in targets.items()}

    targets = wait_for(
        lambda: {t["labels"]["instance"]: t for t in scrape.api.targets()},
        "both targets up",
        until=lambda targets: health(targets) == {scrape.healthy: "up", scrape.faulty: "up"},
    )
    assert targets[scrape.healthy]["labels"]["location"] == "kitchen"
    assert targets[scrape.faulty]["labels"]["location"] == "localhost"
    up = {r["metric"]["instance"]: r["value"][1] for r in scrape.api.query('up{job="enviro-sensor"}')}
    assert up == {scrape.healthy: "1", scrape.faulty: "1"}


def test_each_pi_exports_its_readings_and_the_faulty_bme280_is_down(scrape):
    def readings():
        return {
            "temperature": _by_instance(scrape.api.query("enviro_temperature_celsius"), "sensor"),
            "light": _by_instance(scrape.api.query("enviro_illuminance_lux"), "sensor"),
        }

    def all_read(seen):
        return (
            {"bme280", "aht10"} <= seen["temperature"].get(scrape.healthy, set())
            and "aht10" in seen["temperature"].get(scrape.faulty, set())
            # The fault is the BME280's alone: the LTR559 beside it reads.
            and seen["light"].get(scrape.faulty) == {"ltr559"}
        )

    seen = wait_for(readings, "readings from both Pis", until=all_read)
    assert "bme280" not in seen["temperature"][scrape.faulty]
    up = {
        r["metric"]["instance"]: r["value"][1] for r in scrape.api.query('enviro_sensor_up{sensor="bme280"}')
    }
    assert up == {scrape.healthy: "1", scrape.faulty: "0"}


def test_the_sensor_down_alert_fires_for_the_faulty_pi_only(scrape):
    def firing_sensor_down():
        return {
            (a["labels"]["instance"], a["labels"]["sensor"]): a
            for a in scrape.api.alerts()
            if a["labels"]["alertname"] == "EnviroSensorDown" and a["state"] == "firing"
        }

    # Right after start-up a sensor that has not read yet is briefly down;
    # wait until only lasting trouble is left.
    firing = wait_for(
        firing_sensor_down,
        "EnviroSensorDown firing for the faulty Pi's BME280 only",
        until=lambda firing: firing.keys() == {(scrape.faulty, "bme280")},
    )
    alert = firing[(scrape.faulty, "bme280")]
    assert alert["labels"]["severity"] == "warning"
    assert alert["labels"]["location"] == "localhost"
    assert alert["annotations"]["summary"] == f"Sensor bme280 on {scrape.faulty} (localhost) is down"


def test_every_shipped_rule_evaluates_cleanly(scrape):
    rules = wait_for(
        scrape.api.rules,
        "every rule evaluated",
        # Prometheus shows a rule not yet evaluated with Go's zero time.
        until=lambda rules: rules and all(not r["lastEvaluation"].startswith("0001") for r in rules),
    )
    names = {rule["name"] for rule in rules}
    shipped = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    assert names == {rule["alert"] for group in shipped["groups"] for rule in group["rules"]}
    assert {rule["name"]: rule["health"] for rule in rules} == dict.fromkeys(names, "ok")


def _dashboard_queries() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    queries = []
    for row_or_panel in dashboard["panels"]:
        for panel in [row_or_panel, *row_or_panel.get("panels", [])]:
            for target in panel.get("targets", []):
                # What Grafana would send with every Pi chosen; a rate window
                # that holds several of this test's one-second scrapes.
                expr = target["expr"].replace("$instance", ".+").replace("$__rate_interval", "15s")
                queries.append((panel["title"], expr))
    return queries


def test_every_dashboard_query_runs_and_draws_what_exists(scrape):
    # Let every Pi be scraped for a while, so rates have samples.
    wait_for(
        lambda: scrape.api.query('count_over_time(enviro_sensor_up{sensor="bme280"}[15s]) >= 5'),
        "several scrapes of each Pi",
        until=lambda results: len(results) == 2,
    )
    for title, expr in _dashboard_queries():
        result = scrape.api.query(expr)  # a PromQL error fails here
        if not result:
            # A panel may only be empty when a metric it draws has no series
            # yet: a counter of an event that has not happened.
            unexported = [name for name in metric_names_in(expr) if not scrape.api.query(name)]
            assert unexported, f"panel {title!r} shows nothing: {expr}"
