"""`kiosk analyze`: the vision pipeline on files, one JSON object per frame (no session flow)."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from kiosk.config import Config
from kiosk.domain import Frame, Observation
from kiosk.errors import InputError
from kiosk.media import image_files, iter_source
from kiosk.vision import stack
from kiosk.vision.pipeline import Pipeline

log = logging.getLogger(__name__)


def record(source: Path, index: int, t: float, obs: Observation, blink: bool,
           with_quality: bool = False) -> dict[str, Any]:
    rec = {
        "source": str(source),
        "frame": index,
        "t": round(t, 4),
        "faces": obs.faces,
        "face": obs.face.to_json() if obs.face else None,
        "eyes": obs.eyes.to_json() if obs.eyes else None,
        "regions": {k: round(v, 4) for k, v in obs.regions.items()} if obs.regions else None,
        # p(presentation attack) of the face: analyze scores every frame (the session only
        # from LIVENESS through CAPTURE, at attack.rate_hz)
        "attack": round(obs.attack, 4) if obs.attack is not None else None,
        "blink": blink,
    }
    if with_quality:
        rec["quality"] = obs.quality.to_json() if obs.quality else None
    return rec


def analyze_path(pipeline: Pipeline, path: Path,
                 with_quality: bool = False) -> Iterator[dict[str, Any]]:
    """Records for every frame of one input. A directory holds unrelated photos: each image
    is its own source (frame 0, t 0); a video is one clip, with the blink detector over it."""
    from kiosk.vision.blink import BlinkDetector

    if path.is_dir():
        for image in image_files(path):
            yield from analyze_path(pipeline, image, with_quality)
        return
    blinks = BlinkDetector()
    pipeline.reset()
    for sf in iter_source(path):
        obs = pipeline.process(Frame(sf.image, sf.t, sf.index))
        blink = False
        if pipeline.eyes is not None:
            blink = blinks.update(sf.t, obs.eyes if obs.face else None) is not None
        yield record(sf.source, sf.index, sf.t, obs, blink, with_quality)


def run(cfg: Config, paths: list[Path], out: IO[str] = sys.stdout,
        with_quality: bool = False) -> int:
    pipeline = stack.build(cfg).pipeline
    failed = 0
    for path in paths:
        try:
            for rec in analyze_path(pipeline, path, with_quality):
                out.write(json.dumps(rec) + "\n")
        except InputError as e:
            print(f"kiosk analyze: {e}", file=sys.stderr)
            failed += 1
    out.flush()
    return 1 if failed else 0
