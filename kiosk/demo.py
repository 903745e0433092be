"""The emulator's embedded default: a short scripted scenario built from real footage.

A person (the 3-second MIT-licensed talking-head clip in kiosk/assets, see NOTICE.md there)
walks into an empty frame off-centre and too far away, steps into the oval, blinks while
talking, and walks away again, so the demo shows the guidance, liveness and capture screens.
`render()` writes kiosk/assets/demo.mp4; the committed file came from it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np

from kiosk.config import Config

ASSETS = Path(__file__).resolve().parent / "assets"
CLIP = ASSETS / "dinoman.mp4"
DEMO = ASSETS / "demo.mp4"
SIZE = (640, 480)
FPS = 15.0
LENGTH_S = 24.0
CLIP_FPS = 25.0

# (time s, centre x, centre y, scale): the person's path, linearly interpolated
PATH = [(2.0, 760, 250, 1.6), (4.5, 330, 250, 1.6), (6.0, 320, 245, 2.75),
        (20.0, 320, 245, 2.75), (22.0, -150, 250, 2.75)]


# The demo clip is itself a recording: a 96x128 video enlarged 2.75x onto a drawn background.
# The presentation-attack model rightly scores it as one (mean p(attack) 0.63 over its frames,
# single frames up to 0.95), so the demo, and only the demo, is played with the attack
# threshold at its maximum to show the whole flow. Every other source uses the configured one.
DEMO_ATTACK_THRESHOLD = 0.99


def demo_source() -> Path:
    return DEMO


def is_demo(source: str | Path) -> bool:
    return str(source) == "demo" or Path(source).resolve() == DEMO.resolve()


def settings(cfg: Config) -> Config:
    """The config the bundled demo is played with (see DEMO_ATTACK_THRESHOLD)."""
    return dataclasses.replace(cfg, attack=dataclasses.replace(
        cfg.attack, threshold=DEMO_ATTACK_THRESHOLD))


def background() -> np.ndarray:
    w, h = SIZE
    ys = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    top, bottom = np.array([188, 196, 205], np.float32), np.array([120, 112, 104], np.float32)
    bg = top * (1 - ys) + bottom * ys
    return np.broadcast_to(bg, (h, w, 3)).astype(np.uint8).copy()


def pose_at(t: float) -> tuple[float, float, float] | None:
    if t < PATH[0][0] or t > PATH[-1][0]:
        return None
    for (t0, *a), (t1, *b) in zip(PATH, PATH[1:], strict=False):
        if t0 <= t <= t1:
            k = (t - t0) / (t1 - t0)
            x, y, s = (float(a[i] + k * (b[i] - a[i])) for i in range(3))
            return x, y, s
    return None


def compose(person: np.ndarray, t: float, bg: np.ndarray) -> np.ndarray:
    """The scenario frame at time t: the person blended onto the background with soft edges."""
    frame = bg.copy()
    pose = pose_at(t)
    if pose is None:
        return frame
    cx, cy, s = pose
    ph, pw = person.shape[:2]
    w, h = round(pw * s), round(ph * s)
    big = cv2.resize(person, (w, h), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    mask = np.zeros((h, w), np.float32)
    cv2.ellipse(mask, (w // 2, h // 2), (int(w * 0.46), int(h * 0.48)), 0, 0, 360, (1.0,), -1)
    mask = cv2.GaussianBlur(mask, (0, 0), max(w, h) * 0.05)[..., None]
    x0, y0 = round(cx - w / 2), round(cy - h / 2)
    fx0, fy0 = max(x0, 0), max(y0, 0)
    fx1, fy1 = min(x0 + w, SIZE[0]), min(y0 + h, SIZE[1])
    if fx1 <= fx0 or fy1 <= fy0:
        return frame
    sub = (slice(fy0 - y0, fy1 - y0), slice(fx0 - x0, fx1 - x0))
    region = frame[fy0:fy1, fx0:fx1].astype(np.float32)
    m = mask[sub]
    frame[fy0:fy1, fx0:fx1] = (big[sub] * m + region * (1 - m)).astype(np.uint8)
    return frame


def render(clip: Path = CLIP, out: Path = DEMO) -> Path:
    cap = cv2.VideoCapture(str(clip))
    frames = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(bgr)
    cap.release()
    bg = background()
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter.fourcc(*"mp4v"), FPS, SIZE)
    for i in range(int(LENGTH_S * FPS)):
        t = i / FPS
        person = frames[int(t * CLIP_FPS) % len(frames)]
        writer.write(compose(person, t, bg))  # BGR in, BGR out: compose is channel-agnostic
    writer.release()
    return out


if __name__ == "__main__":
    print(render())
