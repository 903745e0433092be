"""The daemon iteration with fakes: a camera that vanishes, a disk that fills, the selfie saved."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import cv2
import numpy as np
import pytest

from kiosk import messages
from kiosk.config import Config
from kiosk.daemon import CAMERA_RETRY_S, Kiosk
from kiosk.domain import Frame
from kiosk.errors import CameraError, StoreFullError
from kiosk.session.machine import Stage
from kiosk.vision import stack

pytestmark = pytest.mark.emulator


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


class FakeCamera:
    """Serves one real photo as a stream; `unplug()` makes it fail like a vanished camera."""

    def __init__(self, image: np.ndarray, clock: Clock) -> None:
        self.image, self.clock, self.index, self.broken, self.closed = image, clock, 0, False, False

    def start(self) -> None:
        pass

    def read(self) -> Frame | None:
        if self.broken:
            raise CameraError("VIDIOC_DQBUF: No such device")
        self.index += 1
        return Frame(self.image, self.clock.now, self.index)

    def still(self) -> np.ndarray:
        return np.ascontiguousarray(np.repeat(np.repeat(self.image, 2, 0), 2, 1))  # "main stream"

    def close(self) -> None:
        self.closed = True


@dataclass
class FakeStore:
    full: bool = False
    saved: list[tuple[np.ndarray, dict]] = field(default_factory=list)
    root: str = "."

    def check_ready(self) -> None:
        if self.full:
            raise StoreFullError("disk almost full: 12 MB free, the reserve is 500 MB")

    def save(self, image: np.ndarray, meta: dict) -> str:
        self.check_ready()
        self.saved.append((image, meta))
        return f"{len(self.saved):010d}-test"

    def stats(self) -> dict:
        return {"pending": len(self.saved)}


@pytest.fixture(scope="module")
def vision():
    return stack.build(Config())


@pytest.fixture
def portrait(astronaut) -> np.ndarray:
    """A 640x480 frame with the frontal NASA portrait face centred and big enough to keep."""
    big = cv2.resize(astronaut, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    return np.ascontiguousarray(big[16:496, 130:770])


def make(vision, live_face, store=None, cameras=None):
    clock = Clock()
    cams = cameras if cameras is not None else []

    def open_camera():
        cam = FakeCamera(live_face, clock)
        cams.append(cam)
        return cam

    kiosk = Kiosk(Config(), open_camera=open_camera, display=None, leds=None,
                  vision=vision, store=store or FakeStore(), catalogue=messages.load("en"),
                  clock=clock, rng=random.Random(0))
    return kiosk, clock, cams


def run(kiosk, clock, seconds: float) -> list[bool]:
    healthy = []
    for _ in range(round(seconds * 15)):
        healthy.append(kiosk.iteration(clock.now))
        clock.now += 1 / 15
    return healthy


def test_a_vanished_camera_is_a_fault_then_recovers_when_it_is_back(vision, live_face):
    kiosk, clock, cams = make(vision, live_face)
    run(kiosk, clock, 1)
    assert kiosk.session.active
    cams[-1].broken = True
    healthy = run(kiosk, clock, 0.5)
    assert kiosk.session.stage == Stage.FAULT and "camera failed" in kiosk.session.fault_reason
    # the loop stays healthy: the fault is on screen and retried, a restart would not help
    assert cams[0].closed and all(healthy)
    assert kiosk.status["stage"] == "fault"
    assert kiosk.session.prompt.kind == "out_of_service"
    run(kiosk, clock, CAMERA_RETRY_S + 1)  # reopened after the retry delay
    assert len(cams) == 2 and kiosk.session.stage != Stage.FAULT


def test_a_full_disk_stops_sessions_until_space_is_freed(vision, live_face):
    store = FakeStore(full=True)
    kiosk, clock, _ = make(vision, live_face, store)
    run(kiosk, clock, 1)
    assert kiosk.session.stage == Stage.FAULT and "disk almost full" in kiosk.session.fault_reason
    store.full = False
    run(kiosk, clock, CAMERA_RETRY_S + 1)
    assert kiosk.session.stage in (Stage.IDLE, Stage.POSITION, Stage.LIVENESS)


def test_selfie_is_the_full_resolution_still_with_metadata(vision, portrait, monkeypatch):
    """Drive the session to CAPTURE with a blink-free photo by passing liveness directly."""
    store = FakeStore()
    kiosk, clock, _ = make(vision, portrait, store)
    run(kiosk, clock, 2)
    assert kiosk.session.stage == Stage.LIVENESS
    monkeypatch.setattr(kiosk.session._liveness_check, "update", lambda t, blink: "passed")
    run(kiosk, clock, 8)
    assert len(store.saved) == 1, kiosk.outcomes
    image, meta = store.saved[0]
    assert image.shape[:2] == (2 * portrait.shape[0], 2 * portrait.shape[1])
    assert set(meta["models"]) == {"face_detector", "eye_state", "occlusion_regions"}
    assert meta["face"]["keypoints"]["left_eye"] and "sharpness" in meta["quality"]
    assert kiosk.captures == 1 and kiosk.outcomes["captured"] == 1


def test_store_failure_at_save_is_a_failed_result_and_a_fault(vision, portrait, monkeypatch):
    store = FakeStore()
    kiosk, clock, _ = make(vision, portrait, store)
    run(kiosk, clock, 2)
    monkeypatch.setattr(kiosk.session._liveness_check, "update", lambda t, blink: "passed")

    def fill_disk(image, meta):
        store.full = True
        raise StoreFullError("disk almost full")

    monkeypatch.setattr(store, "save", fill_disk)
    run(kiosk, clock, 8)
    assert kiosk.captures == 0 and kiosk.outcomes["store_failed"] == 1
    assert kiosk.session.stage == Stage.FAULT
