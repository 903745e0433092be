"""Pure display geometry: layout inside the screen, mirroring, oval placement, word wrap."""

from __future__ import annotations

import pytest

from kiosk.domain import Face
from kiosk.hardware import display_layout as geo

pytestmark = pytest.mark.unit


def inside(inner: geo.Rect, outer: geo.Rect) -> bool:
    return (inner[0] >= outer[0] and inner[1] >= outer[1]
            and inner[0] + inner[2] <= outer[0] + outer[2]
            and inner[1] + inner[3] <= outer[1] + outer[3])


def overlap(a: geo.Rect, b: geo.Rect) -> bool:
    return not (a[0] + a[2] <= b[0] or b[0] + b[2] <= a[0]
                or a[1] + a[3] <= b[1] or b[1] + b[3] <= a[1])


@pytest.mark.parametrize("legend", [True, False])
@pytest.mark.parametrize("size", [(1024, 600), (800, 480), (1920, 1080), (1024, 768),
                                  (600, 1024), (320, 240)])
def test_layout_parts_fit_the_screen_and_do_not_overlap(size: tuple[int, int],
                                                        legend: bool) -> None:
    lay = geo.layout(*size, legend=legend)
    screen = (0, 0, *size)
    parts = {"text": lay.text, "preview": lay.preview, "pictogram": lay.pictogram,
             "progress": lay.progress, "language": lay.language}
    if legend:
        parts["leds"] = lay.leds
    for name, rect in {**parts, "steps": lay.steps}.items():
        assert inside(rect, screen), (name, rect)
        assert rect[2] > 0 and rect[3] > 0, (name, rect)
    names = list(parts)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not overlap(parts[a], parts[b]), (a, b)
    # the steps take the pictogram's place on the attract screen, next to the rest
    for name in ("text", "preview", "language", *(("leds",) if legend else ())):
        assert not overlap(lay.steps, parts[name]), name
    assert lay.pictogram[2] == lay.pictogram[3]
    assert lay.leds[3] == 0 if not legend else lay.leds[3] >= 36


def test_fonts_scale_with_the_screen() -> None:
    small, big = geo.layout(800, 480), geo.layout(1920, 1080)
    assert big.prompt_px > 2 * small.prompt_px * 0.9
    assert small.prompt_px > small.hint_px


def test_fit_keeps_aspect_and_centres() -> None:
    assert geo.fit((640, 480), (0, 0, 800, 300)) == (200, 0, 400, 300)
    assert geo.fit((640, 480), (10, 10, 320, 1000)) == (10, 390, 320, 240)


def test_mirror_face_keeps_names_and_moves_x() -> None:
    face = Face((100, 50, 80, 90), 0.9, {"left_eye": (160, 80), "right_eye": (120, 80)})
    m = geo.mirror_face(face, 640)
    assert m.box == (460, 50, 80, 90)
    assert m.keypoints == {"left_eye": (480, 80), "right_eye": (520, 80)}
    # the subject's left eye (right of the camera image) is on the viewer's left when mirrored
    assert m.keypoints["left_eye"][0] < m.keypoints["right_eye"][0]


def test_to_screen_scales_into_the_shown_rect() -> None:
    face = Face((0, 0, 64, 48), 0.9, {"nose": (32, 24)})
    s = geo.to_screen(face, (640, 480), (100, 50, 320, 240), mirror=False)
    assert s.box == (100, 50, 32, 24) and s.keypoints["nose"] == (116, 62)
    s = geo.to_screen(face, (640, 480), (100, 50, 320, 240), mirror=True)
    assert s.box == (388, 50, 32, 24)


def test_well_placed() -> None:
    guide = (100, 100, 200, 260)
    assert geo.well_placed((110, 130, 180, 180), guide)  # centred, about the oval's width
    assert not geo.well_placed((110, 130, 60, 60), guide)  # too small
    assert not geo.well_placed((250, 130, 180, 180), guide)  # off centre
    assert geo.well_placed((80, 110, 240, 240), guide)  # a close face filling the oval
    assert not geo.well_placed((60, 90, 280, 280), guide)  # too big


def test_wrap() -> None:
    measure = len  # one unit per character
    assert geo.wrap("Please come closer to the screen", measure, 12) == [
        "Please come", "closer to", "the screen"]
    assert geo.wrap("Supercalifragilistic word", measure, 5) == ["Supercalifragilistic", "word"]
    assert geo.wrap("", measure, 10) == [""]
    assert geo.wrap("a\nb", measure, 10) == ["a", "b"]
