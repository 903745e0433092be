"""`kiosk-backend fleet`: every kiosk's last heartbeat, its health and what looks wrong.

Health comes from the heartbeat each kiosk's sync service uploads every few minutes
(`<prefix>/<kiosk_id>/heartbeat.json`). "Last seen" is the object's LastModified, the
server's clock, not the kiosk's. A kiosk is flagged when it is silent, out of service, its
daemon is not running, its uploads fail or conflict, or it fails liveness unusually often
compared with the rest of the fleet: a possible attack or a broken camera.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from kiosk.errors import SyncError
from kiosk.metrics import Metric

HEARTBEAT = "heartbeat.json"
LIVENESS_MIN_SESSIONS = 20  # fewer sessions say nothing about a rate
LIVENESS_FLOOR = 0.3  # a failure rate below this is never unusual
LIVENESS_FACTOR = 2.0  # ... nor one below twice the rest of the fleet's median
SEVERITY = ("silent", "faulted", "suspicious", "degraded", "ok")


@dataclass(frozen=True)
class Beat:
    kiosk_id: str
    last_seen: float | None  # server time of the heartbeat object; None: none uploaded
    doc: Mapping[str, Any]


@dataclass
class KioskHealth:
    kiosk_id: str
    health: str
    last_seen: str | None
    silent_s: float | None
    flags: list[str] = field(default_factory=list)
    numbers: dict[str, Any] = field(default_factory=dict)


def liveness_failures(outcomes: Mapping[str, Any]) -> tuple[int, int]:
    """(liveness failures, sessions): failed blink challenges and presentation attacks."""
    sessions = sum(int(n) for n in outcomes.values() if isinstance(n, int | float))
    failed = sum(int(n) for k, n in outcomes.items() if isinstance(n, int | float) and (
        k.startswith("liveness") or k == "presentation_attack"))
    return failed, sessions


def _numbers(doc: Mapping[str, Any]) -> dict[str, Any]:
    k, s = doc.get("kiosk") or {}, doc.get("sync") or {}
    outcomes = k.get("outcomes") or {}
    failed, sessions = liveness_failures(outcomes)
    return {
        "version": k.get("version") or doc.get("sync_version"), "daemon": doc.get("daemon"),
        "uptime_s": k.get("uptime_s"), "stage": k.get("stage"), "fault": k.get("fault"),
        "outcomes": outcomes, "stage_counts": k.get("stage_counts") or {},
        "sessions": sessions, "liveness_failures": failed,
        "liveness_failure_rate": round(failed / sessions, 3) if sessions else None,
        "captures": k.get("captures"), "last_capture_at": doc.get("last_capture_at"),
        "pending_uploads": s.get("pending"), "sync_error": s.get("last_error"),
        "conflicts": (s.get("totals") or {}).get("conflicts", 0),
        "fps": k.get("fps"), "overruns": k.get("overruns"),
        "disk_free_mb": k.get("disk_free_mb"), "sent_at": doc.get("sent_at"),
    }


def _iso(t: float | None) -> str | None:
    return None if t is None else dt.datetime.fromtimestamp(t, dt.UTC).isoformat(
        timespec="seconds")


def assess(beats: Iterable[Beat], now: float, silent_after_s: float) -> list[KioskHealth]:
    """Pure: health and flags for each kiosk, judged against the rest of the fleet."""
    beats = sorted(beats, key=lambda b: b.kiosk_id)
    numbers = {b.kiosk_id: _numbers(b.doc) for b in beats}
    rates = {kid: n["liveness_failure_rate"] for kid, n in numbers.items()
             if n["sessions"] >= LIVENESS_MIN_SESSIONS}
    out = []
    for b in beats:
        n = numbers[b.kiosk_id]
        flags: list[tuple[str, str]] = []
        silent = None if b.last_seen is None else round(now - b.last_seen, 1)
        if b.last_seen is None:
            flags.append(("silent", "no heartbeat ever uploaded"))
        elif silent is not None and silent > silent_after_s:
            flags.append(("silent", f"no heartbeat for {silent / 60:.0f} min"))
        if n["fault"]:
            flags.append(("faulted", f"out of service: {n['fault']}"))
        if b.doc and n["daemon"] != "running":
            flags.append(("faulted", f"kiosk daemon {n['daemon'] or 'unknown'}"))
        rate = rates.get(b.kiosk_id)
        others = [r for kid, r in rates.items() if kid != b.kiosk_id]
        baseline = statistics.median(others) if others else 0.0
        if rate is not None and rate >= LIVENESS_FLOOR and rate >= LIVENESS_FACTOR * baseline:
            flags.append(("suspicious", f"liveness fails {rate:.0%} of {n['sessions']} sessions "
                          f"(fleet median {baseline:.0%}): an attack or a broken camera?"))
        if n["sync_error"]:
            flags.append(("degraded", f"uploads failing: {n['sync_error']}"))
        if n["conflicts"]:
            flags.append(("degraded", f"{n['conflicts']} upload conflicts quarantined"))
        health = min((f[0] for f in flags), key=SEVERITY.index, default="ok")
        out.append(KioskHealth(b.kiosk_id, health, _iso(b.last_seen), silent,
                               [f[1] for f in flags], n))
    return out


def read_beats(client: Any, bucket: str, prefix: str, workers: int = 8) -> Iterator[Beat]:
    """Every kiosk folder under the prefix and its heartbeat (listing with a delimiter)."""
    base = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
    try:
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=base, Delimiter="/")
        folders = [p["Prefix"] for page in pages for p in page.get("CommonPrefixes", [])]
    except (ClientError, BotoCoreError) as e:
        raise SyncError(f"cannot list {bucket}/{base}: {e}") from e

    def one(folder: str) -> Beat:
        kiosk_id = folder[len(base):].rstrip("/")
        try:
            obj = client.get_object(Bucket=bucket, Key=folder + HEARTBEAT)
            doc = json.loads(obj["Body"].read())
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return Beat(kiosk_id, None, {})
            raise SyncError(f"cannot read {folder}{HEARTBEAT}: {e}") from e
        except BotoCoreError as e:
            raise SyncError(f"cannot read {folder}{HEARTBEAT}: {e}") from e
        except ValueError:
            return Beat(kiosk_id, obj["LastModified"].timestamp(), {"daemon": "unreadable"})
        return Beat(kiosk_id, obj["LastModified"].timestamp(), doc if isinstance(doc, dict)
                    else {"daemon": "unreadable"})

    with ThreadPoolExecutor(workers) as pool:
        yield from pool.map(one, folders)


def report(kiosks: list[KioskHealth], now: float) -> dict[str, Any]:
    counts = {h: sum(k.health == h for k in kiosks) for h in SEVERITY}
    return {"generated_at": _iso(now), "counts": counts,
            "kiosks": [k.__dict__ for k in kiosks]}


def render(kiosks: list[KioskHealth]) -> str:
    head = (f"{'kiosk':<16} {'health':<10} {'last seen':<10} {'version':<8} {'uptime':>7} "
            f"{'sessions':>8} {'live-fail':>9} {'pending':>7} {'fps':>5} {'overruns':>8}")
    lines = [head]
    for k in kiosks:
        n = k.numbers
        seen = "never" if k.silent_s is None else f"{k.silent_s / 60:.0f} min"
        rate = n["liveness_failure_rate"]
        lines.append(
            f"{k.kiosk_id:<16} {k.health:<10} {seen:<10} {n['version'] or '-':<8} "
            f"{_dur(n['uptime_s']):>7} {n['sessions']:>8} "
            f"{'-' if rate is None else f'{rate:.0%}':>9} {_num(n['pending_uploads']):>7} "
            f"{_num(n['fps']):>5} {_num(n['overruns']):>8}")
        lines += [f"{'':<16} ! {flag}" for flag in k.flags]
    return "\n".join(lines)


def _num(v: Any) -> str:
    return "-" if v is None else f"{v:g}" if isinstance(v, float) else str(v)


def _dur(s: Any) -> str:
    if not isinstance(s, int | float):
        return "-"
    return f"{s / 3600:.1f}h" if s >= 3600 else f"{s / 60:.0f}m"


def metrics(kiosks: list[KioskHealth]) -> list[Metric]:
    per_health = Metric("kiosk_fleet_kiosks", "Kiosks by health")
    for h in SEVERITY:
        per_health.add(sum(k.health == h for k in kiosks), health=h)
    seen = Metric("kiosk_fleet_last_seen_timestamp_seconds", "Server time of the last heartbeat")
    healthy = Metric("kiosk_fleet_healthy", "1 when a kiosk has no flag")
    pending = Metric("kiosk_fleet_sync_pending", "Captures waiting for upload on the kiosk")
    fps = Metric("kiosk_fleet_loop_fps", "The kiosk's loop rate")
    overruns = Metric("kiosk_fleet_loop_overruns_total", "Late loop iterations", "counter")
    sessions = Metric("kiosk_fleet_sessions_total", "Sessions by outcome or reason", "counter")
    rate = Metric("kiosk_fleet_liveness_failure_ratio", "Liveness failures / sessions")
    for k in kiosks:
        n, kid = k.numbers, k.kiosk_id
        if k.silent_s is not None:
            seen.add(dt.datetime.fromisoformat(k.last_seen).timestamp() if k.last_seen
                     else None, kiosk=kid)
        healthy.add(k.health == "ok", kiosk=kid)
        pending.add(n["pending_uploads"], kiosk=kid)
        fps.add(n["fps"], kiosk=kid)
        overruns.add(n["overruns"], kiosk=kid)
        rate.add(n["liveness_failure_rate"], kiosk=kid)
        for reason, count in (n["outcomes"] or {}).items():
            sessions.add(count, kiosk=kid, reason=str(reason))
    return [per_health, seen, healthy, pending, fps, overruns, sessions, rate]
