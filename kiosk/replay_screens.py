"""`kiosk replay --video/--screens`: draws what the kiosk screen showed on each replayed frame."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import cv2

from kiosk.config import Config
from kiosk.domain import Frame, Observation
from kiosk.errors import InputError
from kiosk.screens import Texts
from kiosk.session.machine import Session

VIDEO_SUFFIXES = (".mp4", ".avi")


def check_outputs(video: Path | None, screens: Path | None) -> None:
    """Refuse bad output paths before a replay runs (InputError, nothing written)."""
    if video is not None:
        if video.suffix.lower() not in VIDEO_SUFFIXES:
            raise InputError(f"{video}: the video must end in {' or '.join(VIDEO_SUFFIXES)}")
        if not video.parent.is_dir():
            raise InputError(f"{video}: folder {video.parent} does not exist")
        if video.is_dir():
            raise InputError(f"{video}: is a folder")
    if screens is not None and screens.exists() and not screens.is_dir():
        raise InputError(f"{screens}: exists and is not a folder")


class ScreenRecorder:
    """The emulator's display on SDL's dummy driver, fed by the replay; an `on_frame` callback.

    `video`: every frame of the screen as a video at the replay's rate; `screens`: one PNG per
    new screen plus screens.jsonl saying what each one says (the emulator's --screenshots)."""

    def __init__(self, cfg: Config, fps: float, *, video: Path | None = None,
                 screens: Path | None = None) -> None:
        check_outputs(video, screens)
        os.environ["SDL_VIDEODRIVER"] = "dummy"  # headless: drawn off screen, never a window
        from kiosk.hardware.display import PygameDisplay
        from kiosk.hardware.leds import GpioLeds

        self.video, self.screens = video, screens
        self.leds = GpioLeds(cfg.leds)  # on gpiozero's mock pins, drawn on screen
        display_cfg = dataclasses.replace(cfg.display, fullscreen=False)
        self.display = PygameDisplay(display_cfg, emulator=True, leds=self.leds,
                                     screenshots=screens)
        self.texts = Texts(cfg.ui.language, cfg.ui.language_button)
        self.frames = 0
        self._writer: Any = None
        if video is not None:
            size = self.display.layout.size
            self._writer = cv2.VideoWriter(str(video), cv2.VideoWriter.fourcc(*"mp4v"), fps,
                                           size)
            if not self._writer.isOpened():
                self.close()
                raise InputError(f"{video}: cannot write a video there")

    def __call__(self, frame: Frame, obs: Observation, session: Session,
                 events: list[Any]) -> None:
        self.leds.show(session.leds)
        screen = self.texts.screen(session.prompt, session.fault_reason)
        self.display.render(screen, frame.image, obs.face)
        if self._writer is not None:
            self._writer.write(cv2.cvtColor(self.display.snapshot(), cv2.COLOR_RGB2BGR))
        self.frames += 1

    def outputs(self) -> dict[str, str]:
        out = {}
        if self.video is not None:
            out["video"] = str(self.video)
        if self.screens is not None:
            out["screens"] = str(self.screens)
        return out

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None
        self.display.close()
        self.leds.close()
