"""models/occlusion_compare.py keep rule and the candidates page it writes."""

from __future__ import annotations

import pytest

from tests.conftest import recipe_module

compare = recipe_module("occlusion_compare")
card = recipe_module("occlusion_card")

pytestmark = pytest.mark.unit

SHIPPED = {"sunglasses_miss": 5, "sunglasses_n": 56, "masks_miss": 12, "masks_n": 231,
           "clean_fb": 6, "clean_n": 624, "hard_fb": 4, "hard_n": 317, "glasses_fb": 0,
           "glasses_n": 136, "predict_ms": 0.20, "thresholds": {"left_eye": 0.4}}


def failed(**change: float) -> list[str]:
    verdict = compare.keep({**SHIPPED, **change}, SHIPPED)
    return [k for k, ok in verdict.items() if not ok]


def test_keep_needs_four_fewer_misses_and_nothing_worse() -> None:
    assert failed() == ["K1"]  # the same model is not an improvement
    assert failed(masks_miss=8) == []  # exactly 4 fewer
    assert failed(sunglasses_miss=3, masks_miss=10) == []
    assert failed(masks_miss=9) == ["K1"]  # 3 fewer


def test_keep_refuses_a_trade_of_sunglasses_for_masks() -> None:
    assert failed(sunglasses_miss=6, masks_miss=2) == ["K2"]
    assert failed(sunglasses_miss=0, masks_miss=13) == []  # one more mask miss is allowed
    assert "K2" in failed(sunglasses_miss=0, masks_miss=14)


def test_keep_bounds_hard_false_blocks_clear_glasses_and_latency() -> None:
    better = {"masks_miss": 6}
    assert failed(**better, hard_fb=5, glasses_fb=1, predict_ms=0.25) == []
    assert failed(**better, hard_fb=6) == ["K3"]
    assert failed(**better, glasses_fb=2) == ["K4"]
    assert failed(**better, predict_ms=0.251) == ["K5"]


def test_candidate_rows_name_the_failed_rules() -> None:
    judged = {
        "c1": {"what": "shades", "shipped": SHIPPED, "candidate": {**SHIPPED, "masks_miss": 14},
               "rule": compare.keep({**SHIPPED, "masks_miss": 14}, SHIPPED), "keep": False},
        "c2": {"what": "", "shipped": SHIPPED, "candidate": {**SHIPPED, "masks_miss": 7},
               "rule": compare.keep({**SHIPPED, "masks_miss": 7}, SHIPPED), "keep": True},
    }
    rows = card.candidate_rows(judged).splitlines()
    assert rows[0].startswith("| c1: shades | 5/56 (5) | 14/231 (12) |")
    assert rows[0].endswith("| not kept | K1, K2 |")
    assert rows[1].startswith("| c2 | ") and rows[1].endswith("| **kept** | – |")


def test_candidates_page_says_whether_one_was_kept_and_that_nothing_is_held_out() -> None:
    judged = {"c1": {"what": "", "shipped": SHIPPED, "candidate": SHIPPED,
                     "rule": compare.keep(SHIPPED, SHIPPED), "keep": False}}
    ceiling = {"masks: face found": {"k": 9, "n": 10, "rate": 0.9, "lo": 0.6, "hi": 0.98}}
    page = card.candidates_page(judged, ceiling, "One seed each.")
    assert "**None was kept**" in page and "nothing below is held-out" in page
    assert "| c1 | 5/56 (5) |" in page and "One seed each." in page
    assert "| masks: face found | 9/10 = 90.0%" in page
    judged["c1"]["keep"] = True
    assert "Kept: c1." in card.candidates_page(judged, None)
