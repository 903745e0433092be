"""Per-frame quality measures of the main face: size, centring, exposure, sharpness, pose."""

from __future__ import annotations

import math

import cv2
import numpy as np

from kiosk.domain import Face, Quality
from kiosk.vision import crops

# Sharpness and exposure are measured on the aligned face crop: its fixed size (face scaled to
# a constant inter-eye distance) is what normalises the Laplacian variance by face size.
QUALITY_CROP = crops.CropSpec("eyes", (0.0, 0.45), (2.0, 2.2), (96, 104))
# Appearance (continuity) looks at the inner face only, so that background and hair entering
# the corners as the head turns do not count as a change. The crop is taken at 3x the
# signature size and area-averaged down: a direct 16-px warp aliases, and then sub-pixel
# keypoint jitter alone changes the patch (measured in models/continuity.md).
APPEARANCE = crops.CropSpec("eyes", (0.0, 0.45), (1.6, 1.75), (48, 52))
SIGNATURE_SIZE = (16, 16)


def face_gray(image: np.ndarray, face: Face, spec: crops.CropSpec = QUALITY_CROP) -> np.ndarray:
    return cv2.cvtColor(crops.crop(image, face, spec), cv2.COLOR_RGB2GRAY)


def exposure(gray: np.ndarray) -> tuple[float, float, float]:
    """(mean luma, p95 - p5 range, clipped fraction) of a grey face crop."""
    hist = np.bincount(gray.ravel(), minlength=256).astype(np.float64)
    cdf = np.cumsum(hist) / hist.sum()
    p5, p95 = int(np.searchsorted(cdf, 0.05)), int(np.searchsorted(cdf, 0.95))
    mean = float((hist * np.arange(256)).sum() / hist.sum())
    clipped = float((hist[:6].sum() + hist[250:].sum()) / hist.sum())
    return mean, float(p95 - p5), clipped


def sharpness(gray: np.ndarray) -> float:
    """Variance of the Laplacian on the size-normalised face crop."""
    return float(cv2.Laplacian(gray, cv2.CV_32F).var())


def pose(face: Face) -> tuple[float, float]:
    """(yaw in -1..1, roll in degrees) from the keypoints; yaw 0 = nose between the eyes."""
    origin, ex, _, d = crops.face_axes(face)
    nose = np.array(face.keypoints["nose"])
    yaw = float(np.clip(2 * np.dot(nose - origin, ex) / d, -1, 1))
    roll = math.degrees(math.atan2(ex[1], ex[0]))
    return yaw, roll


def appearance(image: np.ndarray, face: Face) -> tuple[np.ndarray, tuple[float, float, float]]:
    """What appearance continuity compares, from one crop of the inner face:

    - the signature: a small zero-mean, unit-norm grey patch;
    - the colour: (mean Lab a*, mean Lab b*, mean HSV saturation). Prints render skin with
      other chroma and saturation than the live face under the same light; exposure-normalised
      grey patches cannot see that. Means need no detail: they use a 2x smaller copy.
    """
    rgb = crops.crop(image, face, APPEARANCE)
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    patch = cv2.resize(grey, SIGNATURE_SIZE, interpolation=cv2.INTER_AREA).ravel()
    patch = patch - patch.mean()
    signature = patch / max(float(np.linalg.norm(patch)), 1e-6)
    w, h = APPEARANCE.out
    small = cv2.resize(rgb, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(small, cv2.COLOR_RGB2LAB).reshape(-1, 3).mean(0)
    sat = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)[..., 1].mean()
    return signature, (float(lab[1]) - 128.0, float(lab[2]) - 128.0, float(sat))


def measure(image: np.ndarray, face: Face, previous: Face | None) -> tuple[Quality, np.ndarray]:
    """The face's quality measures, and its appearance signature (they share a crop)."""
    h, w = image.shape[:2]
    gray = face_gray(image, face)
    mean, luma_range, clipped = exposure(gray)
    yaw, roll = pose(face)
    signature, (chroma_a, chroma_b, saturation) = appearance(image, face)
    cx, cy = face.center
    d = face.eye_distance
    motion = 0.0
    if previous is not None:
        px, py = previous.center
        motion = float(math.hypot(cx - px, cy - py) / max(d, 1e-3))
    return Quality(
        face_size=d / w,
        eye_distance_px=d,
        offset_x=cx / w - 0.5,
        offset_y=cy / h - 0.5,
        luminance=mean,
        luma_range=luma_range,
        clipped=clipped,
        sharpness=sharpness(gray),
        yaw=yaw,
        roll_deg=roll,
        motion=motion,
        chroma_a=chroma_a,
        chroma_b=chroma_b,
        saturation=saturation,
    ), signature
