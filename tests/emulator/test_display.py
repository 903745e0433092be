"""PygameDisplay on the dummy SDL driver: every screen kind, saved PNGs, mirroring, keys."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.config import DisplayConfig, LedConfig
from kiosk.domain import Face
from kiosk.errors import HardwareUnavailableError
from kiosk.hardware import display_layout as geo
from kiosk.hardware.interfaces import Screen
from kiosk.hardware.leds import GpioLeds

pytestmark = pytest.mark.emulator

pygame = pytest.importorskip("pygame")
from kiosk.hardware.display import PygameDisplay  # noqa: E402 - needs pygame

CFG = DisplayConfig(width=1024, height=600)
GREY = np.full((480, 640, 3), 128, np.uint8)


def load_rgb(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, path
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def is_red(pixel: np.ndarray) -> bool:
    r, g, b = (int(v) for v in pixel)
    return r > 120 and r > 2 * g and r > 2 * b


def face_at(cx: float, cy: float, w: float) -> Face:
    return Face(box=(cx - w / 2, cy - w / 2, w, w), score=0.9, keypoints={
        "left_eye": (cx + 0.2 * w, cy - 0.1 * w), "right_eye": (cx - 0.2 * w, cy - 0.1 * w),
        "nose": (cx, cy), "mouth": (cx, cy + 0.25 * w),
        "left_ear": (cx + 0.45 * w, cy), "right_ear": (cx - 0.45 * w, cy)})


@pytest.fixture
def display(tmp_path: Path):
    d = PygameDisplay(CFG, emulator=True, screenshots=tmp_path / "shots")
    yield d
    d.close()


def test_every_screen_kind_is_saved_once_as_png(display: PygameDisplay, tmp_path: Path) -> None:
    screens = [
        Screen("attract", "Take your selfie", "Step in front of the screen"),
        Screen("live", "Please blink twice", "Blink naturally", progress=0.5),
        Screen("live", "Smile! Photo in 2", "Keep your eyes open", countdown=2),
        Screen("result", "Thank you, your selfie is saved", "You can step away now", ok=True),
        Screen("result", "We could not see you blink", "Please try again", ok=False),
        Screen("out_of_service", "Out of service", "model missing: eye_state"),
    ]
    for screen in screens:
        display.render(screen, GREY, None)
        display.render(screen, GREY, None)  # same screen again: no second file
    names = sorted(p.name for p in (tmp_path / "shots").glob("*.png"))
    assert names == ["0001_attract.png", "0002_live.png", "0003_live.png", "0004_result.png",
                     "0005_result.png", "0006_out_of_service.png"]
    index = [json.loads(line) for line in (tmp_path / "shots" / "screens.jsonl").open()]
    assert [e["file"] for e in index] == names
    assert index[-1]["hint"] == "model missing: eye_state"
    lay = display.layout
    for name in names:
        image = load_rgb(tmp_path / "shots" / name)
        assert image.shape == (600, 1024, 3)
        x, y, w, h = lay.text
        band = image[y: y + h, x: x + w]
        assert (band.min(axis=2) > 200).sum() > 200, f"{name}: no prompt text drawn"
    result_ok = load_rgb(tmp_path / "shots" / "0004_result.png")
    result_fail = load_rgb(tmp_path / "shots" / "0005_result.png")
    cx, cy = lay.body[0] + lay.body[2] // 2, lay.body[1] + lay.body[3] // 2
    ring = (cx, cy - round(min(lay.body[2:]) * 0.27))  # inside the icon disc, off the glyph
    assert result_ok[ring[1], ring[0], 1] > 150 and not is_red(result_ok[ring[1], ring[0]])
    assert is_red(result_fail[ring[1], ring[0]])


def test_highlighted_regions_are_red_on_the_mirrored_pictogram(display: PygameDisplay,
                                                             tmp_path: Path) -> None:
    display.render(Screen("live", "Your left eye is covered", highlight=("left_eye", "mouth")),
                   GREY, None)
    image = load_rgb(tmp_path / "shots" / "0001_live.png")
    regions = geo.pictogram_regions(mirror=True)
    px, py, pw, ph = display.layout.pictogram

    def centre(name: str) -> np.ndarray:
        x, y, w, h = geo.scale_rect(regions[name], (px, py, pw, ph))
        return image[y + h // 2, x + w // 4]  # off the pupil

    assert is_red(centre("left_eye")) and is_red(centre("mouth"))
    assert not is_red(centre("right_eye")) and not is_red(centre("nose"))
    # like a mirror: the subject's left eye is on the viewer's left
    assert regions["left_eye"][0] < regions["right_eye"][0]
    assert geo.pictogram_regions(mirror=False)["left_eye"][0] > 0.5


@pytest.mark.parametrize("mirror", [True, False])
def test_preview_is_mirrored(tmp_path: Path, mirror: bool) -> None:
    d = PygameDisplay(DisplayConfig(width=1024, height=600, mirror=mirror), emulator=True)
    frame = np.zeros((480, 640, 3), np.uint8)
    frame[:, :320] = (255, 0, 0)  # red left half of the camera image
    frame[:, 320:] = (0, 0, 255)
    d.render(Screen("live", "Hello"), frame, None)
    d.save_screenshot(tmp_path / "shot.png")
    d.close()
    image = load_rgb(tmp_path / "shot.png")
    x, y, w, h = geo.fit((640, 480), d.layout.preview)
    left, right = image[y + h // 2, x + w // 10], image[y + h // 2, x + w * 9 // 10]
    if mirror:
        assert is_red(right) and not is_red(left)
    else:
        assert is_red(left) and not is_red(right)


def test_face_box_is_mirrored_and_oval_turns_green_when_placed(tmp_path: Path) -> None:
    d = PygameDisplay(CFG, emulator=True)
    shown = geo.fit((640, 480), d.layout.preview)
    guide = geo.oval(shown)
    top = (guide[0] + guide[2] // 2, guide[1] + 2)  # on the oval's line
    d.render(Screen("live", "Hold still"), GREY, face_at(320, 226, 180))
    assert d.placed
    d.save_screenshot(tmp_path / "placed.png")
    d.render(Screen("live", "Move into the oval"), GREY, face_at(100, 226, 120))
    assert not d.placed
    d.save_screenshot(tmp_path / "off.png")
    d.close()
    placed, off = load_rgb(tmp_path / "placed.png"), load_rgb(tmp_path / "off.png")
    g = placed[top[1], top[0]]
    assert g[1] > 150 and g[0] < 100, g  # green
    assert off[top[1], top[0]].min() > 200  # white
    # a face on the camera image's left (x=100) is drawn on the right of the mirrored preview
    box = geo.to_screen(face_at(100, 226, 120), (640, 480), shown, mirror=True).box
    assert box[0] > shown[0] + shown[2] / 2


def test_virtual_leds_follow_the_led_values_with_their_meanings(tmp_path: Path) -> None:
    leds = GpioLeds(LedConfig())
    leds.show("pass")
    d = PygameDisplay(CFG, emulator=True, leds=leds)
    d.render(Screen("attract", "Take your selfie", legend=("pass", "ready, busy", "fail")),
             GREY, None)
    d.save_screenshot(tmp_path / "leds.png")
    d.close()
    leds.close()
    image = load_rgb(tmp_path / "leds.png")
    x, y, w, h = d.layout.leds
    row_h = h // 3
    rows = [image[y + row_h * i + row_h // 2, x: x + w] for i in range(3)]  # green, amber, red
    lit = [[p for p in row if p[1] > 150 and p[0] < 100] for row in rows]
    assert len(lit[0]) > 10 and not lit[1] and not any(is_red(p) for p in rows[2])
    # each LED has its meaning printed beside it (light text right of the disc)
    for i in range(3):
        band = image[y + row_h * i: y + row_h * (i + 1), x + row_h: x + w]
        assert (band.min(axis=2) > 150).sum() > 20, f"no legend text on row {i}"


def test_face_corners_stay_on_the_preview_when_the_face_is_at_the_edge(tmp_path: Path) -> None:
    d = PygameDisplay(CFG, emulator=True)
    shown = geo.fit((640, 480), d.layout.preview)
    d.render(Screen("live", "Please move into the oval"), GREY, face_at(600, 240, 160))
    d.save_screenshot(tmp_path / "edge.png")
    d.close()
    image = load_rgb(tmp_path / "edge.png").astype(int)
    # mirrored: a face at the camera image's right edge is at the preview's left edge; left of
    # the preview there must be only background
    x0 = shown[0]
    strip = image[shown[1]: shown[1] + shown[3], max(0, x0 - 12): x0]
    assert (np.abs(strip - np.array(pygame_colour("BG"))).max(axis=2) < 8).all()


def pygame_colour(name: str) -> tuple[int, int, int]:
    from kiosk.hardware import display_draw

    return getattr(display_draw, name)


def test_tick_has_no_notch_where_its_strokes_meet(tmp_path: Path) -> None:
    from kiosk.hardware import display_draw

    surf = pygame.Surface((240, 240))
    surf.fill((0, 0, 0))
    display_draw.tick(surf, (0, 0, 240, 240))
    image = pygame.surfarray.array3d(surf).transpose(1, 0, 2)
    # the corner of the tick: a disc of half the stroke width around the joint is all white
    jx, jy, half = round(0.44 * 240), round(0.67 * 240), max(4, 240 // 12) // 2
    ys, xs = np.mgrid[-half + 1: half, -half + 1: half]
    inside = ys ** 2 + xs ** 2 < (half - 1) ** 2
    joint = image[jy + ys[inside], jx + xs[inside]]
    assert (joint.min(axis=1) > 240).all()


def test_attract_screen_shows_numbered_steps_and_the_language_button(tmp_path: Path) -> None:
    d = PygameDisplay(CFG, emulator=True)
    steps = ("Stand with your face in the oval", "Blink each time the screen asks",
             "Keep your face uncovered", "Hold still for the photo")
    d.render(Screen("attract", "Take your selfie", steps=steps, language="Bahasa Indonesia"),
             GREY, None)
    d.save_screenshot(tmp_path / "attract.png")
    image = load_rgb(tmp_path / "attract.png")
    x, y, w, h = d.layout.steps
    area = image[y: y + h, x: x + w]
    green = (area[..., 1] > 150) & (area[..., 0] < 100)
    rows_with_green = np.flatnonzero(green.any(axis=1))
    # four number discs, one under the other
    runs = np.split(rows_with_green, np.flatnonzero(np.diff(rows_with_green) > 1) + 1)
    assert len(runs) == 4
    assert (area.min(axis=2) > 200).sum() > 500  # the step texts
    bx, by, bw, bh = d.layout.language
    assert (image[by: by + bh, bx: bx + bw].min(axis=2) > 200).sum() > 50  # button label
    # a tap on the button (SDL turns touches into clicks) asks for the other language
    centre = (bx + bw // 2, by + bh // 2)
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=centre))
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=(5, 5)))
    assert d.poll() == ["language"]
    # without a button on screen a tap there does nothing
    d.render(Screen("result", "Thank you", ok=True), GREY, None)
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=centre))
    assert d.poll() == []
    d.close()


class CountingTones:
    def __init__(self) -> None:
        self.played = 0
        self.closed = False

    def cue(self) -> None:
        self.played += 1

    def close(self) -> None:
        self.closed = True


def test_each_new_blink_cue_plays_the_tone_once() -> None:
    tones = CountingTones()
    d = PygameDisplay(CFG, emulator=True, sound=tones)  # type: ignore[arg-type]
    for cue in (0, 0, 1, 1, 1, 2, 2, 0, 1):
        d.render(Screen("live", "Blink now", cue=cue), GREY, None)
    d.close()
    assert tones.played == 3  # 0->1, 1->2, and the next challenge's first cue
    assert tones.closed


def test_fullscreen_on_dummy_driver_lays_out_from_the_real_size() -> None:
    d = PygameDisplay(DisplayConfig(fullscreen=True), emulator=False)
    w, h = d.surface.get_size()
    assert d.layout.size == (w, h)
    d.render(Screen("out_of_service", "Out of service", "camera failed"), None, None)
    d.close()


def test_poll_maps_keys_and_never_blocks(display: PygameDisplay) -> None:
    assert display.poll() == []
    for key in (pygame.K_r, pygame.K_q, pygame.K_ESCAPE, pygame.K_x, pygame.K_l):
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode=""))
    pygame.event.post(pygame.event.Event(pygame.QUIT))
    assert display.poll() == ["reset", "quit", "quit", "language", "quit"]
    assert display.poll() == []


def test_missing_pygame_names_the_install(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "pygame", None)  # makes `import pygame` fail
    with pytest.raises(HardwareUnavailableError, match="pip install pygame==2.6.1"):
        PygameDisplay(CFG, emulator=True)
