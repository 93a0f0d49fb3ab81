"""The alert rules and the example Prometheus configuration.

promtool accepts them and the rules' own unit tests pass; beyond that, every
alert is tested both firing and quiet, says how bad it is and what to do,
selects the job the example configuration scrapes, is explained in the
monitoring guide, and names only metrics the service really exposes.
"""

from __future__ import annotations

import re

import pytest
import yaml

from tests.prometheus_server import (
    EXAMPLE_CONFIG,
    RULE_TESTS,
    RULES,
    exposed_metric_names,
    metric_names_in,
    needs_promtool,
    promtool,
)
from tests.servers import ROOT

SEVERITIES = {"critical", "warning", "info"}


def _alerts() -> list[dict]:
    document = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"] if "alert" in rule]


@pytest.mark.e2e
@needs_promtool
def test_promtool_accepts_the_rules():
    result = promtool("check", "rules", RULES)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.e2e
@needs_promtool
def test_the_rules_unit_tests_pass():
    assert RULE_TESTS, "no promtool unit tests found"
    result = promtool("test", "rules", *RULE_TESTS)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.e2e
@needs_promtool
def test_promtool_accepts_the_example_configuration_and_the_rules_it_loads():
    result = promtool("check", "config", EXAMPLE_CONFIG)
    assert result.returncode == 0, result.stdout + result.stderr
    # The example's rule_files glob must find the rules, or Prometheus would
    # start happily with no alerts at all.
    assert f"SUCCESS: {len(_alerts())} rules found" in result.stdout


def test_every_alert_has_a_severity_and_says_what_happened_where():
    for alert in _alerts():
        name = alert["alert"]
        assert alert["labels"]["severity"] in SEVERITIES, name
        annotations = alert["annotations"]
        assert annotations["summary"].strip() and annotations["description"].strip(), name
        # absent() keeps no target labels: nothing to name there.
        if not alert["expr"].lstrip().startswith("absent("):
            assert "$labels.instance" in annotations["summary"], name
            assert "$labels.instance" in annotations["description"], name


def test_every_alert_is_unit_tested_both_firing_and_quiet():
    firing, quiet = set(), set()
    for path in RULE_TESTS:
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    names = {alert["alert"] for alert in _alerts()}
    assert names - firing == set(), "alerts never tested firing"
    assert names - quiet == set(), "alerts never tested staying quiet"


def test_the_rules_select_the_job_the_example_configuration_scrapes():
    config = yaml.safe_load(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    scraped_jobs = {job["job_name"] for job in config["scrape_configs"]}
    selected = {job for alert in _alerts() for job in re.findall(r'job="([^"]+)"', alert["expr"])}
    assert selected, "no rule selects the scrape job"
    assert selected <= scraped_jobs


def test_the_monitoring_guide_explains_every_alert():
    guide = (ROOT / "docs" / "monitoring.md").read_text(encoding="utf-8")
    missing = [alert["alert"] for alert in _alerts() if alert["alert"] not in guide]
    assert missing == []


@pytest.mark.e2e
def test_the_rules_name_only_metrics_the_service_exposes():
    used = set()
    for alert in _alerts():
        used |= metric_names_in(alert["expr"])
        for text in alert["annotations"].values():
            used |= metric_names_in(text)
    assert "enviro_sensor_up" in used  # the extraction itself works
    assert used - exposed_metric_names() == set()
