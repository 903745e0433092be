"""`kiosk replay`: the whole session over recorded frames on a simulated clock."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from kiosk import demo, messages
from kiosk.config import Config
from kiosk.domain import Frame, Observation
from kiosk.media import SourceFrame, iter_source, source_fps
from kiosk.screens import message
from kiosk.session.machine import Session, SessionEnded, Stage, StageChanged, TakeSelfie
from kiosk.vision import stack
from kiosk.vision.pipeline import Pipeline

MAX_SIMULATED_S = 60.0


def looped(path: Path, fps: float) -> Iterator[SourceFrame]:
    """The input again and again; frames are decoded once and kept (inputs are short clips)."""
    frames = list(iter_source(path, fps))
    while True:
        yield from frames


def replay(
    pipeline: Pipeline,
    cfg: Config,
    path: Path,
    *,
    fps: float | None = None,
    seed: int = 0,
    max_s: float = MAX_SIMULATED_S,
    on_frame: Callable[[Frame, Observation, Session, list[Any]], None] | None = None,
) -> dict[str, Any]:
    """Run one session; the result dict is the `kiosk replay --json` contract.

    `on_frame` sees every frame after the session stepped on it (e.g. to draw the screen)."""
    rate = fps or source_fps(path)
    session = Session(cfg, random.Random(seed))
    pipeline.reset()
    cat = messages.load(cfg.ui.language)
    stages: list[dict[str, Any]] = [{"stage": str(Stage.IDLE), "t": 0.0}]
    # every message the screen showed, by catalogue key, when it appeared
    prompts: list[dict[str, Any]] = []
    ended: SessionEnded | None = None
    selfie: TakeSelfie | None = None
    seen_face = False
    liveness_passed = False
    n = 0
    for n, sf in enumerate(looped(path, rate)):
        t = n / rate
        if t > max_s:
            break
        frame = Frame(sf.image, t, n)
        obs = pipeline.process(frame, attack=session.wants_attack(t))
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
        if on_frame is not None:
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
        "frames": n + 1,
        "fps": rate,
        "seed": seed,
    }
    if selfie is not None:
        result["selfie"] = {"frame": selfie.index, "t": round(selfie.t, 3),
                            "quality": selfie.metadata.get("quality")}
    return result


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


def run(cfg: Config, path: Path, fps: float | None, seed: int, *,
        video: Path | None = None, screens: Path | None = None) -> dict[str, Any]:
    """`kiosk replay`; `video` / `screens`: also render what the screen showed (headless)."""
    if demo.is_demo(path):
        cfg = demo.settings(cfg)  # played as the emulator plays it
    vision = stack.build(cfg)
    if vision.missing:
        return {"outcome": "fault", "reason": vision.missing[0], "liveness_passed": False,
                "blocked_parts": [], "stages": [{"stage": "fault", "t": 0.0}], "prompts": []}
    if video is None and screens is None:
        return replay(vision.pipeline, cfg, path, fps=fps, seed=seed)
    from kiosk.replay_screens import ScreenRecorder

    recorder = ScreenRecorder(cfg, fps or source_fps(path), video=video, screens=screens)
    try:
        result = replay(vision.pipeline, cfg, path, fps=fps, seed=seed, on_frame=recorder)
    finally:
        recorder.close()
    result.update(recorder.outputs())
    return result
