"""Raspberry Pi camera through picamera2: lores YUV420 for inference, main stream for the selfie."""

from __future__ import annotations

import logging
import time
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


# After a still is asked for, every capture carries its main-stream image for this long, so
# the daemon's per-frame still() during the countdown returns the exact twin of the lores
# frame it analysed without waiting; outside that window the costly main copy is skipped.
STILL_MODE_S = 3.0


class PiCamera(ThreadedCamera):
    """The Pi camera: one background thread talks to picamera2 and keeps the newest lores
    frame (YUV420 -> RGB); `still()` returns the main-stream image of the same capture."""

    def __init__(self, width: int, height: int, still_size: tuple[int, int], fps: float,
                 clock: Callable[[], float], max_failures: int = 5, stall_s: float = 3.0) -> None:
        self.size = (width - width % 2, height - height % 2)  # YUV420 needs even sizes
        self.still_size = still_size
        self.fps = fps
        self._clock = clock
        self._cam: Any = None
        self._lores_width = self.size[0]
        self._still_until = float("-inf")
        self._reader = LatestFrameReader(self._grab, clock, "picamera2",
                                         max_failures=max_failures, stall_s=stall_s)

    def start(self) -> None:
        if self._cam is not None:
            return
        picamera2 = _import_picamera2()
        frame_us = int(round(1_000_000 / self.fps))
        try:
            cam = picamera2()
            config = cam.create_video_configuration(
                main={"size": self.still_size, "format": "RGB888"},  # B, G, R bytes in numpy
                lores={"size": self.size, "format": "YUV420"},
                controls={"FrameDurationLimits": (frame_us, frame_us)},  # fixed rate, in us
                buffer_count=4,
            )
            cam.configure(config)
            cam.start()
            self._lores_width = int(cam.camera_configuration()["lores"]["size"][0])
        except (RuntimeError, OSError, ValueError, IndexError, KeyError) as e:
            raise CameraError(f"cannot start the Pi camera: {e} (is it connected and enabled? "
                              "`rpicam-hello --list-cameras` lists what libcamera sees)") from e
        self._cam = cam
        self._reader.start()

    def _grab(self) -> tuple[np.ndarray, np.ndarray | None]:
        request = self._cam.capture_request()
        try:
            lores = request.make_array("lores")
            main = request.make_array("main") if self._clock() < self._still_until else None
        finally:
            request.release()  # return the buffers to libcamera at once
        still = cv2.cvtColor(main, cv2.COLOR_BGR2RGB) if main is not None else None
        return yuv420_to_rgb(lores, self._lores_width), still

    def still(self) -> np.ndarray:
        """The full-resolution twin of the last frame read(); waits for the next capture if
        that one was taken outside still mode."""
        if self._cam is None:
            raise CameraError("the Pi camera is not started")
        self._still_until = self._clock() + STILL_MODE_S
        if self._reader.delivered_extra is not None:
            return np.asarray(self._reader.delivered_extra)
        deadline = self._clock() + max(1.0, 5 / self.fps)
        while self._clock() < deadline:
            newest = self._reader.newest_extra()
            if newest is not None:
                return np.asarray(newest)
            time.sleep(0.2 / self.fps)
        raise CameraError("the Pi camera delivered no full-resolution frame")

    def close(self) -> None:
        self._reader.stop()
        if self._cam is not None:
            try:
                self._cam.stop()
                self._cam.close()
            except (RuntimeError, OSError) as e:
                log.warning("closing the Pi camera: %s", e)
            self._cam = None
