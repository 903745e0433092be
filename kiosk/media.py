"""Reading frames from files: single images, directories of images, and video files."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from kiosk.errors import InputError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".webp", ".tif", ".tiff"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg"}


@dataclass(frozen=True)
class SourceFrame:
    source: Path
    index: int  # within the source
    t: float  # seconds from the source start
    image: np.ndarray  # RGB uint8


def read_image(path: Path) -> np.ndarray:
    """RGB uint8; EXIF orientation applied (cv2.imread does it)."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise InputError(f"{path}: not a readable image")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def image_files(folder: Path) -> list[Path]:
    try:
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    except OSError as e:
        raise InputError(f"{folder}: cannot list: {e}") from e
    return files


def video_fps(path: Path) -> float:
    cap = cv2.VideoCapture(str(path))
    try:
        fps = cap.get(cv2.CAP_PROP_FPS) if cap.isOpened() else 0.0
    finally:
        cap.release()
    return fps if fps and 1 <= fps <= 240 else 0.0


def iter_video(path: Path) -> Iterator[SourceFrame]:
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise InputError(f"{path}: not a readable video")
    fps = video_fps(path) or 15.0
    index = 0
    try:
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            yield SourceFrame(path, index, index / fps, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            index += 1
    finally:
        cap.release()
    if index == 0:
        raise InputError(f"{path}: video has no decodable frames (truncated or corrupt?)")


def iter_source(path: Path, fps: float = 15.0) -> Iterator[SourceFrame]:
    """Frames of one path: an image (t=0), a directory (sorted, t=i/fps) or a video."""
    if path.is_dir():
        files = image_files(path)
        if not files:
            raise InputError(f"{path}: no images in this directory")
        for i, f in enumerate(files):
            yield SourceFrame(f, i, i / fps, read_image(f))
    elif not path.exists():
        raise InputError(f"{path}: no such file or directory")
    elif path.suffix.lower() in IMAGE_SUFFIXES:
        yield SourceFrame(path, 0, 0.0, read_image(path))
    elif path.suffix.lower() in VIDEO_SUFFIXES:
        yield from iter_video(path)
    else:
        raise InputError(f"{path}: unknown file type (expected an image, a video or a directory)")


def source_fps(path: Path, default: float = 15.0) -> float:
    """A video's own rate; `default` for directories of frames."""
    if path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES:
        return video_fps(path) or default
    return default
