"""The running kiosk: composes the runtime parts, one `iteration(now)` per loop period.

Each part reads alone (kiosk/runtime/): camera supervision, capture buffering, the writer
thread, the screen, status publishing. They report back by return values, their `fault`
attributes and result events; none of them calls back into this module.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Callable
from typing import Any

from kiosk import __version__
from kiosk.config import Config
from kiosk.domain import Observation
from kiosk.loop import LoopStats
from kiosk.runtime.camera import CameraSupervisor
from kiosk.runtime.screen import Presenter
from kiosk.runtime.status import StatusPublisher
from kiosk.runtime.stills import StillBuffer
from kiosk.runtime.writer import CaptureWriter, Saved
from kiosk.session.machine import (
    KeepStill,
    Session,
    SessionEnded,
    Stage,
    StageChanged,
    TakeSelfie,
)
from kiosk.vision.stack import VisionStack

log = logging.getLogger(__name__)

RECHECK_S = 5.0  # how often the store's readiness is re-checked (on the writer thread)
# The camera keeps full-resolution stills ready from OCCLUSION on, so the very first CAPTURE
# frame already has its twin.
STILL_STAGES = (Stage.OCCLUSION, Stage.CAPTURE)


class Kiosk:
    """One iteration: keys, frame, writer results, faults, pipeline, session, screen, status.

    `iteration` is healthy unless a part raised or the writer is stuck; only healthy
    iterations feed the watchdog, so a fault that keeps recurring gets the service restarted,
    while the faults the kiosk understands (camera gone, disk full, bad config) are shown on
    the out-of-service screen and do not starve it.
    """

    def __init__(
        self,
        cfg: Config,
        *,
        camera: CameraSupervisor,
        presenter: Presenter,
        vision: VisionStack | None,
        writer: CaptureWriter | None,
        status: StatusPublisher,
        clock: Callable[[], float],
        rng: random.Random,
        loop_stats: LoopStats | None = None,
        fault: str = "",
    ) -> None:
        self.cfg = cfg
        self.camera = camera
        self.presenter = presenter
        self.vision = vision
        self.writer = writer
        self.status = status
        self.stills = StillBuffer()
        self.loop_stats = loop_stats or LoopStats()
        self.session = Session(cfg, rng)
        self.started = clock()
        self.outcomes: Counter[str] = Counter()
        self.captures = 0
        self.quit_requested = False
        self.problem = ""  # why the last iteration was unhealthy ("" when it was not)
        self.static_fault = fault or _vision_fault(vision)
        self._check_at = self.started + RECHECK_S
        self._token = 0
        self._showing = 0  # the selfie whose result screen is up, until its save reports back

    # -- one loop iteration -------------------------------------------------------------

    def iteration(self, now: float) -> bool:
        """Returns whether the iteration was healthy (only then is the watchdog fed)."""
        obs: Observation | None = None
        error = ""
        try:
            self._keys()
            frame = None if self.static_fault else self.camera.read(now)
            self._writer_results(now)
            self._faults(now)
            if frame is not None and self.session.stage != Stage.FAULT:
                assert self.vision is not None  # no vision is a static fault
                obs = self.vision.pipeline.process(frame, self.session.wants_attack(frame.t))
                self._act(self.session.step(obs, now), now)
            self.camera.hold_stills(self.session.stage in STILL_STAGES)
            self.presenter.show(self.session.prompt, self.session.leds,
                                self.session.fault_reason, self.camera.last,
                                obs.face if obs is not None else None)
        except Exception as e:  # noqa: BLE001 - logged, reported, and it starves the watchdog
            error = f"{type(e).__name__}: {e}"
            if error != self.problem:  # once per new error, not 15 tracebacks a second
                log.exception("loop iteration failed in stage %s", self.session.stage,
                              extra={"stage": str(self.session.stage),
                                     "reason": "iteration_error"})
        stuck = self.writer.stuck(now) if self.writer is not None else ""
        if stuck and stuck != self.problem:
            log.error("unhealthy: %s", stuck, extra={"reason": "writer_stuck"})
        self.problem = error or stuck
        self._publish(now)
        return not self.problem

    def _keys(self) -> None:
        for key in self.presenter.keys():
            if key == "quit":
                self.quit_requested = True
            elif key == "reset" and self.session.stage != Stage.FAULT:
                self.session = Session(self.cfg, self.session.rng)
                self.stills.clear()
                log.info("session reset from the keyboard")

    def _faults(self, now: float) -> None:
        """Go out of service for the first reason there is; come back once none is left."""
        if self.writer is not None and now >= self._check_at:
            self._check_at = now + RECHECK_S
            self.writer.request_check()
        reason = self.static_fault or self.camera.fault
        if not reason and self.writer is not None and self.session.stage in (Stage.IDLE,
                                                                             Stage.FAULT):
            reason = self.writer.fault  # a running session finishes; its save reports back
        if reason and (self.session.stage != Stage.FAULT or self.session.fault_reason != reason):
            log.error("out of service: %s", reason, extra={"stage": "fault", "reason": reason})
            self._act(self.session.fault(reason, now), now)
        elif not reason and self.session.stage == Stage.FAULT:
            log.info("fault cleared: %s", self.session.fault_reason)
            self._act(self.session.recover(now), now)

    def _act(self, events: list[Any], now: float) -> None:
        for ev in events:
            if isinstance(ev, StageChanged):
                log.info("stage %s (%s)", ev.stage, ev.why, extra={"stage": str(ev.stage)})
                if ev.stage != Stage.RESULT:
                    self._showing = 0
                if ev.stage not in STILL_STAGES:
                    self.stills.clear()
            elif isinstance(ev, KeepStill):
                self.stills.keep(ev.index, self.camera.still())
            elif isinstance(ev, TakeSelfie):
                self._take(ev, now)
            elif isinstance(ev, SessionEnded):
                log.info("session ended: %s (%s)", ev.outcome, ev.reason,
                         extra={"outcome": ev.outcome, "reason": ev.reason})
                if ev.outcome != "captured":  # a capture counts once the writer stored it
                    self.outcomes[ev.outcome if ev.outcome != "rejected" else ev.reason] += 1

    def _take(self, ev: TakeSelfie, now: float) -> None:
        image = self.stills.take(ev.index)
        if image is None:
            log.error("no full-resolution still of frame %d", ev.index,
                      extra={"reason": "capture_failed"})
            self._act(self.session.capture_failed("capture_failed", now), now)
            return
        self._token += 1
        meta = {**ev.metadata, "models": dict(self.vision.versions) if self.vision else {}}
        if self.writer is None or not self.writer.submit(self._token, image, meta):
            log.error("selfie dropped: the capture writer is busy", extra={"reason": "store_busy"})
            self._act(self.session.capture_failed("store_busy", now), now)
            return
        self._showing = self._token

    def _writer_results(self, now: float) -> None:
        for result in self.writer.results() if self.writer is not None else []:
            if isinstance(result, Saved):
                self.captures += 1
                self.outcomes["captured"] += 1
            elif self._showing == result.token and self.session.stage == Stage.RESULT:
                self._act(self.session.capture_failed("store_failed", now), now)  # counted
            else:
                self.outcomes["store_failed"] += 1

    def _publish(self, now: float) -> None:
        """A fresh dict each time: the control socket thread only ever reads a snapshot."""
        s = self.loop_stats
        fault = self.session.fault_reason
        snapshot = {
            "version": __version__,
            "kiosk_id": self.cfg.kiosk_id,
            "stage": str(self.session.stage),
            "fault": fault,
            "healthy": not self.problem,
            "problem": self.problem,
            "uptime_s": round(now - self.started, 1),
            "outcomes": dict(self.outcomes),
            "captures": self.captures,
            "models": dict(self.vision.versions) if self.vision else {},
            "fps": round(s.fps, 2),
            "lag_ms": round(s.lag_s * 1000, 1),
            "overruns": s.overruns,
            "busy_median_ms": round(s.busy_median_s * 1000, 2),
        }
        line = (f"{self.session.stage} fps={s.fps:.1f} lag={s.lag_s * 1000:.0f}ms "
                f"overruns={s.overruns}" + (f" fault: {fault}" if fault else ""))
        self.status.publish(snapshot, line)

    # -- shutdown -------------------------------------------------------------------------

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.camera.close()
        self.presenter.close()
        self.status.close()


def _vision_fault(vision: VisionStack | None) -> str:
    if vision is None:
        return "vision pipeline not loaded"
    return vision.missing[0] if vision.missing else ""
