"""Plain data shared by the pipeline, the session flow and the adapters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Named from the subject's own point of view: `left_eye` is the person's left eye, which
# appears on the right of an unmirrored camera image.
KEYPOINTS = ("left_eye", "right_eye", "nose", "mouth", "left_ear", "right_ear")
REGIONS = ("forehead", "left_eye", "right_eye", "nose", "mouth", "chin")

Point = tuple[float, float]
Box = tuple[float, float, float, float]  # x, y, w, h in pixels


@dataclass(frozen=True)
class Frame:
    """One camera frame: RGB uint8 H x W x 3, monotonic time in seconds, running index."""

    image: np.ndarray
    t: float
    index: int


@dataclass(frozen=True)
class Face:
    """A detected face in pixels of the original frame."""

    box: Box
    score: float
    keypoints: dict[str, Point]
    detector: str = "blazeface"  # which detector found it ("yunet": the covered-face fallback)

    @property
    def eye_distance(self) -> float:
        (lx, ly), (rx, ry) = self.keypoints["left_eye"], self.keypoints["right_eye"]
        return float(np.hypot(lx - rx, ly - ry))

    @property
    def center(self) -> Point:
        x, y, w, h = self.box
        return (x + w / 2, y + h / 2)

    def to_json(self) -> dict[str, Any]:
        return {
            "box": [round(v, 1) for v in self.box],
            "score": round(self.score, 4),
            "keypoints": {k: [round(x, 1), round(y, 1)] for k, (x, y) in self.keypoints.items()},
            "detector": self.detector,
        }


@dataclass(frozen=True)
class Eyes:
    """p(closed) per eye, subject's point of view."""

    left_closed: float
    right_closed: float

    def to_json(self) -> dict[str, Any]:
        return {
            "left": {"closed": round(self.left_closed, 4)},
            "right": {"closed": round(self.right_closed, 4)},
        }


@dataclass(frozen=True)
class Quality:
    """Per-frame measures of the main face; see kiosk.vision.quality for their meaning."""

    face_size: float  # inter-eye distance / frame width
    eye_distance_px: float
    offset_x: float  # face centre from frame centre, in frame widths (-0.5..0.5)
    offset_y: float
    luminance: float  # mean face luma 0..255
    luma_range: float  # p95 - p5 face luma
    clipped: float  # fraction of face pixels <= 5 or >= 250
    sharpness: float  # variance of Laplacian on the face, size-normalised
    yaw: float  # -1..1 from keypoints, 0 = frontal
    roll_deg: float
    motion: float  # face-centre movement since the previous frame, in eye distances
    # Mean colour of the inner face (Lab a*, b* centred on grey; HSV saturation 0..255):
    # appearance continuity compares them, a printed photo shifts them.
    chroma_a: float = 0.0
    chroma_b: float = 0.0
    saturation: float = 0.0

    def to_json(self) -> dict[str, float]:
        return {k: round(float(v), 4) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class Observation:
    """Everything the pipeline saw in one frame; the session flow only reads this."""

    t: float
    index: int
    frame_size: tuple[int, int]  # width, height
    faces: int
    face: Face | None = None
    others: tuple[Face, ...] = ()
    eyes: Eyes | None = None
    regions: dict[str, float] | None = None  # p(blocked) per region
    quality: Quality | None = None
    attack: float | None = None  # p(presentation attack); None: no face, or not scored
    signature: np.ndarray | None = field(default=None, repr=False, compare=False)
    timings: dict[str, float] = field(default_factory=dict, compare=False)
