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
LED_ORDER = ("green", "amber", "red")

# Every (text colour, background) pair drawn, by role: tests/unit/test_palette.py holds each
# to WCAG 2.x AA contrast for the size the role is drawn at.
TEXT_ON = {
    "prompt": (FG, BG),
    "hint": (HINT, BG),
    "fault_prompt": (FG, FAULT_BG),
    "fault_hint": (HINT, FAULT_BG),
    "countdown": (FG, BG),
    "step": (FG, BG),
    "step_number": (BG, GREEN),
    "button": (FG, BG),
    "legend": (HINT, BG),
}


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


def stroke(surf: pygame.Surface, colour: tuple[int, int, int],
           points: list[tuple[float, float]], width: int) -> None:
    """A thick polyline with round joins and caps.

    pygame's wide lines are rectangles with square ends: where two meet at an angle they
    leave a notch. Each segment is drawn as a quad and each point as a disc instead."""
    half = width / 2
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        length = max(1e-6, ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5)
        nx, ny = -(y1 - y0) / length * half, (x1 - x0) / length * half
        pygame.draw.polygon(surf, colour, [(x0 + nx, y0 + ny), (x1 + nx, y1 + ny),
                                           (x1 - nx, y1 - ny), (x0 - nx, y0 - ny)])
    for px, py in points:
        pygame.draw.circle(surf, colour, (round(px), round(py)), round(half))


def tick(surf: pygame.Surface, rect: Rect) -> None:
    x, y, w, h = rect
    pygame.draw.circle(surf, GREEN, (x + w // 2, y + h // 2), min(w, h) // 2)
    stroke(surf, FG, [(x + 0.28 * w, y + 0.52 * h), (x + 0.44 * w, y + 0.67 * h),
                      (x + 0.73 * w, y + 0.35 * h)], max(4, w // 12))


def cross(surf: pygame.Surface, rect: Rect) -> None:
    x, y, w, h = rect
    pygame.draw.circle(surf, RED, (x + w // 2, y + h // 2), min(w, h) // 2)
    a, b, t = 0.32, 0.68, max(4, w // 12)
    stroke(surf, FG, [(x + a * w, y + a * h), (x + b * w, y + b * h)], t)
    stroke(surf, FG, [(x + a * w, y + b * h), (x + b * w, y + a * h)], t)


def warning(surf: pygame.Surface, rect: Rect) -> None:
    x, y, w, h = rect
    pts = [(x + w / 2, y), (x + w, y + h), (x, y + h)]
    pygame.draw.polygon(surf, AMBER, pts)
    t = max(4, w // 14)
    pygame.draw.line(surf, BG, (x + w / 2, y + 0.33 * h), (x + w / 2, y + 0.7 * h), t)
    pygame.draw.circle(surf, BG, (round(x + w / 2), round(y + 0.84 * h)), t // 2 + 1)


def blink_cue(surf: pygame.Surface, rect: Rect) -> None:
    """'Blink now': a thick amber frame around the preview and a closed eye at its top, so the
    cue is seen even by someone who only watches their own face."""
    x, y, w, h = rect
    t = max(6, round(min(w, h) * 0.035))
    pygame.draw.rect(surf, AMBER, (x - t, y - t, w + 2 * t, h + 2 * t), t)
    ew, eh = round(w * 0.22), round(h * 0.12)
    ex, ey = x + (w - ew) // 2, y + t
    pygame.draw.ellipse(surf, AMBER, (ex - t, ey - t // 2, ew + 2 * t, eh + t))
    pygame.draw.arc(surf, BG, (ex, ey - eh // 2, ew, eh), 3.4, 6.0, max(3, t // 2))
    for k in range(5):  # lashes of the closed lid
        lx = ex + ew * (0.2 + 0.15 * k)
        pygame.draw.line(surf, BG, (lx, ey + eh * 0.42), (lx, ey + eh * 0.72), max(2, t // 3))


def progress_bar(surf: pygame.Surface, rect: Rect, value: float) -> None:
    x, y, w, h = rect
    radius = h // 2
    pygame.draw.rect(surf, MUTED, rect, border_radius=radius)
    filled = round(w * min(1.0, max(0.0, value)))
    if filled:
        pygame.draw.rect(surf, GREEN, (x, y, max(filled, h), h), border_radius=radius)


def leds(surf: pygame.Surface, rect: Rect, values: dict[str, float],
         labels: dict[str, pygame.Surface]) -> None:
    """Virtual LEDs, one per row with its meaning; a lit disc's colour follows the LED's
    brightness (PWM included)."""
    x, y, w, h = rect
    row = h // len(LED_ORDER)
    radius = max(3, row // 2 - 2)
    for i, name in enumerate(LED_ORDER):
        v = min(1.0, max(0.0, values.get(name, 0.0)))
        on = LED_COLOURS[name]
        colour = tuple(round(o + v * (c - o)) for o, c in zip(LED_OFF, on, strict=True))
        centre = (x + radius + 2, y + row * i + row // 2)
        pygame.draw.circle(surf, colour, centre, radius)
        pygame.draw.circle(surf, MUTED, centre, radius, max(1, radius // 6))
        label = labels.get(name)
        if label is not None:
            surf.blit(label, (centre[0] + radius + radius, centre[1] - label.get_height() // 2))


def step_metrics(px: int) -> tuple[int, int]:
    """(radius of a step's number disc, gap) for step text of `px`."""
    radius = px // 2 + 2
    return radius, max(4, radius // 2)


def steps_height(blocks: list[list[pygame.Surface]], px: int) -> int:
    radius, gap = step_metrics(px)
    return sum(max(sum(s.get_height() for s in b), 2 * radius) + gap for b in blocks)


def steps(surf: pygame.Surface, rect: Rect, blocks: list[list[pygame.Surface]], px: int,
          text: TextCache) -> None:
    """The attract screen's numbered steps (text lines per step), top-aligned in `rect`."""
    x, y = rect[:2]
    radius, gap = step_metrics(px)
    for i, block in enumerate(blocks):
        centre = (x + radius, y + radius)
        pygame.draw.circle(surf, GREEN, centre, radius)
        digit = text.block(str(i + 1), px, BG, 2 * radius, 1)[0]
        surf.blit(digit, digit.get_rect(center=centre))
        ty = y
        for line in block:
            surf.blit(line, (x + 2 * radius + gap, ty))
            ty += line.get_height()
        y = max(ty, y + 2 * radius) + gap


def button(surf: pygame.Surface, rect: Rect, label: pygame.Surface) -> None:
    """An outlined pill with a label (the language button)."""
    x, y, w, h = rect
    radius = h // 2
    pygame.draw.rect(surf, BG, rect, border_radius=radius)
    pygame.draw.rect(surf, HINT, rect, max(2, h // 16), border_radius=radius)
    surf.blit(label, label.get_rect(center=(x + w // 2, y + h // 2)))
