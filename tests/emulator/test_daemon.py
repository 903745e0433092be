"""The daemon iteration with fakes: a camera that vanishes, a disk that fills, the selfie saved."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field

import cv2
import numpy as np
import pytest

from kiosk.config import Config, parse
from kiosk.daemon import Kiosk
from kiosk.domain import Frame
from kiosk.errors import CameraError, StoreFullError
from kiosk.loop import FixedRateLoop
from kiosk.runtime.camera import RETRY_S as CAMERA_RETRY_S
from kiosk.runtime.camera import CameraSupervisor
from kiosk.runtime.screen import Presenter
from kiosk.runtime.status import StatusPublisher
from kiosk.runtime.writer import CaptureWriter, Saved
from kiosk.screens import Texts
from kiosk.session.liveness import LivenessCheck
from kiosk.session.machine import Stage
from kiosk.vision import stack

pytestmark = pytest.mark.emulator


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


class FakeCamera:
    """Serves one real photo as a stream; `unplug()` makes it fail like a vanished camera.

    Its still is the frame upscaled 2x (a "main stream") with the frame index in the first
    pixel, so a test can tell which frame's still was stored."""

    def __init__(self, image: np.ndarray, clock: Clock) -> None:
        self.image, self.clock, self.index, self.broken, self.closed = image, clock, 0, False, False
        self.stills = 0
        self.holding = False

    def start(self) -> None:
        pass

    def read(self) -> Frame | None:
        if self.broken:
            raise CameraError("VIDIOC_DQBUF: No such device")
        self.index += 1
        return Frame(self.image, self.clock(), self.index)

    def still(self) -> np.ndarray:
        assert self.holding, "stills are asked for only while the camera holds them"
        self.stills += 1
        big = np.ascontiguousarray(np.repeat(np.repeat(self.image, 2, 0), 2, 1))
        big[0, 0, 0] = self.index % 256
        return big

    def hold_stills(self, on: bool) -> None:
        self.holding = on

    def close(self) -> None:
        self.closed = True


@dataclass
class FakeStore:
    full: bool = False
    saved: list[tuple[np.ndarray, dict]] = field(default_factory=list)
    root: str = "."
    delay_s: float = 0.0
    threads: set[str] = field(default_factory=set)

    def check_ready(self) -> None:
        if self.full:
            raise StoreFullError("disk almost full: 12 MB free, the reserve is 500 MB")

    def save(self, image: np.ndarray, meta: dict) -> str:
        self.threads.add(threading.current_thread().name)
        time.sleep(self.delay_s)
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


def make(vision, image, store=None, cameras=None, cfg=None, clock=None, stuck_s=30.0):
    clock = clock or Clock()
    cams = cameras if cameras is not None else []

    def open_camera():
        cam = FakeCamera(image, clock)
        cams.append(cam)
        return cam

    writer = CaptureWriter(store or FakeStore(), stuck_s=stuck_s, clock=clock)
    writer.start()
    kiosk = Kiosk(cfg or Config(), camera=CameraSupervisor(open_camera),
                  presenter=Presenter(None, None, Texts("en")), vision=vision,
                  writer=writer, status=StatusPublisher(None, dict), clock=clock,
                  rng=random.Random(0))
    return kiosk, clock, cams


def run(kiosk, clock, seconds: float) -> list[bool]:
    """Iterations at 15 fps on the fake clock; the writer thread finishes each one's work."""
    healthy = []
    for _ in range(round(seconds * 15)):
        healthy.append(kiosk.iteration(clock.now))
        assert kiosk.writer.wait_idle(5.0)
        clock.now += 1 / 15
    return healthy


def pass_liveness(monkeypatch) -> None:
    """A photo cannot blink: let every liveness check pass to reach CAPTURE."""
    monkeypatch.setattr(LivenessCheck, "update", lambda self, *a, **k: "passed")


