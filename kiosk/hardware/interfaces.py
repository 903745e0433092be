"""The small interfaces the loop talks to; real and fake adapters implement them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from kiosk.domain import Face, Frame

LedState = Literal["off", "idle", "busy", "pass", "fail", "fault"]
ScreenKind = Literal["attract", "live", "result", "paused", "out_of_service"]


@dataclass(frozen=True)
class Screen:
    """What the display shows; texts are already translated."""

    kind: ScreenKind
    prompt: str
    hint: str = ""
    progress: float | None = None  # 0..1 for the current step
    highlight: tuple[str, ...] = ()  # regions to highlight on the face pictogram
    ok: bool | None = None  # result screen: passed or not
    countdown: int | None = None  # seconds left before the shot
    steps: tuple[str, ...] = ()  # attract screen: what to do, in order
    language: str = ""  # label of the language button ("" = no button)
    legend: tuple[str, ...] = ()  # meanings of the green, amber and red LEDs (emulator)
    # the number (1, 2, ...) of the "Blink now" cue showing, 0 when none: drawn, and each new
    # one plays a tone
    cue: int = 0


class Camera(Protocol):
    """Delivers the newest frame; never queues old ones."""

    def start(self) -> None: ...

    def read(self) -> Frame | None:
        """The newest frame, or None if no new frame arrived since the last call."""
        ...

    def still(self) -> np.ndarray:
        """The full-resolution RGB twin of the frame `read()` returned last, for the selfie;
        CameraError if there is none (never waits for the camera)."""
        ...

    def hold_stills(self, on: bool) -> None:
        """Keep each frame's full-resolution twin ready for `still()` (costly on a Pi: only
        while a selfie may be taken)."""
        ...

    def close(self) -> None: ...


class Leds(Protocol):
    def show(self, state: LedState) -> None: ...

    def close(self) -> None: ...


class Display(Protocol):
    def render(self, screen: Screen, frame: np.ndarray | None, face: Face | None) -> None: ...

    def poll(self) -> list[str]:
        """Pending user events: 'quit', 'reset', 'language'. Never blocks."""
        ...

    def close(self) -> None: ...
