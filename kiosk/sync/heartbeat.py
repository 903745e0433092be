"""The fleet heartbeat: a small status object per kiosk, from the daemon's status snapshot."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kiosk import __version__
from kiosk.metrics import Metric

STATUS_FILE = "status.json"  # written by the kiosk daemon every ~5 s (temp + rename)
STALE_S = 60.0  # an older snapshot means the daemon is not running (or its loop is stuck)
SCHEMA = 1
# What the heartbeat copies from the daemon's snapshot: an allow-list, so nothing else leaves.
DAEMON_KEYS = ("stage", "fault", "faults", "healthy", "problem", "uptime_s", "outcomes",
               "stage_counts", "captures", "fps", "lag_ms", "overruns", "busy_median_ms",
               "pending_sync", "disk_free_mb", "clock_synchronised", "models", "version",
               "written_at")
# The stage a session ended in, from its outcome or rejection reason (daemon's `outcomes`).
ENDED_IN = {"captured": "capture", "timeout": "position", "face_lost": "continuity",
            "presentation_attack": "liveness"}


def stage_counts(outcomes: Mapping[str, Any]) -> dict[str, int]:
    """Sessions by the stage they ended in: position, liveness, occlusion, capture..."""
    counts: dict[str, int] = {}
    for reason, n in outcomes.items():
        if isinstance(n, int | float):
            stage = ENDED_IN.get(reason, reason.split("_")[0])
            counts[stage] = counts.get(stage, 0) + int(n)
    return counts


def _parse_time(value: Any) -> float | None:
    if isinstance(value, int | float):
        return float(value)
    try:
        t = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return (t if t.tzinfo else t.replace(tzinfo=dt.UTC)).timestamp()


def read_status(path: Path, now: float) -> tuple[dict[str, Any], str, float | None]:
    """(snapshot, daemon state, age in s): running, stale, missing or unreadable."""
    try:
        snap = json.loads(path.read_text())
    except FileNotFoundError:
        return {}, "missing", None
    except (OSError, ValueError):
        return {}, "unreadable", None
    if not isinstance(snap, dict):
        return {}, "unreadable", None
    written = _parse_time(snap.get("written_at"))
    age = None if written is None else round(now - written, 1)
    return snap, "running" if age is not None and age <= STALE_S else "stale", age


def iso(t: float | None) -> str | None:
    return None if t is None else dt.datetime.fromtimestamp(t, dt.UTC).isoformat(
        timespec="seconds")


def build(kiosk_id: str, snap: Mapping[str, Any], daemon: str, age: float | None,
          sync_state: Mapping[str, Any], pending: int, now: float) -> dict[str, Any]:
    store = snap.get("store") if isinstance(snap.get("store"), dict) else {}
    last_capture = store.get("last_capture_at") if isinstance(store, dict) else None
    kiosk = {k: snap[k] for k in DAEMON_KEYS if k in snap}
    if isinstance(kiosk.get("outcomes"), dict):
        kiosk.setdefault("stage_counts", stage_counts(kiosk["outcomes"]))
    return {
        "schema": SCHEMA, "kiosk_id": kiosk_id, "sent_at": iso(now),
        "sync_version": __version__, "daemon": daemon, "status_age_s": age,
        "kiosk": kiosk,
        "last_capture_at": iso(last_capture) if isinstance(last_capture, int | float) else None,
        "sync": {
            "pending": pending,
            "last_success_at": iso(sync_state.get("last_success_at")),
            "last_error": sync_state.get("last_error"),
            "last_error_at": iso(sync_state.get("last_error_at")),
            "totals": dict(sync_state.get("totals") or {}),
        },
    }


def metrics(beat: Mapping[str, Any]) -> list[Metric]:
    """The kiosk's own node-exporter metrics, from the same facts as its heartbeat."""
    k, s = beat.get("kiosk", {}), beat.get("sync", {})
    running = beat.get("daemon") == "running"
    sessions = Metric("kiosk_sessions_total", "Sessions ended since the daemon started, by "
                      "outcome or rejection reason", "counter")
    for reason, n in (k.get("outcomes") or {}).items():
        sessions.add(n, reason=str(reason))
    uploads = Metric("kiosk_sync_captures_total", "Captures the sync service dealt with, by "
                     "result, since its state was created", "counter")
    for result, n in (s.get("totals") or {}).items():
        uploads.add(n, result=str(result))
    fault = k.get("fault")
    return [
        Metric("kiosk_up", "1 when the kiosk daemon's status snapshot is fresh").add(running),
        Metric("kiosk_status_age_seconds", "Age of the daemon's status snapshot").add(
            beat.get("status_age_s")),
        Metric("kiosk_uptime_seconds", "Daemon uptime").add(k.get("uptime_s")),
        Metric("kiosk_fault", "1 while the kiosk is out of service").add(
            bool(fault), reason=str(fault or "")),
        Metric("kiosk_loop_fps", "Loop rate over the last seconds").add(k.get("fps")),
        Metric("kiosk_loop_overruns_total", "Loop iterations that started late",
               "counter").add(k.get("overruns")),
        Metric("kiosk_captures_total", "Selfies stored since the daemon started",
               "counter").add(k.get("captures")),
        sessions,
        Metric("kiosk_last_capture_timestamp_seconds", "Wall time of the newest capture").add(
            _parse_time(beat.get("last_capture_at"))),
        Metric("kiosk_disk_free_megabytes", "Free space in the state directory").add(
            k.get("disk_free_mb")),
        Metric("kiosk_sync_pending", "Captures waiting for upload").add(s.get("pending")),
        Metric("kiosk_sync_last_success_timestamp_seconds",
               "Wall time of the last sync pass without error").add(
            _parse_time(s.get("last_success_at"))),
        Metric("kiosk_sync_error", "1 while the last sync pass failed").add(
            bool(s.get("last_error"))),
        uploads,
    ]
