"""Covered faces: the cover signal, continuity's hold, and what the session says meanwhile."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from kiosk import messages
from kiosk.config import ContinuityConfig
from kiosk.domain import Observation
from kiosk.screens import to_screen
from kiosk.session.continuity import CUES, Continuity
from kiosk.session.covered import VANISH_S, CoverWatch
from kiosk.session.machine import BLOCKED_KEY, HAND_KEY, Stage
from tests.unit import test_continuity as tc
from tests.unit import test_session as ts

pytestmark = pytest.mark.unit

MOUTH = dict(ts.CLEAR, mouth=0.95)


def fallback(face):  # type: ignore[no-untyped-def]
    return dataclasses.replace(face, detector="yunet")


# -- the signal ------------------------------------------------------------------------------


def test_a_blocked_region_is_a_cover_and_two_frames_make_it_lasting():
    w = CoverWatch(0.4)
    assert not w.update(ts.obs(0.0, ts.face_at())).covered
    first = w.update(ts.obs(0.1, ts.face_at(), regions=MOUTH))
    assert first.covered and first.parts == ("mouth",) and not first.lasting
    assert not first.heavy
    assert w.update(ts.obs(0.2, ts.face_at(), regions=MOUTH)).lasting
    assert not w.update(ts.obs(0.3, ts.face_at())).covered


def test_a_face_only_the_fallback_found_is_heavily_covered():
    cover = CoverWatch(0.4).update(ts.obs(0.0, fallback(ts.face_at()), regions=ts.CLEAR))
    assert cover.covered and cover.heavy and cover.parts == ()


def test_a_face_that_vanishes_in_place_is_hidden_until_it_is_seen_again():
    w = CoverWatch(0.4)
    w.update(ts.obs(0.0, ts.face_at()))
    hidden = [w.update(ts.obs(t, None)) for t in (0.1, 0.3, VANISH_S + 0.5, 1.5)]
    assert all(c.covered and c.heavy for c in hidden)
    assert not w.update(ts.obs(1.6, ts.face_at())).covered


def test_a_face_that_leaves_across_the_edge_or_long_ago_is_not_a_cover():
    w = CoverWatch(0.4)
    w.update(ts.obs(0.0, ts.face_at(cx=60)))  # box reaches past the left edge
    assert not w.update(ts.obs(0.1, None)).covered
    w = CoverWatch(0.4)
    w.update(ts.obs(0.0, ts.face_at()))
    assert not w.update(ts.obs(VANISH_S + 0.1, None)).covered


# -- continuity's hold ------------------------------------------------------------------------


def feed(seq: list[tuple[Observation, bool]]) -> list[tuple[float, str]]:
    c = Continuity(ContinuityConfig())
    return [(o.t, why) for o, cov in seq if (why := c.update(o, cov)) is not None]


def test_a_cover_holds_appearance_and_the_same_face_uncovered_goes_on():
    steps = [i / 15 for i in range(60)]
    seq = [(tc.obs(t, tc.face()), False) for t in steps[:15]]
    # covered: the look is someone else's (a hand), the face vanishes for a while, jitters
    seq += [(tc.obs(t, tc.face(330, 245, 60), pattern=tc.OTHER, chroma=30), True)
            for t in steps[15:25]]
    seq += [(tc.obs(t, None), True) for t in steps[25:35]]
    seq += [(tc.obs(t, tc.face()), False) for t in steps[35:]]
    assert feed(seq) == []
    # without the cover signal the same frames break it
    assert feed([(o, False) for o, _ in seq])


def test_a_swap_behind_the_cover_is_caught_on_the_first_uncovered_frame():
    steps = [i / 15 for i in range(40)]
    seq = [(tc.obs(t, tc.face()), False) for t in steps[:15]]
    seq += [(tc.obs(t, tc.face(), pattern=tc.OTHER), True) for t in steps[15:25]]
    seq += [(tc.obs(t, tc.face(), pattern=tc.OTHER), False) for t in steps[25:]]
    found = feed(seq)
    assert found and found[0] == (steps[25], CUES[0])


def test_a_covered_face_may_not_jump_and_must_keep_its_size_when_uncovered():
    steps = [i / 15 for i in range(40)]
    before = [(tc.obs(t, tc.face()), False) for t in steps[:15]]
    # one frame later, 3 eye distances away: faster than a person moves, jitter or not
    jumped = [(tc.obs(steps[15], tc.face(320 + 3 * 80)), True)]
    assert feed(before + jumped) == [(steps[15], "face jumped while covered")]
    # drifting slowly while covered is a person moving
    drift = [(tc.obs(t, tc.face(320 + 40 * (t - steps[15]))), True) for t in steps[15:30]]
    assert feed(before + drift) == []
    # a covered face's size is a guess: not checked while covered, but when uncovered
    smaller = [(tc.obs(t, tc.face(d=30)), True) for t in steps[15:20]]
    assert feed(before + smaller) == []
    back_small = [(tc.obs(steps[20], tc.face(d=30)), False)]  # 0.4 s later, 2.7x smaller
    assert feed(before + smaller + back_small) == [(steps[20], "face size changed while covered")]


def test_a_face_covered_from_the_start_is_checked_frame_by_frame():
    steps = [i / 15 for i in range(30)]
    seq = [(tc.obs(t, tc.face()), True) for t in steps[:15]]
    seq += [(tc.obs(t, tc.face(), pattern=tc.OTHER), True) for t in steps[15:]]
    found = feed(seq)
    assert found and found[0][0] == steps[15]


def test_a_cover_is_held_for_a_bounded_time():
    cfg = ContinuityConfig(max_covered_s=2.0)
    c = Continuity(cfg)
    seq = [(tc.obs(i / 15, tc.face()), i >= 15) for i in range(90)]
    found = [(o.t, why) for o, cov in seq if (why := c.update(o, cov)) is not None]
    assert found and found[0][1] == "covered too long" and 3.0 <= found[0][0] <= 3.2


# -- the session ------------------------------------------------------------------------------


def texts(run: ts.Run, script, seconds: float) -> list[str]:  # type: ignore[no-untyped-def]
    out = []
    end = run.t + seconds
    while run.t < end:
        run.events += run.session.step(script(run.t), run.t)
        out.append(to_screen(run.session.prompt, messages.load("en")).prompt)
        run.t = round(run.t + 1 / ts.FPS, 6)
    return out


def test_position_names_a_face_only_the_fallback_sees_never_a_distance_hint():
    run = ts.Run()
    small = ts.face_at(d=40)  # would be "Please come closer" if it were a clear face
    run.until(lambda t: ts.obs(t, small), 1.0)
    assert run.session.prompt.key == "position.too_far"
    said = texts(run, lambda t: ts.obs(t, fallback(small), regions=dict(MOUTH, nose=0.9)), 2.0)
    assert set(said) == {"Please remove your mask — your nose and mouth are covered"}
    said = texts(run, lambda t: ts.obs(t, fallback(small)), 1.0)
    assert set(said) == {"Please take your hand away from your face"}
    assert run.session.stage == Stage.POSITION


def test_liveness_asks_to_take_the_hand_away_while_the_face_is_hidden():
    run = ts.Run()
    run.to_liveness()
    said = texts(run, lambda t: ts.obs(t, None), 1.0)
    assert set(said) == {"Please take your hand away from your face"}
    assert run.session.stage == Stage.LIVENESS


def test_a_hand_over_the_mouth_after_the_blink_is_named_then_the_selfie_is_taken():
    run = ts.Run()
    run.to_liveness()
    run.blink_as_asked()
    assert run.session.stage == Stage.OCCLUSION
    # the hand hides the face from BlazeFace: the fallback finds it, then nothing at all
    said = texts(run, lambda t: ts.obs(t, fallback(ts.face_at(322, 243)), regions=MOUTH), 1.0)
    said += texts(run, lambda t: ts.obs(t, None), 0.6)
    assert said[-1] == "Move your hand away from your mouth"
    assert "Move your hand away from your mouth" in said[:15]
    assert run.session.prompt.key == BLOCKED_KEY
    run.until(lambda t: ts.obs(t, ts.face_at()), 8, lambda s: s.stage == Stage.RESULT)
    assert run.stages == [Stage.POSITION, Stage.LIVENESS, Stage.OCCLUSION, Stage.CAPTURE,
                          Stage.RESULT]
    assert run.ended()[-1].outcome == "captured"


def test_a_hand_during_the_countdown_goes_back_to_naming_it():
    run = ts.Run()
    run.to_liveness()
    run.blink_as_asked()
    run.until(lambda t: ts.obs(t, ts.face_at()), 8, lambda s: s.stage == Stage.CAPTURE)
    run.until(lambda t: ts.obs(t, ts.face_at(), regions=MOUTH), 0.2)
    assert run.session.stage == Stage.OCCLUSION
    run.until(lambda t: ts.obs(t, ts.face_at(), regions=MOUTH), 0.3)  # the smoothing window
    assert run.session.prompt.key == BLOCKED_KEY and run.session.prompt.highlight == ("mouth",)
    run.until(lambda t: ts.obs(t, ts.face_at()), 8, lambda s: s.stage == Stage.RESULT)
    assert run.ended()[-1].outcome == "captured"
    assert run.stages.count(Stage.LIVENESS) == 1


def test_a_hand_prompt_key_exists():
    assert messages.load("en").has(HAND_KEY)
    assert np.isfinite(VANISH_S)
