"""Screen layout for the kiosk display: pure geometry from the screen size (no pygame here)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kiosk.domain import Face

Rect = tuple[int, int, int, int]  # x, y, w, h in screen pixels


@dataclass(frozen=True)
class Layout:
    size: tuple[int, int]
    text: Rect  # prompt and hint band at the top
    preview: Rect  # area the mirrored camera preview is fitted into
    side: Rect  # side panel: pictogram, progress, language button, virtual LEDs
    pictogram: Rect  # square
    progress: Rect
    steps: Rect  # attract screen: what to do (where pictogram and progress are otherwise)
    language: Rect  # the language button
    leds: Rect  # virtual LEDs with their meanings, one per row (emulator; empty otherwise)
    body: Rect  # everything below the text band (result and out-of-service screens)
    prompt_px: int
    hint_px: int
    small_px: int  # steps, button and LED legend
    pad: int


def layout(width: int, height: int, legend: bool = False) -> Layout:
    """Landscape: text on top, preview left, side panel right. Portrait: stacked.

    `legend`: room for the virtual LEDs and their meanings (the emulator)."""
    s = min(width, height)
    pad = max(4, round(0.025 * s))
    band_h = round(0.22 * height) if width >= height else round(0.16 * height)
    text = (pad, pad, width - 2 * pad, band_h)
    y0 = pad + band_h + pad
    body = (pad, y0, width - 2 * pad, height - y0 - pad)
    bar_h = max(6, round(0.04 * s))
    button_h = max(16, round(0.075 * s))
    legend_h = 3 * max(12, round(0.05 * s)) if legend else 0
    small_px = max(12, round(0.045 * s))
    if width >= height:
        side_w = round(0.27 * width)
        preview = (pad, y0, width - 3 * pad - side_w, body[3])
        side = (width - pad - side_w, y0, side_w, body[3])
        col = side  # pictogram / steps column
        tools = side  # language button and legend column
    else:
        row_h = round(0.22 * height)
        preview = (pad, y0, body[2], body[3] - row_h - pad)
        side = (pad, preview[1] + preview[3] + pad, body[2], row_h)
        col_w = round(0.55 * side[2])
        col = (side[0], side[1], col_w, row_h)
        tools = (side[0] + col_w + pad, side[1], side[2] - col_w - pad, row_h)
    leds = (tools[0], tools[1] + tools[3] - legend_h, tools[2], legend_h)
    language = (tools[0], leds[1] - (pad if legend else 0) - button_h, tools[2], button_h)
    if width >= height:
        col_h = language[1] - pad - col[1]
        pict = max(1, min(col[2], col_h - bar_h - pad))
        pictogram = (col[0] + (col[2] - pict) // 2, col[1], pict, pict)
        progress = (col[0], col[1] + pict + pad, col[2], bar_h)
    else:
        col_h = col[3]
        pict = min(col[2], col[3])
        pictogram = (col[0] + (col[2] - pict) // 2, col[1], pict, pict)
        progress = (tools[0], tools[1], tools[2], bar_h)
    steps = (col[0], col[1], col[2], col_h)
    return Layout(size=(width, height), text=text, preview=preview, side=side,
                  pictogram=pictogram, progress=progress, steps=steps, language=language,
                  leds=leds, body=body, prompt_px=max(14, round(0.5 * band_h)),
                  hint_px=max(10, round(0.3 * band_h)), small_px=small_px, pad=pad)


def inside(rect: Rect, point: tuple[float, float]) -> bool:
    x, y, w, h = rect
    return x <= point[0] < x + w and y <= point[1] < y + h


def fit(src: tuple[int, int], area: Rect) -> Rect:
    """The largest rect with the aspect ratio of `src` (w, h) centred in `area`."""
    sw, sh = src
    ax, ay, aw, ah = area
    scale = min(aw / sw, ah / sh)
    w, h = max(1, round(sw * scale)), max(1, round(sh * scale))
    return (ax + (aw - w) // 2, ay + (ah - h) // 2, w, h)


def oval(preview: Rect) -> Rect:
    """The face guide: an upright oval a little above the preview's centre."""
    x, y, w, h = preview
    oh = round(0.74 * h)
    ow = round(0.75 * oh)
    return (x + (w - ow) // 2, y + round(0.47 * h) - oh // 2, ow, oh)


def mirror_face(face: Face, frame_width: int) -> Face:
    """The face as it appears in the mirrored image; keypoint names keep the subject's POV."""
    x, y, w, h = face.box
    return Face(box=(frame_width - x - w, y, w, h), score=face.score,
                keypoints={k: (frame_width - px, py) for k, (px, py) in face.keypoints.items()})


def to_screen(face: Face, frame_size: tuple[int, int], shown: Rect, mirror: bool) -> Face:
    """The face in screen pixels of the preview drawn at `shown` (mirrored if `mirror`)."""
    fw, fh = frame_size
    if mirror:
        face = mirror_face(face, fw)
    sx, sy = shown[2] / fw, shown[3] / fh
    x, y, w, h = face.box
    return Face(box=(shown[0] + x * sx, shown[1] + y * sy, w * sx, h * sy), score=face.score,
                keypoints={k: (shown[0] + px * sx, shown[1] + py * sy)
                           for k, (px, py) in face.keypoints.items()})


def well_placed(face_box: tuple[float, float, float, float], guide: Rect) -> bool:
    """Is the face box (screen pixels) centred in the oval and about its width?

    The detector's box spans brow to chin, about 0.8 of a head: a head that fills the oval
    has a box about as wide as the oval, and one filling it a little more (up to 1.25: a face
    close to the camera, which the guidance still accepts) is placed too."""
    x, y, w, h = face_box
    ox, oy, ow, oh = guide
    dx = abs(x + w / 2 - (ox + ow / 2)) / ow
    dy = abs(y + h / 2 - (oy + oh / 2)) / oh
    return dx < 0.2 and dy < 0.2 and 0.5 <= w / ow <= 1.25


def wrap(text: str, measure: Callable[[str], int], max_width: int) -> list[str]:
    """Greedy word wrap; a word longer than the line stays whole on its own line."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}" if line else word
            if line and measure(candidate) > max_width:
                lines.append(line)
                line = word
            else:
                line = candidate
        lines.append(line)
    return [ln for ln in lines if ln] or [""]


def pictogram_regions(mirror: bool) -> dict[str, tuple[float, float, float, float]]:
    """Region boxes on the face pictogram in unit-square coordinates (x, y, w, h).

    Mirrored (like the preview), the subject's left eye is on the viewer's left.
    """
    left_x, right_x = (0.24, 0.54) if mirror else (0.54, 0.24)
    return {
        "forehead": (0.26, 0.13, 0.48, 0.19),
        "left_eye": (left_x, 0.34, 0.22, 0.14),
        "right_eye": (right_x, 0.34, 0.22, 0.14),
        "nose": (0.42, 0.47, 0.16, 0.17),
        "mouth": (0.33, 0.66, 0.34, 0.12),
        "chin": (0.35, 0.80, 0.30, 0.12),
    }


def scale_rect(unit: tuple[float, float, float, float], area: Rect) -> Rect:
    ux, uy, uw, uh = unit
    x, y, w, h = area
    return (x + round(ux * w), y + round(uy * h), round(uw * w), round(uh * h))
