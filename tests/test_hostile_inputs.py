"""Careless and hostile input through the Flask test client: what it may not do.

Label values from a closed set, a blank token that stops start-up, and the
LCD's request schema and code agreeing on what they accept.
"""

from __future__ import annotations

import random
import string

import pytest
from prometheus_client.parser import text_string_to_metric_families

from enviro_sensor.metrics.service_metrics import KNOWN_METHODS
from enviro_sensor.settings import SettingsError, load_settings
from enviro_sensor.web.lcd import MAX_MESSAGE_CHARACTERS
from tests.app_support import virtual_app


def _method_labels(client) -> set[str]:
    families = text_string_to_metric_families(client.get("/metrics").get_data(as_text=True))
    return {
        sample.labels["method"]
        for family in families
        if family.name == "enviro_http_request_duration_seconds"
        for sample in family.samples
    }


def test_made_up_methods_do_not_grow_the_metrics(client):
    chooser = random.Random(5)
    for _ in range(300):
        method = "".join(chooser.choices(string.ascii_uppercase, k=12))
        client.open(chooser.choice(["/", "/api/sensors", "/nope"]), method=method)
    labels = _method_labels(client)
    assert labels <= KNOWN_METHODS | {"other"}
    assert "other" in labels
    # Hundreds of methods made one series per route and status, not hundreds.
    exposition = client.get("/metrics").get_data(as_text=True)
    assert exposition.count('method="other"') < 60


@pytest.mark.parametrize("value", [" ", "   ", "\t", " \t "])
def test_a_token_of_only_white_space_stops_start_up(value):
    with pytest.raises(SettingsError, match="ENVIRO_API_TOKEN: is only white space"):
        load_settings({"ENVIRO_API_TOKEN": value})


def test_an_empty_token_means_none_and_a_padded_one_is_trimmed():
    assert load_settings({"ENVIRO_API_TOKEN": ""}).api_token is None
    assert load_settings({"ENVIRO_API_TOKEN": " s3cret "}).api_token == "s3cret"


def _schema(client) -> dict:
    return client.get("/apispec.json").get_json()["components"]


def test_a_message_over_the_limit_is_the_400_the_schema_documents(client):
    spec = _schema(client)
    assert spec["schemas"]["LcdMessage"]["properties"]["message"]["maxLength"] == MAX_MESSAGE_CHARACTERS
    reply = client.post("/api/lcd", json={"message": "x" * (MAX_MESSAGE_CHARACTERS + 1)})
    assert reply.status_code == 400
    assert reply.get_json()["error"]["status"] == 400
    assert "characters" not in spec["responses"]["PayloadTooLarge"]["description"]


# Forms Pillow understands that the schema does not allow.
REFUSED_COLOURS = [
    "#fff",
    "RED",
    "Red",
    "rgb(300,300,300)",
    "rgb(10%,20%,30%)",
    "hsl(120,50%,50%)",
    "hsv(120,50%,50%)",
    "#ffffff80",
    " red",
    "",
]


@pytest.mark.parametrize("colour", REFUSED_COLOURS)
def test_colours_the_schema_forbids_are_refused(colour):
    # No LCD here, so an accepted colour would get 503: a 400 shows the refusal.
    client = virtual_app().test_client()
    reply = client.post("/api/lcd", json={"message": "hi", "color": colour})
    assert reply.status_code == 400, reply.get_data(as_text=True)
    assert "colour" in reply.get_json()["error"]["message"]


@pytest.mark.parametrize("colour", ["red", "rebeccapurple", "#00ff7F", None])
def test_colours_the_schema_allows_are_accepted(colour):
    client = virtual_app().test_client()
    reply = client.post("/api/lcd", json={"message": "hi", "background": colour})
    assert reply.status_code == 503  # past validation: the LCD is not started here


def test_the_schema_and_the_route_take_the_same_colours(client):
    import re

    from PIL import ImageColor

    schema = _schema(client)["schemas"]["LcdMessage"]["properties"]["color"]["anyOf"]
    pattern, names = re.compile(schema[0]["pattern"]), set(schema[1]["enum"])
    assert names == set(ImageColor.colormap)
    for colour in REFUSED_COLOURS:
        assert not pattern.search(colour) and colour not in names, colour


class _BrokenChunkedInput:
    """A WSGI input that fails the way gunicorn's chunked reader does on a bad chunk size."""

    def read(self, *args):
        from gunicorn.http.errors import InvalidChunkSize

        raise InvalidChunkSize(b"zz")

    readline = read


def test_a_body_the_server_cannot_decode_is_a_400_not_a_500(client):
    reply = client.post(
        "/api/lcd",
        headers={"Content-Type": "text/plain", "Transfer-Encoding": "chunked"},
        # gunicorn marks a chunked input as ending by itself, as WSGI servers do.
        environ_overrides={"wsgi.input": _BrokenChunkedInput(), "wsgi.input_terminated": True},
    )
    assert reply.status_code == 400
    assert "InvalidChunkSize" in reply.get_json()["error"]["message"]


# --- cross-site requests, OPTIONS, redirects ---------------------------------------

CROSS_SITE = [
    {"Origin": "http://evil.example"},
    {"Origin": "null"},
    {"Origin": "http://localhost:3000"},  # another service on the same host
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
    {"Sec-Fetch-Site": "cross-site", "Origin": "http://localhost"},
]


@pytest.mark.parametrize("headers", CROSS_SITE)
@pytest.mark.parametrize(
    "body",
    [{"data": "hi", "content_type": "text/plain"}, {"data": "message=hi"}, {"json": {"message": "hi"}}],
)
def test_a_page_from_another_site_cannot_draw_on_the_lcd(client, headers, body):
    reply = client.post("/api/lcd", headers=headers, **body)
    assert reply.status_code == 403
    assert reply.is_json
    error = reply.get_json()["error"]
    assert error["status"] == 403
    assert "cross-site" in error["message"]


@pytest.mark.parametrize(
    "headers",
    [
        {},  # curl and scripts send neither header
        {"Sec-Fetch-Site": "same-origin"},  # the service's own pages (the Swagger page)
        {"Sec-Fetch-Site": "none"},  # typed by the user
        {"Origin": "http://localhost"},  # an older browser on the service's own page
    ],
)
def test_curl_scripts_and_the_services_own_pages_still_can(client, headers):
    reply = client.post("/api/lcd", data="hi", content_type="text/plain", headers=headers)
    assert reply.status_code == 503  # past the check: this app's LCD is not started


def test_cross_site_reads_are_not_refused(client):
    assert client.get("/api/sensors", headers={"Sec-Fetch-Site": "cross-site"}).status_code == 200


def test_options_is_answered_in_json(client):
    reply = client.options("/api/lcd")
    assert reply.status_code == 200
    assert reply.is_json
    assert reply.get_json() == {"result": {"allow": ["GET", "HEAD", "OPTIONS", "POST"]}}
    assert reply.headers["Allow"] == "GET, HEAD, OPTIONS, POST"
    # No CORS headers: a browser's preflight for a cross-site JSON post fails.
    assert "Access-Control-Allow-Origin" not in reply.headers


@pytest.mark.parametrize("path", ["//api//sensors", "/api//sensors"])
def test_doubled_slashes_redirect_in_json_to_a_path_not_the_clients_host(client, path):
    reply = client.get("/", environ_overrides={"PATH_INFO": path}, headers={"Host": "evil.example"})
    assert reply.status_code == 308
    assert reply.headers["Location"] == "/api/sensors"
    assert reply.get_json()["error"]["status"] == 308
