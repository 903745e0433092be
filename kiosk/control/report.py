"""Plain results of `kiosk doctor` / `kiosk selftest` and how they are printed: no I/O here."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from kiosk.control.server import jsonable

Level = Literal["ok", "warn", "fail"]
MARK = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}


@dataclass(frozen=True)
class Check:
    """One line of a report: what was checked, how it went, and how to fix it."""

    name: str
    level: Level
    detail: str
    hint: str = ""
    data: dict[str, Any] = field(default_factory=dict)  # measurements, for --json

    @classmethod
    def ok(cls, name: str, detail: str, **data: Any) -> Check:
        return cls(name, "ok", detail, "", data)

    @classmethod
    def warn(cls, name: str, detail: str, hint: str = "", **data: Any) -> Check:
        return cls(name, "warn", detail, hint, data)

    @classmethod
    def fail(cls, name: str, detail: str, hint: str = "", **data: Any) -> Check:
        return cls(name, "fail", detail, hint, data)


def exit_code(checks: Iterable[Check]) -> int:
    """1 if anything failed (warnings do not fail a run), else 0."""
    return 1 if any(c.level == "fail" for c in checks) else 0


def render_text(checks: Iterable[Check]) -> str:
    checks = list(checks)
    width = max((len(c.name) for c in checks), default=0)
    lines = []
    for c in checks:
        lines.append(f"{MARK[c.level]}  {c.name:<{width}}  {c.detail}")
        if c.hint and c.level != "ok":
            lines.append(f"{'':4}  {'':<{width}}  fix: {c.hint}")
    counts = {lvl: sum(c.level == lvl for c in checks) for lvl in MARK}
    lines.append(f"{counts['ok']} ok, {counts['warn']} warnings, {counts['fail']} failed")
    return "\n".join(lines)


def render_json(checks: Iterable[Check]) -> str:
    checks = list(checks)
    return json.dumps(jsonable({"ok": exit_code(checks) == 0,
                                "checks": [asdict(c) for c in checks]}))


def _duration(seconds: float) -> str:
    s = int(seconds)
    days, s = divmod(s, 86400)
    hours, s = divmod(s, 3600)
    minutes, s = divmod(s, 60)
    if days:
        return f"{days}d {hours}h {minutes}m"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {s}s"


def _size_mb(mb: float) -> str:
    return f"{mb / 1024:.1f} GB" if mb >= 1024 else f"{mb:.0f} MB"


def render_status(snap: Mapping[str, Any]) -> str:
    """The daemon's status snapshot as a few readable lines; unknown keys are listed at the end."""
    rows: list[tuple[str, str]] = []
    shown: set[str] = set()

    def row(label: str, value: str, *keys: str) -> None:
        rows.append((label, value))
        shown.update(keys)

    def has(key: str) -> bool:
        return snap.get(key) is not None

    if has("stage"):
        fault = snap.get("fault") or ""
        row("stage", f"{snap['stage']}" + (f"  (out of service: {fault})" if fault else ""),
            "stage", "fault")
    if "healthy" in snap:
        problem = snap.get("problem") or ""
        row("health", "ok" if snap["healthy"] else f"UNHEALTHY: {problem} (the watchdog is "
            "not fed; systemd restarts the service if this lasts)", "healthy", "problem")
    if has("uptime_s"):
        row("uptime", _duration(float(snap["uptime_s"])), "uptime_s")
    if has("fps"):
        loop = f"{float(snap['fps']):.1f} fps"
        if has("lag_ms"):
            loop += f", lag {float(snap['lag_ms']):.0f} ms"
        if has("overruns"):
            loop += f", {snap['overruns']} overruns"
        if has("busy_median_ms"):
            loop += f", {float(snap['busy_median_ms']):.1f} ms per iteration (median)"
        row("loop", loop, "fps", "lag_ms", "overruns", "busy_median_ms")
    outcomes = snap.get("outcomes")
    if isinstance(outcomes, Mapping):
        text = ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items(), key=lambda kv: -kv[1]))
        row("sessions", text or "none yet", "outcomes")
    if has("captures"):
        row("captures", str(snap["captures"]), "captures")
    if "pending_sync" in snap:
        pending = snap["pending_sync"]
        row("pending upload", "unknown" if pending is None else str(pending), "pending_sync")
    store = snap.get("store")
    if isinstance(store, Mapping):
        parts = []
        if store.get("oldest_pending_age_s") is not None:
            parts.append(f"oldest pending {_duration(float(store['oldest_pending_age_s']))}")
        if store.get("quarantined"):
            parts.append(f"{store['quarantined']} quarantined")
        if store.get("last_sync_error"):
            parts.append(f"last error: {store['last_sync_error']}")
        if parts:
            row("upload", "; ".join(parts), "store")
    models = snap.get("models")
    if isinstance(models, Mapping):
        row("models", ", ".join(f"{k} {v}" for k, v in sorted(models.items())) or "none",
            "models")
    if "disk_free_mb" in snap:
        free = snap["disk_free_mb"]
        row("disk free", "unknown" if free is None else _size_mb(float(free)), "disk_free_mb")
    if "clock_synchronised" in snap:
        sync = snap["clock_synchronised"]
        row("clock", {True: "synchronised", False: "NOT synchronised"}.get(sync, "unknown"),
            "clock_synchronised")
    shown.update({"ok", "store"})
    for key in sorted(set(snap) - shown):
        row(key, json.dumps(snap[key]) if isinstance(snap[key], dict | list) else str(snap[key]))
    width = max(len(label) for label, _ in rows) if rows else 0
    return "\n".join(f"{label:<{width}}  {value}" for label, value in rows)
