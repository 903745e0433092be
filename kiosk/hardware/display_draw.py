"""pygame drawing pieces of the kiosk display: text blocks, face pictogram, icons, LEDs."""

from __future__ import annotations

from collections.abc import Callable

import pygame

from kiosk.hardware.display_layout import Rect, pictogram_regions, scale_rect, wrap

BG = (18, 18, 22)
FG = (250, 250, 250)
HINT = (200, 204, 210)
MUTED = (70, 72, 80)
GREEN = (40, 200, 90)
RED = (232, 48, 48)
AMBER = (255, 176, 0)
OVAL_IDLE = (240, 240, 240)
FAULT_BG = (44, 20, 20)
LED_COLOURS = {"green": GREEN, "red": RED, "amber": AMBER}
LED_OFF = (45, 45, 50)


class TextCache:
    """Fonts by size and rendered lines, so an unchanged prompt costs only blits."""

    def __init__(self, limit: int = 128) -> None:
        self._fonts: dict[int, pygame.font.Font] = {}
        self._blocks: dict[tuple[str, int, tuple[int, int, int], int, int],
                           list[pygame.Surface]] = {}
        self.limit = limit

    def font(self, px: int) -> pygame.font.Font:
        if px not in self._fonts:
            self._fonts[px] = pygame.font.Font(None, px)  # pygame's bundled font: always there
        return self._fonts[px]

    def block(self, text: str, px: int, colour: tuple[int, int, int], max_width: int,
              max_lines: int) -> list[pygame.Surface]:
        """Word-wrapped lines; the font shrinks (down to 60%) until it fits `max_lines`."""
        key = (text, px, colour, max_width, max_lines)
        if key not in self._blocks:
            if len(self._blocks) >= self.limit:
                self._blocks.pop(next(iter(self._blocks)))
            size = px
            while True:
                font = self.font(size)
                lines = wrap(text, _measure(font), max_width)
                if len(lines) <= max_lines or size <= px * 0.6:
                    break
                size = round(size * 0.9)
            self._blocks[key] = [font.render(ln, True, colour) for ln in lines[:max_lines]]
        return self._blocks[key]


def _measure(font: pygame.font.Font) -> Callable[[str], int]:
    return lambda s: font.size(s)[0]


