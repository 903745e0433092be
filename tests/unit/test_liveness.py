"""The cued blink challenge: seeded cue draws, response windows, strays, misses, spare cues."""

from __future__ import annotations

import random

import pytest

from kiosk.config import LivenessConfig
from kiosk.session.liveness import Challenge, LivenessCheck, new_challenge
from kiosk.vision.blink import Blink

pytestmark = pytest.mark.unit

FPS = 15
WINDOW = (0.2, 0.9)


def challenge(cues: tuple[float, ...] = (1.5, 3.5, 5.5), required: int = 3,
              max_strays: int = 1, kinds: tuple[str, ...] = ()) -> Challenge:
    return Challenge(cues, required, WINDOW, max_strays, kinds)  # type: ignore[arg-type]


def play(check: LivenessCheck, starts: list[float], until: float, closed_s: float = 0.2,
         closures: tuple[tuple[float, float], ...] = ()) -> list[tuple[float, str]]:
    """Frames at FPS. A blink starting at s shuts the eyes for `closed_s` and is reported when
    they reopen, like the detector does; a closure (start, seconds) shuts them for that long
    (the detector reports no blink for it). Returns the status changes."""
    changes, last = [], None
    pending = sorted(starts)
    shut = [(s, s + closed_s) for s in starts] + [(s, s + d) for s, d in closures]
    for i in range(int((until - check.started_at) * FPS) + 1):
        t = round(check.started_at + i / FPS, 6)
        blink = None
        if pending and pending[0] + closed_s <= t:
            s = pending.pop(0)
            blink = Blink(s, t)
        eyes = "closed" if any(a <= t < b for a, b in shut) else "open"
        status = check.update(t, blink, eyes=eyes)
        if status != last:
            changes.append((round(t, 3), status))
            last = status
    return changes


def test_new_challenge_draws_cues_from_the_config() -> None:
    cfg = LivenessConfig(cues=3, closures=1, closures_max=2, spare_cues=1, lead_s=1.2,
                         first_jitter_s=1.0, gap_min_s=1.2, close_gap_s=2.5, gap_jitter_s=1.5)
    draws = [new_challenge(random.Random(seed), cfg) for seed in range(300)]
    assert all(len(c.cues) == 4 and c.required == 3 and c.spare == 1 for c in draws)
    assert all(1.2 <= c.cues[0] <= 2.2 for c in draws)
    assert {c.kinds.count("close") for c in draws} == {1, 2} and all(len(c.kinds) == 3
                                                                     for c in draws)
    # one or two close cues, anywhere: six patterns, each about as likely
    patterns = {c.kinds for c in draws}
    assert len(patterns) == 6
    assert all(35 <= sum(c.kinds == k for c in draws) <= 65 for k in patterns)
    for c in draws:
        for i, (a, b) in enumerate(zip(c.cues, c.cues[1:], strict=False)):
            least = 2.5 if c.kind(i) == "close" else 1.2
            assert least - 1e-3 <= b - a <= least + 1.5 + 1e-3
    assert len({c.cues for c in draws}) == 300  # every seed its own schedule
    assert all(c.window == (cfg.window_start_s, cfg.window_end_s) for c in draws)
    blinks_only = LivenessConfig(closures=0, closures_max=0)
    assert new_challenge(random.Random(1), blinks_only).kinds == ("blink",) * blinks_only.cues


def test_new_challenge_is_seedable() -> None:
    cfg = LivenessConfig()
    rng = random.Random(3)
    first = [new_challenge(rng, cfg) for _ in range(3)]
    rng = random.Random(3)
    assert first == [new_challenge(rng, cfg) for _ in range(3)]
    assert len(set(first)) == 3


def test_bad_challenges_are_refused() -> None:
    with pytest.raises(ValueError):
        Challenge((1.0, 2.0), 3, WINDOW)  # more answers than cues
    with pytest.raises(ValueError):
        Challenge((1.0, 1.5), 2, WINDOW)  # next cue inside the previous window
    with pytest.raises(ValueError):
        Challenge((1.0,), 1, (0.5, 0.5))


