"""Frame -> Observation: detection, crops, eye-state and region models, quality."""

from __future__ import annotations

import time
from typing import Protocol

import numpy as np

from kiosk.domain import Eyes, Face, Frame, Observation
from kiosk.vision import quality
from kiosk.vision.detector import FaceDetector
from kiosk.vision.fallback import SCAN_S, SEARCH_S, Fallback


class EyeModel(Protocol):
    def predict(self, image: np.ndarray, face: Face) -> Eyes: ...


class RegionsModel(Protocol):
    def predict(self, image: np.ndarray, face: Face) -> dict[str, float]: ...


class AttackScorer(Protocol):
    def predict(self, image: np.ndarray, face: Face) -> float: ...


def overlaps(a: Face, b: Face) -> bool:
    """`a`'s centre lies inside `b`'s box: the same face found twice."""
    x, y, w, h = b.box
    cx, cy = a.center
    return x <= cx <= x + w and y <= cy <= y + h


class Pipeline:
    """Runs every per-frame model on the main (largest) face; remembers it for motion.

    When BlazeFace finds nothing near the face it saw less than `fallback.SEARCH_S` ago, the
    fallback (YuNet around that face) looks again, and a face found so becomes the main face;
    when it finds nothing at all and no face was seen lately, YuNet scans the whole frame
    (at most every `fallback.SCAN_S`)."""

    def __init__(
        self,
        detector: FaceDetector,
        eyes: EyeModel | None = None,
        regions: RegionsModel | None = None,
        attack: AttackScorer | None = None,
        fallback: Fallback | None = None,
    ) -> None:
        self.detector = detector
        self.eyes = eyes
        self.regions = regions
        self.attack = attack
        self.fallback = fallback
        self._previous: Face | None = None
        self._seen: tuple[float, Face] | None = None  # when and where the main face last was
        self._scanned: float | None = None  # when the whole frame was last scanned

    def reset(self) -> None:
        self._previous = None
        self._seen = None
        self._scanned = None

    def find(self, frame: Frame, timings: dict[str, float]) -> list[Face]:
        """Every face, the main one first."""
        t0 = time.perf_counter()
        faces = sorted(self.detector.detect(frame.image), key=lambda f: -f.eye_distance)
        timings["detect"] = time.perf_counter() - t0
        if self.fallback is None:
            return faces
        t0 = time.perf_counter()
        if self._seen is not None and frame.t - self._seen[0] <= SEARCH_S:
            seen = self._seen[1]
            if Fallback.near(faces, seen) is not None:
                return faces
            found = self.fallback.find(frame.image, seen)
            if found is not None:
                # BlazeFace may have the same face, too far moved to count as near: one face
                faces = [found, *(f for f in faces if not overlaps(f, found))]
        elif not faces and (self._scanned is None or
                            not 0 <= frame.t - self._scanned < SCAN_S):
            self._scanned = frame.t
            faces = self.fallback.scan(frame.image)
        else:
            return faces
        timings["fallback"] = time.perf_counter() - t0
        return faces

    def process(self, frame: Frame, attack: bool = True) -> Observation:
        """`attack`: score the face with the presentation-attack model on this frame (the
        session asks for it from LIVENESS through CAPTURE, at its own rate)."""
        image = frame.image
        timings: dict[str, float] = {}
        faces = self.find(frame, timings)
        t1 = time.perf_counter()
        h, w = image.shape[:2]
        if not faces:
            self._previous = None
            return Observation(frame.t, frame.index, (w, h), 0, timings=timings)
        face = faces[0]
        self._seen = (frame.t, face)
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
        # a face only the fallback found is mostly covered, its crop placed from guessed
        # keypoints: not what the attack model judges
        if attack and self.attack is not None and face.detector == "blazeface":
            p_attack = self.attack.predict(image, face)
            timings["attack"] = time.perf_counter() - t1
        self._previous = face
        return Observation(
            t=frame.t, index=frame.index, frame_size=(w, h), faces=len(faces), face=face,
            others=tuple(faces[1:]), eyes=eyes, regions=regions, quality=q, attack=p_attack,
            signature=sig, timings=timings,
        )
