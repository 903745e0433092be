"""`kiosk replay`: the whole session over recorded frames on a simulated clock."""

from __future__ import annotations

import dataclasses
import itertools
import random
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from kiosk import demo, messages
from kiosk.config import Config
from kiosk.domain import Frame, Observation
from kiosk.media import SourceFrame, is_image, iter_source, source_fps
from kiosk.screens import message
from kiosk.session.machine import Session, SessionEnded, Stage, StageChanged, TakeSelfie
from kiosk.vision import stack
from kiosk.vision.pipeline import Pipeline

MAX_SIMULATED_S = 60.0

# Gives the frame n at time t and the pipeline's view of it, or None when the input ended.
# It gets the session because the pipeline asks it which frames the attack model scores.
Observe = Callable[[Session, float, int], "tuple[Frame | None, Observation] | None"]


def looped(path: Path, fps: float, start: int = 0) -> Iterator[SourceFrame]:
    """The input from frame `start` again and again, decoded as it plays: memory stays flat
    for any length."""
    if is_image(path):  # one frame: keep it rather than decode it again each time
        frame = next(iter_source(path, fps))
        while True:
            yield frame
    while True:
        empty = True
        for frame in itertools.islice(iter_source(path, fps), start, None):
            empty = False
            yield frame
        if empty:
            return


def observer(pipeline: Pipeline, path: Path, rate: float, start: int = 0) -> Observe:
    """The real pipeline on the looped input from frame `start`, on the replay clock."""
    pipeline.reset()
    frames = looped(path, rate, start)

    def observe(session: Session, t: float, n: int) -> tuple[Frame, Observation]:
        frame = Frame(next(frames).image, t, n)
        return frame, pipeline.process(frame, attack=session.wants_attack(t))

    return observe


def cached(observations: Sequence[Observation]) -> Observe:
    """Observations computed before (they do not depend on the seed as long as the attack
    model is not asked for; the liveness simulator and the seed tests replay them)."""
    def observe(session: Session, t: float, n: int) -> tuple[None, Observation] | None:
        return (None, observations[n]) if n < len(observations) else None

    return observe


def replay(
    pipeline: Pipeline,
    cfg: Config,
    path: Path,
    *,
    fps: float | None = None,
    seed: int = 0,
    max_s: float = MAX_SIMULATED_S,
    on_frame: Callable[[Frame, Observation, Session, list[Any]], None] | None = None,
    start: int = 0,
) -> dict[str, Any]:
    """Run one session; the result dict is the `kiosk replay --json` contract.

    `on_frame` sees every frame after the session stepped on it (e.g. to draw the screen);
    `start`: the first frame of the input played (at t = 0)."""
    rate = fps or source_fps(path)
    return run_session(cfg, observer(pipeline, path, rate, start), rate=rate, seed=seed,
                       max_s=max_s, on_frame=on_frame)


def run_session(
    cfg: Config,
    observe: Observe,
    *,
    rate: float,
    seed: int = 0,
    max_s: float = MAX_SIMULATED_S,
    on_frame: Callable[[Frame, Observation, Session, list[Any]], None] | None = None,
) -> dict[str, Any]:
    """One session over the frames `observe` gives, frame n at t = n / rate."""
    # the seed is the session's, as in the kiosk: the challenge depends on it and on the
    # frames before LIVENESS only
    cfg = dataclasses.replace(cfg, session=dataclasses.replace(cfg.session, seed=seed))
    session = Session(cfg, random.Random(seed))
    cat = messages.load(cfg.ui.language)
    stages: list[dict[str, Any]] = [{"stage": str(Stage.IDLE), "t": 0.0}]
    # every message the screen showed, by catalogue key, when it appeared
    prompts: list[dict[str, Any]] = []
    ended: SessionEnded | None = None
    selfie: TakeSelfie | None = None
    seen_face = False
    liveness_passed = False
    n = 0
    while (t := n / rate) <= max_s:
        got = observe(session, t, n)
        if got is None:
            break
        frame, obs = got
        n += 1
        seen_face |= obs.face is not None
        events = session.step(obs, t)
        for ev in events:
            if isinstance(ev, StageChanged):
                stages.append({"stage": str(ev.stage), "t": round(ev.t, 3), "why": ev.why})
                liveness_passed |= ev.stage == Stage.OCCLUSION
            elif isinstance(ev, TakeSelfie):
                selfie = ev
            elif isinstance(ev, SessionEnded) and ev.outcome != "walked_away":
                ended = ev
        _note_prompt(prompts, session, cat, t)
        if on_frame is not None and frame is not None:
            on_frame(frame, obs, session, events)
        if ended is not None:
            break
    if ended is not None:
        # an attack verdict after the challenge takes the pass back
        liveness_passed = liveness_passed and ended.liveness_passed
        outcome, reason = ended.outcome, ended.reason
        blocked = list(ended.blocked_parts)
    else:
        outcome = "timeout" if seen_face else "no_face"
        reason = f"no result after {max_s:.0f} simulated seconds" if seen_face else "no face found"
        blocked = []
    result: dict[str, Any] = {
        "outcome": outcome,
        "reason": reason,
        "liveness_passed": liveness_passed,
        "blocked_parts": blocked,
        "stages": stages,
        "prompts": prompts,
        "frames": n,
        "fps": rate,
        "seed": seed,
        "challenge": challenge_log(session),
    }
    if selfie is not None:
        result["selfie"] = {"frame": selfie.index, "t": round(selfie.t, 3),
                            "quality": selfie.metadata.get("quality")}
    return result


