"""Camera supervision: open the camera, read the newest frame, reopen it after a failure."""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from kiosk.domain import Frame
from kiosk.errors import CameraError, KioskError
from kiosk.hardware.interfaces import Camera

log = logging.getLogger(__name__)

RETRY_S = 5.0


class CameraSupervisor:
    """Owns the camera's life: `read(now)` returns the newest frame or None, and `fault` says
    why there is no camera right now ("" when frames can arrive). A camera that fails is
    closed and reopened every `retry_s` seconds until it works again."""

    def __init__(self, open_camera: Callable[[], Camera], retry_s: float = RETRY_S) -> None:
        self._open = open_camera
        self.retry_s = retry_s
        self.camera: Camera | None = None
        self.fault = ""
        self.last: Frame | None = None  # the newest frame read, shown while no new one comes
        self._retry_at = float("-inf")
        self._hold = False

    def read(self, now: float) -> Frame | None:
        if self.camera is None and not self._reopen(now):
            return None
        assert self.camera is not None
        try:
            frame = self.camera.read()
        except CameraError as e:
            log.error("camera failed: %s", e, extra={"reason": "camera_failed"})
            self.close()
            self._lost(f"camera failed: {e}", now)
            return None
        if frame is not None:
            self.last = frame
        return frame

    def _reopen(self, now: float) -> bool:
        if now < self._retry_at:
            return False
        camera: Camera | None = None
        try:
            camera = self._open()
            camera.start()
            camera.hold_stills(self._hold)
        except KioskError as e:
            if camera is not None:
                _close_quietly(camera)
            self._lost(f"camera not available: {e}", now)
            return False
        log.info("camera opened")
        self.camera, self.fault = camera, ""
        return True

    def _lost(self, reason: str, now: float) -> None:
        self.fault = reason
        self.last = None
        self._retry_at = now + self.retry_s

    def hold_stills(self, on: bool) -> None:
        """Ask the camera to keep full-resolution stills ready (while a selfie may be taken)."""
        if on != self._hold and self.camera is not None:
            self.camera.hold_stills(on)
        self._hold = on

    def still(self) -> np.ndarray | None:
        """The full-resolution twin of the frame read last, or None if the camera has none."""
        if self.camera is None:
            return None
        try:
            return self.camera.still()
        except CameraError as e:
            log.warning("no full-resolution still: %s", e)
            return None

    def close(self) -> None:
        if self.camera is not None:
            _close_quietly(self.camera)
            self.camera = None


def _close_quietly(camera: Camera) -> None:
    try:
        camera.close()
    except KioskError as e:
        log.warning("camera close failed: %s", e)