def pictogram(size: int, mirror: bool) -> pygame.Surface:
    """The neutral face pictogram (pre-rendered once per size)."""
    surf = pygame.Surface((size, size), pygame.SRCALPHA)
    area: Rect = (0, 0, size, size)
    line = max(2, size // 60)

    def r(x: float, y: float, w: float, h: float) -> pygame.Rect:
        return pygame.Rect(scale_rect((x, y, w, h), area))

    pygame.draw.ellipse(surf, (58, 60, 70), r(0.16, 0.07, 0.68, 0.89))
    pygame.draw.ellipse(surf, (150, 155, 170), r(0.16, 0.07, 0.68, 0.89), line)
    regions = pictogram_regions(mirror)
    for eye in ("left_eye", "right_eye"):
        ex, ey, ew, eh = regions[eye]
        pygame.draw.ellipse(surf, (230, 230, 235), r(ex + 0.03, ey + 0.04, ew - 0.06, eh - 0.08))
        pygame.draw.circle(surf, (40, 40, 48), r(ex + ew / 2, ey + eh / 2, 0, 0).topleft,
                           max(2, round(size * 0.025)))
        pygame.draw.line(surf, (150, 155, 170), r(ex + 0.02, ey - 0.01, 0, 0).topleft,
                         r(ex + ew - 0.02, ey - 0.01, 0, 0).topleft, line)  # brow
    pygame.draw.lines(surf, (150, 155, 170), False, [
        r(0.5, 0.49, 0, 0).topleft, r(0.46, 0.61, 0, 0).topleft, r(0.54, 0.61, 0, 0).topleft],
        line)
    pygame.draw.arc(surf, (200, 120, 120), r(0.38, 0.62, 0.24, 0.12), 3.4, 6.0, line + 1)
    return surf


def highlight(surf: pygame.Surface, area: Rect, regions: tuple[str, ...], mirror: bool) -> None:
    """Highlight the named regions of the pictogram drawn at `area` in red."""
    boxes = pictogram_regions(mirror)
    overlay = pygame.Surface(area[2:], pygame.SRCALPHA)
    line = max(2, area[2] // 50)
    for name in regions:
        if name not in boxes:
            continue
        rect = pygame.Rect(scale_rect(boxes[name], (0, 0, *area[2:])))
        pygame.draw.rect(overlay, (*RED, 190), rect, border_radius=line * 2)
        pygame.draw.rect(overlay, (*RED, 255), rect, line, border_radius=line * 2)
    surf.blit(overlay, area[:2])


def oval_shade(size: tuple[int, int], guide: Rect) -> pygame.Surface:
    """A dark veil over the preview with a clear oval hole (pre-rendered per size)."""
    shade = pygame.Surface(size, pygame.SRCALPHA)
    shade.fill((0, 0, 0, 110))
    pygame.draw.ellipse(shade, (0, 0, 0, 0), pygame.Rect(guide))
    return shade


def tick(surf: pygame.Surface, rect: Rect) -> None:
    x, y, w, h = rect
    pygame.draw.circle(surf, GREEN, (x + w // 2, y + h // 2), min(w, h) // 2)
    pts = [(x + 0.27 * w, y + 0.52 * h), (x + 0.44 * w, y + 0.68 * h),
           (x + 0.74 * w, y + 0.34 * h)]
    pygame.draw.lines(surf, FG, False, pts, max(4, w // 12))


def cross(surf: pygame.Surface, rect: Rect) -> None:
    x, y, w, h = rect
    pygame.draw.circle(surf, RED, (x + w // 2, y + h // 2), min(w, h) // 2)
    a, b, t = 0.3, 0.7, max(4, w // 12)
    pygame.draw.line(surf, FG, (x + a * w, y + a * h), (x + b * w, y + b * h), t)
    pygame.draw.line(surf, FG, (x + a * w, y + b * h), (x + b * w, y + a * h), t)


def warning(surf: pygame.Surface, rect: Rect) -> None:
    x, y, w, h = rect
    pts = [(x + w / 2, y), (x + w, y + h), (x, y + h)]
    pygame.draw.polygon(surf, AMBER, pts)
    t = max(4, w // 14)
    pygame.draw.line(surf, BG, (x + w / 2, y + 0.33 * h), (x + w / 2, y + 0.7 * h), t)
    pygame.draw.circle(surf, BG, (round(x + w / 2), round(y + 0.84 * h)), t // 2 + 1)


def progress_bar(surf: pygame.Surface, rect: Rect, value: float) -> None:
    x, y, w, h = rect
    radius = h // 2
    pygame.draw.rect(surf, MUTED, rect, border_radius=radius)
    filled = round(w * min(1.0, max(0.0, value)))
    if filled:
        pygame.draw.rect(surf, GREEN, (x, y, max(filled, h), h), border_radius=radius)


def leds(surf: pygame.Surface, rect: Rect, values: dict[str, float]) -> None:
    """Virtual LEDs: a lit disc's colour follows the LED's brightness (PWM included)."""
    x, y, w, h = rect
    radius = h // 2 - 1
    step = min(w // 3, 3 * radius + 4)
    for i, name in enumerate(("green", "amber", "red")):
        v = min(1.0, max(0.0, values.get(name, 0.0)))
        on = LED_COLOURS[name]
        colour = tuple(round(o + v * (c - o)) for o, c in zip(LED_OFF, on, strict=True))
        centre = (x + step * i + step // 2, y + h // 2)
        pygame.draw.circle(surf, colour, centre, radius)
        pygame.draw.circle(surf, MUTED, centre, radius, max(1, radius // 6))
