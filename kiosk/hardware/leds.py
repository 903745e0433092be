"""Status LEDs as gpiozero devices on an injected pin factory (MockFactory in the emulator)."""

from __future__ import annotations

import logging
import warnings
from importlib.metadata import entry_points
from typing import Any

from gpiozero import LED, PWMLED
from gpiozero.exc import GPIOZeroError, PinFactoryFallback
from gpiozero.pins.mock import MockFactory, MockPWMPin

from kiosk.config import LedConfig
from kiosk.errors import HardwareError, HardwareUnavailableError
from kiosk.hardware.interfaces import LedState

log = logging.getLogger(__name__)

# What to install for each real factory on Raspberry Pi OS (apt, matching the system GPIO libs).
FACTORY_PACKAGES = {
    "lgpio": "sudo apt install python3-lgpio",
    "rpigpio": "sudo apt install python3-rpi-lgpio",
    "pigpio": "sudo apt install python3-pigpio pigpio",
    "native": "nothing (built into gpiozero; it does not work on a Pi 5)",
}
BREATHE_S = 1.5  # idle: amber fades in and out over this long each way
BLINK_S = 0.5  # fault: red on and off for this long each


def pin_factory_from_config(name: str, emulator: bool = True) -> Any:
    """The gpiozero pin factory named in the config.

    "mock" -> MockFactory with PWM-capable pins; "" -> mock in the emulator, lgpio on the Pi
    (the only factory that works on a Pi 5). A real factory that cannot load is a
    HardwareUnavailableError naming what to install; gpiozero's silent fallback to another
    factory is turned into an error.
    """
    name = name.strip().lower() or ("mock" if emulator else "lgpio")
    if name == "mock":
        return MockFactory(pin_class=MockPWMPin)
    found = entry_points(group="gpiozero_pin_factories", name=name)
    if not found:
        known = ", ".join(sorted(["mock", *FACTORY_PACKAGES]))
        raise HardwareUnavailableError(f"unknown gpiozero pin factory {name!r} (known: {known})")
    install = FACTORY_PACKAGES.get(name, f"the {name} pin library")
    with warnings.catch_warnings():
        warnings.simplefilter("error", PinFactoryFallback)
        try:
            factory_class = next(iter(found)).load()
            return factory_class()
        except (ImportError, PinFactoryFallback) as e:
            raise HardwareUnavailableError(
                f"gpiozero pin factory {name!r} is not available ({e}); install: {install}") from e
        except (GPIOZeroError, OSError, RuntimeError) as e:
            # lgpio raises its own error class (a RuntimeError subclass) without a gpiochip
            raise HardwareUnavailableError(
                f"gpiozero pin factory {name!r} cannot reach the GPIO chip ({e}); "
                "is this a Raspberry Pi, and is the user in the gpio group?") from e


def parse_loopback(text: str) -> dict[int, int]:
    """KIOSK_HIL_LOOPBACK '17:5,27:6' -> {17: 5, 27: 6}: each LED pin and the input pin wired
    back to it (the HIL rig's jumpers), so a test can read what it drove."""
    pairs: list[tuple[int, int]] = []
    for item in filter(None, (p.strip() for p in text.split(","))):
        out, sep, inp = item.partition(":")
        if not sep or not out.strip().isdigit() or not inp.strip().isdigit():
            raise ValueError(f"KIOSK_HIL_LOOPBACK item {item!r} is not OUT:IN (BCM numbers)")
        pairs.append((int(out), int(inp)))
    pins = [p for pair in pairs for p in pair]
    if len(set(pins)) != len(pins):
        raise ValueError(f"KIOSK_HIL_LOOPBACK {text!r} uses a pin twice")
    return dict(pairs)


class GpioLeds:
    """Green, red and amber LEDs: `show(state)` sets the pattern for a session state."""

    def __init__(self, cfg: LedConfig, pin_factory: Any = None) -> None:
        self._own_factory = pin_factory is None
        self.factory = pin_factory if pin_factory is not None else MockFactory(
            pin_class=MockPWMPin)
        self.pins = {"green": cfg.green, "red": cfg.red, "amber": cfg.amber}
        if len(set(self.pins.values())) != 3:
            raise HardwareError(f"LED pins must differ, got {self.pins}")
        self.state: LedState = "off"
        try:
            self.green = LED(cfg.green, pin_factory=self.factory)
            self.red = LED(cfg.red, pin_factory=self.factory)
            # PWM so the idle state can breathe (software PWM on lgpio is fine for an LED)
            self.amber = PWMLED(cfg.amber, pin_factory=self.factory)
        except GPIOZeroError as e:
            self._close_devices()
            raise HardwareError(f"cannot set up the LEDs on GPIO {self.pins}: {e}") from e

    def _devices(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in ("green", "red", "amber")
                if getattr(self, name, None) is not None}

    def show(self, state: LedState) -> None:
        """Set the LED pattern; repeated calls with the same state keep blinks running."""
        if state == self.state:
            return
        self.green.off()
        self.red.off()
        self.amber.off()
        if state == "idle":
            self.amber.pulse(fade_in_time=BREATHE_S, fade_out_time=BREATHE_S)
        elif state == "busy":
            self.amber.on()
        elif state == "pass":
            self.green.on()
        elif state == "fail":
            self.red.on()
        elif state == "fault":
            self.red.blink(on_time=BLINK_S, off_time=BLINK_S)
        elif state != "off":
            raise ValueError(f"unknown LED state {state!r}")
        self.state = state

    def values(self) -> dict[str, float]:
        """Brightness 0..1 per LED right now (for the emulator's virtual LEDs)."""
        return {name: float(dev.value) for name, dev in self._devices().items()}

    def _close_devices(self) -> None:
        for name, dev in self._devices().items():
            try:
                dev.off()
                dev.close()
            except GPIOZeroError as e:
                log.warning("closing the %s LED: %s", name, e)

    def close(self) -> None:
        """Turn all LEDs off and release their pins."""
        self._close_devices()
        self.state = "off"
        if self._own_factory:
            self.factory.close()
