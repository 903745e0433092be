"""BlinkDetector on synthetic p(closed) sequences: frame rates, drops, winks, long closures."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from kiosk.config import LivenessConfig
from kiosk.domain import Eyes
from kiosk.vision.blink import Blink, BlinkDetector, BlinkParams

pytestmark = pytest.mark.unit

OPEN, CLOSED = 0.05, 0.95
Profile = Callable[[float], Eyes | None]


def ready(det: BlinkDetector | None = None) -> BlinkDetector:
    """A detector that has seen the person's open eyes (what POSITION feeds it)."""
    det = det or BlinkDetector()
    for i in range(5):
        det.calibrate(-0.5 + i / 10, Eyes(OPEN, OPEN))
    return det


def blinks_at(*spans: tuple[float, float], left: bool = True, right: bool = True) -> Profile:
    """Eyes closed during each (start, end) span, open otherwise."""
    def profile(t: float) -> Eyes:
        shut = any(a <= t < b for a, b in spans)
        return Eyes(CLOSED if shut and left else OPEN, CLOSED if shut and right else OPEN)
    return profile


def run(profile: Profile, fps: float, duration: float = 3.0, start: float = 0.0,
        drop: Callable[[int], bool] = lambda i: False) -> list[float]:
    """Times at which update() returned a Blink (its `end`)."""
    det = BlinkDetector()
    hits = []
    for i in range(int(duration * fps) + 1):
        t = start + i / fps
        if drop(i):
            continue
        blink = det.update(t, profile(t))
        if blink is not None:
            assert blink.end == t and blink.start < t
            hits.append(t)
    assert det.count == len(hits)
    return hits


@pytest.mark.parametrize("fps", [6, 10, 15, 25, 30])
def test_one_blink_is_counted_once_at_every_rate(fps: float) -> None:
    # 0.12 s closure that covers a frame at every rate here (6 fps frames: 1.0, 1.1667...)
    hits = run(blinks_at((1.1, 1.3)), fps)
    assert len(hits) == 1
    assert 1.2 <= hits[0] <= 1.3 + 1 / fps  # on the first open frame after the closure


@pytest.mark.parametrize("fps", [6, 15, 30])
def test_two_blinks(fps: float) -> None:
    assert len(run(blinks_at((0.9, 1.1), (2.0, 2.25)), fps, duration=3.5)) == 2


def test_six_fps_single_closed_frame_is_a_blink() -> None:
    seq = [OPEN, OPEN, CLOSED, OPEN, OPEN]
    det = ready()
    out = [det.update(i / 6, Eyes(p, p)) for i, p in enumerate(seq)]
    assert out == [None, None, None, Blink(2 / 6, 3 / 6), None]


@pytest.mark.parametrize("fps", [15, 30])
def test_dropped_frames(fps: float) -> None:
    # every third frame lost: timing comes from timestamps, so the blink still counts once
    assert len(run(blinks_at((1.0, 1.2)), fps, drop=lambda i: i % 3 == 0)) == 1


def test_random_jitter_and_drops_keep_exact_count() -> None:
    rng = np.random.default_rng(7)
    t, det = 0.0, BlinkDetector()
    profile = blinks_at((1.0, 1.2), (2.5, 2.65), (4.0, 4.3))
    while t < 5.0:
        det.update(t, profile(t))
        t += float(rng.uniform(1 / 30, 1 / 8))  # 8-30 fps with jitter
    assert det.count == 3


def test_a_gap_longer_than_max_gap_resets_the_phase() -> None:
    det = BlinkDetector()
    assert not det.update(0.0, Eyes(OPEN, OPEN))
    assert not det.update(1.0, Eyes(CLOSED, CLOSED))  # 1 s without frames: unknown what happened
    assert not det.update(1.1, Eyes(OPEN, OPEN))
    assert det.count == 0


@pytest.mark.parametrize("fps", [6, 15, 30])
def test_wink_is_not_a_blink(fps: float) -> None:
    assert run(blinks_at((1.0, 1.3), right=False), fps) == []
    assert run(blinks_at((1.0, 1.3), left=False), fps) == []


def test_alternating_winks_are_not_a_blink() -> None:
    seq = [(OPEN, OPEN), (CLOSED, OPEN), (OPEN, CLOSED), (CLOSED, OPEN), (OPEN, OPEN)]
    det = BlinkDetector()
    assert not any(det.update(i / 15, Eyes(*p)) for i, p in enumerate(seq))


@pytest.mark.parametrize("covered", [0.4, CLOSED])
def test_one_covered_eye_blocks_blinks(covered: float) -> None:
    # a hand or sunglasses over the left eye: unreadable (in the band) or read as closed
    def profile(t: float) -> Eyes:
        return Eyes(covered, CLOSED if 1.0 <= t < 1.2 else OPEN)
    assert run(profile, 30) == []


