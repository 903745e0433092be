"""Fleet health from heartbeats (pure), the heartbeat document, and node-exporter metrics."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kiosk.backend import fleet
from kiosk.metrics import Metric, render, write_textfile
from kiosk.sync import heartbeat

pytestmark = pytest.mark.unit

NOW = 1_800_000_000.0


def beat(kid: str, age_s: float = 60, fault: str | None = None, daemon: str = "running",
         outcomes: dict[str, int] | None = None, sync_error: str | None = None,
         conflicts: int = 0) -> fleet.Beat:
    doc = heartbeat.build(
        kid, {"fault": fault, "outcomes": outcomes or {"captured": 30, "liveness_no_blink": 3},
              "fps": 15.0, "overruns": 1, "uptime_s": 7200.0, "written_at": NOW},
        daemon, 2.0, {"last_error": sync_error, "totals": {"conflicts": conflicts}}, 0, NOW)
    return fleet.Beat(kid, NOW - age_s, doc)


def test_each_kind_of_trouble_is_flagged_and_ranked():
    beats = [beat("ok-1"), beat("ok-2"), beat("ok-3"),
             beat("silent", age_s=3 * 3600),
             beat("faulted", fault="camera: not found"),
             beat("stopped", daemon="stale"),
             beat("attacked", outcomes={"captured": 5, "liveness_no_blink": 25,
                                        "presentation_attack": 10}),
             beat("few", outcomes={"liveness_no_blink": 5}),  # too few sessions to judge
             beat("uploads", sync_error="cannot reach s3", conflicts=2),
             fleet.Beat("never", None, {})]
    got = {k.kiosk_id: k for k in fleet.assess(beats, NOW, silent_after_s=900)}
    health = {kid: k.health for kid, k in got.items()}
    assert health == {"ok-1": "ok", "ok-2": "ok", "ok-3": "ok", "silent": "silent",
                      "faulted": "faulted", "stopped": "faulted", "attacked": "suspicious",
                      "few": "ok", "uploads": "degraded", "never": "silent"}
    assert "camera: not found" in got["faulted"].flags[0]
    assert "an attack or a broken camera" in got["attacked"].flags[0]
    assert got["attacked"].numbers["liveness_failure_rate"] == 0.875
    assert got["ok-1"].numbers["liveness_failure_rate"] == round(3 / 33, 3)
    assert got["attacked"].numbers["stage_counts"] == {"capture": 5, "liveness": 35}
    assert any("2 upload conflicts" in f for f in got["uploads"].flags)
    assert got["silent"].silent_s == 3 * 3600
    report = fleet.report(list(got.values()), NOW)
    assert report["counts"]["ok"] == 4 and report["counts"]["silent"] == 2
    json.dumps(report)  # serialisable as is
    table = fleet.render(list(got.values()))
    assert "attacked" in table and "! liveness fails 88%" in table


def test_a_whole_fleet_failing_liveness_is_not_one_kiosk_under_attack():
    """Compared with the rest of the fleet: a bad lighting day everywhere flags nobody."""
    beats = [beat(f"k{i}", outcomes={"captured": 10, "liveness_timeout": 20}) for i in range(5)]
    assert {k.health for k in fleet.assess(beats, NOW, 900)} == {"ok"}


def test_heartbeat_reads_the_status_snapshot_and_says_when_the_daemon_is_gone(tmp_path):
    path = tmp_path / "status.json"
    assert heartbeat.read_status(path, NOW)[1] == "missing"
    path.write_text("{not json")
    assert heartbeat.read_status(path, NOW)[1] == "unreadable"
    path.write_text(json.dumps({"stage": "idle", "written_at": "2027-01-15T08:00:00+00:00",
                                "face_box": [1, 2, 3, 4]}))
    t = heartbeat._parse_time("2027-01-15T08:00:00+00:00")
    assert t is not None
    assert heartbeat.read_status(path, t + 5)[1:] == ("running", 5.0)
    assert heartbeat.read_status(path, t + 600)[1] == "stale"
    snap, daemon, age = heartbeat.read_status(path, t + 5)
    doc = heartbeat.build("k1", snap, daemon, age, {}, 3, t + 5)
    assert doc["kiosk"] == {"stage": "idle", "written_at": "2027-01-15T08:00:00+00:00"}
    assert heartbeat.stage_counts({"captured": 3, "timeout": 1, "liveness_no_blink": 2,
                                   "occlusion_timeout": 1, "face_lost": 1}) == {
        "capture": 3, "position": 1, "liveness": 2, "occlusion": 1, "continuity": 1}
    assert "face_box" not in json.dumps(doc)  # only allow-listed keys leave the kiosk
    assert doc["sync"]["pending"] == 3 and doc["schema"] == 1


def test_metrics_textfile_format_and_names(tmp_path):
    doc = beat("k1", fault="disk full").doc
    text = render(heartbeat.metrics(doc))
    lines = text.splitlines()
    assert "# TYPE kiosk_sessions_total counter" in lines
    assert 'kiosk_sessions_total{reason="captured"} 30' in lines
    assert 'kiosk_fault{reason="disk full"} 1' in lines
    assert "kiosk_up 1" in lines and "kiosk_loop_fps 15" in lines
    kiosks = fleet.assess([beat("k1"), beat("k2", age_s=5000)], NOW, 900)
    fleet_text = render(fleet.metrics(kiosks))
    assert 'kiosk_fleet_kiosks{health="silent"} 1' in fleet_text
    assert 'kiosk_fleet_healthy{kiosk="k2"} 0' in fleet_text
    assert 'kiosk_fleet_sessions_total{kiosk="k1",reason="liveness_no_blink"} 3' in fleet_text
    escaped = render([Metric("m", "h").add(1, reason='a "quoted"\nline')])
    assert 'm{reason="a \\"quoted\\"\\nline"} 1' in escaped
    out = tmp_path / "node" / "kiosk.prom"
    write_textfile(out, heartbeat.metrics(doc))
    assert out.read_text() == text and out.stat().st_mode & 0o777 == 0o644
    assert not [p for p in out.parent.iterdir() if p.name != "kiosk.prom"]


def test_kiosk_backend_console_script_lists_ingest_and_fleet():
    exe = Path(sys.executable).parent / "kiosk-backend"
    out = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    assert "ingest" in out.stdout and "fleet" in out.stdout


def test_the_back_end_imports_nothing_of_the_pi():
    code = ("import sys, kiosk.backend.cli, kiosk.backend.ingest, kiosk.backend.fleet\n"
            "pi = ['gpiozero', 'pygame', 'picamera2', 'lgpio', 'systemd', 'ai_edge_litert',\n"
            "      'tflite_runtime', 'kiosk.hardware', 'kiosk.vision', 'kiosk.session']\n"
            "print([m for m in pi if m in sys.modules])")
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
    assert time.monotonic() - t0 < 30


def test_backend_example_settings_load_and_unknown_keys_are_refused(tmp_path):
    from kiosk.backend import settings
    from kiosk.errors import ConfigError

    example = Path(__file__).resolve().parents[2] / "deploy" / "backend.toml.example"
    s = settings.load(example, {"concurrency": 3}, environ={})
    assert (s.bucket, s.concurrency, s.keys) == ("selfies", 3, ["/etc/kiosk-backend/keys"])
    assert s.s3().bucket == "selfies"
    bad = tmp_path / "bad.toml"
    bad.write_text('bucket = "b"\nconcurency = 4\nsilent_after_s = "soon"\n')
    with pytest.raises(ConfigError, match="concurency: unknown key.*silent_after_s: expected"):
        settings.load(bad, {}, environ={})
    with pytest.raises(ConfigError, match="no bucket"):
        settings.load(None, {}, environ={}).s3()
