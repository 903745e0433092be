"""Hands composited over real frames for the replay tests (see models/cover_synth.py)."""

from __future__ import annotations

import numpy as np

from kiosk.domain import Face
from models.cover_synth import HANDS, hand_over


def hand_over_mouth(image: np.ndarray, face: Face, raised: float = 1.0) -> np.ndarray:
    """A palm over the mouth, nose and cheeks: brought up between two frames, the one composited
    cover that broke continuity before covers were told apart from swaps (smaller or slower
    composited hands did not: models/continuity.md)."""
    return hand_over(image, face, HANDS["nose_mouth"], raised)
