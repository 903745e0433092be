"""`kiosk bench`: per-stage pipeline timings, memory and start-up on real frames, or the loop."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import resource
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kiosk.config import Config
from kiosk.domain import Frame
from kiosk.media import SourceFrame, iter_source
from kiosk.vision import stack
from kiosk.vision.runtime import runtime_info

WARMUP = 10
DEMO_FACE_S = 6.0  # the demo's first visitor is in the oval from here (kiosk.demo.GUIDED)


def process_age_s() -> float:
    """Seconds since this process started (Linux /proc); 0 when unknown."""
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return max(0.0, uptime - ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return 0.0


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        info = dict(line.split(":", 1) for line in Path("/proc/cpuinfo").read_text()
                    .splitlines() if ":" in line)
        info = {k.strip(): v.strip() for k, v in info.items()}
        # x86 names the CPU in "model name"; a Raspberry Pi names the board in "Model"
        cpu = info.get("model name") or info.get("Model") or cpu
    except OSError:
        pass
    rt = runtime_info()
    return {
        "cpu": cpu,
        "arch": platform.machine(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "runtime": rt["name"],
        "runtime_version": rt["version"],
        "os": platform.platform(),
    }


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB


def summarise(values_s: list[float]) -> dict[str, float]:
    ms = sorted(v * 1000 for v in values_s)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return {"median_ms": round(statistics.median(ms), 3), "p95_ms": round(p95, 3),
            "max_ms": round(ms[-1], 3)}


def cycle_frames(path: Path, start_s: float = 0.0) -> Iterator[SourceFrame]:
    """Decoded one at a time, so the input does not inflate the measured memory."""
    while True:
        yield from (f for f in iter_source(path) if f.t >= start_s)


def pipeline_bench(cfg: Config, path: Path, frames: int, start_s: float = 0.0) -> dict[str, Any]:
    """Every model on every frame, except the attack model: it is scheduled as the session
    schedules it from LIVENESS through CAPTURE (attack.rate_hz at the loop's frame rate)."""
    from kiosk.session.attack import AttackCheck

    vision = stack.build(cfg)
    source = cycle_frames(path, start_s)
    schedule = AttackCheck.from_config(cfg.attack)
    stages: dict[str, list[float]] = {}
    totals: list[float] = []
    scored: list[float] = []  # whole-pipeline times of the frames the attack model scored
    startup = None
    resolution: tuple[int, ...] = ()
    for n in range(frames + WARMUP):
        sf = next(source)
        resolution = sf.image.shape[1::-1]
        t = n / cfg.loop.fps
        due = schedule.due(t)
        t0 = time.perf_counter()
        obs = vision.pipeline.process(Frame(sf.image, sf.t, n), attack=due)
        dt = time.perf_counter() - t0
        schedule.update(t, obs.attack)
        if startup is None:
            startup = process_age_s()
        if n < WARMUP:
            continue
        totals.append(dt)
        if obs.attack is not None:
            scored.append(dt)
        for name, v in obs.timings.items():
            stages.setdefault(name, []).append(v)
    # stages that run only when a face is found (or, for the fallback, only when BlazeFace
    # missed) are summarised over those frames; `rate` says how often they ran
    reported: dict[str, dict[str, Any]] = {
        k: {**summarise(v), "calls": len(v), "rate": round(len(v) / frames, 4)}
        for k, v in stages.items()}
    if vision.pipeline.fallback is not None:
        reported.setdefault("fallback", {"calls": 0, "rate": 0.0})
    total = summarise(totals)
    total["fps"] = round(1000 / total["median_ms"], 1) if total["median_ms"] else 0.0
    return {
        "machine": machine(),
        "source": str(path),
        "resolution": list(resolution),
        "frames": frames,
        "threads": cfg.models.threads,
        "stages": reported,
        "total": total,
        # the attack model's rate, and the whole pipeline on the frames it scored
        "attack": {"rate_hz": cfg.attack.rate_hz, "loop_fps": cfg.loop.fps,
                   "scored_fraction": round(len(scored) / max(1, len(totals)), 3),
                   "scored_frames": summarise(scored) if scored else None},
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "startup_s": round(startup or 0.0, 3),
        "models": vision.sizes,
        "missing_models": vision.missing,
    }


def loop_bench(cfg: Config, path: Path, seconds: float) -> dict[str, Any]:
    """The whole emulator loop, headless with the dummy display, at the configured rate."""
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    from kiosk import app
    from kiosk.loop import FixedRateLoop, LoopStats

    cfg = app.with_source(dataclasses.replace(cfg, hardware="emulator"), str(path))
    stats = LoopStats()
    kiosk = app.build(cfg, emulator=True, loop_stats=stats)
    start = time.monotonic()
    cpu0 = time.process_time()

    def iteration(now: float) -> bool:
        if now - start >= seconds:
            loop.stop.set()
        return kiosk.iteration(now)

    loop = FixedRateLoop(1 / cfg.loop.fps, iteration, time.monotonic, stats=stats)
    try:
        stats = loop.run()
    finally:
        kiosk.close()
    wall = time.monotonic() - start
    return {
        "machine": machine(),
        "mode": "loop",
        "target_fps": cfg.loop.fps,
        "seconds": round(wall, 2),
        "iterations": stats.iterations,
        "fps": round(stats.iterations / wall, 2),
        "overruns": stats.overruns,
        "skipped_deadlines": stats.skipped,
        "busy_median_ms": round(stats.busy_median_s * 1000, 2),
        "cpu_percent": round(100 * (time.process_time() - cpu0) / wall, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "fault": kiosk.session.fault_reason,
    }


def display_bench(cfg: Config, path: Path, frames: int, start_s: float) -> dict[str, Any]:
    """Drawing alone: the live screen (mirrored preview, oval, texts, pictogram, progress)
    over real frames, with the face the detector finds drawn in (detection is not timed)."""
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    from kiosk.hardware.display import PygameDisplay
    from kiosk.hardware.interfaces import Screen

    detector = stack.build(cfg).pipeline.detector
    display = PygameDisplay(cfg.display, emulator=cfg.hardware == "emulator")
    screen = Screen("live", "Please blink 2 times", "Blink naturally, then keep looking at "
                    "the screen", progress=0.5, highlight=("mouth",))
    times = []
    try:
        for n, sf in zip(range(frames + WARMUP), cycle_frames(path, start_s), strict=False):
            faces = detector.detect(sf.image)
            face = max(faces, key=lambda f: f.eye_distance) if faces else None
            t0 = time.perf_counter()
            display.render(screen, sf.image, face)
            if n >= WARMUP:
                times.append(time.perf_counter() - t0)
        size = list(display.surface.get_size())
    finally:
        display.close()
    return {"machine": machine(), "mode": "display", "frames": frames, "screen": size,
            "video_driver": os.environ["SDL_VIDEODRIVER"], "render": summarise(times)}


def _cmd(args: argparse.Namespace, cfg: Config) -> int:
    from kiosk.demo import demo_source

    cfg = dataclasses.replace(cfg, models=dataclasses.replace(cfg.models, threads=args.threads))
    path = args.path or demo_source()
    start = args.start if args.start is not None else 0.0 if args.path else DEMO_FACE_S
    if args.loop:
        result = loop_bench(cfg, path, args.loop)
    elif args.display:
        result = display_bench(cfg, path, args.frames, start)
    else:
        result = pipeline_bench(cfg, path, args.frames, start)
    if args.json:
        print(json.dumps(result))
    else:
        print(json.dumps(result, indent=2))
    return 0


def add_commands(sub: Any) -> None:
    s = sub.add_parser("bench", help="measure the per-frame pipeline (or the whole loop)")
    s.add_argument("path", nargs="?", type=Path, default=None,
                   help="video, image directory or image (default: the bundled demo clip)")
    s.add_argument("--frames", type=int, default=300, help="frames to time after warm-up")
    s.add_argument("--threads", type=int, default=1, help="interpreter threads per model")
    s.add_argument("--start", type=float, default=None, metavar="SECONDS",
                   help=f"skip the input's first seconds (default: 0; {DEMO_FACE_S} for the "
                        "demo clip, where the person is in front of the camera)")
    s.add_argument("--loop", type=float, default=None, metavar="SECONDS",
                   help="instead, run the whole headless emulator loop for this long")
    s.add_argument("--display", action="store_true",
                   help="instead, time drawing the live screen (dummy SDL driver unless set)")
    s.add_argument("--json", action="store_true", help="one JSON object")
    s.set_defaults(func=_cmd)
