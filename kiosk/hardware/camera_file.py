"""File cameras: a video file or a directory of images, paced in real time or in simulated time."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from kiosk.domain import Frame
from kiosk.errors import CameraError, InputError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".ppm"})
DEFAULT_DIR_FPS = 15.0
# A container's frame count can be an estimate (duration x fps); ending a little short is normal.
_COUNT_SLACK = 0.02


class FileSourceError(CameraError, InputError):
    """A video file or image directory cannot be read: an InputError for `kiosk analyze` and
    `kiosk replay`, a CameraError for the daemon (out of service, retried)."""


class _Source(Protocol):
    """Sequential RGB frames from the start; `next_image()` is None at the end."""

    fps: float
    name: str

    def next_image(self) -> np.ndarray | None: ...

    def skip(self) -> bool: ...

    def rewind(self) -> None: ...

    def close(self) -> None: ...


def read_image_rgb(path: Path) -> np.ndarray:
    """An image file as RGB uint8; InputError if it cannot be decoded."""
    # imdecode instead of imread: it also works for non-ASCII paths and never returns a
    # partial image silently for a missing file.
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError as e:
        raise FileSourceError(f"{path}: cannot read image: {e.strerror or e}") from e
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise FileSourceError(f"{path}: not a readable image (corrupt or unsupported format)")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def list_images(directory: Path) -> list[Path]:
    """The image files of a directory, sorted by name; InputError if there are none."""
    try:
        files = sorted(p for p in directory.iterdir()
                       if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    except OSError as e:
        raise FileSourceError(f"{directory}: cannot list directory: {e.strerror or e}") from e
    if not files:
        raise FileSourceError(f"{directory}: no image files ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return files


class ImageDirSource:
    """Images of a directory in name order, at a given rate."""

    def __init__(self, directory: Path, fps: float) -> None:
        self.files = list_images(directory)
        self.fps = fps
        self.name = str(directory)
        self._pos = 0

    def next_image(self) -> np.ndarray | None:
        if self._pos >= len(self.files):
            return None
        image = read_image_rgb(self.files[self._pos])
        self._pos += 1
        return image

    def skip(self) -> bool:
        if self._pos >= len(self.files):
            return False
        self._pos += 1
        return True

    def rewind(self) -> None:
        self._pos = 0

    def close(self) -> None:
        pass


class VideoSource:
    """A video file through OpenCV at the file's own rate; truncation is an InputError."""

    def __init__(self, path: Path, fps: float | None = None) -> None:
        if not path.is_file():
            raise FileSourceError(f"{path}: no such video file")
        self.path = path
        self.name = str(path)
        self._cap = self._open()
        file_fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        if not math.isfinite(file_fps) or file_fps <= 0:
            file_fps = fps or DEFAULT_DIR_FPS
            log.warning("%s: no frame rate in the file, assuming %.1f fps", path, file_fps)
        self.fps = file_fps
        count = float(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0.0)
        self.frame_count = int(count) if math.isfinite(count) and count > 0 else 0
        self._pos = 0

    def _open(self) -> cv2.VideoCapture:
        cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            cap.release()
            raise FileSourceError(
                f"{self.path}: cannot open video (truncated, corrupt or unsupported)")
        return cap

    def _at_end(self) -> None:
        """Called when the decoder stops: a short read means a damaged file."""
        if self._pos == 0:
            raise FileSourceError(f"{self.path}: video has no readable frames (corrupt?)")
        expected = self.frame_count
        if expected and self._pos < expected - max(2, _COUNT_SLACK * expected):
            raise FileSourceError(f"{self.path}: video ends at frame {self._pos} of {expected} "
                             "(truncated or corrupt)")

    def next_image(self) -> np.ndarray | None:
        ok, bgr = self._cap.read()
        if not ok or bgr is None:
            self._at_end()
            return None
        self._pos += 1
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def skip(self) -> bool:
        # grab() decodes but skips the colour conversion and copy.
        if not self._cap.grab():
            self._at_end()
            return False
        self._pos += 1
        return True

    def rewind(self) -> None:
        # Reopening is more reliable than seeking to 0 across containers and codecs.
        self._cap.release()
        self._cap = self._open()
        self._pos = 0

    def close(self) -> None:
        self._cap.release()


def open_source(path: Path, fps: float | None) -> _Source:
    """A directory of images (at `fps`, default 15) or a video file (at its own rate)."""
    if path.is_dir():
        return ImageDirSource(path, fps or DEFAULT_DIR_FPS)
    if path.suffix.lower() in IMAGE_SUFFIXES:
        raise FileSourceError(f"{path}: a single image is not a camera source; use its directory")
    return VideoSource(path, fps)


class FileCamera:
    """A camera that plays a file source.

    realtime=True (emulator): frames are due at the source rate on the injected clock; `read()`
    returns only the newest due frame, older ones are dropped and counted in `dropped`.
    realtime=False (replay, analyze): every `read()` returns the next frame, with the simulated
    time `t = index / fps`.
    """

    def __init__(self, path: Path | str, clock: Callable[[], float], realtime: bool = True,
                 loop: bool = False, fps: float | None = None) -> None:
        self.path = Path(path)
        self.clock = clock
        self.realtime = realtime
        self.loop = loop
        self._source = open_source(self.path, fps)
        self.fps = self._source.fps
        self.finished = False
        self.dropped = 0
        self._next = 0  # running index of the next frame the source will produce
        self._t0: float | None = None
        self._last: np.ndarray | None = None

    def start(self) -> None:
        self._t0 = self.clock()

    def _advance(self) -> bool:
        """Skip one frame; loops at the end if allowed. False at the (final) end."""
        if self._source.skip() or self._restart():
            self._next += 1
            return True
        return False

    def _restart(self) -> bool:
        if not self.loop:
            return False
        self._source.rewind()
        return self._source.skip()

    def _next_image(self) -> np.ndarray | None:
        image = self._source.next_image()
        if image is None and self.loop:
            self._source.rewind()
            image = self._source.next_image()
        return image

    def read(self) -> Frame | None:
        if self.finished:
            return None
        if self.realtime:
            if self._t0 is None:
                self.start()
            assert self._t0 is not None
            due = math.floor((self.clock() - self._t0) * self.fps + 1e-9)
            if due < self._next:
                return None  # the next frame is not due yet
            while self._next < due:
                if not self._advance():
                    self.finished = True
                    return None
                self.dropped += 1
        image = self._next_image()
        if image is None:
            self.finished = True
            return None
        index = self._next
        self._next += 1
        self._last = image
        t = (self._t0 or 0.0) + index / self.fps if self.realtime else index / self.fps
        return Frame(image=image, t=t, index=index)

    def __iter__(self) -> Iterator[Frame]:
        """Every frame in order (simulated time); endless when looping."""
        while (frame := self.read()) is not None:
            yield frame

    def still(self) -> np.ndarray:
        if self._last is None:
            raise CameraError(f"{self.path}: no frame has been read yet")
        return self._last  # a fresh array per frame, never written to: no copy needed

    def hold_stills(self, on: bool) -> None:
        pass  # the frame itself is the still

    def close(self) -> None:
        self._source.close()