def test_a_vanished_camera_is_a_fault_then_recovers_when_it_is_back(vision, live_face):
    kiosk, clock, cams = make(vision, live_face)
    run(kiosk, clock, 1)
    assert kiosk.session.active
    cams[-1].broken = True
    healthy = run(kiosk, clock, 0.5)
    assert kiosk.session.stage == Stage.FAULT and "camera failed" in kiosk.session.fault_reason
    # the loop stays healthy: the fault is on screen and retried, a restart would not help
    assert cams[0].closed and all(healthy)
    assert kiosk.status.snapshot()["stage"] == "fault"
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
    pass_liveness(monkeypatch)
    run(kiosk, clock, 8)
    assert len(store.saved) == 1, kiosk.outcomes
    image, meta = store.saved[0]
    assert image.shape[:2] == (2 * portrait.shape[0], 2 * portrait.shape[1])
    assert image[0, 0, 0] == meta["frame_index"] % 256  # the still of the chosen frame
    assert set(meta["models"]) == {"face_detector", "face_detector_yunet", "eye_state",
                                   "occlusion_regions", "presentation_attack"}
    assert meta["face"]["keypoints"]["left_eye"] and "sharpness" in meta["quality"]
    assert kiosk.captures == 1 and kiosk.outcomes["captured"] == 1


def test_store_failure_at_save_is_a_failed_result_and_a_fault(vision, portrait, monkeypatch):
    store = FakeStore()
    kiosk, clock, _ = make(vision, portrait, store)
    pass_liveness(monkeypatch)

    def fill_disk(image, meta):
        store.full = True
        raise StoreFullError("disk almost full")

    monkeypatch.setattr(store, "save", fill_disk)
    run(kiosk, clock, 8)
    assert kiosk.captures == 0 and kiosk.outcomes["store_failed"] == 1
    assert kiosk.session.prompt.key == "reason.store_failed"  # the person is told at once
    run(kiosk, clock, 4)  # once the result was shown: out of service until the disk clears
    assert kiosk.session.stage == Stage.FAULT and "disk almost full" in kiosk.session.fault_reason


def fast_sessions(**capture) -> Config:
    """Sessions of about a second: no hold, the shortest occlusion check, a short result."""
    return parse({"position": {"hold_s": 0.0}, "occlusion": {"duration_s": 0.2},
                  "capture": {"countdown_s": 0.0, **capture}, "session": {"result_s": 0.5}})


def test_with_no_countdown_the_very_first_capture_frame_has_its_still(vision, portrait,
                                                                      monkeypatch):
    store = FakeStore()
    kiosk, clock, cams = make(vision, portrait, store, cfg=fast_sessions())
    pass_liveness(monkeypatch)
    entered: list[int] = []
    step = kiosk.session.step

    def watch(obs, now):
        events = step(obs, now)
        if any(getattr(e, "stage", None) == Stage.CAPTURE for e in events):
            entered.append(obs.index)
        return events

    monkeypatch.setattr(kiosk.session, "step", watch)
    run(kiosk, clock, 1.5)
    assert entered and store.saved, kiosk.outcomes
    # the frame that opened CAPTURE was eligible and is the selfie: its own still was kept
    assert store.saved[0][1]["frame_index"] == entered[0]
    assert store.saved[0][0][0, 0, 0] == entered[0] % 256
    # with no countdown each selfie is its first eligible frame: one still asked for each
    assert cams[-1].stills == len(store.saved)


def test_a_part_that_raises_makes_the_iteration_unhealthy_and_the_loop_goes_on(vision,
                                                                               live_face):
    kiosk, clock, _ = make(vision, live_face)
    assert all(run(kiosk, clock, 0.2))
    process = kiosk.vision.pipeline.process
    kiosk.vision.pipeline.process = lambda *a, **k: 1 / 0  # type: ignore[method-assign]
    assert run(kiosk, clock, 0.2) == [False] * 3
    assert kiosk.status.snapshot()["healthy"] is False
    assert "ZeroDivisionError" in kiosk.status.snapshot()["problem"]
    kiosk.vision.pipeline.process = process  # type: ignore[method-assign]
    assert all(run(kiosk, clock, 0.2)) and kiosk.status.snapshot()["problem"] == ""


