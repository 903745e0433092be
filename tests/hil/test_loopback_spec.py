"""The HIL wiring spec parser and the wired mock factory the fake twin relies on."""

from __future__ import annotations

import pytest
from gpiozero import LED, DigitalInputDevice

from kiosk.hardware.leds import parse_loopback
from tests.hil.conftest import wired_mock_factory

pytestmark = pytest.mark.unit


def test_parse_loopback() -> None:
    assert parse_loopback("17:5, 27:6,22:13") == {17: 5, 27: 6, 22: 13}
    assert parse_loopback("") == {}
    for bad in ("17-5", "17:x", "17:5,17:6", "17:5,5:6"):
        with pytest.raises(ValueError):
            parse_loopback(bad)


def test_wired_mock_pins_follow_the_output() -> None:
    factory = wired_mock_factory({17: 5})
    led = LED(17, pin_factory=factory)
    sense = DigitalInputDevice(5, pull_up=False, pin_factory=factory)
    try:
        assert sense.value == 0
        led.on()
        assert sense.value == 1
        led.off()
        assert sense.value == 0
    finally:
        led.close()
        sense.close()
        factory.close()