def test_blinks_answering_every_cue_pass() -> None:
    check = LivenessCheck(challenge(), 10.0)
    # cues appear on the first frame at or after 11.5, 13.5, 15.5
    changes = play(check, [11.95, 13.9, 15.95], until=20)
    assert changes[-1][1] == "passed" and check.reason is None
    assert [round(c.shown, 3) for c in check.shown] == [11.533, 13.533, 15.533]
    assert check.done == 3 and check.progress == 1.0 and check.strays == 0
    assert changes[-1][0] == pytest.approx(15.95 + 0.2, abs=1 / FPS)  # on the answering blink


def test_the_cue_shows_until_answered_or_its_window_closes() -> None:
    check = LivenessCheck(challenge(), 0.0)
    play(check, [], until=1.4)
    assert check.showing(1.4) is None
    check.update(1.5, None, eyes="open")
    cue = check.showing(1.5)
    assert cue is not None and cue.kind == "blink"
    assert check.showing(1.5 + 0.9) is cue and check.showing(1.5 + 0.95) is None
    check.update(2.0, Blink(1.8, 2.0))
    assert check.done == 1 and check.showing(2.0) is None


def test_a_cue_waits_until_someone_could_see_it() -> None:
    check = LivenessCheck(challenge(), 0.0)
    check.update(1.5, None, face=False)
    check.update(1.6, None, eyes="closed")
    assert check.shown == []
    check.update(1.7, None, eyes="open")
    assert [c.shown for c in check.shown] == [1.7]


@pytest.mark.parametrize("delay", [0.1, 0.19, 0.95, 1.3])
def test_blinks_outside_the_window_do_not_answer(delay: float) -> None:
    check = LivenessCheck(challenge(max_strays=5), 0.0)
    play(check, [1.5 + delay], until=3.0)
    assert check.done == 0 and check.strays == 1


def test_too_many_strays_fail_at_once() -> None:
    check = LivenessCheck(challenge(max_strays=1), 0.0)
    changes = play(check, [1.9, 2.6, 3.0], until=8)  # one answer, then two off-cue blinks
    assert changes[-1] == (3.2, "failed") and check.reason == "off_cue"
    assert check.strays == 2 and check.done == 1


def test_blinks_before_the_first_cue_are_ignored() -> None:
    check = LivenessCheck(challenge(max_strays=0), 0.0)
    play(check, [0.2, 0.7, 1.2], until=1.5, closures=((0.4, 0.8),))
    assert check.status == "pending" and check.strays == 0 and len(check.seen) == 2
    assert len(check.closures) == 1


def test_a_double_blink_is_one_answer() -> None:
    check = LivenessCheck(challenge(max_strays=0), 0.0)
    play(check, [1.8, 2.25], until=3.4, closed_s=0.15)
    assert check.status == "pending" and check.done == 1 and check.strays == 0


def test_a_missed_cue_fails_without_spare_cues() -> None:
    check = LivenessCheck(challenge(), 0.0, answer_grace_s=0.9)
    changes = play(check, [1.9], until=8)  # cue 2 (3.5) never answered
    assert changes[-1][1] == "failed" and check.reason == "missed"
    # judged missed only once a blink started in its window would have been reported
    assert changes[-1][0] == pytest.approx(3.533 + 0.9 + 0.9, abs=1.01 / FPS)


def test_a_spare_cue_makes_up_for_one_miss() -> None:
    cues = (1.5, 3.5, 5.5, 7.5)
    check = LivenessCheck(Challenge(cues, 3, WINDOW, 1), 0.0)
    assert play(check, [1.9, 5.9, 7.95], until=10)[-1][1] == "passed"
    assert [c.answer is not None for c in check.shown] == [True, False, True, True]
    check = LivenessCheck(Challenge(cues, 3, WINDOW, 1), 0.0)
    assert play(check, [1.9, 7.95], until=10)[-1][1] == "failed"  # two misses
    assert check.reason == "missed"


