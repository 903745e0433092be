"""Raspberry Pi camera through picamera2: lores YUV420 for inference, main stream for the selfie."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from kiosk.errors import CameraError, HardwareUnavailableError
from kiosk.hardware.camera_thread import LatestFrameReader, ThreadedCamera

log = logging.getLogger(__name__)

PICAMERA2_INSTALL = "sudo apt install python3-picamera2"


def yuv420_to_rgb(array: np.ndarray, width: int) -> np.ndarray:
    """picamera2's YUV420 array (height*3/2 rows of `stride` bytes) to RGB of `width` columns.

    The chroma planes use half the stride, so each array row holds two chroma rows: exactly
    the I420 layout of an image `stride` pixels wide. Convert at that width, then drop the
    padding columns on the right.
    """
    rgb = cv2.cvtColor(array, cv2.COLOR_YUV2RGB_I420)
    return np.ascontiguousarray(rgb[:, :width]) if rgb.shape[1] != width else rgb


def _import_picamera2() -> Any:
    try:
        from picamera2 import Picamera2
    except ImportError as e:  # off a Pi: "No module named 'libcamera'"
        raise HardwareUnavailableError(
            f"picamera2 is not available ({e}); on Raspberry Pi OS run `{PICAMERA2_INSTALL}` "
            "and use a venv with --system-site-packages (never pip-install picamera2)") from e
    return Picamera2


# Held requests: the newest (until read) and the one read last (until the next read), so
# libcamera keeps filling the other buffers; each main buffer is ~9 MB of CMA memory.
BUFFER_COUNT = 6


class PiCamera(ThreadedCamera):
    """The Pi camera: one background thread talks to picamera2 and keeps the newest lores
    frame (YUV420 -> RGB). While stills are held, the capture request behind each frame stays
    with it (no copy) and `still()` copies the main-stream image of the frame read last: one
    9 MB copy per selfie candidate instead of one per frame."""

    def __init__(self, width: int, height: int, still_size: tuple[int, int], fps: float,
                 clock: Callable[[], float], max_failures: int = 5, stall_s: float = 3.0) -> None:
        self.size = (width - width % 2, height - height % 2)  # YUV420 needs even sizes
        self.still_size = still_size
        self.fps = fps
        self._cam: Any = None
        self._lores_width = self.size[0]
        self._hold = False
        self._reader = LatestFrameReader(self._grab, clock, "picamera2",
                                         max_failures=max_failures, stall_s=stall_s,
                                         release=lambda request: request.release())

    def start(self) -> None:
        if self._cam is not None:
            return
        picamera2 = _import_picamera2()
        frame_us = int(round(1_000_000 / self.fps))
        try:
            cam = picamera2()
            config = cam.create_video_configuration(
                # "BGR888" is R, G, B byte order in numpy ("RGB888" would be B, G, R): the
                # pipeline's and the store's order, so the still is never converted
                main={"size": self.still_size, "format": "BGR888"},
                lores={"size": self.size, "format": "YUV420"},  # the Pi 4's lores is YUV only
                controls={"FrameDurationLimits": (frame_us, frame_us)},  # fixed rate, in us
                buffer_count=BUFFER_COUNT,
            )
            cam.configure(config)
            cam.start()
            self._lores_width = int(cam.camera_configuration()["lores"]["size"][0])
        except (RuntimeError, OSError, ValueError, IndexError, KeyError) as e:
            raise CameraError(f"cannot start the Pi camera: {e} (is it connected and enabled? "
                              "`rpicam-hello --list-cameras` lists what libcamera sees)") from e
        self._cam = cam
        self._reader.start()

    def _grab(self) -> tuple[np.ndarray, Any]:
        request = self._cam.capture_request()
        try:
            image = yuv420_to_rgb(request.make_array("lores"), self._lores_width)
        except BaseException:
            request.release()
            raise
        if self._hold:
            return image, request  # released by the reader once superseded or read past
        request.release()  # return the buffers to libcamera at once
        return image, None

    def hold_stills(self, on: bool) -> None:
        self._hold = on

    def still(self) -> np.ndarray:
        """The full-resolution twin of the frame read() returned last (held requests only)."""
        request = self._reader.delivered_extra
        if request is None:
            raise CameraError("no full-resolution image is held for this frame "
                              "(stills were not being held when it was captured)")
        return np.asarray(request.make_array("main"))

    def close(self) -> None:
        self._reader.stop()
        if self._cam is not None:
            try:
                self._cam.stop()
                self._cam.close()
            except (RuntimeError, OSError) as e:
                log.warning("closing the Pi camera: %s", e)
            self._cam = None
