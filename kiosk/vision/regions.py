"""Region occlusion model: p(blocked) per named face region from one aligned face crop."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from kiosk.domain import REGIONS, Face
from kiosk.errors import ModelError
from kiosk.vision.crops import FACE, crop
from kiosk.vision.manifest import ModelSpec
from kiosk.vision.runtime import TFLiteModel

MODEL_NAME = "occlusion_regions"

# Largest downscale the plain bilinear crop may do; beyond it the crop is cut at a multiple of
# the size and area-averaged down. Without this, close faces alias (fine hair, glasses frames
# turn into noise) and clean eyes were named blocked three times as often on NUAA frames.
MAX_DIRECT_SHRINK = 1.5


def face_crop(image: np.ndarray, face: Face) -> np.ndarray:
    """The model's input: `crops.FACE` of `face`, anti-aliased for large faces."""
    px_per_eye_distance = FACE.out[0] / FACE.size[0]
    k = max(1, math.ceil(face.eye_distance / px_per_eye_distance / MAX_DIRECT_SHRINK))
    if k == 1:
        return crop(image, face, FACE)
    big = crop(image, face, replace(FACE, out=(FACE.out[0] * k, FACE.out[1] * k)))
    return cv2.resize(big, FACE.out, interpolation=cv2.INTER_AREA)


class RegionModel:
    """One int8 CNN on `crops.FACE` with a sigmoid head per region (subject's point of view)."""

    def __init__(self, model: TFLiteModel) -> None:
        names = model.spec.extra.get("regions")
        if not isinstance(names, list) or not names or any(r not in REGIONS for r in names):
            raise ModelError(
                f"model '{model.spec.name}': manifest 'regions' must list names from {REGIONS}"
            )
        if model.input_shape != (1, FACE.out[1], FACE.out[0], 3):
            raise ModelError(
                f"model '{model.spec.name}' takes {model.input_shape}, the FACE crop is "
                f"{FACE.out[0]}x{FACE.out[1]}x3"
            )
        reported = model.spec.extra.get("reported", names)
        if not isinstance(reported, list) or any(r not in names for r in reported):
            raise ModelError(
                f"model '{model.spec.name}': manifest 'reported' must be a subset of 'regions'"
            )
        self.model = model
        self.outputs: tuple[str, ...] = tuple(names)  # the model's heads, in output order
        # heads whose accuracy was measured on real images (see models/occlusion.md)
        self.regions: tuple[str, ...] = tuple(reported)
        # the mirrored crop shows the subject's left eye where the right one was
        self._swap = [self.outputs.index(_mirror_name(r)) if _mirror_name(r) in self.outputs
                      else i for i, r in enumerate(self.outputs)]
        # the operating point measured by the training recipe; config may override it
        self.threshold = float(model.spec.extra.get("threshold", 0.5))
        # each head's own validated threshold, rescaled onto the common operating point
        at = model.spec.extra.get("thresholds", {})
        if not isinstance(at, dict) or any(r not in names or not 0 < float(t) < 1
                                           for r, t in at.items()):
            raise ModelError(f"model '{model.spec.name}': manifest 'thresholds' must map "
                             "region names to numbers in (0, 1)")
        self.head_thresholds = np.array([float(at.get(r, self.threshold)) for r in names])

    @classmethod
    def from_specs(
        cls, specs: dict[str, ModelSpec], models_dir: Path, num_threads: int = 1
    ) -> RegionModel:
        """From manifest entries (the `occlusion*` ones or all of them); loads and verifies."""
        try:
            spec = specs[MODEL_NAME]
        except KeyError as e:
            raise ModelError(f"{models_dir}/manifest.toml has no [{MODEL_NAME}] entry") from e
        return cls(TFLiteModel(spec, models_dir, num_threads))

    def predict_crop(self, face_crop: np.ndarray) -> dict[str, float]:
        """p(blocked) per reported region for a `crops.FACE` crop (uint8 RGB)."""
        return {r: p for r, p in self.predict_all(face_crop).items() if r in self.regions}

    def predict_all(self, face_crop: np.ndarray) -> dict[str, float]:
        """Every head, including the ones not reported (for analysis and the golden test).

        The recipe validates a threshold per region (manifest `thresholds`); each head's
        output is rescaled so that its threshold lands on the common operating point
        `threshold` (= config `occlusion.threshold`), which the session's smoothing compares
        against. A head without its own threshold is left as it is.

        The crop and its mirror image are both scored and averaged (left/right swapped back):
        on held-out images this gave 1-2 points more recall at about the same false-block
        rate (models/occlusion.md), and it makes the two eyes' verdicts symmetric; it costs
        one more invoke (~0.05 ms)."""
        x = face_crop.astype(np.float32)
        direct = self.model.run(x[None])[0].reshape(-1)
        mirrored = self.model.run(np.ascontiguousarray(x[:, ::-1])[None])[0].reshape(-1)
        out = rescale(np.clip((direct + mirrored[self._swap]) / 2, 0.0, 1.0),
                      self.head_thresholds, self.threshold)
        return {r: float(p) for r, p in zip(self.outputs, out, strict=True)}

    def predict(self, image: np.ndarray, face: Face) -> dict[str, float]:
        """p(blocked) per region of `face` in an RGB uint8 frame."""
        return self.predict_crop(face_crop(image, face))


def rescale(p: np.ndarray, at: np.ndarray, to: float) -> np.ndarray:
    """Monotone piecewise-linear map of [0, 1] onto itself sending `at` to `to` (per head):
    a region whose validated threshold is `at` is then named at the common `to`."""
    return np.where(p < at, p * to / at, to + (p - at) * (1 - to) / (1 - at))


def _mirror_name(region: str) -> str:
    if region.startswith("left_"):
        return "right_" + region[5:]
    if region.startswith("right_"):
        return "left_" + region[6:]
    return region
