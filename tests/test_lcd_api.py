"""``/api/lcd`` through the Flask test client: what callers send and get back.

The LCD here is the emulated ST7735 driven by the real st7735 driver.
"""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from prometheus_client import CollectorRegistry

from enviro_sensor.web.lcd import MAX_MESSAGE_CHARACTERS
from tests.app_support import virtual_app
from tests.lcd_support import PanelBoard, app_with_panel, message_kinds

fuzz = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
MESSAGE_KINDS = message_kinds(max_size=1200)


@pytest.fixture(scope="module")
def lcd_app():
    """One app with an open panel for the module: the panel's set-up takes a second."""
    app = app_with_panel(PanelBoard(), CollectorRegistry(auto_describe=True))
    yield app
    app.extensions["enviro"].display.stop()


@pytest.fixture
def client(lcd_app):
    return lcd_app.test_client()


def error_of(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    body = response.get_json()
    assert body["error"]["status"] == status
    return body["error"]["message"]


def test_a_posted_message_answers_what_was_drawn(client):
    response = client.post("/api/lcd", json={"message": "Tea is ready"})
    assert response.status_code == 200
    result = response.get_json()["result"]
    assert result["lines"] == ["Tea is ready"] or " ".join(result["lines"]) == "Tea is ready"
    assert result["truncated"] is False
    assert result["font_size"] >= 20
    assert result["replaced_characters"] == 0


def test_plain_text_is_the_message(client):
    response = client.post("/api/lcd", data=b"line one\nline two", content_type="text/plain")
    assert response.get_json()["result"]["lines"] == ["line one", "line two"]


def test_curls_default_form_type_with_a_json_body_works(client):
    # curl -d '{"message": "hi"}' sends application/x-www-form-urlencoded.
    response = client.post(
        "/api/lcd", data='{"message": "hi"}', content_type="application/x-www-form-urlencoded"
    )
    assert response.get_json()["result"]["lines"] == ["hi"]


def test_the_answer_tells_of_cut_text_and_replaced_characters(client):
    long = " ".join(["lorem ipsum dolor"] * 50)
    result = client.post("/api/lcd", json={"message": long}).get_json()["result"]
    assert result["truncated"] is True
    assert result["lines"][-1].endswith("…")
    # Private-use characters: no font has them.
    result = client.post("/api/lcd", json={"message": "odd \ue000\ue001"}).get_json()["result"]
    assert result["replaced_characters"] == 2
    assert result["lines"] == ["odd \ufffd\ufffd"]


def test_colours_can_be_chosen(client):
    response = client.post("/api/lcd", json={"message": "Hi", "color": "yellow", "background": "#000080"})
    assert response.status_code == 200
    png = client.get("/api/lcd")
    image = Image.open(io.BytesIO(png.data)).convert("RGB")
    assert image.getpixel((0, 0))[2] > 100  # navy background


@pytest.mark.parametrize(
    ("body", "content_type", "says"),
    [
        (b"", "application/json", "empty"),
        (b"", "text/plain", "empty"),
        (b"{not json", "application/json", "invalid JSON"),
        (b'{"message": "hi"', "application/json", "invalid JSON"),
        (b"[" * 5000, "application/json", "invalid JSON"),
        (b"1" * 5000, "application/json", "invalid JSON"),
        (b"{}", "application/json", "missing"),
        (b'{"text": "hi"}', "application/json", "unknown field"),
        (b'{"message": ""}', "application/json", "empty"),
        (b'{"message": "  \\n\\t "}', "application/json", "empty"),
        (b'{"message": "\\u200b\\u0000"}', "application/json", "empty"),
        (b"   \n ", "text/plain", "empty"),
        (b'{"message": 42}', "application/json", "must be a string"),
        (b'{"message": null}', "application/json", "must be a string"),
        (b'{"message": ["a"]}', "application/json", "must be a string"),
        (b'{"message": {"a": "b"}}', "application/json", "must be a string"),
        (b'"hi"', "application/json", "must be an object"),
        (b"42", "application/json", "must be an object"),
        (b"null", "application/json", "must be an object"),
        (b"[1, 2]", "application/json", "must be an object"),
        (b"\xff\xfe", "text/plain", "UTF-8"),
        (b'{"message": "caf\xe9"}', "application/json", "UTF-8"),
        (b'{"message": "hi", "color": "not-a-colour"}', "application/json", "colour"),
        (b'{"message": "hi", "background": 7}', "application/json", "background"),
    ],
)
def test_bad_input_is_a_400_that_says_why(client, body, content_type, says):
    message = error_of(client.post("/api/lcd", data=body, content_type=content_type), 400)
    assert says.lower() in message.lower()


@pytest.mark.parametrize(
    "content_type",
    ["image/png", "application/xml", "multipart/form-data; boundary=x", "text/plain; charset=latin-1", None],
)
def test_other_content_types_are_415(client, content_type):
    response = client.post("/api/lcd", data=b"hello", content_type=content_type)
    assert "application/json" in error_of(response, 415) or "UTF-8" in response.get_json()["error"]["message"]


@pytest.mark.parametrize("body", ["{bad json", '  {"message": "hi"', '["message"'])
def test_curls_default_form_type_with_broken_json_is_400_saying_where(client, body):
    # curl -d '{bad json' http://pi:8000/api/lcd: meant as JSON, and the README says bad JSON is a 400.
    response = client.post("/api/lcd", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    message = response.get_json()["error"]["message"]
    assert message.startswith("invalid JSON: ") and " at line 1 column " in message


def test_form_data_that_is_not_json_is_415(client):
    response = client.post("/api/lcd", data="message=hi", content_type="application/x-www-form-urlencoded")
    assert "application/json" in error_of(response, 415)


def test_a_body_past_the_size_limit_is_413(client, lcd_app):
    limit = lcd_app.config["MAX_CONTENT_LENGTH"]
    for content_type in ("text/plain", "application/json"):
        response = client.post("/api/lcd", data=b"x" * (limit + 1), content_type=content_type)
        assert str(limit) in error_of(response, 413)


def test_a_message_past_the_character_limit_is_400_as_the_schema_says(client):
    message = "é" * (MAX_MESSAGE_CHARACTERS + 1)
    assert "characters" in error_of(client.post("/api/lcd", json={"message": message}), 400)
    assert client.post("/api/lcd", json={"message": message[:-1]}).status_code == 200


def test_other_methods_are_405_json(client):
    response = client.delete("/api/lcd")
    error_of(response, 405)
    assert "POST" in response.headers["Allow"]


def test_the_current_frame_is_a_png(client):
    client.post("/api/lcd", json={"message": "frame"})
    response = client.get("/api/lcd")
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.data.startswith(b"\x89PNG\r\n\x1a\n")


def test_drawn_messages_are_counted(client, lcd_app):
    registry = lcd_app.extensions["enviro"].registry
    before = registry.get_sample_value("enviro_lcd_messages_total")
    client.post("/api/lcd", json={"message": "count me"})
    client.post("/api/lcd", json={"message": ""})  # refused: not drawn
    assert registry.get_sample_value("enviro_lcd_messages_total") == before + 1
    assert registry.get_sample_value("enviro_lcd_up") == 1
    metrics = client.get("/metrics").get_data(as_text=True)
    assert "# HELP enviro_lcd_messages_total" in metrics
    assert 'enviro_lcd_errors_total{reason="busy"} 0.0' in metrics


# --- write protection -------------------------------------------------------


@pytest.fixture(scope="module")
def protected_app():
    app = app_with_panel(PanelBoard(), CollectorRegistry(auto_describe=True), api_token="s3cret-token")
    yield app
    app.extensions["enviro"].display.stop()


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer wrong",
        "Basic czNjcmV0LXRva2Vu",
        "s3cret-token",
        "Bearer s3cret-tokenX",
    ],
)
def test_with_a_token_set_a_post_without_it_is_401(protected_app, authorization):
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = protected_app.test_client().post("/api/lcd", json={"message": "hi"}, headers=headers)
    assert "token" in error_of(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_with_the_token_a_post_is_drawn(protected_app):
    client = protected_app.test_client()
    for scheme in ("Bearer", "bearer"):
        response = client.post(
            "/api/lcd", json={"message": "hi"}, headers={"Authorization": f"{scheme} s3cret-token"}
        )
        assert response.status_code == 200


def test_with_a_token_set_reading_stays_open(protected_app):
    assert protected_app.test_client().get("/api/lcd").status_code == 200


def test_without_a_token_set_no_authorization_is_needed(client):
    assert client.post("/api/lcd", json={"message": "open"}).status_code == 200


# --- the LCD off, not started, failing ----------------------------------------


def test_with_the_lcd_off_it_is_left_alone_and_posts_are_503(registry):
    board = PanelBoard()
    app = app_with_panel(board, registry, lcd="off")
    client = app.test_client()
    assert "ENVIRO_LCD" in error_of(client.post("/api/lcd", json={"message": "hi"}), 503)
    error_of(client.get("/api/lcd"), 503)
    assert board.opened == 0
    assert registry.get_sample_value("enviro_lcd_errors_total", {"reason": "off"}) == 1


def test_before_the_service_starts_the_lcd_routes_are_503(registry):
    client = virtual_app(registry).test_client()
    assert "not started" in error_of(client.post("/api/lcd", json={"message": "hi"}), 503)
    error_of(client.get("/api/lcd"), 503)


# --- fuzzing: never a 500, always JSON ------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


def assert_handled(response):
    assert response.status_code in (200, 400, 413, 415), response.get_data(as_text=True)
    assert response.is_json
    body = response.get_json()
    assert isinstance(body, dict) and ("result" in body) != ("error" in body)


# 150 examples or more in all, shared out over the kinds of message (each
# kind a test of its own, so that they run in parallel).
@pytest.mark.parametrize("kind", MESSAGE_KINDS)
@settings(fuzz, max_examples=-(-150 // len(MESSAGE_KINDS)))
@given(data=st.data())
def test_any_text_message_is_drawn_or_refused_cleanly(client, kind, data):
    message = data.draw(MESSAGE_KINDS[kind], label="message")
    response = client.post("/api/lcd", json={"message": message})
    assert_handled(response)
    if response.status_code == 200:
        assert response.get_json()["result"]["lines"]


@fuzz
@given(value=json_values)
def test_any_json_value_is_answered_cleanly(client, value):
    assert_handled(client.post("/api/lcd", data=json.dumps(value), content_type="application/json"))


@fuzz
@given(
    fields=st.fixed_dictionaries(
        {"message": json_values}, optional={"color": json_values, "background": json_values}
    )
)
def test_any_json_object_is_answered_cleanly(client, fields):
    assert_handled(client.post("/api/lcd", json=fields))


@fuzz
@given(body=st.binary(max_size=2000), content_type=st.sampled_from(["text/plain", "application/json"]))
def test_any_bytes_are_answered_cleanly(client, body, content_type):
    assert_handled(client.post("/api/lcd", data=body, content_type=content_type))
