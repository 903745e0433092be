"""The emulator's embedded default: a short scripted scenario built from real footage.

A person (the 3-second MIT-licensed talking-head clip in kiosk/assets, see NOTICE.md there)
walks into an empty frame off-centre and too far away, steps into the oval, blinks on each
"Blink now" cue of the challenge, and walks away again, so the demo shows the guidance,
liveness and capture screens. `render()` writes kiosk/assets/demo.mp4; the committed file came
from it.

The clip is a recording like any other, so it can only answer cues it was made for: `render`
replays the scenario through the real pipeline and session up to LIVENESS, computes where the
cues of the documented seed `SEED` appear, and re-times the clip (`kiosk.retime`) so that its
real blink starts `REACTION_S` after each of them. With any other seed the cues fall elsewhere
and the demo fails like every recording. To build a demo from other footage, give `answering`
the clip's blink frames and a walk-in schedule.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from kiosk import retime
from kiosk.config import Config, LivenessConfig
from kiosk.session.liveness import new_challenge

# The demo's challenge seed: the emulator playing the demo and `kiosk replay demo` use it (when
# no seed is configured or given), and demo.mp4's blinks answer exactly this seed's cues. Any
# other seed fails like every recording. Change it only together with `python -m kiosk.demo`.
SEED = 2024
SOURCE = "demo"
ASSETS = Path(__file__).resolve().parent / "assets"
CLIP = ASSETS / "dinoman.mp4"
DEMO = ASSETS / "demo.mp4"
SIZE = (640, 480)
FPS = 15.0
LENGTH_S = 24.0
CLIP_FPS = 25.0
# dinoman.mp4's blinks (first closing frame, first open frame after), read off the real eye
# model at the demo's pose: the first is clear (p(closed) >= 0.9 on frames 14-17), the second
# only half-closes (0.38) and is never placed, only kept out of the open-eye stretches
CLIP_BLINKS = ((14, 18), (36, 39))
# when the demo's person starts each blink after its cue: about the median a cooperative
# person takes (models/liveness.md), well inside the response window, so the emulator's
# clock moving a cue by a frame either way still leaves the blink answering it
REACTION_S = 0.4

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
    return str(source) == SOURCE or Path(source).resolve() == DEMO.resolve()


def settings(cfg: Config) -> Config:
    """The config the bundled demo is played with: the attack threshold above, and the
    demo's seed unless one is configured (every session then asks the same cues, so the
    looping demo passes every time)."""
    seed = cfg.session.seed if cfg.session.seed >= 0 else SEED
    return dataclasses.replace(
        cfg, attack=dataclasses.replace(cfg.attack, threshold=DEMO_ATTACK_THRESHOLD),
        session=dataclasses.replace(cfg.session, seed=seed))


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


def read_clip(clip: Path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(clip))
    frames = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(bgr)
    cap.release()
    return frames


def cue_times(t_liveness: float, seed: int, cfg: LivenessConfig, fps: float) -> list[float]:
    """When a session seeded `seed` shows the cues it needs answered, if LIVENESS starts at
    frame time `t_liveness` (frames at `fps`): the first frame at or after each due time."""
    challenge = new_challenge(random.Random(seed), cfg)
    return [math.ceil((t_liveness + c) * fps - 1e-6) / fps
            for c in challenge.cues[:challenge.required]]


def answering(footage: retime.Footage, walk_in: Sequence[int], blink: int, t_liveness: float,
              cues: Sequence[float], fps: float) -> list[int]:
    """The walk-in schedule (source frame per output frame) up to LIVENESS, then the clip
    re-timed so that blink `blink` of the footage starts REACTION_S after each cue."""
    k = round(t_liveness * fps)
    rest = retime.plan(footage, [c + REACTION_S for c in cues], [blink] * len(cues),
                       len(walk_in) - k, fps, t0=k / fps, first=walk_in[k])
    return list(walk_in[:k]) + rest


def look_alike_cuts(frames: Sequence[np.ndarray], footage: retime.Footage,
                    per_pair: int = 3) -> tuple[tuple[int, int, float], ...]:
    """Cuts between the clip's open-eye stretches where two frames look most alike (grey
    thumbnails), so the jump reads as the same face holding still."""
    runs = footage.open_runs()
    thumbs = [cv2.resize(cv2.cvtColor(f, cv2.COLOR_BGR2GRAY), (24, 32)).astype(np.float32)
              for f in frames]
    cuts = []
    for a in range(len(runs)):
        for b in range(a + 1, len(runs)):
            pairs = sorted((float(np.abs(thumbs[i] - thumbs[j]).mean()), i, j)
                           for i in runs[a] for j in runs[b])
            cuts += [(i, j, 5.0 + d) for d, i, j in pairs[:per_pair]]
    return tuple(cuts)


def write(frames: Sequence[np.ndarray], schedule: Sequence[int], out: Path) -> None:
    bg = background()
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter.fourcc(*"mp4v"), FPS, SIZE)
    for i, src in enumerate(schedule):
        writer.write(compose(frames[src], i / FPS, bg))  # BGR in, BGR out: channel-agnostic
    writer.release()


def render(clip: Path = CLIP, out: Path = DEMO, seed: int = SEED) -> Path:
    """Write the demo whose blinks answer `seed`'s cues; checked by replaying it."""
    from kiosk import replay
    from kiosk.vision import stack

    frames = read_clip(clip)
    footage = retime.Footage(len(frames), CLIP_FPS, CLIP_BLINKS, margin=2)
    footage = dataclasses.replace(footage, cuts=look_alike_cuts(frames, footage))
    walk_in = [int(i / FPS * CLIP_FPS) % len(frames) for i in range(int(LENGTH_S * FPS))]
    cfg = Config()
    vision = stack.build(cfg)
    if vision.missing:
        raise RuntimeError(f"models missing: {vision.missing}")
    schedule = walk_in
    for _ in range(3):  # the encoder can move LIVENESS by a frame: settle on a fixed point
        write(frames, schedule, out)
        result = replay.replay(vision.pipeline, cfg, out, seed=seed)
        t_live = next(s["t"] for s in result["stages"] if s["stage"] == "liveness")
        cues = cue_times(t_live, seed, cfg.liveness, FPS)
        new = answering(footage, walk_in, 0, t_live, cues, FPS)
        if new == schedule and result["outcome"] == "captured":
            return out
        schedule = new
    raise RuntimeError(f"the demo does not answer its cues: {result}")


if __name__ == "__main__":
    print(render())
