"""Measures the CAPTURE quality scores on real frames and on degraded copies of them.

    .venv/bin/python models/capture_eval.py ../shared/datasets/spoof/nuaa/ClientRaw \\
        kiosk/assets/demo.mp4 tests/fixtures/live_T1.jpg

Each input (an image folder searched recursively, a video, or one image) goes through the real
pipeline (detector, eye-state model when installed, quality). Printed: percentiles of every
score, how many frames fail each capture check with the current `CaptureConfig` defaults, and
the same for blurred, dark and over-exposed copies. models/continuity.md quotes the output.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from kiosk import config
from kiosk.config import CaptureConfig, PositionConfig
from kiosk.domain import Frame, Observation
from kiosk.media import iter_video
from kiosk.session import capture
from kiosk.vision import stack

DEGRADE = {
    "as is": lambda im: im,
    "blur s=1.5": lambda im: cv2.GaussianBlur(im, (0, 0), 1.5),
    "blur s=3": lambda im: cv2.GaussianBlur(im, (0, 0), 3.0),
    "dark x0.25": lambda im: (im * 0.25).astype(np.uint8),
    "bright x2.5": lambda im: np.clip(im * 2.5, 0, 255).astype(np.uint8),
}
SCORES = ("eye_distance_px", "offset", "yaw", "roll_deg", "sharpness", "luma_range", "clipped",
          "eye_closed")


def images(path: Path, every: int) -> Iterator[np.ndarray]:
    if path.is_dir():
        files = sorted(path.rglob("*.jpg")) + sorted(path.rglob("*.png"))
        for f in files[::every]:
            yield cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB)
    elif path.suffix.lower() in (".mp4", ".avi", ".mov", ".mkv"):
        for i, sf in enumerate(iter_video(path)):
            if i % every == 0:
                yield sf.image
    else:
        yield cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def report(name: str, observations: list[Observation], cfg: CaptureConfig) -> None:
    faces = [o for o in observations if o.face is not None]
    fails = Counter(f for o in faces for f in capture.failures(o, cfg))
    ok = sum(not capture.failures(o, cfg) for o in faces)
    values = {k: [capture.scores(o)[k] for o in faces] for k in SCORES}
    pct = "  ".join(f"{k} {np.percentile(v, 5):.3g}/{np.median(v):.3g}/{np.percentile(v, 95):.3g}"
                    for k, v in values.items() if v)
    bright = sum("badly_exposed" in capture.failures(o, cfg) and o.quality is not None
                 and o.quality.luminance > PositionConfig().max_luma for o in faces)
    print(f"  {name:12} faces {len(faces)}/{len(observations)} eligible {ok} "
          f"fails {dict(fails)} (badly exposed and too bright for POSITION: {bright})"
          f"\n      p5/p50/p95: {pct}")


def chosen(name: str, observations: list[Observation], cfg: CaptureConfig, window: int) -> None:
    """What CAPTURE would store from each run of `window` consecutive frames."""
    picks = []
    for i in range(0, len(observations) - window + 1, window):
        best = capture.best(o for o in observations[i:i + window]
                            if not capture.failures(o, cfg))
        if best is not None:
            picks.append(capture.scores(best))
    if not picks:
        print(f"  chosen ({name}): no window had an eligible frame")
        return
    cols = "  ".join(f"{k} {min(p[k] for p in picks):.3g}..{max(p[k] for p in picks):.3g}"
                     for k in SCORES)
    print(f"  chosen ({name}): {len(picks)}/{len(observations) // window} windows of {window} "
          f"frames gave a selfie; ranges: {cols}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("inputs", type=Path, nargs="+")
    ap.add_argument("--every", type=int, default=1, help="use every n-th frame")
    ap.add_argument("--window", type=int, default=15, help="frames per CAPTURE buffer")
    args = ap.parse_args(argv)
    cfg = config.parse({})
    pipeline = stack.build(cfg).pipeline
    pipeline.regions = None
    print(f"eye-state model: {'yes' if pipeline.eyes is not None else 'NOT INSTALLED'}; "
          f"thresholds {cfg.capture}")
    for path in args.inputs:
        print(f"\n{path}")
        originals = list(images(path, args.every))
        for name, degrade in DEGRADE.items():
            obs = []
            for i, im in enumerate(originals):
                pipeline.reset()
                obs.append(pipeline.process(Frame(degrade(im), i / 15, i)))
            report(name, obs, cfg.capture)
            if name == "as is" and len(obs) >= args.window:
                chosen(name, obs, cfg.capture, args.window)
    return 0


if __name__ == "__main__":
    sys.exit(main())
