"""Frames from files for analyze, replay and bench: one image, a folder of images, a video.

Built on the file camera's sources, so every command reads and rejects files the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kiosk.errors import InputError
from kiosk.hardware.camera_file import (
    DEFAULT_DIR_FPS,
    IMAGE_SUFFIXES,
    list_images,
    open_source,
    read_image_rgb,
)

__all__ = ["SourceFrame", "image_files", "is_image", "iter_source", "source_fps"]

image_files = list_images


@dataclass(frozen=True)
class SourceFrame:
    source: Path
    index: int  # within the source
    t: float  # seconds from the source start
    image: np.ndarray  # RGB uint8


def is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES


def iter_source(path: Path, fps: float = DEFAULT_DIR_FPS) -> Iterator[SourceFrame]:
    """An image (t=0), a directory (sorted by name, t=i/fps) or a video (its own rate)."""
    if not path.exists():
        raise InputError(f"{path}: no such file or directory")
    if is_image(path):
        yield SourceFrame(path, 0, 0.0, read_image_rgb(path))
        return
    source = open_source(path, fps)
    try:
        index = 0
        while (image := source.next_image()) is not None:
            yield SourceFrame(path, index, index / source.fps, image)
            index += 1
    finally:
        source.close()


def source_fps(path: Path, default: float = DEFAULT_DIR_FPS) -> float:
    """A video's own rate; `default` for directories of frames and single images."""
    if path.is_dir() or is_image(path):
        return default
    source = open_source(path, default)
    try:
        return source.fps
    finally:
        source.close()
