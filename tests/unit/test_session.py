"""The session state machine on scripted observation sequences and an injected clock."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from kiosk import messages
from kiosk.config import AttemptsConfig, Config, LivenessConfig, SessionConfig
from kiosk.domain import Eyes, Face, Observation, Quality
from kiosk.screens import to_screen
from kiosk.session.guidance import advice
from kiosk.session.machine import (
    Prompt,
    Session,
    SessionEnded,
    Stage,
    StageChanged,
    TakeSelfie,
)

pytestmark = pytest.mark.unit

FPS = 15.0
W, H = 640, 480
CLEAR = {r: 0.02 for r in ("forehead", "left_eye", "right_eye", "nose", "mouth", "chin")}
OPEN = Eyes(0.03, 0.04)
SHUT = Eyes(0.97, 0.95)


def face_at(cx: float = 320, cy: float = 240, d: float = 100) -> Face:
    return Face((cx - d, cy - d, 2 * d, 2 * d), 0.95, {
        "left_eye": (cx + d / 2, cy - 20), "right_eye": (cx - d / 2, cy - 20),
        "nose": (cx, cy + 20), "mouth": (cx, cy + 60),
        "left_ear": (cx + d, cy), "right_ear": (cx - d, cy)})


def quality(face: Face, **kw: float) -> Quality:
    base = dict(face_size=face.eye_distance / W, eye_distance_px=face.eye_distance,
                offset_x=face.center[0] / W - 0.5, offset_y=face.center[1] / H - 0.5,
                luminance=130.0, luma_range=120.0, clipped=0.01, sharpness=300.0, yaw=0.0,
                roll_deg=0.0, motion=0.0)
    base.update(kw)
    return Quality(**base)


def obs(t: float, face: Face | None = None, eyes: Eyes = OPEN,
        regions: dict[str, float] | None = None, others: tuple[Face, ...] = (),
        **q: float) -> Observation:
    i = round(t * FPS)
    if face is None:
        return Observation(t, i, (W, H), 0)
    return Observation(t, i, (W, H), 1 + len(others), face, others, eyes,
                       CLEAR if regions is None else regions, quality(face, **q))


class Run:
    """Steps a session at 15 fps over a script t -> Observation, recording what happened."""

    def __init__(self, seed: int = 1, cfg: Config | None = None) -> None:
        self.session = Session(cfg or Config(), random.Random(seed))
        self.t = 0.0
        self.events: list[object] = []

    def until(self, script: Callable[[float], Observation], seconds: float,
              stop: Callable[[Session], bool] = lambda s: False) -> None:
        end = self.t + seconds
        while self.t < end:
            self.events += self.session.step(script(self.t), self.t)
            self.t = round(self.t + 1 / FPS, 6)
            if stop(self.session):
                return

    @property
    def stages(self) -> list[Stage]:
        return [e.stage for e in self.events if isinstance(e, StageChanged)]

    def ended(self) -> list[SessionEnded]:
        return [e for e in self.events if isinstance(e, SessionEnded)]

    def to_liveness(self) -> None:
        self.until(lambda t: obs(t, face_at()), 5, lambda s: s.stage == Stage.LIVENESS)
        assert self.session.stage == Stage.LIVENESS

    def blink_as_asked(self, reaction_s: float = 0.35, extra: tuple[float, ...] = ()) -> None:
        """Do what each cue asks `reaction_s` after it appears: blink (eyes shut 0.15 s) or
        close the eyes for 1 s; also blink `extra` seconds after the first cue appeared;
        until LIVENESS ends."""
        shut: list[tuple[float, float]] = []

        def script(t: float) -> Observation:
            closed = any(a <= t < b for a, b in shut)
            return obs(t, face_at(), SHUT if closed else OPEN)

        end = self.t + 20
        answered = 0
        while self.t < end and self.session.stage == Stage.LIVENESS:
            self.events += self.session.step(script(self.t), self.t)
            cue = self.session.prompt.cue
            if cue > answered:
                answered = cue
                if not shut:
                    shut += [(self.t + e, self.t + e + 0.15) for e in extra]
                start = self.t + reaction_s
                long = self.session.prompt.key == "liveness.close_now"
                shut.append((start, start + (1.0 if long else 0.15)))
            self.t = round(self.t + 1 / FPS, 6)


def test_happy_path_goes_through_every_stage_and_takes_one_selfie():
    run = Run()
    run.until(lambda t: obs(t), 1.0)
    assert run.session.stage == Stage.IDLE and run.session.prompt.kind == "attract"
    run.to_liveness()
    assert run.session.prompt.key == "liveness.ready"
    run.blink_as_asked()
    assert run.session.stage == Stage.OCCLUSION
    run.until(lambda t: obs(t, face_at()), 6, lambda s: s.stage == Stage.RESULT)
    assert run.stages == [Stage.POSITION, Stage.LIVENESS, Stage.OCCLUSION, Stage.CAPTURE,
                          Stage.RESULT]
    selfies = [e for e in run.events if isinstance(e, TakeSelfie)]
    assert len(selfies) == 1 and selfies[0].metadata["quality"]["sharpness"] == 300.0
    assert run.session.prompt.ok is True and run.session.leds == "pass"
    [end] = run.ended()
    assert end.outcome == "captured" and end.liveness_passed
    run.until(lambda t: obs(t, face_at()), Config().session.result_s + 0.2)
    assert run.session.stage in (Stage.IDLE, Stage.POSITION)


def test_position_guidance_order_and_keys():
    cfg = Config().position
    f = face_at()
    assert advice(obs(0), cfg) == "no_face"
    assert advice(obs(0, f, others=(face_at(500, 240, 80),)), cfg) == "many_faces"
    assert advice(obs(0, f, others=(face_at(500, 240, 20),)), cfg) == "good"  # far behind
    assert advice(obs(0, face_at(d=30)), cfg) == "too_far"
    assert advice(obs(0, face_at(d=250)), cfg) == "too_close"
    assert advice(obs(0, face_at(cx=500)), cfg) == "off_centre"
    assert advice(obs(0, f, luminance=30), cfg) == "too_dark"
    assert advice(obs(0, f, luminance=240), cfg) == "too_bright"
    assert advice(obs(0, f, motion=0.5), cfg) == "hold_still"
    assert advice(obs(0, f), cfg) == "good"


def test_position_needs_a_steady_good_position_before_liveness():
    run = Run()
    wobble = lambda t: obs(t, face_at(), motion=0.5 if int(t * 4) % 2 else 0.0)  # noqa: E731
    run.until(wobble, 5)
    assert run.session.stage == Stage.POSITION
    run.until(lambda t: obs(t, face_at()), 1.5)
    assert run.session.stage == Stage.LIVENESS


def test_person_leaving_mid_liveness_resets_to_idle():
    run = Run()
    run.to_liveness()
    run.until(lambda t: obs(t), Config().session.walk_away_s + 0.2)
    assert run.session.stage == Stage.IDLE and run.session.prompt.kind == "attract"
    assert run.ended()[-1].outcome == "walked_away" and run.session.leds == "idle"


def test_second_face_during_liveness_restarts_the_challenge():
    run = Run()
    run.to_liveness()
    since = run.session.since
    run.until(lambda t: obs(t, face_at(), others=(face_at(540, 240, 90),)), 0.2)
    assert run.session.stage == Stage.LIVENESS and run.session.since > since
    assert run.session.prompt.key == "liveness.lost"
    assert [e.why for e in run.events if isinstance(e, StageChanged)][-1] == "second face"


def test_face_swap_after_liveness_goes_back_to_liveness_never_forward():
    run = Run()
    run.to_liveness()
    run.blink_as_asked()
    assert run.session.stage == Stage.OCCLUSION
    run.until(lambda t: obs(t, face_at(cx=420)), 0.1)  # a face 1 eye distance away at once
    assert run.session.stage == Stage.LIVENESS


def test_position_timeout():
    run = Run()
    run.until(lambda t: obs(t, face_at(d=20)), Config().position.timeout_s + 1,
              lambda s: s.stage == Stage.RESULT)
    [end] = run.ended()
    assert end.outcome == "timeout" and end.reason == "position_timeout"
    assert run.session.leds == "fail" and run.session.prompt.ok is False


def test_no_blink_fails_liveness_after_the_window():
    run = Run()
    run.to_liveness()
    run.until(lambda t: obs(t, face_at()), 15, lambda s: s.stage == Stage.RESULT)
    [end] = run.ended()
    assert end.outcome == "rejected" and end.reason == "liveness_missed"
    assert not end.liveness_passed
    assert run.session.prompt.key == "reason.liveness_missed"


def test_the_cue_is_shown_then_answered():
    run = Run()
    run.to_liveness()
    run.until(lambda t: obs(t, face_at()), 4, lambda s: s.prompt.cue)
    first = run.session.liveness_checks[0].challenge.kind(0)
    assert run.session.prompt.key == f"liveness.{first}_now" and run.session.prompt.cue == 1
    screen = to_screen(run.session.prompt, messages.load("en"))
    assert screen.cue == 1
    assert screen.prompt == {"blink": "Blink now", "close": "Close your eyes"}[first]
    run.blink_as_asked()
    assert run.session.stage == Stage.OCCLUSION
    [check] = run.session.liveness_checks
    assert check.status == "passed" and check.done == check.required == Config().liveness.cues


def test_a_close_cue_says_close_your_eyes_and_a_closure_answers_it():
    run = Run()
    run.to_liveness()
    kinds = run.session.liveness_checks[0].challenge.kinds
    live = Config().liveness
    assert live.closures <= kinds.count("close") <= live.closures_max
    run.blink_as_asked()
    [check] = run.session.liveness_checks
    assert check.status == "passed" and len(check.closures) == kinds.count("close")
    close = next(c for c in check.shown if c.kind == "close")
    assert close.answer == check.closures[0]
    prompt = Prompt("live", "liveness.close_now", "liveness.close_now_hint", cue=2)
    screen = to_screen(prompt, messages.load("en"))
    assert (screen.prompt, screen.cue) == ("Close your eyes", 2)


def test_blinking_away_from_the_cues_fails():
    cfg = Config(liveness=LivenessConfig(closures=0, closures_max=0, gap_min_s=3.0,
                                         gap_jitter_s=0.5))
    run = Run(cfg=cfg)
    run.to_liveness()
    # between the first cue's window and the second cue: two blinks no cue asked for
    run.blink_as_asked(extra=(1.3, 1.9))
    [end] = run.ended()
    assert end.outcome == "rejected" and end.reason == "liveness_off_cue"


def test_blocked_mouth_and_nose_are_named_then_time_out():
    run = Run()
    run.to_liveness()
    run.blink_as_asked()
    masked = dict(CLEAR, nose=0.95, mouth=0.97, chin=0.9)
    run.until(lambda t: obs(t, face_at(), regions=masked), 2)
    assert run.session.stage == Stage.OCCLUSION
    assert set(run.session.prompt.highlight) == {"nose", "mouth", "chin"}
    assert run.session.prompt.key == "occlusion.blocked"
    screen = to_screen(run.session.prompt, messages.load("en"))
    assert screen.prompt == "Please remove your mask — your nose, mouth and chin are covered"
    assert screen.highlight == ("nose", "mouth", "chin")
    run.until(lambda t: obs(t, face_at(), regions=masked), 30,
              lambda s: s.stage == Stage.RESULT)
    [end] = run.ended()
    assert end.outcome == "rejected" and end.reason == "occlusion_timeout"
    assert set(end.blocked_parts) == {"nose", "mouth", "chin"}
    result = to_screen(run.session.prompt, messages.load("en"))
    assert result.prompt == "Your nose, mouth and chin stayed covered" and result.ok is False


def test_uncovering_in_time_passes():
    run = Run()
    run.to_liveness()
    run.blink_as_asked()
    run.until(lambda t: obs(t, face_at(), regions=dict(CLEAR, left_eye=0.9)), 2)
    assert to_screen(run.session.prompt, messages.load("en")).prompt == "Your left eye is covered"
    run.until(lambda t: obs(t, face_at()), 8, lambda s: s.stage == Stage.RESULT)
    assert run.ended()[-1].outcome == "captured"


def test_capture_picks_the_sharpest_eligible_frame_of_the_last_second():
    run = Run()
    run.to_liveness()
    run.blink_as_asked()
    sharpness = lambda t: 900.0 if round(t * FPS) % 5 == 3 else 200.0  # noqa: E731

    def script(t: float) -> Observation:
        closed = sharpness(t) > 500 and round(t * FPS) % 10 == 3  # every other sharp frame
        return obs(t, face_at(), SHUT if closed else OPEN, sharpness=sharpness(t))

    run.until(script, 8, lambda s: s.stage == Stage.RESULT)
    [selfie] = [e for e in run.events if isinstance(e, TakeSelfie)]
    assert selfie.metadata["quality"]["sharpness"] == 900.0
    assert selfie.metadata["eyes"]["left"]["closed"] < 0.5
    assert selfie.t >= run.session.since - Config().capture.buffer_s - 1e-6


def test_capture_fails_when_no_frame_is_eligible():
    run = Run()
    run.to_liveness()
    run.blink_as_asked()
    run.until(lambda t: obs(t, face_at(), yaw=0.9), 10, lambda s: s.stage == Stage.RESULT)
    assert run.ended()[-1].reason == "capture_failed"


def test_fault_ends_the_session_and_recovery_returns_to_idle():
    run = Run()
    run.to_liveness()
    events = run.session.fault("camera failed: unplugged", run.t)
    assert run.session.stage == Stage.FAULT and run.session.leds == "fault"
    assert run.session.prompt.kind == "out_of_service"
    assert [e.outcome for e in events if isinstance(e, SessionEnded)] == ["fault"]
    run.until(lambda t: obs(t, face_at()), 1)
    assert run.session.stage == Stage.FAULT  # faces do not start sessions while faulted
    run.session.recover(run.t)
    assert run.session.stage == Stage.IDLE
    run.until(lambda t: obs(t, face_at()), 0.2)
    assert run.session.stage == Stage.POSITION


def test_store_failure_turns_the_result_into_a_failure():
    run = Run()
    run.to_liveness()
    run.blink_as_asked()
    run.until(lambda t: obs(t, face_at()), 6, lambda s: s.stage == Stage.RESULT)
    run.session.capture_failed("store_failed", run.t)
    assert run.session.prompt.ok is False and run.session.prompt.key == "reason.store_failed"


def test_same_seed_same_challenge_and_timeline():
    def timeline(seed: int) -> list[tuple[str, float]]:
        run = Run(seed)
        run.to_liveness()
        run.blink_as_asked()
        run.until(lambda t: obs(t, face_at()), 6, lambda s: s.stage == Stage.RESULT)
        return [(str(e.stage), e.t) for e in run.events if isinstance(e, StageChanged)]

    assert timeline(7) == timeline(7)
    schedules = set()
    for seed in range(20):
        run = Run(seed)
        run.to_liveness()
        schedules.add(run.session.liveness_checks[0].challenge.cues)
    assert len(schedules) == 20


def test_a_fixed_seed_in_the_config_repeats_the_cues_every_session():
    cfg = Config(session=SessionConfig(seed=5))
    run = Run(seed=99, cfg=cfg)
    cues = []
    for _ in range(3):
        run.to_liveness()
        cues.append(run.session.liveness_checks[0].challenge.cues)
        run.blink_as_asked()
        run.until(lambda t: obs(t), 3, lambda s: s.stage == Stage.IDLE)
    assert cues[0] == cues[1] == cues[2]


def fail_liveness(run: Run) -> None:
    run.to_liveness()
    run.until(lambda t: obs(t, face_at()), 15, lambda s: s.stage == Stage.RESULT)
    run.until(lambda t: obs(t, face_at()), Config().session.result_s + 0.2,
              lambda s: s.stage != Stage.RESULT)


def test_repeated_failures_pause_the_kiosk_then_it_resumes():
    cfg = Config(attempts=AttemptsConfig(max_failures=3, within_min=10, pause_min=1))
    run = Run(cfg=cfg)
    for _ in range(2):
        fail_liveness(run)
        assert run.session.stage in (Stage.IDLE, Stage.POSITION)  # not paused yet
    fail_liveness(run)
    assert run.session.stage == Stage.PAUSED
    assert run.session.prompt.kind == "paused" and run.session.leds == "fail"
    assert to_screen(run.session.prompt, messages.load("en")).prompt == \
        "Please ask staff for help"
    run.until(lambda t: obs(t, face_at()), 50)
    assert run.session.stage == Stage.PAUSED  # faces start nothing while paused
    run.until(lambda t: obs(t, face_at()), 15, lambda s: s.stage != Stage.PAUSED)
    assert run.session.stage == Stage.POSITION
    # the earlier failures are still within the window: one more pauses again
    fail_liveness(run)
    assert run.session.stage == Stage.PAUSED
    reasons = [e.reason for e in run.ended()]
    assert reasons == ["liveness_missed"] * 4


def test_walking_away_or_restarting_after_a_cue_counts_as_a_failure():
    cfg = Config(attempts=AttemptsConfig(max_failures=2, within_min=10, pause_min=1))
    run = Run(cfg=cfg)
    run.to_liveness()
    run.until(lambda t: obs(t), 3, lambda s: s.stage == Stage.IDLE)  # gone before any cue
    run.to_liveness()
    run.until(lambda t: obs(t, face_at()), 4, lambda s: s.prompt.cue)
    run.until(lambda t: obs(t), 3, lambda s: s.stage == Stage.IDLE)  # gone after a cue: 1
    run.to_liveness()
    run.until(lambda t: obs(t, face_at()), 4, lambda s: s.prompt.cue)
    # the face jumps: a new challenge would be a new chance, so this one failed: 2
    run.until(lambda t: obs(t, face_at(cx=420)), 0.1)
    assert run.session.stage == Stage.RESULT and run.ended()[-1].reason == "face_lost"
    run.until(lambda t: obs(t, face_at()), Config().session.result_s + 0.2)
    assert run.session.stage == Stage.PAUSED


def test_a_face_that_keeps_breaking_continuity_ends_the_session():
    run = Run()
    run.to_liveness()
    jumpy = lambda t: obs(t, face_at(cx=220 + 200 * (round(t * 15) % 2)))  # noqa: E731
    run.until(jumpy, 3, lambda s: s.stage == Stage.RESULT)
    [end] = run.ended()
    assert end.outcome == "rejected" and end.reason == "face_lost"
    assert run.stages.count(Stage.LIVENESS) == 1 + Config().session.max_restarts


def test_every_message_the_session_can_show_is_in_the_catalogue():
    cat = messages.load("en")
    advice_keys = ["no_face", "many_faces", "too_far", "too_close", "off_centre", "too_dark",
                   "too_bright", "hold_still", "good"]
    for k in advice_keys:
        assert cat.has(f"position.{k}") and cat.has(f"position.{k}_hint"), k
    reasons = ["position_timeout", "liveness_missed", "liveness_off_cue", "occlusion_timeout",
               "capture_failed", "store_failed", "store_busy", "face_lost", "walked_away"]
    for r in reasons:
        assert cat.has(f"reason.{r}"), r
    for key in ["attract.prompt", "liveness.ready", "liveness.blink_now", "liveness.wait",
                "liveness.progress", "liveness.lost", "paused.prompt", "occlusion.checking",
                "occlusion.blocked_hint", "capture.countdown", "result.pass", "fault.prompt"]:
        assert cat.has(key), key


def test_position_gives_the_blink_detector_the_persons_open_eye_level():
    # open eyes that read 0.4 (glasses glare): POSITION feeds that level before the
    # challenge, so in LIVENESS 0.4 is "open" and the first frames can already count
    glare = Eyes(0.4, 0.4)
    run = Run()
    run.until(lambda t: obs(t, face_at(), glare), 5, lambda s: s.stage == Stage.LIVENESS)
    assert run.session.stage == Stage.LIVENESS
    blinks = run.session._blinks  # the session's own detector
    assert blinks.closure(glare) == (0.0, 0.0)
    assert blinks.closure(Eyes(0.7, 0.7))[0] == pytest.approx(0.5)
