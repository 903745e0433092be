"""`kiosk bench` runs and reports the documented keys (no speed is asserted: not a test's job)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.emulator


def bench(*args: str, tmp_path) -> dict:
    env = dict(os.environ, SDL_VIDEODRIVER="dummy",
               KIOSK_CONTROL_SOCKET=str(tmp_path / "control.sock"))
    env.pop("KIOSK_CONFIG", None)
    proc = subprocess.run([sys.executable, "-m", "kiosk", "bench", *args, "--json"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


def test_pipeline_bench_has_the_documented_keys(tmp_path):
    out = bench("--frames", "5", tmp_path=tmp_path)
    assert {"machine", "frames", "stages", "total", "peak_rss_mb", "startup_s",
            "models"} <= set(out)
    assert out["frames"] == 5 and isinstance(out["frames"], int)
    assert {"cpu", "cores", "python", "runtime", "runtime_version"} <= set(out["machine"])
    assert {"detect", "eyes", "regions", "quality", "attack"} <= set(out["stages"])
    # the attack model runs on every second frame, as in a session at 15 fps
    assert out["attack"]["rate_hz"] == 7.5 and out["attack"]["scored_fraction"] == 0.6
    # the covered-face fallback runs only when BlazeFace misses: reported even when it never ran
    assert "fallback" in out["stages"]
    for stage in out["stages"].values():
        if stage["calls"] == 0:
            assert stage == {"calls": 0, "rate": 0.0}
            continue
        assert set(stage) == {"median_ms", "p95_ms", "max_ms", "calls", "rate"}
        assert 0 < stage["median_ms"] <= stage["p95_ms"] <= stage["max_ms"]
        assert 0 < stage["calls"] <= 5 and stage["rate"] == stage["calls"] / 5
    assert set(out["total"]) == {"median_ms", "p95_ms", "max_ms", "fps"}
    assert out["total"]["fps"] > 0 and out["peak_rss_mb"] > 0 and out["startup_s"] > 0
    assert set(out["models"]) == {"face_detector", "face_detector_yunet", "eye_state",
                                  "occlusion_regions", "presentation_attack"}
    assert all(isinstance(v, int) and v > 0 for v in out["models"].values())


def test_loop_bench_reports_rate_overruns_and_cpu(tmp_path):
    out = bench("--loop", "2", tmp_path=tmp_path)
    assert out["mode"] == "loop" and out["iterations"] > 0
    assert {"fps", "overruns", "cpu_percent", "target_fps"} <= set(out)
    assert out["fault"] == ""


def test_display_bench_times_drawing_the_live_screen(tmp_path):
    out = bench("--display", "--frames", "5", tmp_path=tmp_path)
    assert out["mode"] == "display" and out["frames"] == 5
    assert set(out["render"]) == {"median_ms", "p95_ms", "max_ms"}
    assert out["render"]["median_ms"] > 0 and len(out["screen"]) == 2
