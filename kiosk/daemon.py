"""The running kiosk: one loop iteration reads a frame, steps the session and drives the I/O."""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from kiosk.config import Config
from kiosk.control.system import disk_free_mb
from kiosk.domain import Frame, Observation
from kiosk.errors import CameraError, KioskError, StoreError
from kiosk.hardware.interfaces import Camera, Display, Leds
from kiosk.messages import Catalogue
from kiosk.screens import to_screen
from kiosk.session import capture
from kiosk.session.machine import Session, SessionEnded, Stage, StageChanged, TakeSelfie
from kiosk.store.clock import clock_synchronised
from kiosk.vision.stack import VisionStack

log = logging.getLogger(__name__)

CAMERA_RETRY_S = 5.0
SLOW_STATUS_S = 5.0


class Kiosk:
    """Everything the loop touches, wired by kiosk.app; `iteration` is called at the loop rate."""

    def __init__(
        self,
        cfg: Config,
        *,
        open_camera: Callable[[], Camera],
        display: Display | None,
        leds: Leds | None,
        vision: VisionStack | None,
        store: Any,
        catalogue: Catalogue,
        clock: Callable[[], float],
        rng: random.Random,
        fault: str = "",
    ) -> None:
        self.cfg = cfg
        self.camera: Camera | None = None  # opened (and re-opened) by the loop
        self._open_camera = open_camera
        self.display = display
        self.leds = leds
        self.vision = vision
        self.store = store
        self.cat = catalogue
        self.session = Session(cfg, rng)
        self.started = clock()
        self.outcomes: Counter[str] = Counter()
        self.captures = 0
        self.quit_requested = False
        self._frame: Frame | None = None
        self._camera_retry = 0.0
        self._recheck_at = 0.0
        self._stills: dict[int, tuple[float, np.ndarray]] = {}
        self._static_fault = fault or self._initial_fault()
        self.status: dict[str, Any] = {}
        self._slow: dict[str, Any] = {}
        self._slow_at = 0.0
        if self._static_fault:
            self.session.fault(self._static_fault, self.started)
        else:
            self._store_ok(self.started)  # e.g. a full disk: out of service until it clears

    def _initial_fault(self) -> str:
        if self.vision is None:
            return "vision pipeline not loaded"
        if self.vision.missing:
            return self.vision.missing[0]
        return ""

    # -- one loop iteration -------------------------------------------------------------

    def iteration(self, now: float) -> bool:
        """Returns whether the iteration was healthy (only then is the watchdog fed)."""
        self._handle_input(now)
        frame = self._read_frame(now)
        obs = None
        if frame is not None and self.vision is not None and not self._static_fault:
            if self.session.stage == Stage.FAULT and now >= self._recheck_at:
                self._try_recover(now)
            if self.session.stage != Stage.FAULT:
                obs = self.vision.pipeline.process(frame)
                self._step(obs, frame, now)
        self._show(frame, obs)
        self._publish(now)
        # Faults (camera gone, disk full...) are handled here: on screen, in `kiosk status`,
        # retried. Restarting the service would not fix them and would blank the screen, so
        # the iteration counts as healthy; only a stalled or crashed loop starves the watchdog.
        return True

    def _step(self, obs: Observation, frame: Frame, now: float) -> None:
        if self.session.stage == Stage.IDLE and obs.face is not None and not self._store_ok(now):
            return
        if (self.session.stage == Stage.CAPTURE and self.camera is not None
                and not capture.failures(obs, self.cfg.capture)):
            # The selfie is the full-resolution still of the chosen frame (the main stream on
            # a Pi, ~9 MB each), so keep stills only of frames that can be chosen: eligible
            # ones inside the last capture.buffer_s.
            self._stills[frame.index] = (frame.t, self.camera.still())
            oldest = frame.t - self.cfg.capture.buffer_s
            for index in [i for i, (t, _) in self._stills.items() if t < oldest]:
                del self._stills[index]
        self._act(self.session.step(obs, now), now)
        if self.session.stage != Stage.CAPTURE:
            self._stills.clear()

    def _try_recover(self, now: float) -> None:
        """Faults that can clear by themselves (disk freed, camera back) are re-checked."""
        self._recheck_at = now + CAMERA_RETRY_S
        if self.camera is not None and self._store_ok(now):
            log.info("fault cleared: %s", self.session.fault_reason)
            self._act(self.session.recover(now), now)

    def _handle_input(self, now: float) -> None:
        if self.display is None:
            return
        for event in self.display.poll():
            if event == "quit":
                self.quit_requested = True
            elif event == "reset" and self.session.stage != Stage.FAULT:
                self.session = Session(self.cfg, self.session.rng)
                log.info("session reset from the keyboard")

    def _read_frame(self, now: float) -> Frame | None:
        if self.camera is None:
            if now < self._camera_retry:
                return None
            try:
                self.camera = self._open_camera()
                self.camera.start()
            except KioskError as e:
                self.camera = None
                self._camera_retry = now + CAMERA_RETRY_S
                self._fault(f"camera not available: {e}", now)
                return None
            log.info("camera opened")
            self._recheck_at = now
        try:
            frame = self.camera.read()
        except CameraError as e:
            log.error("camera failed: %s", e)
            self._close_camera()
            self._camera_retry = now + CAMERA_RETRY_S
            self._fault(f"camera failed: {e}", now)
            return None
        if frame is not None:
            self._frame = frame
        return frame

    def _store_ok(self, now: float) -> bool:
        """Before a session starts: can we store its selfie? If not, go out of service."""
        if self.store is None:
            return True
        try:
            self.store.check_ready()
        except StoreError as e:
            self._fault(str(e), now)
            return False
        return True

    def _fault(self, reason: str, now: float) -> None:
        if self.session.stage != Stage.FAULT or self.session.fault_reason != reason:
            log.error("out of service: %s", reason, extra={"STAGE": "fault", "REASON": reason})
        self._act(self.session.fault(reason, now), now)

    def _act(self, events: list[Any], now: float) -> None:
        for ev in events:
            if isinstance(ev, StageChanged):
                log.info("stage %s (%s)", ev.stage, ev.why, extra={"STAGE": str(ev.stage)})
            elif isinstance(ev, SessionEnded):
                self.outcomes[ev.outcome if ev.outcome != "rejected" else ev.reason] += 1
                log.info("session ended: %s (%s)", ev.outcome, ev.reason,
                         extra={"OUTCOME": ev.outcome, "REASON": ev.reason})
            elif isinstance(ev, TakeSelfie):
                self._save(ev, now)

    def _save(self, ev: TakeSelfie, now: float) -> None:
        still = self._stills.pop(ev.index, None)
        image = still[1] if still is not None else None
        if image is None and self._frame is not None and self._frame.index == ev.index:
            image = self._frame.image  # chosen on the very frame CAPTURE began (countdown 0)
        self._stills.clear()
        if image is None:
            self._act(self.session.capture_failed("capture_failed", now), now)
            return
        if self.store is None:
            self.captures += 1
            return
        meta = dict(ev.metadata)
        meta["models"] = dict(self.vision.versions) if self.vision else {}
        try:
            self.store.save(image, meta)
        except StoreError as e:
            log.error("selfie could not be stored: %s", e)
            self._act(self.session.capture_failed("store_failed", now), now)
            self._fault(str(e), now)
            return
        self.captures += 1

    def _show(self, frame: Frame | None, obs: Observation | None) -> None:
        if self.leds is not None:
            self.leds.show(self.session.leds)
        if self.display is None:
            return
        screen = to_screen(self.session.prompt, self.cat, self.session.fault_reason)
        image = None if self.session.stage == Stage.FAULT else (
            frame.image if frame is not None else self._frame.image if self._frame else None)
        face = obs.face if obs is not None else None
        self.display.render(screen, image, face)

    def _publish(self, now: float) -> None:
        """A fresh dict each time: the control socket thread only ever reads a snapshot.

        The slower facts (store index, disk, clock) are refreshed every few seconds here on
        the loop thread, so the control thread never touches the store itself."""
        if now >= self._slow_at:
            self._slow_at = now + SLOW_STATUS_S
            self._slow = {"clock_synchronised": clock_synchronised()}
            if self.store is not None:
                store = self.store.stats()
                free = disk_free_mb(Path(self.store.root))
                self._slow.update(store=store, pending_sync=store.get("pending"),
                                  disk_free_mb=None if free is None else round(free, 1))
        self.status = {
            "stage": str(self.session.stage),
            "fault": self.session.fault_reason,
            "uptime_s": round(now - self.started, 1),
            "outcomes": dict(self.outcomes),
            "captures": self.captures,
            "models": dict(self.vision.versions) if self.vision else {},
            **self._slow,
        }

    # -- shutdown -------------------------------------------------------------------------

    def _close_camera(self) -> None:
        if self.camera is not None:
            try:
                self.camera.close()
            except KioskError as e:
                log.warning("camera close failed: %s", e)
            self.camera = None

    def close(self) -> None:
        self._close_camera()
        if self.leds is not None:
            self.leds.show("off")
            self.leds.close()
        if self.display is not None:
            self.display.close()
