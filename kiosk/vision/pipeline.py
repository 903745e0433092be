"""Frame -> Observation: detection, crops, eye-state and region models, quality."""

from __future__ import annotations

import time
from typing import Protocol

import numpy as np

from kiosk.domain import Eyes, Face, Frame, Observation
from kiosk.vision import quality
from kiosk.vision.detector import FaceDetector


class EyeModel(Protocol):
    def predict(self, image: np.ndarray, face: Face) -> Eyes: ...


class RegionsModel(Protocol):
    def predict(self, image: np.ndarray, face: Face) -> dict[str, float]: ...


class AttackScorer(Protocol):
    def predict(self, image: np.ndarray, face: Face) -> float: ...


class Pipeline:
    """Runs every per-frame model on the main (largest) face; remembers it for motion."""

    def __init__(
        self,
        detector: FaceDetector,
        eyes: EyeModel | None = None,
        regions: RegionsModel | None = None,
        attack: AttackScorer | None = None,
    ) -> None:
        self.detector = detector
        self.eyes = eyes
        self.regions = regions
        self.attack = attack
        self._previous: Face | None = None

    def reset(self) -> None:
        self._previous = None

    def process(self, frame: Frame, attack: bool = True) -> Observation:
        """`attack`: score the face with the presentation-attack model on this frame (the
        session asks for it from LIVENESS through CAPTURE, at its own rate)."""
        image = frame.image
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        faces = sorted(self.detector.detect(image), key=lambda f: -f.eye_distance)
        t1 = time.perf_counter()
        timings["detect"] = t1 - t0
        h, w = image.shape[:2]
        if not faces:
            self._previous = None
            return Observation(frame.t, frame.index, (w, h), 0, timings=timings)
        face = faces[0]
        eyes = regions = None
        if self.eyes is not None:
            eyes = self.eyes.predict(image, face)
            t2 = time.perf_counter()
            timings["eyes"], t1 = t2 - t1, t2
        if self.regions is not None:
            regions = self.regions.predict(image, face)
            t2 = time.perf_counter()
            timings["regions"], t1 = t2 - t1, t2
        q, sig = quality.measure(image, face, self._previous)
        t2 = time.perf_counter()
        timings["quality"], t1 = t2 - t1, t2
        p_attack = None
        if attack and self.attack is not None:
            p_attack = self.attack.predict(image, face)
            timings["attack"] = time.perf_counter() - t1
        self._previous = face
        return Observation(
            t=frame.t, index=frame.index, frame_size=(w, h), faces=len(faces), face=face,
            others=tuple(faces[1:]), eyes=eyes, regions=regions, quality=q, attack=p_attack,
            signature=sig, timings=timings,
        )
