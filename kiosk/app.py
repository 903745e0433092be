"""The composition root: the one place that builds the kiosk's parts from the config."""

from __future__ import annotations

import dataclasses
import logging
import os
import random
import signal
import threading
import time
from pathlib import Path
from typing import Any

from kiosk import messages
from kiosk.config import Config
from kiosk.daemon import Kiosk
from kiosk.errors import HardwareError, HardwareUnavailableError, KioskError, StoreError
from kiosk.loop import FixedRateLoop
from kiosk.vision import stack

log = logging.getLogger(__name__)


def with_source(cfg: Config, source: str | None) -> Config:
    if source is None:
        return cfg
    return dataclasses.replace(cfg, camera=dataclasses.replace(cfg.camera, source=source))


def build(cfg: Config, *, emulator: bool, headless: bool = False,
          screenshots: Path | None = None, clock: Any = time.monotonic) -> Kiosk:
    """Build every part; a part that fails becomes the out-of-service reason, not a crash."""
    from kiosk.hardware.camera import open_camera
    from kiosk.hardware.display import PygameDisplay
    from kiosk.hardware.leds import GpioLeds, pin_factory_from_config

    faults: list[str] = []
    leds = display = vision = store = None
    if headless:
        os.environ["SDL_VIDEODRIVER"] = "dummy"  # still rendered, e.g. for --screenshots
    try:
        leds = GpioLeds(cfg.leds, pin_factory=pin_factory_from_config(
            cfg.leds.pin_factory, emulator=emulator))
    except (HardwareError, HardwareUnavailableError) as e:
        faults.append(f"LEDs: {e}")
    try:
        display = PygameDisplay(cfg.display, emulator=emulator, leds=leds,
                                screenshots=screenshots)
    except (HardwareError, HardwareUnavailableError) as e:
        faults.append(f"display: {e}")
    try:
        vision = stack.build(cfg)
    except KioskError as e:
        faults.append(str(e))
    try:
        from kiosk.store import open_store

        # check_ready() failures (no key, disk full) are the daemon's to re-check; only a
        # store that cannot even open is a fault for the life of the process
        store = open_store(cfg, emulator=emulator)
    except StoreError as e:
        faults.append(f"capture store: {e}")

    def camera_factory() -> Any:
        return open_camera(cfg, clock, realtime=True)

    seed = cfg.session.seed
    kiosk = Kiosk(
        cfg, open_camera=camera_factory, display=display, leds=leds,
        vision=vision, store=store, catalogue=messages.load(cfg.ui.language), clock=clock,
        rng=random.Random(None if seed < 0 else seed), fault="; ".join(faults),
    )
    return kiosk


def run(cfg: Config, *, emulator: bool, headless: bool = False,
        screenshots: Path | None = None, seconds: float | None = None) -> int:
    """`kiosk run` / `kiosk emulate`: the loop until SIGTERM, 'q' or `seconds` pass."""
    from kiosk.control.server import ControlServer, socket_path
    from kiosk.hardware.systemd import Notifier

    notifier = Notifier()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    kiosk = build(cfg, emulator=emulator, headless=headless, screenshots=screenshots)
    stall_after = float(os.environ.get("KIOSK_TEST_STALL_AFTER_S", "0") or 0)
    started = time.monotonic()
    last_status = 0.0
    ready = False
    # Loop figures for `kiosk status`, computed on the loop thread each iteration (a fresh
    # dict): the control thread must not iterate the loop's deques while they change.
    loop_figures: dict[str, Any] = {}

    def iteration(now: float) -> bool:
        nonlocal last_status, ready, loop_figures
        if stall_after and now - started > stall_after:
            stop.wait()  # test hook: a stalled loop must stop feeding the watchdog
        healthy = kiosk.iteration(now)
        if not ready:
            # after the first iteration: the camera has been opened (or its fault is on
            # screen). A faulted kiosk still reports READY: it is up, showing out-of-service
            # and answering `kiosk status`, rather than crash-looping under systemd.
            ready = True
            notifier.ready()
        if kiosk.quit_requested or seconds is not None and now - started >= seconds:
            stop.set()
        s = loop.stats
        loop_figures = {"fps": round(s.fps, 2), "lag_ms": round(s.lag_s * 1000, 1),
                        "overruns": s.overruns, "busy_median_ms": round(s.busy_median_s * 1000, 2)}
        if now - last_status >= 1.0:
            last_status = now
            fault = f" fault: {kiosk.session.fault_reason}" if kiosk.session.fault_reason else ""
            notifier.status(f"{kiosk.session.stage} fps={s.fps:.1f} lag={s.lag_s * 1000:.0f}ms "
                            f"overruns={s.overruns}{fault}")
        return healthy

    loop = FixedRateLoop(1 / cfg.loop.fps, iteration, time.monotonic,
                         on_healthy=notifier.watchdog, stop=stop)

    def status(_: dict[str, Any]) -> dict[str, Any]:
        return {**kiosk.status, **loop_figures}

    server = ControlServer(socket_path(cfg, emulator=emulator), {"status": status})
    try:
        server.start()
    except OSError as e:
        log.warning("control socket unavailable: %s", e)
    log.info("kiosk running (%s mode, %.0f fps)", "emulator" if emulator else "pi", cfg.loop.fps)
    try:
        loop.run()
    finally:
        notifier.stopping()
        server.close()
        kiosk.close()
        log.info("kiosk stopped after %d iterations (%d overruns)",
                 loop.stats.iterations, loop.stats.overruns)
    return 0
