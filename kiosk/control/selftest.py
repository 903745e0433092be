"""`kiosk selftest`: exercise LEDs, camera, display and models with the service stopped."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import cv2
import numpy as np

from kiosk.config import Config
from kiosk.control.report import Check
from kiosk.domain import Frame
from kiosk.errors import HardwareError, HardwareUnavailableError, InputError, KioskError
from kiosk.hardware.interfaces import LedState, Screen

log = logging.getLogger(__name__)

# The LED sequence a person watching the kiosk sees, and the LEDs lit in the steady states
# (breathing and blinking have no steady level to read back).
LED_SEQUENCE: list[tuple[LedState, set[str] | None]] = [
    ("pass", {"green"}),
    ("fail", {"red"}),
    ("busy", {"amber"}),
    ("idle", None),  # amber breathing
    ("fault", None),  # red blinking
    ("off", set()),
]
SELFTEST_IMAGE = "selftest.jpg"  # kiosk/assets: NASA portrait, public domain (see NOTICE.md)


@dataclass
class Options:
    emulator: bool
    led_step_s: float = 0.6
    camera_s: float = 2.0
    display_s: float = 2.0
    pin_factory: Any = None  # injected by tests (MockFactory); None = from the config
    # LED pin -> input pin wired back to it (KIOSK_HIL_LOOPBACK): the LEDs are then measured
    loopback: dict[int, int] = field(default_factory=dict)
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


def bundled_image() -> np.ndarray:
    """The bundled face photo as RGB."""
    data = resources.files("kiosk").joinpath("assets", SELFTEST_IMAGE).read_bytes()
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise InputError(f"the bundled {SELFTEST_IMAGE} cannot be decoded")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def colour_bars(width: int = 640, height: int = 480) -> np.ndarray:
    """SMPTE-like bars: white, yellow, cyan, green, magenta, red, blue, black (RGB)."""
    colours = np.array([[255, 255, 255], [255, 255, 0], [0, 255, 255], [0, 255, 0],
                        [255, 0, 255], [255, 0, 0], [0, 0, 255], [0, 0, 0]], np.uint8)
    columns = (np.arange(width) * len(colours)) // width
    return np.repeat(colours[columns][None, :, :], height, axis=0)


def step_leds(cfg: Config, opts: Options) -> Check:
    """Runs the LED sequence. Only loopback wires (LED pin to an input pin) let it measure
    anything: gpiozero's own values are what it was told to write, so without them the
    step says plainly that it drove the LEDs for a person to look at."""
    from gpiozero import DigitalInputDevice
    from gpiozero.exc import GPIOZeroError

    from kiosk.hardware.leds import GpioLeds, pin_factory_from_config

    try:
        factory = opts.pin_factory or pin_factory_from_config(cfg.leds.pin_factory,
                                                              emulator=opts.emulator)
        leds = GpioLeds(cfg.leds, pin_factory=factory)
    except (HardwareError, HardwareUnavailableError) as e:
        return Check.fail("leds", str(e), "check [leds] and the gpio group")
    names = {pin: name for name, pin in leds.pins.items()}
    unknown = sorted(set(opts.loopback) - set(names))
    if unknown:
        leds.close()
        return Check.fail("leds", f"KIOSK_HIL_LOOPBACK wires pins {unknown}, which drive no LED "
                          f"(the LEDs are on {sorted(names)})")
    inputs: dict[int, Any] = {}
    wrong = []
    try:
        for out, inp in opts.loopback.items():
            inputs[out] = DigitalInputDevice(inp, pull_up=False, pin_factory=factory)
        for state, lit in LED_SEQUENCE:
            leds.show(state)
            opts.sleep(opts.led_step_s)
            if lit is None or not inputs:
                continue
            seen = {names[out] for out, dev in inputs.items() if dev.value}
            expected = {names[out] for out in inputs} & lit
            if seen != expected:
                wrong.append(f"{state}: lit {sorted(seen) or 'none'}, "
                             f"expected {sorted(expected) or 'none'}")
    except GPIOZeroError as e:
        return Check.fail("leds", f"loopback input pins: {e}", "check KIOSK_HIL_LOOPBACK")
    finally:
        for dev in inputs.values():
            dev.close()
        leds.close()
    seq = " -> ".join(s for s, _ in LED_SEQUENCE)
    if not inputs:
        return Check.ok("leds", f"{seq}: driven for a person to watch (green, red, amber, amber "
                        "breathing, red blinking); nothing was measured without loopback "
                        "wires (KIOSK_HIL_LOOPBACK)", measured=False)
    read = ", ".join(f"{names[out]} {out}->{inp}" for out, inp in opts.loopback.items())
    if wrong:
        return Check.fail("leds", f"read back on the loopback pins ({read}): {'; '.join(wrong)}",
                          "check the LED wiring and the [leds] pins", measured=True)
    return Check.ok("leds", f"{seq}: every steady state read back on the loopback pins "
                    f"({read})", measured=True)


def step_camera(cfg: Config, opts: Options) -> Check:
    from kiosk.hardware.camera import open_camera

    try:
        camera = open_camera(cfg, opts.clock, realtime=True)
        camera.start()
    except KioskError as e:
        return Check.fail("camera", str(e), "check [camera] source and the camera cable")
    frames: list[Frame] = []
    try:
        started = opts.clock()
        while opts.clock() - started < opts.camera_s:
            frame = camera.read()
            if frame is not None:
                frames.append(frame)
            else:
                opts.sleep(0.005)
        still = camera.still()
    except KioskError as e:
        return Check.fail("camera", f"after {len(frames)} frames: {e}")
    finally:
        camera.close()
    if len(frames) < 2:
        return Check.fail("camera", f"{len(frames)} frames in {opts.camera_s:g} s")
    fps = (len(frames) - 1) / max(frames[-1].t - frames[0].t, 1e-6)
    h, w = frames[-1].image.shape[:2]
    data = {"fps": round(fps, 2), "frames": len(frames), "size": [w, h],
            "still_size": [int(still.shape[1]), int(still.shape[0])]}
    detail = f"{w}x{h} at {fps:.1f} fps, still {still.shape[1]}x{still.shape[0]}"
    if fps < 0.5 * cfg.loop.fps:
        return Check.fail("camera", f"{detail}: slower than half the loop rate "
                          f"({cfg.loop.fps:g} fps)", "check the camera mode and lighting", **data)
    return Check.ok("camera", detail, **data)


def step_display(cfg: Config, opts: Options) -> Check:
    from kiosk.hardware.display import PygameDisplay

    try:
        display = PygameDisplay(cfg.display, emulator=opts.emulator)
    except (HardwareError, HardwareUnavailableError) as e:
        return Check.fail("display", str(e), "is a desktop holding the screen? see kiosk doctor")
    invisible, driver = display.invisible, display.driver
    try:
        width, height = display.surface.get_size()
        screen = Screen(kind="live", prompt="Self-test", hint="colour bars, mirrored preview")
        display.render(screen, colour_bars(), None)
        opts.sleep(opts.display_s)
        pixels = display.pg.surfarray.pixels3d(display.surface)
        spread = float(np.asarray(pixels).std())
        del pixels  # the pixel view locks the surface
    finally:
        display.close()
    data: dict[str, Any] = {"size": [width, height], "driver": driver, "visible": not invisible}
    if spread < 1.0:
        return Check.fail("display", f"{width}x{height}: the test pattern did not reach the "
                          "screen surface", **data)
    if invisible:
        return Check.warn("display", f"{width}x{height} drawn with SDL's {driver!r} driver "
                          "(SDL_VIDEODRIVER): nothing is on a screen, nobody saw the pattern",
                          "unset SDL_VIDEODRIVER on the kiosk (its unit sets kmsdrm)", **data)
    return Check.ok("display", f"{width}x{height}: test pattern shown ({driver})", **data)


def step_models(cfg: Config, opts: Options) -> Check:
    from kiosk.vision import stack

    try:
        vision = stack.build(cfg)
        image = bundled_image()
        started = time.perf_counter()
        obs = vision.pipeline.process(Frame(image, 0.0, 0))
        elapsed_ms = (time.perf_counter() - started) * 1000
    except KioskError as e:
        return Check.fail("models", str(e), "kiosk models install; kiosk doctor")
    data = {"ms": round(elapsed_ms, 1), "faces": obs.faces, "versions": vision.versions}
    if obs.faces != 1:
        return Check.fail("models", f"found {obs.faces} faces on the bundled portrait "
                          "(expected 1)", "kiosk models verify", **data)
    ran = ["face detector"] + (["eye state"] if obs.eyes is not None else []) + (
        ["regions"] if obs.regions is not None else [])
    detail = f"{', '.join(ran)} on the bundled image: 1 face, {elapsed_ms:.0f} ms"
    if vision.missing:
        return Check.warn("models", f"{detail}; missing: {'; '.join(vision.missing)}",
                          "kiosk models install", **data)
    return Check.ok("models", detail, **data)


STEPS: list[Callable[[Config, Options], Check]] = [step_leds, step_camera, step_display,
                                                   step_models]


def run_selftest(cfg: Config, opts: Options) -> list[Check]:
    results = []
    for step in STEPS:
        log.info("selftest: %s", step.__name__.removeprefix("step_"))
        try:
            results.append(step(cfg, opts))
        except Exception as e:  # noqa: BLE001 - report the broken step, run the others
            log.debug("selftest step %s crashed", step.__name__, exc_info=True)
            results.append(Check.fail(step.__name__.removeprefix("step_"),
                                      f"{type(e).__name__}: {e}"))
    return results
