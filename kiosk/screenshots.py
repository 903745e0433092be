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

from kiosk import config, demo, messages
from kiosk.config import Config
from kiosk.domain import Frame, Observation
from kiosk.replay_screens import ScreenRecorder
from kiosk.screens import message
from kiosk.session.machine import Session

OUT = Path(__file__).resolve().parent / "assets" / "screens"
# (file, source, language, message key, frames after it first shows): what each one shows
SHOTS = (
    ("1-guided-in.png", demo.SOURCE, "en", "position.off_centre", 4),
    ("2-blink.png", demo.SOURCE, "en", "liveness.blink_now", 3),
    ("3-named-part.png", demo.SOURCE, "en", "occlusion.mask", 10),
    ("4-result.png", demo.SOURCE, "en", "result.pass", 0),  # a replay ends on the result
    ("5-refused.png", demo.ATTACK_SOURCE, "en", "reason.presentation_attack", 0),
    ("6-named-part-id.png", demo.SOURCE, "id", "occlusion.mask", 10),
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
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for source, lang in dict.fromkeys((s, lang) for _, s, lang, _, _ in SHOTS):
        cfg = config.parse({"ui": {"language": lang}})
        wanted = {f: (k, d) for f, s, la, k, d in SHOTS if (s, la) == (source, lang)}
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