@pytest.mark.parametrize("fps", [6, 15, 30])
def test_long_closure_is_not_a_blink(fps: float) -> None:
    assert run(blinks_at((1.0, 2.5)), fps, duration=4) == []
    assert run(blinks_at((1.0, 1.8)), fps) == []


def test_closure_bounds() -> None:
    assert len(run(blinks_at((1.0, 1.45)), 30)) == 1  # just inside max_closed_s
    assert run(blinks_at((1.0, 1.6)), 30) == []  # seen closed for more than 0.5 s
    # a single closed frame at 30 fps: open -> open in 66 ms >= min_closed_s
    assert len(run(blinks_at((1.0, 1.02)), 30)) == 1
    strict = BlinkDetector(BlinkParams(min_closed_s=0.1))
    for i, p in enumerate([OPEN, CLOSED, OPEN]):
        strict.update(i / 30, Eyes(p, p))
    assert strict.count == 0


def test_blink_spans_closing_onset_to_reopened_frame() -> None:
    det = ready()
    seq = [OPEN, OPEN, 0.4, CLOSED, CLOSED, 0.4, OPEN, OPEN]  # band frames are undecided
    out = [det.update(i / 30, Eyes(p, p)) for i, p in enumerate(seq)]
    # starts on the first frame that was no longer open (closing), ends when open again
    assert [b for b in out if b is not None] == [Blink(2 / 30, 6 / 30)]
    assert out[6] == Blink(2 / 30, 6 / 30)


def test_nothing_counts_before_there_is_an_open_eye_level() -> None:
    det = BlinkDetector()  # no POSITION frames: the first frames only build the level
    out = [det.update(i / 30, Eyes(p, p)) for i, p in enumerate([OPEN, CLOSED, OPEN])]
    assert out == [None, None, None]
    assert ready().update(0.0, Eyes(OPEN, OPEN)) is None
    assert BlinkDetector(BlinkParams(calibrate=False)).update(0.0, Eyes(OPEN, OPEN)) is None


def test_an_eye_that_reads_closed_at_rest_cannot_make_blinks() -> None:
    # a photo's (or a glare-covered) eye at 0.95 all along, the other eye flickering: the
    # stuck eye is unreadable and counts as open, so no frame is ever CLOSED
    def count(params: BlinkParams) -> int:
        det = BlinkDetector(params)
        for i, q in enumerate([0.05, 0.9, 0.05, 0.95, 0.1, 0.05] * 5):
            det.update(i / 5, Eyes(0.99 if q > 0.5 else 0.93, q))  # noisy, always "closed"
        return det.count
    assert count(BlinkParams()) == 0
    assert count(BlinkParams(max_reference=0.99)) > 0  # without the rule it blinks


def test_eyes_closed_at_start_are_not_a_blink() -> None:
    assert run(blinks_at((0.0, 0.2)), 30) == []


def test_face_lost_mid_blink_resets() -> None:
    base = blinks_at((1.0, 1.2))

    def profile(t: float) -> Eyes | None:
        return None if 1.05 <= t < 1.15 else base(t)
    assert run(profile, 30) == []
    # after the face comes back, a whole new blink counts again
    assert len(run(lambda t: None if 0.5 <= t < 0.6 else base(t), 30)) == 1


def test_time_going_backwards_resets() -> None:
    det = BlinkDetector()
    det.update(1.0, Eyes(OPEN, OPEN))
    det.update(1.1, Eyes(CLOSED, CLOSED))
    assert not det.update(0.5, Eyes(OPEN, OPEN))
    assert det.count == 0


def test_hysteresis_band() -> None:
    band = BlinkParams(open_at=0.25, close_at=0.5, calibrate=False)
    det = BlinkDetector(band)
    # hovering in the band (0.25 .. 0.5) never makes blinks
    for i, p in enumerate([0.1, 0.45, 0.3, 0.48, 0.27, 0.1, 0.49, 0.1]):
        assert not det.update(i / 15, Eyes(p, p))
    # a value in the band does not end a closed phase: only <= open_at re-opens
    det = BlinkDetector(band)
    out = [det.update(i / 30, Eyes(p, p)) for i, p in enumerate([0.1, 0.55, 0.3, 0.55, 0.1])]
    assert out == [None, None, None, None, Blink(1 / 30, 4 / 30)]
    # the thresholds themselves count: <= open_at is open, >= close_at is closed
    det = BlinkDetector(band)
    out = [det.update(i / 30, Eyes(p, p)) for i, p in enumerate([0.25, 0.5, 0.25])]
    assert out == [None, None, Blink(1 / 30, 2 / 30)]
    det = BlinkDetector(band)  # one eye just short of closed: not a blink
    out = [det.update(i / 30, Eyes(p, q)) for i, (p, q) in enumerate(
        [(0.1, 0.1), (0.9, 0.49), (0.1, 0.1)])]
    assert out == [None, None, None]


