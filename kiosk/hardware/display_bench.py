"""Render-time benchmark of the kiosk display: `python -m kiosk.hardware.display_bench`."""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from kiosk.config import DisplayConfig, LedConfig
from kiosk.domain import Face
from kiosk.hardware.interfaces import Screen

SCREENS = [
    Screen("attract", "Take your selfie", "Step in front of the screen"),
    Screen("live", "Please blink twice", "Blink naturally, then keep looking at the screen",
           progress=0.5),
    Screen("live", "Your mouth and left eye are covered", "Please uncover them",
           highlight=("mouth", "left_eye")),
    Screen("live", "Smile! Photo in 2", "Keep your eyes open", countdown=2),
    Screen("result", "Thank you, your selfie is saved", "You can step away now", ok=True),
    Screen("result", "We could not see you blink", "Please try again", ok=False),
    Screen("out_of_service", "Out of service", "model missing: eye_state"),
]


def sample_face(width: int, height: int) -> Face:
    """A face box roughly where the oval is, for drawing only."""
    cx, cy, w = width / 2, height * 0.45, width * 0.3
    return Face(box=(cx - w / 2, cy - w / 2, w, w), score=0.9, keypoints={
        "left_eye": (cx + 0.2 * w, cy - 0.1 * w), "right_eye": (cx - 0.2 * w, cy - 0.1 * w),
        "nose": (cx, cy + 0.05 * w), "mouth": (cx, cy + 0.25 * w),
        "left_ear": (cx + 0.45 * w, cy), "right_ear": (cx - 0.45 * w, cy)})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--size", default="1024x600", help="window size WxH")
    ap.add_argument("--camera", default="640x480", help="camera frame size WxH")
    ap.add_argument("--screenshots", type=Path, default=None)
    args = ap.parse_args(argv)
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    from kiosk.hardware.display import PygameDisplay
    from kiosk.hardware.leds import GpioLeds

    w, h = (int(v) for v in args.size.split("x"))
    cw, ch = (int(v) for v in args.camera.split("x"))
    leds = GpioLeds(LedConfig())
    leds.show("busy")
    display = PygameDisplay(DisplayConfig(width=w, height=h), emulator=True, leds=leds,
                            screenshots=args.screenshots)
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (ch, cw, 3), np.uint8) for _ in range(4)]
    face = sample_face(cw, ch)
    live = SCREENS[1]
    times = []
    for i in range(args.frames):
        t0 = time.perf_counter()
        display.render(live, frames[i % 4], face)
        times.append(time.perf_counter() - t0)
    for screen in SCREENS:
        display.render(screen, frames[0], face)
    display.close()
    leds.close()
    print(f"render {w}x{h}, camera {cw}x{ch}, {args.frames} frames, SDL "
          f"{os.environ['SDL_VIDEODRIVER']}: median {statistics.median(times) * 1000:.2f} ms, "
          f"p95 {sorted(times)[int(0.95 * len(times))] * 1000:.2f} ms "
          f"({platform.machine()}, {platform.processor() or platform.platform()})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
