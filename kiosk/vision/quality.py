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
SIGNATURE = crops.CropSpec("eyes", (0.0, 0.45), (1.8, 2.0), (24, 24))


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


def signature(image: np.ndarray, face: Face) -> np.ndarray:
    """A small zero-mean, unit-norm grey face patch: appearance continuity compares these."""
    patch = face_gray(image, face, SIGNATURE).astype(np.float32).ravel()
    patch -= patch.mean()
    return patch / max(float(np.linalg.norm(patch)), 1e-6)


def measure(image: np.ndarray, face: Face, previous: Face | None) -> Quality:
    h, w = image.shape[:2]
    gray = face_gray(image, face)
    mean, luma_range, clipped = exposure(gray)
    yaw, roll = pose(face)
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
    )
