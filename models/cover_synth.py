"""A hand held over a real face, frame by frame: the composited covers of the continuity
measurement (models/continuity_eval.py) and of the replay tests (tests/occluder.py).

COMPOSITED, not filmed: the occlusion recipe's generated hand shape (models/occlusion_synth.py)
filled with the person's own skin tone, placed from the keypoints of the uncovered frame. One
seed gives the same hand on every frame, so it stays on the face like a hand held there;
`raised` (0..1) slides it up from below the chin, for a hand coming up or going away.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kiosk.domain import Face
from kiosk.vision.crops import REGION_BOXES, crop

try:
    from models import occlusion_synth as synth
except ImportError:  # run as a script from models/
    import occlusion_synth as synth  # type: ignore[no-redef]


@dataclass(frozen=True)
class Hand:
    """Where the palm goes (from `anchor`, in eye distances along the image axes), its size in
    eye distances and its angle (0 = fingers up, pi/2 = held flat across)."""

    anchor: str
    offset: tuple[float, float]
    size: float
    angle: float


HANDS = {
    "mouth": Hand("mouth", (0.0, 0.25), 1.5, np.pi / 2),  # across the mouth
    "nose_mouth": Hand("mouth", (0.0, 0.0), 2.2, 0.0),  # palm up over mouth, nose and cheeks
    "eye": Hand("left_eye", (0.15, 0.0), 1.3, 0.0),  # over the subject's left eye
}


def hand_over(image: np.ndarray, face: Face, hand: Hand, raised: float = 1.0,
              seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    d = face.eye_distance
    lowered = (1.0 - raised) * 3.0  # eye distances below its place: out of the face at 0
    centre = np.array(face.keypoints[hand.anchor]) + d * np.array(
        [hand.offset[0], hand.offset[1] + lowered])
    alpha = synth.hand_shape(image.shape[:2], centre, hand.size * d, hand.angle, rng)
    skin = np.median(crop(image, face, REGION_BOXES["nose"]).reshape(-1, 3), axis=0)
    texture = synth._shaded(image.shape[:2], skin.astype(np.float32), rng)
    return synth.composite(image, alpha, texture, rng)
