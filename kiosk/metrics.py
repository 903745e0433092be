"""Prometheus node-exporter textfile output: `name{labels} value` lines, written atomically."""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.store import atomic


@dataclass(frozen=True)
class Metric:
    name: str
    help: str
    kind: str = "gauge"  # or "counter"
    samples: list[tuple[Mapping[str, str], float]] = field(default_factory=list)

    def add(self, value: float | int | bool | None, **labels: str) -> Metric:
        if value is not None and not (isinstance(value, float) and not math.isfinite(value)):
            self.samples.append((labels, float(value)))
        return self


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def render(metrics: Iterable[Metric]) -> str:
    lines: list[str] = []
    for m in metrics:
        lines += [f"# HELP {m.name} {m.help}", f"# TYPE {m.name} {m.kind}"]
        for labels, value in m.samples:
            tags = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
            lines.append(f"{m.name}{{{tags}}} {value:g}" if tags else f"{m.name} {value:g}")
    return "\n".join(lines) + "\n"


def write_textfile(path: Path, metrics: Iterable[Metric]) -> None:
    """node-exporter reads only `*.prom` files, so the temp file is never half-read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_private(path, render(metrics).encode(), mode=0o644)
    os.utime(path)
