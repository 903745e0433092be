"""GpioLeds on gpiozero's own MockFactory: each state drives the expected pins."""

from __future__ import annotations

import time

import pytest
from gpiozero import LED
from gpiozero.pins.mock import MockFactory, MockPWMPin

from kiosk.config import LedConfig
from kiosk.errors import HardwareError, HardwareUnavailableError
from kiosk.hardware.leds import GpioLeds, pin_factory_from_config

pytestmark = pytest.mark.emulator

CFG = LedConfig(green=5, red=6, amber=13)


@pytest.fixture
def factory():
    f = MockFactory(pin_class=MockPWMPin)
    yield f
    f.close()


def pin_states(factory) -> dict[str, float]:
    return {name: factory.pin(n).state for name, n in (("green", 5), ("red", 6), ("amber", 13))}


@pytest.mark.parametrize(("state", "expected"), [
    ("off", {"green": 0, "red": 0, "amber": 0}),
    ("busy", {"green": 0, "red": 0, "amber": 1}),
    ("pass", {"green": 1, "red": 0, "amber": 0}),
    ("fail", {"green": 0, "red": 1, "amber": 0}),
])
def test_steady_states_drive_the_pins(factory, state, expected) -> None:
    leds = GpioLeds(CFG, pin_factory=factory)
    leds.show("busy" if state == "off" else "off")  # start from a different state
    leds.show(state)
    assert pin_states(factory) == expected
    assert leds.values() == {k: float(v) for k, v in expected.items()}
    assert leds.state == state
    leds.close()


def test_fault_blinks_red_only(factory) -> None:
    leds = GpioLeds(CFG, pin_factory=factory)
    leds.show("pass")
    leds.show("fault")
    red = factory.pin(6)
    red.clear_states()
    time.sleep(1.2)  # BLINK_S = 0.5: at least one full on/off cycle
    levels = {s.state for s in red.states}
    assert levels == {0, 1}
    assert factory.pin(5).state == 0 and factory.pin(13).state == 0
    leds.close()


def test_idle_breathes_amber(factory) -> None:
    leds = GpioLeds(CFG, pin_factory=factory)
    leds.show("idle")
    time.sleep(0.4)
    amber = factory.pin(13)
    levels = [s.state for s in amber.states]
    assert 0 < amber.state < 1  # partway through a fade
    assert len(set(levels)) > 3  # many PWM levels, not on/off
    assert factory.pin(5).state == 0 and factory.pin(6).state == 0
    leds.close()


def test_close_turns_off_and_releases_the_pins(factory) -> None:
    leds = GpioLeds(CFG, pin_factory=factory)
    leds.show("fail")
    leds.close()
    assert pin_states(factory) == {"green": 0, "red": 0, "amber": 0}
    again = LED(6, pin_factory=factory)  # would raise GPIOPinInUse if not released
    again.close()


def test_same_pin_twice_is_a_hardware_error(factory) -> None:
    with pytest.raises(HardwareError, match="must differ"):
        GpioLeds(LedConfig(green=5, red=5, amber=13), pin_factory=factory)


def test_pin_already_in_use_is_a_hardware_error(factory) -> None:
    taken = LED(13, pin_factory=factory)
    with pytest.raises(HardwareError, match="cannot set up the LEDs"):
        GpioLeds(CFG, pin_factory=factory)
    taken.close()
    GpioLeds(CFG, pin_factory=factory).close()  # nothing left reserved by the failed attempt


def test_factory_from_config() -> None:
    for name in ("mock", ""):
        f = pin_factory_from_config(name, emulator=True)
        assert isinstance(f, MockFactory) and f.pin_class is MockPWMPin
        f.close()
    with pytest.raises(HardwareUnavailableError, match="unknown gpiozero pin factory"):
        pin_factory_from_config("nope")


def test_real_factory_unavailable_names_the_install() -> None:
    try:
        import lgpio  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("lgpio is installed here")
    with pytest.raises(HardwareUnavailableError, match="python3-lgpio"):
        pin_factory_from_config("", emulator=False)  # the Pi default is lgpio, never a fallback
