"""OpenCV webcam camera for the emulator: a reader thread keeps only the newest frame."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from kiosk.errors import CameraError
from kiosk.hardware.camera_thread import LatestFrameReader, ThreadedCamera

log = logging.getLogger(__name__)


class WebcamCamera(ThreadedCamera):
    """A V4L2/OpenCV webcam. `capture_factory(index)` returns a cv2.VideoCapture-like object
    (injected by tests); a camera that fails `max_failures` reads in a row raises CameraError."""

    def __init__(self, index: int, width: int, height: int, clock: Callable[[], float],
                 capture_factory: Callable[[int], Any] = cv2.VideoCapture,
                 max_failures: int = 10, stall_s: float = 5.0) -> None:
        self.index = index
        self.width = width
        self.height = height
        self._factory = capture_factory
        self._cap: Any = None
        self._reader = LatestFrameReader(self._grab, clock, f"webcam {index}",
                                         max_failures=max_failures, stall_s=stall_s)

    def start(self) -> None:
        if self._cap is not None:
            return
        cap = self._factory(self.index)
        if not cap.isOpened():
            cap.release()
            raise CameraError(f"cannot open webcam {self.index} (is one connected? "
                              "try --source FILE or --source demo)")
        # Requests only: a webcam that cannot do this size returns its nearest mode.
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        # A one-frame driver queue keeps latency low where the backend supports it.
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        self._cap = cap
        self._reader.start()

    def _grab(self) -> np.ndarray | None:
        ok, bgr = self._cap.read()
        if not ok or bgr is None:
            return None
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def still(self) -> np.ndarray:
        frame = self._reader.delivered
        if frame is None:
            raise CameraError(f"webcam {self.index}: no frame read yet")
        return frame.image  # the frame read() returned: a fresh array, never written to

    def hold_stills(self, on: bool) -> None:
        pass  # the frame itself is the still

    def close(self) -> None:
        self._reader.stop()
        if self._cap is not None:
            self._cap.release()
            self._cap = None
