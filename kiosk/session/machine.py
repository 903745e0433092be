"""The session state machine: IDLE -> POSITION -> LIVENESS -> OCCLUSION -> CAPTURE -> RESULT.

`Session.step(obs, now)` is deterministic: no I/O, no clock reads, no model calls; the clock
and the randomness of the blink challenge are injected. It exposes what to show (`prompt`,
`leds`) and returns the events the composition root acts on (take the selfie, log the end).
Too many failed liveness attempts pause it (PAUSED, "Please ask staff for help").
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from kiosk.config import Config
from kiosk.domain import Observation
from kiosk.hardware.interfaces import LedState, ScreenKind
from kiosk.session import capture, guidance
from kiosk.session.attack import AttackCheck
from kiosk.session.attempts import AttemptLimiter
from kiosk.session.continuity import Continuity
from kiosk.session.covered import NONE, Cover, CoverWatch
from kiosk.session.liveness import LivenessCheck, new_challenge
from kiosk.session.occlusion import OcclusionCheck
from kiosk.vision.blink import BlinkDetector

# Capture waits this long past the countdown for one eligible frame before giving up.
CAPTURE_GRACE_S = 3.0
# "Please stay in front of the camera" stays up this long after continuity was lost.
NOTICE_S = 2.0
# Prompt key for "these parts are covered"; the exact sentence depends on which parts.
BLOCKED_KEY = "occlusion.blocked"
# A face covered past the detectors' reach, parts unknown: never a distance or position hint.
HAND_KEY = "occlusion.hand_face"


class Stage(StrEnum):
    IDLE = "idle"
    POSITION = "position"
    LIVENESS = "liveness"
    OCCLUSION = "occlusion"
    CAPTURE = "capture"
    RESULT = "result"
    PAUSED = "paused"
    FAULT = "fault"


ACTIVE = (Stage.POSITION, Stage.LIVENESS, Stage.OCCLUSION, Stage.CAPTURE)
# stages whose frames the presentation-attack model judges
JUDGED = (Stage.LIVENESS, Stage.OCCLUSION, Stage.CAPTURE)


@dataclass(frozen=True)
class Prompt:
    """What the screen says; keys are looked up in the message catalogue by the display side."""

    kind: ScreenKind
    key: str
    hint: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    progress: float | None = None
    highlight: tuple[str, ...] = ()
    ok: bool | None = None
    countdown: int | None = None
    cue: int = 0  # the number (1, 2, ...) of the "Blink now" cue showing, 0 when none


@dataclass(frozen=True)
class StageChanged:
    stage: Stage
    t: float
    why: str = ""


@dataclass(frozen=True)
class KeepStill:
    """Frame `index` is the best selfie candidate so far: keep its full-resolution still (it
    replaces the one kept before; only the frame a `TakeSelfie` names is ever stored)."""

    index: int


@dataclass(frozen=True)
class TakeSelfie:
    """Store frame `index` (it passed every check); `metadata` goes with the capture."""

    index: int
    t: float
    metadata: dict[str, Any]


@dataclass(frozen=True)
class SessionEnded:
    outcome: str  # captured | rejected | timeout | fault | walked_away
    reason: str
    t: float
    duration_s: float
    liveness_passed: bool
    blocked_parts: tuple[str, ...] = ()


Event = StageChanged | KeepStill | TakeSelfie | SessionEnded


class Session:
    # per-session state, set by _reset_session
    _started: float
    _last_face: float
    _good_since: float | None
    _liveness_passed: bool
    _blocked: tuple[str, ...]
    _notice_until: float
    _restarts: int
    _blinks: BlinkDetector
    _continuity: Continuity
    _shot: capture.Shot
    _watch: CoverWatch
    _cover: Cover
    _liveness_check: LivenessCheck
    liveness_checks: list[LivenessCheck]  # this session's challenges, the last one running
    _occlusion_check: OcclusionCheck
    _attack: AttackCheck

    def __init__(self, cfg: Config, rng: random.Random) -> None:
        self.cfg = cfg
        self.rng = rng
        self.stage = Stage.IDLE
        self.since = 0.0
        self.prompt = Prompt("attract", "attract.prompt", "attract.hint")
        self.leds: LedState = "idle"
        self.fault_reason = ""
        self._events: list[Event] = []
        self._attempts = AttemptLimiter(cfg.attempts)
        self._reset_session(0.0)

    # -- public API -------------------------------------------------------------------

    def step(self, obs: Observation, now: float) -> list[Event]:
        self._events = []
        if obs.face is not None:
            self._last_face = now
        self._cover = self._watch.update(obs) if self.stage in ACTIVE else NONE
        handler = {
            Stage.IDLE: self._idle,
            Stage.POSITION: self._position,
            Stage.LIVENESS: self._liveness,
            Stage.OCCLUSION: self._occlusion,
            Stage.CAPTURE: self._capture,
            Stage.RESULT: self._result,
            Stage.PAUSED: self._paused,
            Stage.FAULT: self._fault,
        }[self.stage]
        if self.stage in ACTIVE and now - self._last_face > self.cfg.session.walk_away_s:
            self._challenge_abandoned(now)
            self._end("walked_away", "walked_away", now)
            self._enter(Stage.IDLE, now, "walked away")
            self._idle(obs, now)
        else:
            handler(obs, now)
        return self._events

    def fault(self, reason: str, now: float) -> list[Event]:
        """Go out of service (camera gone, model missing, disk full...) until `recover`."""
        self._events = []
        if self.stage in ACTIVE:
            self._end("fault", reason, now)
        self.fault_reason = reason
        if self.stage != Stage.FAULT:
            self._enter(Stage.FAULT, now, reason)
        self.prompt = Prompt("out_of_service", "fault.prompt", "fault.hint", {"reason": reason})
        self.leds = "fault"
        return self._events

    def recover(self, now: float) -> list[Event]:
        self._events = []
        if self.stage == Stage.FAULT:
            self.fault_reason = ""
            self._enter(Stage.IDLE, now, "recovered")
        return self._events

    def capture_failed(self, reason: str, now: float) -> list[Event]:
        """The composition root could not store the selfie: the result becomes a failure."""
        self._events = []
        self._show_result(False, reason, now, outcome="rejected")
        return self._events

    @property
    def active(self) -> bool:
        return self.stage in ACTIVE

    def wants_attack(self, t: float) -> bool:
        """Whether the pipeline should score the frame at `t` with the attack model."""
        return self.stage in JUDGED and self._attack.due(t)

    # -- stages -----------------------------------------------------------------------

    def _idle(self, obs: Observation, now: float) -> None:
        if self._attempts.paused(now):
            self._enter(Stage.PAUSED, now, "too many failed liveness attempts")
            self._paused(obs, now)
            return
        self.prompt = Prompt("attract", "attract.prompt", "attract.hint")
        self.leds = "idle"
        if obs.face is not None:
            self._reset_session(now)
            self._enter(Stage.POSITION, now, "face seen")
            self._position(obs, now)

    def _position(self, obs: Observation, now: float) -> None:
        cfg = self.cfg.position
        key = guidance.advice(obs, cfg)
        self.leds = "busy"
        if self._cover.heavy:
            self._good_since = None
            self.prompt = self._covered_prompt()
            if now - self.since > cfg.timeout_s:
                self._show_result(False, "position_timeout", now, outcome="timeout")
            return
        if obs.face is not None:  # the person's open-eye level, before the challenge
            self._blinks.calibrate(obs.t, obs.eyes)
        if key != "good" or self._good_since is None:
            self._good_since = now if key == "good" else None
        held = 0.0 if self._good_since is None else now - self._good_since
        progress = min(1.0, held / cfg.hold_s) if cfg.hold_s > 0 else 1.0
        self.prompt = Prompt("live", f"position.{key}", f"position.{key}_hint",
                             progress=progress if key == "good" else None)
        if key == "good" and held >= cfg.hold_s:
            self._start_liveness(obs.t, now, "in position")
        elif now - self.since > cfg.timeout_s:
            self._show_result(False, "position_timeout", now, outcome="timeout")

    def _start_liveness(self, t: float, now: float, why: str) -> None:
        """A new challenge timed on the frames' clock (`t`), like the blinks it judges."""
        challenge = new_challenge(self.rng, self.cfg.liveness)
        self._liveness_check = LivenessCheck(challenge, t, self._blinks.params.max_cycle_s)
        self.liveness_checks.append(self._liveness_check)
        self._blinks.reset()
        self._continuity.reset()
        self._attack.reset()  # a new attempt (maybe a new face) is judged on its own frames
        self._enter(Stage.LIVENESS, now, why)
        self._liveness_prompt(t)

    def _liveness_prompt(self, t: float) -> None:
        check = self._liveness_check
        params = {"count": check.required, "done": check.done}
        cue = check.showing(t)
        if cue is not None:
            key = "liveness.blink_now" if cue.kind == "blink" else "liveness.close_now"
            self.prompt = Prompt("live", key, f"{key}_hint", params, progress=check.progress,
                                 cue=len(check.shown))
        elif not check.shown:
            self.prompt = Prompt("live", "liveness.ready", "liveness.ready_hint", params,
                                 progress=check.progress)
        else:
            self.prompt = Prompt("live", "liveness.wait", "liveness.progress", params,
                                 progress=check.progress)

    def _liveness(self, obs: Observation, now: float) -> None:
        if self._broken(obs, now) or self._attacked(obs, now):
            return
        # eyes read on a face only the fallback found (keypoints guessed behind a cover) are
        # not blink evidence, and a cue due meanwhile waits as it does for a missing face
        seen = obs.face is not None and not self._cover.heavy
        blink = self._blinks.update(obs.t, obs.eyes if seen else None)
        check = self._liveness_check
        # read against the person's open eyes, as blinks are
        eyes = self._blinks.state(obs.eyes) if seen and obs.eyes is not None else None
        status = check.update(obs.t, blink, face=seen, eyes=eyes)
        if status == "passed":
            self._liveness_passed = True
            self._occlusion_check = OcclusionCheck.from_config(self.cfg.occlusion)
            self._enter(Stage.OCCLUSION, now, "blinked")
            self._occlusion(obs, now)
            return
        if status == "failed":
            self._attempts.failed(now)
            self._show_result(False, f"liveness_{check.reason}", now, outcome="rejected")
            return
        if self._cover.heavy and check.showing(obs.t) is None:
            self.prompt = self._covered_prompt()
        elif self._notice_until > now and not check.shown:
            self.prompt = Prompt("live", "liveness.lost", "liveness.lost_hint")
        else:
            self._liveness_prompt(obs.t)

    def _occlusion(self, obs: Observation, now: float) -> None:
        if self._broken(obs, now) or self._attacked(obs, now):
            return
        check = self._occlusion_check
        status = check.update(obs.t, obs.regions if obs.face is not None else None)
        self._blocked = tuple(check.blocked_parts)
        if status == "clear":
            self._enter(Stage.CAPTURE, now, "face uncovered")
            self._shot = capture.Shot(self.cfg.capture, now)
            self._capture(obs, now)
            return
        if now - self.since > self.cfg.occlusion.timeout_s:
            self._show_result(False, "occlusion_timeout", now, outcome="rejected")
            return
        if self._blocked or self._cover.heavy:
            self.prompt = self._covered_prompt(self._blocked)
        else:
            self.prompt = Prompt("live", "occlusion.checking", "occlusion.checking_hint",
                                 progress=check.progress)

    def _capture(self, obs: Observation, now: float) -> None:
        if self._broken(obs, now) or self._attacked(obs, now):
            return
        if self._cover.lasting:
            # covered again before the shot: name it again (a covered frame is never the selfie)
            self._occlusion_check = OcclusionCheck.from_config(self.cfg.occlusion)
            self._enter(Stage.OCCLUSION, now, "face covered")
            self._occlusion(obs, now)
            return
        cfg = self.cfg.capture
        if self._shot.offer(obs):
            self._events.append(KeepStill(obs.index))
        left = cfg.countdown_s - (now - self.since)
        if left > 0:
            self.prompt = Prompt("live", "capture.countdown", "capture.hint",
                                 {"seconds": int(left) + 1}, countdown=int(left) + 1)
            return
        chosen = self._shot.best
        if chosen is not None:
            meta = capture.metadata(chosen, cfg)
            meta["session_s"] = round(now - self._started, 3)
            meta["attack_mean"] = self._attack.mean  # the passive check's evidence, for audits
            self._events.append(TakeSelfie(chosen.index, chosen.t, meta))
            self._show_result(True, "captured", now, outcome="captured")
        elif -left > CAPTURE_GRACE_S:
            self._show_result(False, "capture_failed", now, outcome="rejected")
        else:
            self.prompt = Prompt("live", "capture.countdown", "capture.hint",
                                 {"seconds": 0}, countdown=0)

    def _result(self, obs: Observation, now: float) -> None:
        if now - self.since >= self.cfg.session.result_s:
            self._enter(Stage.IDLE, now, "result shown")
            self.prompt = Prompt("attract", "attract.prompt", "attract.hint")
            self.leds = "idle"
            if self._attempts.paused(now):
                self._idle(obs, now)

    def _paused(self, obs: Observation, now: float) -> None:
        if self._attempts.paused(now):
            self.prompt = Prompt("paused", "paused.prompt", "paused.hint")
            self.leds = "fail"
        else:
            self._enter(Stage.IDLE, now, "pause over")
            self._idle(obs, now)

    def _fault(self, obs: Observation, now: float) -> None:
        pass

    # -- helpers ----------------------------------------------------------------------

    def _broken(self, obs: Observation, now: float) -> bool:
        """Continuity since liveness started: a lost, swapped or added face restarts it."""
        why = self._continuity.update(obs, self._cover.covered)
        if why is None:
            return False
        self._restarts += 1
        # a new challenge is a new chance for a recording: the one left behind counts
        if self._challenge_abandoned(now) or self._restarts > self.cfg.session.max_restarts:
            # a face that keeps jumping or changing is not one person standing still
            self._show_result(False, "face_lost", now, outcome="rejected")
            return True
        self._notice_until = now + NOTICE_S
        self._start_liveness(obs.t, now, why)
        self.prompt = Prompt("live", "liveness.lost", "liveness.lost_hint")
        return True

    def _attacked(self, obs: Observation, now: float) -> bool:
        """An attack verdict ends the session, even after a passed blink challenge."""
        if self._attack.update(obs.t, obs.attack if obs.face is not None else None) != "attack":
            return False
        self._liveness_passed = False
        self._attempts.failed(now)  # a failed liveness attempt like any other
        self._show_result(False, "presentation_attack", now, outcome="rejected")
        return True

    def _challenge_abandoned(self, now: float) -> bool:
        """A challenge left after its first cue (face lost, walked away) is a failed attempt;
        True when it pauses the kiosk."""
        if self.stage != Stage.LIVENESS:
            return False
        check = self._liveness_check
        if not check.shown or check.status != "pending":
            return False
        return self._attempts.failed(now)

    def _covered_prompt(self, parts: tuple[str, ...] = ()) -> Prompt:
        """Names the covered parts (the sentence is chosen where the catalogue is,
        kiosk.screens); with none known, at least asks to take the hand away."""
        parts = parts or self._cover.parts
        if parts:
            return Prompt("live", BLOCKED_KEY, "occlusion.blocked_hint", highlight=parts)
        return Prompt("live", HAND_KEY, "occlusion.blocked_hint")

    def _show_result(self, ok: bool, reason: str, now: float, outcome: str) -> None:
        self._end(outcome, reason, now)
        self._enter(Stage.RESULT, now, reason)
        if ok:
            self.prompt = Prompt("result", "result.pass", "result.pass_hint", ok=True)
        else:
            self.prompt = Prompt("result", f"reason.{reason}", "result.fail_hint", ok=False,
                                 highlight=self._blocked)
        self.leds = "pass" if ok else "fail"

    def _end(self, outcome: str, reason: str, now: float) -> None:
        self._events.append(SessionEnded(
            outcome, reason, now, round(now - self._started, 3), self._liveness_passed,
            self._blocked if outcome != "captured" else (),
        ))

    def _enter(self, stage: Stage, now: float, why: str) -> None:
        self.stage = stage
        self.since = now
        self._events.append(StageChanged(stage, now, why))

    def _reset_session(self, now: float) -> None:
        if self.cfg.session.seed >= 0:
            # a fixed seed repeats the same cues every session (the demo loops its clip)
            self.rng = random.Random(self.cfg.session.seed)
        self._started = now
        self._last_face = now
        self._good_since = None
        self._liveness_passed = False
        self._blocked = ()
        self._notice_until = 0.0
        self._restarts = 0
        self._blinks = BlinkDetector()
        self._continuity = Continuity.from_config(self.cfg)
        self._shot = capture.Shot(self.cfg.capture, now)
        self._attack = AttackCheck.from_config(self.cfg.attack)
        self.liveness_checks = []
        self._watch = CoverWatch(self.cfg.occlusion.threshold)
        self._cover = NONE
