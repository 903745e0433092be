"""Threaded cameras: the webcam with a fake VideoCapture, and the Pi camera's pure parts."""

from __future__ import annotations

import sys
import threading
import time

import cv2
import numpy as np
import pytest

from kiosk.config import parse
from kiosk.errors import CameraError, HardwareUnavailableError
from kiosk.hardware.camera import PiCamera, WebcamCamera, open_camera
from kiosk.hardware.camera_pi import yuv420_to_rgb

pytestmark = pytest.mark.emulator


class FakeCapture:
    """Stands in for cv2.VideoCapture: numbered BGR frames, then failures after `alive` reads."""

    def __init__(self, alive: int = 10**9, opened: bool = True) -> None:
        self.alive = alive
        self.opened = opened
        self.reads = 0
        self.props: dict[int, float] = {}
        self.released = False
        self.gate = threading.Semaphore(0)  # the test lets frames through one at a time

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
        return self.opened

    def set(self, prop: int, value: float) -> bool:
        self.props[prop] = value
        return True

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self.released or not self.gate.acquire(timeout=0.1) or self.reads >= self.alive:
            return False, None
        self.reads += 1
        bgr = np.zeros((4, 6, 3), np.uint8)
        bgr[..., 2] = self.reads  # red channel in BGR order
        return True, bgr

    def release(self) -> None:
        self.released = True
        self.gate.release(10)  # unblock a pending read


def wait_for(predicate, timeout: float = 2.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.005)


def test_webcam_keeps_only_the_newest_frame() -> None:
    fake = FakeCapture()
    cam = WebcamCamera(1, 640, 480, time.monotonic, capture_factory=lambda i: fake)
    cam.start()
    assert fake.props[cv2.CAP_PROP_FRAME_WIDTH] == 640
    for _ in range(3):
        fake.gate.release()
    wait_for(lambda: fake.reads >= 3)
    wait_for(lambda: (f := cam._reader.newest()) is not None and f.index == 2)
    frame = cam.read()
    assert frame is not None and frame.index == 2
    assert frame.image[0, 0, 0] == 3 and frame.image[0, 0, 2] == 0  # converted to RGB
    assert cam.dropped == 2
    assert cam.read() is None  # nothing new since
    assert cam.still()[0, 0, 0] == 3
    cam.close()
    assert fake.released


def test_vanishing_webcam_raises_camera_error_from_read() -> None:
    fake = FakeCapture(alive=2)
    cam = WebcamCamera(0, 640, 480, time.monotonic, capture_factory=lambda i: fake,
                       max_failures=3)
    cam.start()
    for _ in range(10):
        fake.gate.release()

    def gone() -> bool:
        try:
            cam.read()
        except CameraError as e:
            assert "stopped delivering frames" in str(e)
            return True
        return False

    wait_for(gone)
    cam.close()


def test_webcam_that_does_not_open() -> None:
    cam = WebcamCamera(7, 640, 480, time.monotonic,
                       capture_factory=lambda i: FakeCapture(opened=False))
    with pytest.raises(CameraError, match="cannot open webcam 7"):
        cam.start()


def test_stalled_webcam_is_a_camera_error() -> None:
    fake = FakeCapture()
    now = [0.0]
    cam = WebcamCamera(0, 640, 480, lambda: now[0], capture_factory=lambda i: fake, stall_s=5)
    cam.start()
    assert cam.read() is None
    now[0] = 6.0  # no frame for 6 s on the injected clock
    with pytest.raises(CameraError, match="no frame for 5 s"):
        cam.read()
    cam.close()


def test_open_camera_webcam_and_picamera2_choices() -> None:
    assert isinstance(open_camera(parse({"camera": {"source": "webcam"}}), time.monotonic),
                      WebcamCamera)
    cam = open_camera(parse({"camera": {"source": "picamera2"}}), time.monotonic)
    assert isinstance(cam, PiCamera)


def test_picamera_off_a_pi_names_the_apt_package() -> None:
    try:
        import picamera2  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("picamera2 is installed here")
    cam = PiCamera(640, 480, (2304, 1296), 15, time.monotonic)
    with pytest.raises(HardwareUnavailableError, match="sudo apt install python3-picamera2"):
        cam.start()


