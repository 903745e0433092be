"""Re-timing footage so that its own blinks answer cues: placement, fillers, cuts, errors."""

from __future__ import annotations

import math

import pytest

from kiosk.retime import Footage, plan

pytestmark = pytest.mark.unit

# 60 frames at 30 fps: blinks on frames 10-13 and 40-44; frames 55-57 have no face. With a
# 2-frame margin the open stretches are 0-7, 16-37, 47-54 and 58-59; one cut joins 50 and 5.
CLIP = Footage(frames=60, fps=30.0, blinks=((10, 14), (40, 45)), margin=2,
               cuts=((50, 5, 6.0),), avoid=frozenset({55, 56, 57}))


@pytest.mark.parametrize("onset", [1.0, 1.02, 1.05])
def test_a_blink_starts_at_its_onset_and_plays_at_real_speed(onset: float):
    out = plan(CLIP, onsets=[onset, 2.5], blinks=[0, 1], n_out=60, fps_out=15.0)
    k = math.ceil(onset * 15)  # the first output frame at or after the onset
    assert 10 <= out[k] <= 11  # shows the blink's first closing frame (within a frame)
    assert max(f for f in out[:k]) < 10  # and nothing of the blink before it
    assert out[k + 1] - out[k] == 2  # 30 fps footage at 15 fps: every other frame
    assert [f for f in out if 10 <= f < 14][-1] >= 12  # the closure plays in full


def test_fillers_stay_on_open_frames_with_a_face():
    out = plan(CLIP, onsets=[1.0, 2.5], blinks=[0, 1], n_out=60, fps_out=15.0)
    ok = CLIP.open_frames()
    segment = [not ok[f] for f in out]
    # exactly two stretches of blink frames (with their margins), the rest open frames
    starts = [k for k in range(1, len(out)) if segment[k] and not segment[k - 1]]
    assert len(starts) == 2
    assert not {55, 56, 57} & set(out)


def test_the_walk_between_blinks_uses_a_cut_where_it_must():
    # after blink 1 (open again at 47) back to before blink 0 (7): only through 50 -> 5
    out = plan(CLIP, onsets=[3.0, 4.0], blinks=[1, 0], n_out=75, fps_out=15.0)
    after = next(k for k, f in enumerate(out) if f >= 47)
    walk = out[after:next(k for k in range(after, len(out)) if out[k] == 10)]
    jumps = [(a, b) for a, b in zip(walk, walk[1:], strict=False) if abs(a - b) > 2]
    assert jumps == [(50, 5)]


def test_impossible_plans_are_refused():
    no_cut = Footage(frames=60, fps=30.0, blinks=((10, 14), (40, 45)), margin=2)
    with pytest.raises(ValueError, match="add cuts"):
        plan(no_cut, onsets=[3.0, 4.0], blinks=[1, 0], n_out=75, fps_out=15.0)
    with pytest.raises(ValueError, match="too close"):
        plan(CLIP, onsets=[1.0, 1.1], blinks=[0, 0], n_out=60, fps_out=15.0)
    with pytest.raises(ValueError, match="does not fit"):
        plan(CLIP, onsets=[3.9], blinks=[0], n_out=60, fps_out=15.0)


def test_a_hold_keeps_the_blink_s_shut_frame_then_it_opens_as_recorded():
    out = plan(CLIP, onsets=[1.0], blinks=[0], n_out=60, fps_out=15.0, holds=[1.0])
    shut = CLIP.shut_frame(0)
    assert shut == 11
    held = [k for k, f in enumerate(out) if f == shut]
    assert len(held) >= 15 and held == list(range(held[0], held[-1] + 1))  # ~1 s, unbroken
    after = out[held[-1] + 1:held[-1] + 3]
    assert after[0] > shut and after[1] > after[0]  # then the lid opens at real speed
