"""The kiosk screen through pygame: full-screen on the Pi, a window in the emulator."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from kiosk.config import DisplayConfig
from kiosk.domain import Face
from kiosk.errors import HardwareError, HardwareUnavailableError, NoDisplayError
from kiosk.hardware import display_layout as geo
from kiosk.hardware.interfaces import Screen

if TYPE_CHECKING:
    from kiosk.hardware.leds import GpioLeds
    from kiosk.hardware.sound import Tones

log = logging.getLogger(__name__)

PYGAME_INSTALL = ("pip install pygame==2.6.1 on a laptop; sudo apt install python3-pygame "
                  "on a Raspberry Pi (its SDL has the kmsdrm driver)")


def _import_pygame() -> Any:
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    try:
        import pygame
    except ImportError as e:
        raise HardwareUnavailableError(f"pygame is not installed ({e}): {PYGAME_INSTALL}") from e
    return pygame


# SDL drivers that draw into memory only: nothing reaches a screen.
INVISIBLE_DRIVERS = ("offscreen", "dummy")


def invisible(driver: str, environ: Mapping[str, str] | None = None) -> str:
    """Why `driver` means there is no display ("" if it draws to a screen or was asked for).

    With no screen (no DISPLAY, no WAYLAND_DISPLAY, no KMS), SDL silently falls back to its
    invisible offscreen driver: a kiosk that nobody can see must say so, not run."""
    env = os.environ if environ is None else environ
    if driver not in INVISIBLE_DRIVERS or env.get("SDL_VIDEODRIVER", "").lower() == driver:
        return ""
    return (f"no display: SDL found no screen and fell back to its invisible {driver!r} "
            "driver (no DISPLAY or WAYLAND_DISPLAY, no KMS screen); run it on a desktop or "
            "a kiosk screen, or use --headless")


class PygameDisplay:
    """Draws `Screen`s with the mirrored live preview; `poll()` turns keys into events."""

    def __init__(self, cfg: DisplayConfig, emulator: bool, leds: GpioLeds | None = None,
                 screenshots: Path | None = None, sound: Tones | None = None) -> None:
        self.pg = pg = _import_pygame()
        from kiosk.hardware import display_draw  # imports pygame: only once it is known present

        self.draw = display_draw
        self.cfg = cfg
        self.emulator = emulator
        self.leds = leds
        self.sound = sound
        self.mirror = cfg.mirror
        try:
            pg.display.init()
            pg.font.init()
            if emulator or not cfg.fullscreen:
                self.surface = pg.display.set_mode((cfg.width, cfg.height))
            else:
                self.surface = pg.display.set_mode((0, 0), pg.FULLSCREEN)
                pg.mouse.set_visible(False)
        except pg.error as e:
            driver = os.environ.get("SDL_VIDEODRIVER", "default")
            raise HardwareError(f"cannot open the display (SDL_VIDEODRIVER={driver}): {e}") from e
        self.driver = str(pg.display.get_driver())
        problem = invisible(self.driver)
        if problem:
            pg.display.quit()
            raise NoDisplayError(problem)
        # True when nobody can see it (the dummy driver asked for: tests, --headless)
        self.invisible = self.driver in INVISIBLE_DRIVERS
        pg.display.set_caption("Selfie kiosk (emulator)" if emulator else "Selfie kiosk")
        width, height = self.surface.get_size()
        self.layout = geo.layout(width, height, legend=emulator and leds is not None)
        self.text = display_draw.TextCache()
        self._pictogram = display_draw.pictogram(self.layout.pictogram[2], self.mirror)
        self._shades: dict[tuple[int, int], Any] = {}
        self.screenshots = screenshots
        self._saved: set[tuple[Any, ...]] = set()
        self._shot_count = 0
        if screenshots is not None:
            screenshots.mkdir(parents=True, exist_ok=True)
        self.last_render_s = 0.0
        self.placed = False  # was the face well placed in the oval on the last live frame
        self._button = False  # is the language button on screen (taps on it count)
        self._cue = 0
        log.info("display %dx%d (%s, SDL driver %s)", *self.layout.size,
                 "window" if emulator or not cfg.fullscreen else "full screen", self.driver)

    # -- drawing --------------------------------------------------------------------------

    def render(self, screen: Screen, frame: np.ndarray | None, face: Face | None) -> None:
        started = time.perf_counter()
        d, lay = self.draw, self.layout
        self.surface.fill(d.FAULT_BG if screen.kind == "out_of_service" else d.BG)
        live = screen.kind in ("attract", "live")
        if live:
            shown = self._preview(frame, face)
            if screen.cue:
                d.blink_cue(self.surface, shown)
            if screen.countdown is not None:
                self._countdown(screen.countdown, shown)
        else:
            icon = self._icon_rect()
            if screen.kind == "result":
                (d.tick if screen.ok else d.cross)(self.surface, icon)
            else:
                d.warning(self.surface, icon)
        if screen.steps:
            self._steps(screen.steps)
        elif live or screen.highlight:
            self.surface.blit(self._pictogram, lay.pictogram[:2])
            if screen.highlight:
                d.highlight(self.surface, lay.pictogram, screen.highlight, self.mirror)
        if screen.progress is not None and live:
            d.progress_bar(self.surface, lay.progress, screen.progress)
        self._texts(screen)
        self._button = bool(screen.language)
        if screen.language:
            label = self.text.block(screen.language, lay.small_px, d.FG,
                                    lay.language[2] - lay.language[3], 1)[0]
            d.button(self.surface, lay.language, label)
        if self.emulator and self.leds is not None:
            d.leds(self.surface, lay.leds, self.leds.values(), self._legend(screen))
        self.pg.display.flip()
        if screen.cue != self._cue:
            self._cue = screen.cue
            if screen.cue and self.sound is not None:
                self.sound.cue()
        self.last_render_s = time.perf_counter() - started
        self._maybe_screenshot(screen)

    def _preview(self, frame: np.ndarray | None, face: Face | None) -> geo.Rect:
        d, lay = self.draw, self.layout
        if frame is None:
            shown = geo.fit((4, 3), lay.preview)
            self.pg.draw.rect(self.surface, d.MUTED, shown)
        else:
            fh, fw = frame.shape[:2]
            shown = geo.fit((fw, fh), lay.preview)
            # flip the small camera frame, then one resize straight to the shown size
            image = cv2.flip(frame, 1) if self.mirror else frame
            image = cv2.resize(image, shown[2:], interpolation=cv2.INTER_LINEAR)
            self.surface.blit(self.pg.image.frombuffer(image.data, shown[2:], "RGB"), shown[:2])
        guide = geo.oval(shown)
        local = (guide[0] - shown[0], guide[1] - shown[1], guide[2], guide[3])
        if shown[2:] not in self._shades:
            self._shades[shown[2:]] = d.oval_shade(shown[2:], local)
        self.surface.blit(self._shades[shown[2:]], shown[:2])
        self.placed = False
        if face is not None and frame is not None:
            on_screen = geo.to_screen(face, (frame.shape[1], frame.shape[0]), shown, self.mirror)
            self.placed = geo.well_placed(on_screen.box, guide)
            self._face_corners(on_screen.box, d.GREEN if self.placed else d.OVAL_IDLE, shown)
        width = max(3, round(0.012 * min(self.layout.size)))
        self.pg.draw.ellipse(self.surface, d.GREEN if self.placed else d.OVAL_IDLE,
                             self.pg.Rect(guide), width)
        return shown

    def _face_corners(self, box: tuple[float, float, float, float], colour: Any,
                      shown: geo.Rect) -> None:
        x, y, w, h = (round(v) for v in box)
        arm, t = max(6, w // 5), max(2, w // 60)
        # a face at the edge of the picture has corners beyond it: keep them on the preview
        self.surface.set_clip(self.pg.Rect(shown))
        for cx, cy, sx, sy in ((x, y, 1, 1), (x + w, y, -1, 1), (x, y + h, 1, -1),
                               (x + w, y + h, -1, -1)):
            self.pg.draw.line(self.surface, colour, (cx, cy), (cx + sx * arm, cy), t)
            self.pg.draw.line(self.surface, colour, (cx, cy), (cx, cy + sy * arm), t)
        self.surface.set_clip(None)

    def _steps(self, steps: tuple[str, ...]) -> None:
        """What to do, numbered: as large as the hints, shrinking together until all fit."""
        d, lay = self.draw, self.layout
        w, h = lay.steps[2:]
        for scale in (1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4):
            px = max(round(lay.hint_px * scale), min(lay.small_px, lay.hint_px))
            radius, gap = d.step_metrics(px)
            blocks = [self.text.block(step, px, d.FG, w - 2 * radius - gap, 3) for step in steps]
            if d.steps_height(blocks, px) <= h:
                break
        d.steps(self.surface, lay.steps, blocks, px, self.text)

    def _legend(self, screen: Screen) -> dict[str, Any]:
        """The LEDs' meanings (the legend texts travel with the screen's language)."""
        d, lay = self.draw, self.layout
        row = lay.leds[3] // len(d.LED_ORDER)
        width = lay.leds[2] - row
        return {name: self.text.block(text, min(lay.small_px, round(row * 0.8)), d.HINT,
                                      width, 1)[0]
                for name, text in zip(d.LED_ORDER, screen.legend, strict=False)}

    def _countdown(self, seconds: int, shown: geo.Rect) -> None:
        d = self.draw
        centre = (shown[0] + shown[2] // 2, shown[1] + shown[3] // 2)
        radius = shown[3] // 5
        self.pg.draw.circle(self.surface, d.BG, centre, radius)
        self.pg.draw.circle(self.surface, d.FG, centre, radius, max(3, radius // 12))
        digits = self.text.block(str(seconds), round(radius * 1.6), d.FG, shown[2], 1)[0]
        self.surface.blit(digits, digits.get_rect(center=centre))

    def _icon_rect(self) -> geo.Rect:
        x, y, w, h = self.layout.body
        side = round(min(w, h) * 0.6)
        return (x + (w - side) // 2, y + (h - side) // 2, side, side)

    def _texts(self, screen: Screen) -> None:
        """Prompt (up to 2 lines) over hint, centred; both shrink together to fit the band."""
        d, lay = self.draw, self.layout
        x, y, w, band_h = lay.text
        hint_lines = 4 if screen.kind == "out_of_service" else 3
        gap = lay.pad // 2
        for scale in (1.0, 0.9, 0.8, 0.7, 0.6, 0.5):
            prompt = self.text.block(screen.prompt, round(lay.prompt_px * scale), d.FG, w, 2)
            hint = self.text.block(screen.hint, round(lay.hint_px * scale), d.HINT, w,
                                   hint_lines) if screen.hint else []
            if sum(s.get_height() for s in [*prompt, *hint]) + gap <= band_h:
                break
        for i, line in enumerate([*prompt, *hint]):
            if i == len(prompt):
                y += gap
            self.surface.blit(line, (x + (w - line.get_width()) // 2, y))
            y += line.get_height()

    # -- screenshots and events -----------------------------------------------------------

    def _maybe_screenshot(self, screen: Screen) -> None:
        if self.screenshots is None:
            return
        key = (screen.kind, screen.prompt, screen.hint, screen.highlight, screen.ok,
               screen.countdown, screen.cue)
        if key in self._saved:
            return
        self._saved.add(key)
        self._shot_count += 1
        name = f"{self._shot_count:04d}_{screen.kind}.png"
        self.save_screenshot(self.screenshots / name)
        # what each picture says, for people and tests that cannot read pixels
        entry = {"file": name, **dataclasses.asdict(screen)}
        with (self.screenshots / "screens.jsonl").open("a") as index:
            index.write(json.dumps(entry) + "\n")

    def snapshot(self) -> np.ndarray:
        """What the screen shows now, RGB uint8 (H x W x 3)."""
        w, h = self.surface.get_size()
        data = self.pg.image.tobytes(self.surface, "RGB")
        return np.frombuffer(data, np.uint8).reshape(h, w, 3)

    def save_screenshot(self, path: Path) -> None:
        try:
            self.pg.image.save(self.surface, str(path))
        except (self.pg.error, OSError) as e:
            log.warning("cannot save screenshot %s: %s", path, e)

    def poll(self) -> list[str]:
        """'language' for a tap on the language button (SDL turns touches into mouse clicks);
        in the emulator only, 'reset' for r, 'quit' for q, Esc or closing the window,
        'language' for l: on a kiosk a USB keyboard must not stop or steer it. Never blocks."""
        pg = self.pg
        events: list[str] = []
        for event in pg.event.get():
            if event.type == pg.QUIT and self.emulator:
                events.append("quit")
            elif event.type == pg.KEYDOWN and self.emulator:
                if event.key in (pg.K_q, pg.K_ESCAPE):
                    events.append("quit")
                elif event.key == pg.K_r:
                    events.append("reset")
                elif event.key == pg.K_l:
                    events.append("language")
            elif (event.type == pg.MOUSEBUTTONDOWN and event.button == 1 and self._button
                  and geo.inside(self.layout.language, event.pos)):
                events.append("language")
        return events

    def close(self) -> None:
        if self.sound is not None:
            self.sound.close()
        self.pg.display.quit()
