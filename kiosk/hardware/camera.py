"""Camera factory: the config's `camera.source` picks picamera2, a webcam, the demo or a file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kiosk.config import Config
from kiosk.demo import demo_source
from kiosk.errors import CameraError
from kiosk.hardware.camera_file import FileCamera, FileSourceError
from kiosk.hardware.camera_pi import PiCamera
from kiosk.hardware.camera_webcam import WebcamCamera
from kiosk.hardware.interfaces import Camera

__all__ = ["FileCamera", "FileSourceError", "PiCamera", "WebcamCamera", "open_camera",
           "resolve_source"]


def resolve_source(source: str) -> Path:
    """A file source path; "demo" is the bundled scenario clip."""
    if source != "demo":
        return Path(source).expanduser()
    path = demo_source()
    if not path.is_file():
        raise CameraError(f"the bundled demo clip is missing: {path}")
    return path


def open_camera(cfg: Config, clock: Callable[[], float], realtime: bool = True,
                fps: float | None = None) -> Camera:
    """The camera named by `cfg.camera.source` (not started).

    "picamera2" (Pi), "webcam" (OpenCV device `camera.webcam_index`), "demo" (bundled clip),
    or a video file / directory of images (`fps` = the images' rate, default 15).
    """
    c = cfg.camera
    if c.source == "picamera2":
        return PiCamera(c.width, c.height, (c.still_width, c.still_height), cfg.loop.fps, clock)
    if c.source == "webcam":
        return WebcamCamera(c.webcam_index, c.width, c.height, clock)
    path = resolve_source(c.source)
    if not path.exists():
        raise FileSourceError(f"camera source {c.source!r} is neither picamera2, webcam, demo "
                              "nor an existing file or directory")
    return FileCamera(path, clock, realtime=realtime, loop=c.loop, fps=fps)
