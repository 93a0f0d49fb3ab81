"""The Grafana dashboard: what a user importing it sees.

It asks for a Prometheus data source and which Pis to show, every panel
follows both choices, quantities are shown in their units, panels do not
cover each other, and every metric it draws is one the service exposes.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.prometheus_server import DASHBOARD, exposed_metric_names, metric_names_in

# The unit a panel drawing the metric must show, as Grafana names units.
UNITS = {
    "enviro_temperature_celsius": "celsius",
    "enviro_temperature_compensated_celsius": "celsius",
    "enviro_pressure_pascals": "pressurehpa",
    "enviro_humidity_ratio": "percentunit",
    "enviro_humidity_compensated_ratio": "percentunit",
    "enviro_illuminance_lux": "lux",
    "enviro_gas_resistance_ohms": "ohm",
    "enviro_particulate_matter_micrograms_per_cubic_meter": "conμgm3",
    "enviro_sensor_read_duration_seconds": "s",
    "enviro_carbon_dioxide_ppm": "ppm",
    "enviro_sound_level_dbfs": "dB",
    "enviro_sound_band_level_dbfs": "dB",
    # Plain numbers: a ratio of resistances, the EPA's index.
    "enviro_gas_resistance_ratio": "none",
    "enviro_air_quality_index": "none",
    "enviro_air_quality_subindex": "none",
}
SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}")
INSTANCE_MATCHER = 'instance=~"$instance"'


@pytest.fixture(scope="module")
def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def _panels(dashboard: dict) -> list[dict]:
    """Every panel that draws something (rows only group)."""
    found = []
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            found.extend(panel.get("panels", []))
        else:
            found.append(panel)
    return found


def _variables(dashboard: dict) -> dict[str, dict]:
    return {variable["name"]: variable for variable in dashboard["templating"]["list"]}


def test_the_dashboard_has_a_stable_uid_and_a_current_schema(dashboard):
    assert dashboard["uid"] == "enviro-sensor"
    assert dashboard["title"]
    # 36 is Grafana 9's, the oldest that knows every panel type used here.
    assert dashboard["schemaVersion"] >= 36
    assert dashboard["id"] is None  # an import creates it


def test_the_dashboard_asks_for_a_prometheus_data_source_and_the_pis_to_show(dashboard):
    variables = _variables(dashboard)
    source = variables["datasource"]
    assert (source["type"], source["query"]) == ("datasource", "prometheus")
    instance = variables["instance"]
    assert instance["type"] == "query"
    assert instance["datasource"]["uid"] == "${datasource}"
    query = instance["query"]["query"] if isinstance(instance["query"], dict) else instance["query"]
    assert query == "label_values(enviro_build_info, instance)"
    assert instance["multi"] and instance["includeAll"]


def test_every_panel_reads_the_chosen_data_source(dashboard):
    for panel in _panels(dashboard):
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]


def test_every_query_is_limited_to_the_chosen_pis(dashboard):
    for panel in _panels(dashboard):
        assert panel["targets"], f"{panel['title']} has no query"
        for target in panel["targets"]:
            expr = target["expr"]
            selectors = SELECTOR.findall(expr)
            assert selectors, f"{panel['title']}: no selector in {expr}"
            for name, matchers in selectors:
                assert INSTANCE_MATCHER in matchers, f"{panel['title']}: {name} in {expr}"
            # A bare name (no braces) would draw every Pi whatever is chosen.
            for name in metric_names_in(expr):
                assert re.search(re.escape(name) + r"\s*\{", expr), f"{panel['title']}: bare {name}"


def test_quantities_are_shown_in_their_units(dashboard):
    checked = set()
    for panel in _panels(dashboard):
        names = set().union(*(metric_names_in(t["expr"]) for t in panel["targets"]))
        for name in names & UNITS.keys():
            assert panel["fieldConfig"]["defaults"]["unit"] == UNITS[name], panel["title"]
            checked.add(name)
    assert checked == UNITS.keys(), "a quantity has no panel"
    # hPa on screen, pascals on the wire: the panel converts.
    for panel in _panels(dashboard):
        for target in panel["targets"]:
            if "enviro_pressure_pascals" in target["expr"]:
                assert target["expr"].rstrip().endswith("/ 100")


def test_panels_have_unique_ids_and_do_not_overlap(dashboard):
    placed = dashboard["panels"]  # rows are laid out too
    ids = [panel["id"] for panel in placed]
    assert len(ids) == len(set(ids))
    cells = {}
    for panel in placed:
        box = panel["gridPos"]
        assert box["x"] + box["w"] <= 24, panel["title"]
        for x in range(box["x"], box["x"] + box["w"]):
            for y in range(box["y"], box["y"] + box["h"]):
                assert (x, y) not in cells, f"{panel['title']} covers {cells.get((x, y))}"
                cells[(x, y)] = panel["title"]


@pytest.mark.e2e
def test_the_dashboard_draws_only_metrics_the_service_exposes(dashboard):
    used = set()
    for panel in _panels(dashboard):
        for target in panel["targets"]:
            used |= metric_names_in(target["expr"])
    used |= metric_names_in(_variables(dashboard)["instance"]["definition"])
    assert "enviro_build_info" in used  # the extraction itself works
    assert used - exposed_metric_names() == set()
