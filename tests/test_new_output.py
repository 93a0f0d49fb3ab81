"""An output added in a module of its own, with a setting of its own, touching no product file.

``tests/tally_output.py`` declares the output and its ``ENVIRO_TALLY_EVERY``;
registering the module is all it takes for the setting to be read,
validated, listed and handed to that output, and to no other part.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from enviro_sensor.cli.settings_table import show_settings
from enviro_sensor.outputs import registry
from enviro_sensor.settings import SettingsError, all_settings, load_settings
from tests import tally_output
from tests.sensor_support import PolledApp

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def tally():
    tally_output.register()
    yield tally_output
    tally_output.unregister()


def test_its_setting_is_loaded_into_its_own_options(tally):
    settings = load_settings({"ENVIRO_TALLY_EVERY": "3"})
    assert settings.of(tally.SETTINGS) == tally.TallyOptions(every=3)
    assert load_settings({}).of(tally.SETTINGS).every == 10  # its default


def test_a_bad_value_stops_start_up_with_one_line_naming_it(tally):
    with pytest.raises(SettingsError) as caught:
        load_settings({"ENVIRO_TALLY_EVERY": "0"})
    assert str(caught.value) == "ENVIRO_TALLY_EVERY: expected a number from 1 to 100, got 0"


def test_the_command_stops_on_it_too():
    # A fresh process: the plug-in registers itself, then the service starts as usual.
    starter = (
        "import sys; from tests import tally_output; tally_output.register(); "
        "from enviro_sensor.cli.main import main; sys.exit(main(['serve']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", starter],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "ENVIRO_TALLY_EVERY": "many", "ENVIRO_BOARD": "virtual"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "enviro-sensor: ENVIRO_TALLY_EVERY: expected a whole number, got 'many'"
    ]


def test_it_is_listed_by_the_settings_command(tally):
    out = io.StringIO()
    show_settings(out, environ={"ENVIRO_TALLY_EVERY": "7"})
    listing = out.getvalue()
    assert "ENVIRO_TALLY_EVERY=7\n    environment; whole number, 1 to 100\n" in listing
    assert "readings between two tally lines" in listing
    assert "ENVIRO_TALLY_EVERY" in {setting.env for setting in all_settings()}


def test_it_is_gone_with_the_module(tally):
    tally.unregister()
    assert "ENVIRO_TALLY_EVERY" not in {setting.env for setting in all_settings()}
    with pytest.raises(SettingsError, match="unknown setting"):
        load_settings({}, overrides={"tally_every": 3})


def test_its_options_go_to_that_output_alone(tally, monkeypatch):
    handed: dict[str, object] = {}
    for module in registry.output_modules():
        if module is tally:
            continue
        original = module.from_context

        def spy(context, options, original=original, name=module.__name__):
            handed[name] = options
            return original(context, options)

        monkeypatch.setattr(module, "from_context", spy)
    polled = PolledApp(tally_every=2)
    try:
        assert tally.handed == [tally.TallyOptions(every=2)]
        assert not [name for name, options in handed.items() if isinstance(options, tally.TallyOptions)]
        # Every other output got its own options, or none.
        assert {type(options).__name__ for options in handed.values()} >= {"MqttOptions", "InfluxOptions"}
        [output] = [o for o in polled.service.outputs.outputs if isinstance(o, tally.Tally)]
        polled.poll("weather")
        assert output.readings == 2  # the BME280's and the LTR559's
        assert output.lines == ["2 readings"]
    finally:
        polled.close()