def test_a_stuck_writer_makes_iterations_unhealthy(vision, portrait, monkeypatch):
    gate = threading.Event()
    store = FakeStore()
    kiosk, clock, _ = make(vision, portrait, store, cfg=fast_sessions(), stuck_s=3.0)
    pass_liveness(monkeypatch)
    monkeypatch.setattr(store, "save", lambda image, meta: gate.wait() and "never")
    healthy = []
    for _ in range(8 * 15):  # the writer hangs on the first save and never finishes
        healthy.append(kiosk.iteration(clock.now))
        clock.now += 1 / 15
    assert healthy[0] and not healthy[-1]
    assert "capture write has been running" in kiosk.problem
    gate.set()


def test_a_full_writer_queue_fails_the_session_instead_of_blocking(vision, portrait,
                                                                   monkeypatch):
    gate = threading.Event()
    store = FakeStore()
    kiosk, clock, _ = make(vision, portrait, store, cfg=fast_sessions())
    pass_liveness(monkeypatch)
    monkeypatch.setattr(store, "save", lambda image, meta: gate.wait(5) and "late")
    for _ in range(6 * 15):
        kiosk.iteration(clock.now)
        clock.now += 1 / 15
    assert kiosk.outcomes["store_busy"] >= 1, kiosk.outcomes
    gate.set()


class SlowStore(FakeStore):
    """Every save takes 200 ms of the loop's clock (JPEG, sealing and fsyncs on a slow card):
    on the loop thread it costs the loop those 200 ms; on the writer thread it waits for the
    clock, which only the loop moves."""

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock

    def save(self, image: np.ndarray, meta: dict) -> str:
        if threading.current_thread() is threading.main_thread():
            self.clock.now += 0.2
        else:
            done_at = self.clock.now + 0.2
            while self.clock.now < done_at:
                time.sleep(0.001)
        return super().save(image, meta)


class ClockStop(threading.Event):
    """The loop's waits move the fake clock instead of sleeping (and let the writer run)."""

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock

    def wait(self, timeout: float | None = None) -> bool:
        self.clock.now += timeout or 0
        time.sleep(0.001)
        return self.is_set()


def loop_with_slow_saves(vision, portrait, monkeypatch, seconds: float):
    clock = Clock()
    store = SlowStore(clock)
    kiosk, _, _ = make(vision, portrait, store, cfg=fast_sessions(), clock=clock)
    pass_liveness(monkeypatch)
    stop = ClockStop(clock)
    started = clock.now

    def iteration(now: float) -> bool:
        if now - started > seconds:
            stop.set()
        healthy = kiosk.iteration(now)
        clock.now += 0.004  # the pipeline's own time per frame (kiosk bench: 2.5 ms median)
        return healthy

    stats = FixedRateLoop(1 / 15, iteration, clock, stop=stop, stats=kiosk.loop_stats).run()
    kiosk.writer.close()
    return stats, store, kiosk


def test_slow_saves_never_make_the_loop_overrun(vision, portrait, monkeypatch):
    stats, store, kiosk = loop_with_slow_saves(vision, portrait, monkeypatch, 6.0)
    assert len(store.saved) >= 3, kiosk.outcomes
    assert store.threads == {"capture-writer"}  # never on the loop thread
    assert stats.overruns == 0 and stats.iterations >= 6 * 15 - 1


def test_the_same_saves_on_the_loop_thread_would_overrun(vision, portrait, monkeypatch):
    """The check above can fail: saving inline, as the daemon used to, overruns every time."""

    def inline(self, token, image, metadata):
        self._results.put(Saved(token, self.store.save(image, metadata)))
        return True

    monkeypatch.setattr(CaptureWriter, "submit", inline)
    stats, store, _ = loop_with_slow_saves(vision, portrait, monkeypatch, 6.0)
    assert store.saved and stats.overruns >= len(store.saved)