def test_no_cue_is_shown_after_the_challenge_passed() -> None:
    cues = (1.5, 3.5, 5.5)
    check = LivenessCheck(Challenge(cues, 2, WINDOW, 0), 0.0)
    play(check, [1.9, 3.9], until=8)
    assert check.status == "passed" and len(check.shown) == 2


def test_a_late_blink_that_started_in_its_window_still_answers() -> None:
    check = LivenessCheck(challenge(), 0.0, answer_grace_s=0.9)
    play(check, [2.3], until=3.4, closed_s=0.5)  # reported at 2.8, after the window
    assert check.done == 1 and check.status == "pending"


def test_a_recording_that_ignores_the_cues_fails_for_most_seeds() -> None:
    """A regular natural blinker (every 2.8 s) against 200 random schedules: it gets through
    only by luck, which is what the windows and the stray count are for."""
    cfg = LivenessConfig()
    passed = 0
    for seed in range(200):
        check = LivenessCheck(new_challenge(random.Random(seed), cfg), 0.0)
        play(check, [0.6 + 2.8 * k for k in range(6)], until=16)
        passed += check.status == "passed"
        assert check.status != "pending"
    assert passed <= 4


CLOSE = ("blink", "close", "blink")


def test_a_closure_answers_a_close_cue() -> None:
    check = LivenessCheck(challenge(kinds=CLOSE, max_strays=0), 0.0)
    changes = play(check, [1.9, 5.9], until=8, closures=((3.9, 1.0),))
    assert changes[-1][1] == "passed"
    assert [c.kind for c in check.shown] == list(CLOSE)
    assert check.shown[1].answer == check.closures[0]
    assert check.closures[0].start == pytest.approx(3.933, abs=0.01)


@pytest.mark.parametrize("what", ["blink", "short", "long"])
def test_only_a_closure_of_the_right_length_answers_a_close_cue(what: str) -> None:
    check = LivenessCheck(challenge(kinds=CLOSE, max_strays=5), 0.0)
    closures = {"blink": (), "short": ((3.9, 0.45),), "long": ((3.9, 3.5),)}[what]
    play(check, [1.9] + ([3.9] if what == "blink" else []), until=5.5, closures=closures)
    assert check.shown[1].answer is None
    assert check.strays == (1 if what == "blink" else 0)


def test_a_closure_on_a_blink_cue_is_a_stray() -> None:
    check = LivenessCheck(challenge(kinds=CLOSE, max_strays=0), 0.0)
    changes = play(check, [], until=4, closures=((1.9, 1.0),))
    assert changes[-1][1] == "failed" and check.reason == "off_cue"


def test_a_spare_cue_asks_again_for_a_missed_closure() -> None:
    cues = (1.5, 3.5, 6.5, 8.5)
    check = LivenessCheck(Challenge(cues, 3, WINDOW, 0, CLOSE), 0.0)  # type: ignore[arg-type]
    # the closure is missed; the blink cue after it is answered; the spare asks to close
    changes = play(check, [1.9, 6.9], until=12, closures=((8.9, 1.0),))
    assert [c.kind for c in check.shown] == ["blink", "close", "blink", "close"]
    assert changes[-1][1] == "passed"


def test_natural_blinking_cannot_answer_a_close_cue() -> None:
    """Recordings blinking at any steady rhythm, 1000 random schedules with one closure."""
    cfg = LivenessConfig()
    for period in (1.0, 1.7, 2.8):
        for seed in range(200):
            check = LivenessCheck(new_challenge(random.Random(seed), cfg), 0.0)
            play(check, [0.3 + period * k for k in range(20)], until=20)
            assert check.status == "failed", (period, seed)
