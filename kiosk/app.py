"""The composition root: the one place that builds the kiosk's parts from the config."""

from __future__ import annotations

import dataclasses
import logging
import os
import random
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kiosk import demo
from kiosk.config import Config
from kiosk.daemon import Kiosk
from kiosk.errors import (
    HardwareError,
    HardwareUnavailableError,
    KioskError,
    NoDisplayError,
    StoreError,
)
from kiosk.loop import FixedRateLoop, LoopStats
from kiosk.runtime.camera import CameraSupervisor
from kiosk.runtime.screen import Presenter
from kiosk.runtime.status import FILE_NAME as STATUS_FILE
from kiosk.runtime.status import StatusPublisher
from kiosk.runtime.writer import CaptureWriter
from kiosk.screens import Texts
from kiosk.vision import stack

log = logging.getLogger(__name__)


def with_source(cfg: Config, source: str | None) -> Config:
    if source is None:
        return cfg
    return dataclasses.replace(cfg, camera=dataclasses.replace(cfg.camera, source=source))


def build(cfg: Config, *, emulator: bool, headless: bool = False,
          screenshots: Path | None = None, clock: Any = time.monotonic,
          notify: Any = None, loop_stats: LoopStats | None = None, fault: str = "") -> Kiosk:
    """Build every part; a part that fails becomes the out-of-service reason, not a crash.

    With a `fault` already known (a missing or bad config) only the screen, the LEDs and
    status are built: no camera, no models, no store (so never a key or a state folder).
    In the emulator, no display at all is an error (NoDisplayError), not a fault.
    """
    from kiosk.hardware.camera import open_camera
    from kiosk.hardware.display import PygameDisplay
    from kiosk.hardware.leds import GpioLeds, pin_factory_from_config
    from kiosk.hardware.sound import Tones

    if emulator and demo.is_demo(cfg.camera.source):
        cfg = demo.settings(cfg)
    faults: list[str] = [fault] if fault else []
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
                                screenshots=screenshots,  # the cue tone; none when headless
                                sound=None if headless else Tones(cfg.ui.sound, cfg.ui.volume))
    except NoDisplayError:
        if emulator:
            if leds is not None:
                leds.close()
            raise
        faults.append("display: no screen (SDL fell back to an invisible driver)")
    except (HardwareError, HardwareUnavailableError) as e:
        faults.append(f"display: {e}")
    if not fault:
        vision, store = _pipeline_and_store(cfg, emulator, faults)
    writer = CaptureWriter(store) if store is not None else None
    if writer is not None:
        writer.start()

    def camera_factory() -> Any:
        return open_camera(cfg, clock, realtime=True)

    seed = cfg.session.seed
    return Kiosk(
        cfg, camera=CameraSupervisor(camera_factory),
        presenter=Presenter(display, leds, Texts(cfg.ui.language, cfg.ui.language_button)),
        vision=vision, writer=writer,
        status=StatusPublisher(_status_path(cfg, emulator), _facts(store), notify or _no_notify),
        clock=clock, rng=random.Random(None if seed < 0 else seed), loop_stats=loop_stats,
        fault="; ".join(faults),
    )


def _pipeline_and_store(cfg: Config, emulator: bool, faults: list[str]) -> tuple[Any, Any]:
    from kiosk.store import open_store

    vision = store = None
    try:
        vision = stack.build(cfg)
    except KioskError as e:
        faults.append(str(e))
    try:
        # check_ready() failures (no key, disk full) are re-checked by the writer; only a
        # store that cannot even open is a fault for the life of the process
        store = open_store(cfg, emulator=emulator)
    except StoreError as e:
        faults.append(f"capture store: {e}")
    return vision, store


def _no_notify(_: str) -> None:
    pass


def _status_path(cfg: Config, emulator: bool) -> Path:
    from kiosk.store import resolve_dir

    return resolve_dir(cfg, emulator) / STATUS_FILE


def _facts(store: Any) -> Callable[[], dict[str, Any]]:
    """The slow facts of `kiosk status`, gathered on the status thread every few seconds."""
    from kiosk.control.system import disk_free_mb
    from kiosk.store.clock import clock_synchronised

    def facts() -> dict[str, Any]:
        out: dict[str, Any] = {"clock_synchronised": clock_synchronised()}
        if store is not None:
            stats = store.stats()
            free = disk_free_mb(Path(store.root))
            out.update(store=stats, pending_sync=stats.get("pending"),
                       disk_free_mb=None if free is None else round(free, 1))
        return out

    return facts


def run(cfg: Config, *, emulator: bool, headless: bool = False,
        screenshots: Path | None = None, seconds: float | None = None, fault: str = "") -> int:
    """`kiosk run` / `kiosk emulate`: the loop until SIGTERM, 'q' or `seconds` pass."""
    from kiosk.control.server import ControlServer, socket_path
    from kiosk.hardware.systemd import Notifier

    notifier = Notifier()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stats = LoopStats()
    kiosk = build(cfg, emulator=emulator, headless=headless, screenshots=screenshots,
                  notify=notifier.status, loop_stats=stats, fault=fault)
    started = time.monotonic()
    ready = False

    def iteration(now: float) -> bool:
        nonlocal ready
        healthy = kiosk.iteration(now)
        if not ready:
            # after the first iteration: the camera has been opened (or its fault is on
            # screen). A faulted kiosk still reports READY: it is up, showing out-of-service
            # and answering `kiosk status`, rather than crash-looping under systemd.
            ready = True
            notifier.ready()
        if kiosk.quit_requested or seconds is not None and now - started >= seconds:
            stop.set()
        return healthy

    loop = FixedRateLoop(1 / cfg.loop.fps, iteration, time.monotonic,
                         on_healthy=notifier.watchdog, stop=stop, stats=stats)
    server = ControlServer(socket_path(cfg, emulator=emulator),
                           {"status": lambda _: kiosk.status.snapshot()})
    try:
        server.start()
    except OSError as e:
        log.warning("control socket unavailable: %s", e)
    kiosk.status.start()
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