def test_count_and_reset() -> None:
    det = ready()
    for i, p in enumerate([OPEN, CLOSED, OPEN, CLOSED, OPEN]):
        det.update(i / 10, Eyes(p, p))
    assert det.count == 2
    det.reset()
    assert det.count == 0
    assert not det.update(1.0, Eyes(OPEN, OPEN))


def test_face_lost_keeps_count() -> None:
    det = ready()
    for i, p in enumerate([OPEN, CLOSED, OPEN]):
        det.update(i / 10, Eyes(p, p))
    det.update(0.3, None)
    assert det.count == 1


@pytest.mark.parametrize("kwargs", [{"open_at": 0.6, "close_at": 0.4},
                                    {"min_closed_s": 0.6, "max_closed_s": 0.5},
                                    {"max_closed_s": 1.0, "max_cycle_s": 0.9},
                                    {"reference_q": 1.5}, {"merge_s": -0.1}])
def test_params_are_validated(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        BlinkParams(**kwargs)


def test_closure_is_measured_against_the_open_eye_reference() -> None:
    # open eyes that score 0.3 (glasses glare, a squint) and a blink that only reaches 0.75:
    # against that person's own level the blink is plain, an absolute 0.5 would be too
    calibrated, fixed = BlinkDetector(), BlinkDetector(BlinkParams(calibrate=False))
    seq = [0.3] * 30 + [0.75, 0.75, 0.3, 0.3]
    for det in (calibrated, fixed):
        for i, p in enumerate(seq):
            det.update(i / 30, Eyes(p, p))
    assert calibrated.count == 1
    assert fixed.count == 0
    assert calibrated.closure(Eyes(0.3, 0.3)) == (0.0, 0.0)


def test_calibrate_feeds_the_reference_without_counting() -> None:
    det = BlinkDetector()
    for i in range(30):  # POSITION: the person looks at the screen, eyes open at 0.4
        det.calibrate(i / 30, Eyes(0.4, 0.4))
    assert det.count == 0
    left, right = det.closure(Eyes(0.7, 0.7))
    assert left == right == pytest.approx(0.5)
    det.reset()  # a new challenge keeps the person's level
    assert det.closure(Eyes(0.7, 0.7))[0] == pytest.approx(0.5)
    det.forget()  # a new person does not
    assert det.closure(Eyes(0.7, 0.7))[0] == pytest.approx(0.7)


def test_reference_ignores_the_closed_phase() -> None:
    # a closure longer than the reference window must not become the "open" level
    det = BlinkDetector(BlinkParams(reference_s=0.5))
    for i in range(15):
        det.update(i / 30, Eyes(OPEN, OPEN))
    for i in range(15, 60):
        det.update(i / 30, Eyes(CLOSED, CLOSED))
    assert det.closure(Eyes(CLOSED, CLOSED))[0] > 0.9


@pytest.mark.parametrize("fps", [15, 30])
def test_double_blink_is_one_blink(fps: float) -> None:
    # eyes open again for a moment (< merge_s) between two closures: one blink, not two
    hits = run(blinks_at((1.0, 1.15), (1.22, 1.37)), fps)  # one open frame at 15 fps
    assert len(hits) == 1
    # a second closure well after the first reopened is a blink of its own
    assert len(run(blinks_at((1.0, 1.15), (1.5, 1.65)), fps)) == 2


def test_blinks_during_position_do_not_raise_the_open_level() -> None:
    # a long blink fills half of the POSITION frames: the median would sit between open and
    # closed and hide the next blink; the low quantile is still the open level
    det = BlinkDetector()
    for i in range(30):
        det.calibrate(i / 30, Eyes(CLOSED if 10 <= i < 25 else OPEN, CLOSED if 10 <= i < 25
                                   else OPEN))
    assert det.closure(Eyes(OPEN, OPEN)) == (0.0, 0.0)
    assert det.closure(Eyes(CLOSED, CLOSED))[0] > 0.9


def test_a_blink_is_shorter_than_a_closure_that_answers_a_close_cue() -> None:
    # eyes held shut for close_min_s answer "Close your eyes"; the same closure must not
    # also be a blink (it would answer the wrong cue or count as a stray)
    assert BlinkParams().max_closed_s < LivenessConfig().close_min_s
