"""The sensor file tree: whole files only, the latest values, read by node_exporter."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from enviro_sensor.outputs.files import TEXTFILE_NAME, write_atomically
from tests.mosquitto import wait_for
from tests.sensor_support import PROMTOOL_ACCEPTED, PolledApp, promtool_remarks
from tests.servers import free_port

NODE_EXPORTER = shutil.which("prometheus-node-exporter") or shutil.which("node_exporter")


def test_write_atomically_replaces_the_whole_file(tmp_path):
    target = tmp_path / "a.json"
    write_atomically(target, b"old")
    write_atomically(target, b"new")
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]  # no temporary left behind


@pytest.mark.e2e
def test_each_sensor_has_its_latest_reading_and_the_textfile_its_gauges(tmp_path):
    polled = PolledApp(environ={"ENVIRO_EXPORT_DIR": str(tmp_path / "export")})
    try:
        polled.poll()
        export = tmp_path / "export"
        names = sorted(p.name for p in export.iterdir())
        sensors = list(polled.service.latest.sensors())
        assert names == sorted([*(f"{s}.json" for s in sensors), TEXTFILE_NAME])
        for sensor in sensors:
            document = json.loads((export / f"{sensor}.json").read_text())
            view = polled.service.latest.view(sensor)
            assert document["sensor"] == sensor and document["host"]
            assert document["values"] == dict(view.values)
            assert document["status"] == "ok" and document["stale"] is False
            assert document["time"].endswith("Z")
        text = (export / TEXTFILE_NAME).read_text()
        # The same gauges as /metrics, sample for sample.
        from_file = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for f in text_string_to_metric_families(text)
            for s in f.samples
        }
        from_metrics = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for s in polled.metric_samples()
            if (s.name, tuple(sorted(s.labels.items()))) in from_file
        }
        assert from_file == from_metrics
        assert ("enviro_pressure_pascals", (("sensor", "bme280"),)) in from_file
        if shutil.which("promtool"):
            assert promtool_remarks(text) <= PROMTOOL_ACCEPTED
        # A reading gone stale leaves the textfile, and its JSON says so.
        polled.board.faults.set("aht10", "ioerror")
        polled.clock.advance(10)
        polled.poll("i2c")
        text = (export / TEXTFILE_NAME).read_text()
        assert 'sensor="aht10"' not in text and 'sensor="bmp280"' in text
        aht10 = json.loads((export / "aht10.json").read_text())
        assert aht10["status"] == "stale" and aht10["stale"] is True
    finally:
        polled.close()


def test_a_reader_in_a_tight_loop_never_sees_half_a_file(tmp_path):
    export = tmp_path / "export"
    polled = PolledApp(environ={"ENVIRO_EXPORT_DIR": str(export)})
    stop = threading.Event()
    problems: list[str] = []
    reads = [0]
    seen_values = threading.Event()

    def read_forever() -> None:
        while not stop.is_set():
            for path in (export / "pms5003.json", export / TEXTFILE_NAME):
                try:
                    text = path.read_text()
                except FileNotFoundError:
                    continue  # before the first write
                try:
                    if path.suffix == ".json":
                        values = json.loads(text)["values"]
                        # None only in the moment between "ok" and the first reading.
                        assert values is None or len(values) == 12
                        if values is not None:
                            seen_values.set()
                    elif seen_values.is_set():
                        # Written before the JSON, and the reading stays fresh from then on.
                        assert text.endswith("\n")
                        families = {f.name for f in text_string_to_metric_families(text)}
                        assert "enviro_particles_per_deciliter" in families
                except Exception as err:
                    problems.append(f"{path.name}: {err!r}: {text[:80]!r}")
                reads[0] += 1

    reader = threading.Thread(target=read_forever, daemon=True)
    # Threads take turns every 0.5 ms instead of 5: the writer is caught
    # between more of its steps, and waits less for a reader that never sleeps.
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    reader.start()
    try:
        for _ in range(200):
            polled.clock.advance(0.5)
            polled.poll("particulates", "weather")
        wait_for(lambda: reads[0] > 200, what="the reader reading")
    finally:
        stop.set()
        reader.join(10)
        sys.setswitchinterval(switch_interval)
        polled.close()
    assert problems == []


@pytest.mark.e2e
@pytest.mark.skipif(
    NODE_EXPORTER is None, reason="needs node_exporter (Debian package prometheus-node-exporter)"
)
def test_node_exporter_reads_the_textfile(tmp_path):
    export = tmp_path / "export"
    polled = PolledApp(environ={"ENVIRO_EXPORT_DIR": str(export)})
    port = free_port()
    exporter = subprocess.Popen(
        [
            str(NODE_EXPORTER),
            f"--web.listen-address=127.0.0.1:{port}",
            "--collector.disable-defaults",
            "--collector.textfile",
            f"--collector.textfile.directory={export}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        polled.poll()

        def scrape() -> str | None:
            try:
                return requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
            except requests.ConnectionError:
                return None

        text = wait_for(scrape, 15, "node_exporter answering")
        assert isinstance(text, str)
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for f in text_string_to_metric_families(text)
            for s in f.samples
        }
        assert samples[("node_textfile_scrape_error", ())] == 0
        bme280 = polled.service.latest.view("bme280").values
        assert samples[("enviro_pressure_pascals", (("sensor", "bme280"),))] == pytest.approx(
            bme280["pressure_hectopascals"] * 100
        )
    finally:
        exporter.terminate()
        exporter.wait(10)
        polled.close()
