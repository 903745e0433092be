"""Crop geometry from face keypoints, shared by training data preparation and run time.

Every crop lives in the face's own frame: origin at the midpoint between the eyes, x along
the eye line towards the subject's left eye, y perpendicular towards the mouth, unit = the
inter-eye distance. So crops are aligned on the eye line and scale with the face.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from kiosk.domain import Face


@dataclass(frozen=True)
class CropSpec:
    anchor: str  # a keypoint name, or "eyes" for the midpoint between the eyes
    offset: tuple[float, float]  # from the anchor, in eye distances along (x, y) of the face
    size: tuple[float, float]  # width, height in eye distances
    out: tuple[int, int]  # output width, height in pixels
    mirror: bool = False  # flip horizontally: a left eye is made to look like a right eye


# The eye-state model sees both eyes as right eyes: the left one is mirrored.
EYE_STATE = {
    "left_eye": CropSpec("left_eye", (0.0, 0.0), (0.7, 0.7), (32, 32), mirror=True),
    "right_eye": CropSpec("right_eye", (0.0, 0.0), (0.7, 0.7), (32, 32)),
}

# Region boxes of the occlusion check, from the subject's point of view.
REGION_BOXES = {
    "forehead": CropSpec("eyes", (0.0, -0.75), (1.6, 0.7), (64, 32)),
    "left_eye": CropSpec("left_eye", (0.0, -0.05), (0.9, 0.7), (48, 40), mirror=True),
    "right_eye": CropSpec("right_eye", (0.0, -0.05), (0.9, 0.7), (48, 40)),
    "nose": CropSpec("nose", (0.0, -0.1), (0.8, 0.7), (48, 40)),
    "mouth": CropSpec("mouth", (0.0, 0.0), (1.1, 0.6), (56, 32)),
    "chin": CropSpec("mouth", (0.0, 0.6), (1.1, 0.6), (56, 32)),
}

# The whole face, upright and scaled: context for region models and the continuity check.
FACE = CropSpec("eyes", (0.0, 0.55), (2.6, 2.6), (64, 64))


def face_axes(face: Face) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(origin, x unit, y unit, eye distance) of the face frame in image pixels."""
    left = np.array(face.keypoints["left_eye"], np.float64)
    right = np.array(face.keypoints["right_eye"], np.float64)
    d = float(np.hypot(*(left - right)))
    d = max(d, 1e-3)
    ex = (left - right) / d
    ey = np.array([-ex[1], ex[0]])
    return (left + right) / 2, ex, ey, d


def crop_matrix(face: Face, spec: CropSpec) -> np.ndarray:
    """2x3 affine from output pixel (u, v) to image pixel (x, y)."""
    origin, ex, ey, d = face_axes(face)
    anchor = origin if spec.anchor == "eyes" else np.array(face.keypoints[spec.anchor])
    centre = anchor + d * (spec.offset[0] * ex + spec.offset[1] * ey)
    w, h = spec.out
    sx = spec.size[0] * d / w * (-1 if spec.mirror else 1)
    sy = spec.size[1] * d / h
    a, b = sx * ex, sy * ey
    c = centre - a * (w / 2 - 0.5) - b * (h / 2 - 0.5)
    return np.array([[a[0], b[0], c[0]], [a[1], b[1], c[1]]], np.float64)


def crop(image: np.ndarray, face: Face, spec: CropSpec) -> np.ndarray:
    """The aligned crop of `spec` from an image (any channel count), out-of-frame = edge."""
    return cv2.warpAffine(
        image, crop_matrix(face, spec), spec.out,
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE,
    )


def region_polygon(face: Face, spec: CropSpec) -> np.ndarray:
    """The crop's four corners in image pixels (for drawing and coverage labels)."""
    m = crop_matrix(face, spec)
    w, h = spec.out
    corners = np.array([[-0.5, -0.5, 1], [w - 0.5, -0.5, 1], [w - 0.5, h - 0.5, 1],
                        [-0.5, h - 0.5, 1]])
    return corners @ m.T


# The presentation-attack model (MiniFASNet) was trained on axis-aligned crops around a
# WIDER-FACE-style detector box scaled by 2.7 or 4.0, kept inside the frame by shifting (and,
# near the frame size, shrinking) rather than padding, then resized to 80x80 whatever their
# aspect. The kiosk's BlazeFace box is a square around the inner face; the WIDER-style box is
# narrower, taller and higher. These factors map one to the other; they were measured with
# YuNet (a WIDER-FACE detector) against BlazeFace on NUAA frames (models/presentation_attack.md).
WIDER_BOX = (0.89, 1.19, -0.125)  # width, height, centre shift down; in BlazeFace box sides


@dataclass(frozen=True)
class ContextCrop:
    scale: float  # times the WIDER-style face box
    out: tuple[int, int] = (80, 80)


def context_box(face: Face, scale: float, frame_size: tuple[int, int]) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1), inclusive, of the context crop inside a frame of (width, height)."""
    fw, fh = frame_size
    x, y, w, h = face.box
    kw, kh, shift = WIDER_BOX
    bw, bh = w * kw, h * kh
    cx, cy = x + w / 2, y + h / 2 + shift * h
    scale = min(scale, (fh - 1) / bh, (fw - 1) / bw)  # never larger than the frame
    half_w, half_h = bw * scale / 2, bh * scale / 2
    x0 = min(max(cx - half_w, 0.0), fw - 1 - 2 * half_w)
    y0 = min(max(cy - half_h, 0.0), fh - 1 - 2 * half_h)
    return int(x0), int(y0), int(x0 + 2 * half_w), int(y0 + 2 * half_h)


def context_crop(image: np.ndarray, face: Face, spec: ContextCrop) -> np.ndarray:
    """The face with its surroundings (frame edges, a photo's border, a screen's bezel)."""
    x0, y0, x1, y1 = context_box(face, spec.scale, (image.shape[1], image.shape[0]))
    return cv2.resize(image[y0:y1 + 1, x0:x1 + 1], spec.out, interpolation=cv2.INTER_LINEAR)