@pytest.mark.parametrize("stride", [64, 96])
def test_yuv420_with_stride_padding_converts_to_rgb(stride: int) -> None:
    """Build picamera2's YUV420 array layout (rows of `stride` bytes) from a known RGB image."""
    w, h = 64, 32
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[:, : w // 2] = (220, 30, 30)  # red left half
    rgb[:, w // 2:] = (30, 30, 220)  # blue right half
    i420 = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420).reshape(-1)
    y = i420[: w * h].reshape(h, w)
    u = i420[w * h: w * h * 5 // 4].reshape(h // 2, w // 2)
    v = i420[w * h * 5 // 4:].reshape(h // 2, w // 2)
    padded = np.zeros((h * 3 // 2, stride), np.uint8)
    padded[:h, :w] = y
    # chroma planes have stride/2 per row: two chroma rows per array row
    for plane, start in ((u, h), (v, h + h // 4)):
        flat = np.zeros((h // 2, stride // 2), np.uint8)
        flat[:, : w // 2] = plane
        padded[start: start + h // 4] = flat.reshape(h // 4, stride)
    out = yuv420_to_rgb(padded, w)
    assert out.shape == (h, w, 3)
    assert np.abs(out.astype(int) - rgb.astype(int)).max() <= 12


class FakeRequest:
    def __init__(self, cam: FakePicamera2) -> None:
        self.cam = cam
        self.n = cam.captures
        self.released = False

    def make_array(self, name: str) -> np.ndarray:
        assert not self.released, "a released request's buffers belong to libcamera again"
        w, h = self.cam.config[name]["size"]
        rgb = np.zeros((h, w, 3), np.uint8)
        rgb[..., 0] = 10 + (9 * self.n) % 240  # red level numbers the capture
        if name == "main":
            # picamera2's byte orders: "RGB888" is B, G, R in numpy, "BGR888" is R, G, B
            return rgb if self.cam.config["main"]["format"] == "BGR888" else rgb[..., ::-1]
        return cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420)  # stride == width here

    def release(self) -> None:
        assert not self.released, "released twice"
        self.released = True
        self.cam.released += 1


class FakePicamera2:
    """The few picamera2 calls PiCamera makes, with frames numbered by their red level."""

    fail_after = 10**9

    def __init__(self) -> None:
        self.captures = 0
        self.released = 0
        self.config: dict = {}

    def create_video_configuration(self, main, lores, controls, buffer_count):
        return {"main": main, "lores": lores, "controls": controls}

    def configure(self, config) -> None:
        self.config = config

    def start(self) -> None:
        pass

    def camera_configuration(self) -> dict:
        return self.config

    def capture_request(self) -> FakeRequest:
        time.sleep(0.01)
        if self.captures >= self.fail_after:
            raise RuntimeError("camera frontend has timed out")
        self.captures += 1
        return FakeRequest(self)

    def stop(self) -> None:
        pass

    def close(self) -> None:
        pass


@pytest.fixture
def fake_picamera2(monkeypatch):
    import types

    module = types.ModuleType("picamera2")
    made: list[FakePicamera2] = []

    def factory() -> FakePicamera2:
        made.append(FakePicamera2())
        return made[-1]

    module.Picamera2 = factory  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "picamera2", module)
    return made


def _next_frame(cam: PiCamera, after: int):
    wait_for(lambda: (f := cam._reader.newest()) is not None and f.index > after)
    frame = cam.read()
    assert frame is not None
    return frame


def test_picamera_lores_frames_and_the_still_of_the_very_frame_read(fake_picamera2) -> None:
    cam = PiCamera(64, 48, (320, 240), 15, time.monotonic)
    cam.start()
    fake = fake_picamera2[0]
    assert fake.config["controls"]["FrameDurationLimits"] == (66667, 66667)
    assert fake.config["lores"] == {"size": (64, 48), "format": "YUV420"}
    frame = _next_frame(cam, -1)
    assert frame.image.shape == (48, 64, 3)
    with pytest.raises(CameraError, match="not being held"):
        cam.still()  # never waits: outside hold mode there is no still
    assert fake.captures - fake.released <= 1  # every request goes back at once
    cam.hold_stills(True)
    frame = _next_frame(cam, frame.index + 1)  # captured while holding
    for _ in range(5):  # the camera keeps delivering; the frame read stays held, no more
        time.sleep(0.02)
        assert fake.captures - fake.released <= 3
    still = cam.still()  # the main image of the very capture read() returned, no waiting
    assert still.shape == (240, 320, 3)
    assert still[0, 0, 2] == 0 and still[0, 0, 1] == 0  # R, G, B order without a conversion
    assert abs(int(still[0, 0, 0]) - int(frame.image[0, 0, 0])) <= 3
    cam.hold_stills(False)
    _next_frame(cam, _next_frame(cam, frame.index).index)
    cam.close()
    assert fake.released == fake.captures  # every request went back to libcamera, once


def test_picamera_that_stops_raises_camera_error(fake_picamera2) -> None:
    FakePicamera2.fail_after = 3
    try:
        cam = PiCamera(64, 48, (320, 240), 15, time.monotonic, max_failures=3)
        cam.start()

        def gone() -> bool:
            try:
                cam.read()
            except CameraError as e:
                assert "camera frontend has timed out" in str(e)
                return True
            return False

        wait_for(gone)
        cam.close()
    finally:
        FakePicamera2.fail_after = 10**9
