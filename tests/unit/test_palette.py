"""Every text colour on its background passes WCAG 2.x AA contrast at the size it is drawn."""

from __future__ import annotations

import pytest

pygame = pytest.importorskip("pygame")
from kiosk.hardware import display_draw as d  # noqa: E402 - needs pygame
from kiosk.hardware import display_layout as geo  # noqa: E402

pytestmark = pytest.mark.unit

# WCAG: "large" text is >= 18 pt (24 px) or >= 14 pt bold (18.7 px); pygame's default font is
# bold (freesansbold). Large text needs 3:1, the rest 4.5:1.
LARGE_BOLD_PX = 18.7


def luminance(rgb: tuple[int, int, int]) -> float:
    def lin(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4
    r, g, b = (lin(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_contrast_formula_matches_known_values() -> None:
    assert contrast((0, 0, 0), (255, 255, 255)) == pytest.approx(21.0)
    assert contrast((118, 118, 118), (255, 255, 255)) == pytest.approx(4.54, abs=0.01)


def role_px(lay: geo.Layout) -> dict[str, float]:
    """The smallest size each role can be drawn at (fonts shrink to fit, down to 50-60%)."""
    return {"prompt": 0.5 * lay.prompt_px, "hint": 0.5 * lay.hint_px,
            "fault_prompt": 0.5 * lay.prompt_px, "fault_hint": 0.5 * lay.hint_px,
            "countdown": lay.prompt_px, "step": lay.small_px * 0.6,
            "step_number": lay.small_px * 0.6, "button": lay.small_px * 0.6,
            "legend": lay.small_px * 0.6}


@pytest.mark.parametrize("size", [(1024, 600), (800, 480), (1920, 1080), (600, 1024)])
def test_every_text_colour_passes_aa_at_the_kiosks_sizes(size: tuple[int, int]) -> None:
    lay = geo.layout(*size, legend=True)
    sizes = role_px(lay)
    assert set(sizes) == set(d.TEXT_ON), "a text role without a size (or a size without a role)"
    for role, (fg, bg) in d.TEXT_ON.items():
        need = 3.0 if sizes[role] >= LARGE_BOLD_PX else 4.5
        assert contrast(fg, bg) >= need, (role, fg, bg, round(contrast(fg, bg), 2), need)


def test_the_palette_passes_aa_for_small_text_everywhere() -> None:
    # stricter than needed at kiosk sizes: a smaller screen never makes text unreadable
    for role, (fg, bg) in d.TEXT_ON.items():
        assert contrast(fg, bg) >= 4.5, role
