"""The screen and the LEDs: show what the session says; keys reach the loop only in the emulator."""

from __future__ import annotations

from kiosk.domain import Face, Frame
from kiosk.hardware.interfaces import Display, Leds, LedState
from kiosk.screens import Texts
from kiosk.session.machine import Prompt


class Presenter:
    """Draws the prompt over the newest frame (none on the out-of-service screen) in the
    visitor's language and sets the LED pattern; either output may be absent (a part that
    failed to open)."""

    def __init__(self, display: Display | None, leds: Leds | None, texts: Texts) -> None:
        self.display = display
        self.leds = leds
        self.texts = texts

    def show(self, prompt: Prompt, leds: LedState, fault: str, frame: Frame | None,
             face: Face | None) -> None:
        if self.leds is not None:
            self.leds.show(leds)
        if self.display is not None:
            image = None if prompt.kind == "out_of_service" or frame is None else frame.image
            self.display.render(self.texts.screen(prompt, fault), image, face)

    def keys(self) -> list[str]:
        """'quit' / 'reset' for the loop (the display reports keys only in the emulator); a
        tap on the language button is handled here."""
        events = self.display.poll() if self.display is not None else []
        if "language" in events:
            self.texts.switch()
        return [e for e in events if e != "language"]

    def close(self) -> None:
        if self.leds is not None:
            self.leds.show("off")
            self.leds.close()
        if self.display is not None:
            self.display.close()
