"""Turns the session's Prompt (catalogue keys) into the Screen the display draws."""

from __future__ import annotations

from typing import Any

from kiosk import messages
from kiosk.hardware.interfaces import Screen
from kiosk.messages import Catalogue
from kiosk.session.machine import BLOCKED_KEY, Prompt
from kiosk.session.occlusion import prompt as occlusion_prompt

FAULT_KEY = "fault.prompt"


def message(prompt: Prompt, cat: Catalogue) -> tuple[str, dict[str, Any]]:
    """The catalogue key (and its params) of the sentence a prompt shows.

    The session says "these parts are covered" (BLOCKED_KEY); which sentence names them best
    ("Move your hand away from your mouth", "Your nose is covered"...) is chosen here, where
    the catalogue is. A message that can name the highlighted parts does ("Your mouth stayed
    covered")."""
    if prompt.kind == "out_of_service":
        return FAULT_KEY, {}
    key, params = prompt.key, dict(prompt.params)
    if key == BLOCKED_KEY:
        key, params = occlusion_prompt(list(prompt.highlight), cat)
    elif prompt.highlight and cat.has(f"{key}_parts"):
        key, params = f"{key}_parts", {**params, "parts": cat.join(list(prompt.highlight))}
    return key, params


def to_screen(prompt: Prompt, cat: Catalogue, fault_reason: str = "",
              language: str = "") -> Screen:
    """`language`: the label of the language button ("" = no button)."""
    legend = tuple(cat.text(f"leds.{led}") for led in LEDS)
    if prompt.kind == "out_of_service":
        return Screen("out_of_service", cat.text(FAULT_KEY),
                      fault_reason or cat.text("fault.hint"), legend=legend)
    key, params = message(prompt, cat)
    return Screen(
        kind=prompt.kind,
        prompt=cat.get(key, key, **params),
        hint=cat.get(prompt.hint, "", **params) if prompt.hint else "",
        progress=prompt.progress,
        highlight=prompt.highlight,
        ok=prompt.ok,
        countdown=prompt.countdown,
        steps=tuple(cat.text(f"attract.{s}") for s in STEPS) if prompt.kind == "attract" else (),
        language=language if prompt.kind in ("attract", "live") else "",
        legend=legend,
        cue=prompt.cue,
    )


# what the attract screen says to do, in order
STEPS = ("step_position", "step_blink", "step_uncover", "step_photo")
LEDS = ("green", "amber", "red")


class Texts:
    """The screen's language: the configured one, or the one the visitor picked.

    A visitor's choice (the language button) lasts until their session is over: when the
    attract screen comes back, the next visitor starts in the configured language again."""

    def __init__(self, language: str, button: bool = True) -> None:
        self.default = language
        self.language = language
        self.choices = messages.available() if button else [language]
        self._attract = True

    @property
    def catalogue(self) -> Catalogue:
        return messages.load(self.language)

    def switch(self) -> None:
        """The next bundled language (the button, or 'l' in the emulator)."""
        if len(self.choices) > 1:
            i = self.choices.index(self.language) if self.language in self.choices else -1
            self.language = self.choices[(i + 1) % len(self.choices)]

    def button_label(self) -> str:
        """The name of the language a tap switches to, written in that language."""
        if len(self.choices) < 2:
            return ""
        i = self.choices.index(self.language) if self.language in self.choices else -1
        return messages.load(self.choices[(i + 1) % len(self.choices)]).text("language.name")

    def screen(self, prompt: Prompt, fault_reason: str = "") -> Screen:
        attract = prompt.kind == "attract"
        if attract and not self._attract:
            self.language = self.default  # a session ended: the next visitor
        self._attract = attract
        return to_screen(prompt, self.catalogue, fault_reason, self.button_label())