def challenge_log(session: Session) -> dict[str, Any]:
    """Over every challenge of the session, in seconds on the replay clock: when the kiosk said
    "Blink now" (`blink_at`) and "Close your eyes" (`close_at`), when blinks (`seen`) and
    closures (`closed`) were counted; `started` / `closed_from`: when they began (what the
    response `window` after a cue judges)."""
    checks = session.liveness_checks

    def times(kind: str) -> list[float]:
        return [round(c.shown, 3) for chk in checks for c in chk.shown if c.kind == kind]

    return {
        "blink_at": times("blink"),
        "seen": [round(b.end, 3) for chk in checks for b in chk.seen],
        "started": [round(b.start, 3) for chk in checks for b in chk.seen],
        "close_at": times("close"),
        "closed": [round(c.end, 3) for chk in checks for c in chk.closures],
        "closed_from": [round(c.start, 3) for chk in checks for c in chk.closures],
        "window": [session.cfg.liveness.window_start_s, session.cfg.liveness.window_end_s],
    }


def _note_prompt(prompts: list[dict[str, Any]], session: Session, cat: messages.Catalogue,
                 t: float) -> None:
    """Adds the message on screen if it changed ("key"; "parts" when parts are highlighted)."""
    key, _ = message(session.prompt, cat)
    entry: dict[str, Any] = {"t": round(t, 3), "key": key}
    if session.prompt.highlight:
        entry["parts"] = list(session.prompt.highlight)
    last = prompts[-1] if prompts else {}
    if (last.get("key"), last.get("parts")) != (key, entry.get("parts")):
        prompts.append(entry)


def run(cfg: Config, path: Path, fps: float | None, seed: int | None, *,
        video: Path | None = None, screens: Path | None = None) -> dict[str, Any]:
    """`kiosk replay`; `video` / `screens`: also render what the screen showed (headless).

    PATH "demo" (or the demo clip's path) is played as the emulator plays it: with the demo's
    settings and, unless `seed` is given, its documented seed. Other paths: seed 0 by default.
    """
    start = 0
    if demo.is_demo(path):
        cfg = demo.settings(cfg)  # played as the emulator plays it
        start = demo.replay_start(path)  # demo-attack: from where the tablet is held up
        path, seed = demo.demo_source(), cfg.session.seed if seed is None else seed
    seed = 0 if seed is None else seed
    vision = stack.build(cfg)
    if vision.missing:
        return {"outcome": "fault", "reason": vision.missing[0], "liveness_passed": False,
                "blocked_parts": [], "stages": [{"stage": "fault", "t": 0.0}], "prompts": [],
                "challenge": {"blink_at": [], "seen": [], "close_at": [], "closed": []}}
    if video is None and screens is None:
        return replay(vision.pipeline, cfg, path, fps=fps, seed=seed, start=start)
    from kiosk.replay_screens import ScreenRecorder

    recorder = ScreenRecorder(cfg, fps or source_fps(path), video=video, screens=screens)
    try:
        result = replay(vision.pipeline, cfg, path, fps=fps, seed=seed, on_frame=recorder,
                        start=start)
    finally:
        recorder.close()
    result.update(recorder.outputs())
    return result
