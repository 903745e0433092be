"""README screenshots: the demo replayed through the emulator's display (headless), with the
moments worth a picture saved as small PNGs in kiosk/assets/screens/.

`python -m kiosk.screenshots` regenerates them; each picture is taken a set number of frames
after its message first appears (once the screen has settled), drawn by the kiosk's own
display code on SDL's dummy driver.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import cv2

from kiosk import demo, messages
from kiosk.config import Config
from kiosk.domain import Frame, Observation
from kiosk.replay_screens import ScreenRecorder
from kiosk.screens import message
from kiosk.session.machine import Session

OUT = Path(__file__).resolve().parent / "assets" / "screens"
# (file, source, message key, frames after it first shows): what each picture shows
SHOTS = (
    ("1-guided-in.png", demo.SOURCE, "position.off_centre", 4),
    ("2-blink.png", demo.SOURCE, "liveness.blink_now", 3),
    ("3-named-part.png", demo.SOURCE, "occlusion.mask", 10),
    ("4-result.png", demo.SOURCE, "result.pass", 0),  # a replay ends on the result
    ("5-refused.png", demo.ATTACK_SOURCE, "reason.presentation_attack", 0),
)
WIDTH = 800  # small enough for the repository, large enough to read


def capture(cfg: Config, source: str, wanted: dict[str, tuple[str, int]]) -> dict[str, Any]:
    """Replays `source` and returns {file: RGB screen} for each wanted (key, delay)."""
    from kiosk import replay
    from kiosk.vision import stack

    cfg = demo.settings(cfg)
    vision = stack.build(cfg)
    if vision.missing:
        raise RuntimeError(f"models missing: {vision.missing}")
    cat = messages.load(cfg.ui.language)
    recorder = ScreenRecorder(cfg, demo.FPS)
    seen: dict[str, int] = {}
    taken: dict[str, Any] = {}

    def on_frame(frame: Frame, obs: Observation, session: Session, events: list[Any]) -> None:
        recorder(frame, obs, session, events)
        key, _ = message(session.prompt, cat)
        for name, (want, delay) in wanted.items():
            if key == want and name not in taken:
                seen[name] = seen.get(name, frame.index)
                if frame.index - seen[name] >= delay:
                    taken[name] = recorder.display.snapshot().copy()

    try:
        replay.replay(vision.pipeline, cfg, demo.demo_source(), seed=cfg.session.seed,
                      on_frame=on_frame, start=demo.replay_start(source))
    finally:
        recorder.close()
    missing = sorted(set(wanted) - set(taken))
    if missing:
        raise RuntimeError(f"{source}: never showed {[wanted[m][0] for m in missing]}")
    return taken


def main(out: Path = OUT) -> list[Path]:
    cfg = Config()
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for source in dict.fromkeys(s for _, s, _, _ in SHOTS):
        wanted = {f: (k, d) for f, s, k, d in SHOTS if s == source}
        for name, rgb in capture(cfg, source, wanted).items():
            h, w = rgb.shape[:2]
            small = cv2.resize(rgb, (WIDTH, round(h * WIDTH / w)), interpolation=cv2.INTER_AREA)
            path = out / name
            cv2.imwrite(str(path), cv2.cvtColor(small, cv2.COLOR_RGB2BGR),
                        [cv2.IMWRITE_PNG_COMPRESSION, 9])
            written.append(path)
    return written


if __name__ == "__main__":
    for p in main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT):
        print(p)
