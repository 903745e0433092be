"""Capture buffering: the full-resolution still of the best selfie candidate, one at a time."""

from __future__ import annotations

import numpy as np


class StillBuffer:
    """Holds one still (~9 MB on a Pi): the session's best candidate replaces the previous one,
    and `take(index)` hands it over only for the frame the session chose."""

    def __init__(self) -> None:
        self._index: int | None = None
        self._image: np.ndarray | None = None

    def keep(self, index: int, image: np.ndarray | None) -> None:
        self._index, self._image = (index, image) if image is not None else (None, None)

    def take(self, index: int) -> np.ndarray | None:
        image = self._image if index == self._index else None
        self.clear()
        return image

    def clear(self) -> None:
        self._index, self._image = None, None

    @property
    def held(self) -> int | None:
        """The frame index whose still is held, if any."""
        return self._index
