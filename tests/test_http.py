"""Routes and error shapes through the Flask test client."""

import gzip

import pytest
from prometheus_client.parser import text_string_to_metric_families

from enviro_sensor.version import VERSION
from tests.app_support import virtual_app


def test_banner_is_json_for_curl(client):
    reply = client.get("/", headers={"Accept": "*/*"})
    assert reply.status_code == 200
    result = reply.get_json()["result"]
    assert result["service"] == "enviro-sensor"
    assert result["version"] == VERSION
    assert result["board"] == "virtual"
    assert result["links"] == {
        "sensors": "/api/sensors",
        "metrics": "/metrics",
        "health": "/healthz",
        "docs": "/api/docs",
        "lcd": "/api/lcd",
    }


def test_banner_links_lead_somewhere(client):
    links = client.get("/").get_json()["result"]["links"]
    # The LCD is not started in this app: its route answers, with 503.
    statuses = {name: client.get(path).status_code for name, path in links.items()}
    assert statuses == {"sensors": 200, "metrics": 200, "health": 200, "docs": 200, "lcd": 503}
    assert b"swagger-ui" in client.get(links["docs"]).data


def test_banner_is_a_dashboard_for_browsers(client):
    reply = client.get("/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert reply.status_code == 200
    assert reply.mimetype == "text/html"
    assert b"enviro-sensor" in reply.data


def test_sensor_index(client):
    reply = client.get("/api/sensors")
    assert reply.status_code == 200
    assert "groups" in reply.get_json()["result"]


def test_healthz(client):
    reply = client.get("/healthz")
    assert reply.status_code == 200
    assert reply.get_json() == {"result": {"status": "ok"}}


def _samples(text):
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_exposes_build_info_and_request_durations(client):
    client.get("/api/sensors")
    client.get("/no/such/page")
    reply = client.get("/metrics")
    assert reply.status_code == 200
    assert reply.mimetype == "text/plain"
    samples = _samples(reply.get_data(as_text=True))
    assert samples[("enviro_build_info", (("board", "virtual"), ("version", VERSION)))] == 1
    count = "enviro_http_request_duration_seconds_count"
    assert samples[(count, (("method", "GET"), ("route", "/api/sensors"), ("status", "200")))] == 1
    # Unknown paths share one label value, so a scanner cannot explode the series.
    assert samples[(count, (("method", "GET"), ("route", "unmatched"), ("status", "404")))] == 1


def test_metrics_speaks_openmetrics_when_asked(client):
    reply = client.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert reply.mimetype == "application/openmetrics-text"
    assert reply.get_data(as_text=True).endswith("# EOF\n")


def test_metrics_are_gzipped_when_the_scraper_asks(client):
    plain = client.get("/metrics")
    assert "Content-Encoding" not in plain.headers
    # What Prometheus sends.
    zipped = client.get("/metrics", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert zipped.headers["Vary"] == "Accept-Encoding"
    text = gzip.decompress(zipped.get_data()).decode()
    assert text.startswith("# HELP") and "enviro_build_info" in text
    assert len(zipped.get_data()) < len(plain.get_data()) / 3
    refused = client.get("/metrics", headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in refused.headers


def test_each_app_has_its_own_registry(app, registry):

    other = virtual_app()
    assert other.extensions["enviro"].registry is not registry


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/nowhere", 404), ("POST", "/metrics", 405), ("DELETE", "/api/sensors", 405)],
)
def test_errors_are_json(client, method, path, status):
    reply = client.open(path, method=method)
    assert reply.status_code == status
    assert reply.mimetype == "application/json"
    error = reply.get_json()["error"]
    assert error["status"] == status
    assert error["message"]


def test_405_keeps_the_allow_header(client):
    reply = client.post("/healthz")
    assert reply.status_code == 405
    assert "GET" in reply.headers["Allow"]


def _add_probe_routes(app):
    """Routes that raise what Flask raises for bad bodies and bugs."""
    from flask import request

    @app.post("/_probe/json")
    def probe_json():
        return {"result": request.get_json()}

    @app.get("/_probe/crash")
    def probe_crash():
        raise RuntimeError("boom")


def test_json_errors_for_body_problems_and_crashes(registry):

    app = virtual_app(registry, max_body_bytes=64)
    _add_probe_routes(app)
    client = app.test_client()

    too_big = client.post("/_probe/json", data="x" * 65, content_type="application/json")
    assert too_big.status_code == 413
    assert too_big.get_json()["error"]["status"] == 413

    wrong_type = client.post("/_probe/json", data="hi", content_type="text/plain")
    assert wrong_type.status_code == 415
    assert wrong_type.get_json()["error"]["status"] == 415

    broken = client.post("/_probe/json", data="{", content_type="application/json")
    assert broken.status_code == 400
    assert broken.get_json()["error"]["status"] == 400

    crash = client.get("/_probe/crash")
    assert crash.status_code == 500
    assert crash.get_json()["error"] == {
        "status": 500,
        "message": crash.get_json()["error"]["message"],
    }
    assert "boom" not in crash.get_data(as_text=True)
