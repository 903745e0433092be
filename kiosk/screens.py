"""Turns the session's Prompt (catalogue keys) into the Screen the display draws."""

from __future__ import annotations

from kiosk.hardware.interfaces import Screen
from kiosk.messages import Catalogue
from kiosk.session.machine import BLOCKED_KEY, Prompt
from kiosk.session.occlusion import prompt as occlusion_prompt


def to_screen(prompt: Prompt, cat: Catalogue, fault_reason: str = "") -> Screen:
    if prompt.kind == "out_of_service":
        return Screen("out_of_service", cat.text("fault.prompt"),
                      fault_reason or cat.text("fault.hint"))
    key, params = prompt.key, dict(prompt.params)
    if key == BLOCKED_KEY:
        key, params = occlusion_prompt(list(prompt.highlight), cat)
    elif prompt.highlight and cat.has(f"{key}_parts"):
        # a message that can name the highlighted parts does ("Your mouth stayed covered")
        key, params = f"{key}_parts", {**params, "parts": cat.join(list(prompt.highlight))}
    return Screen(
        kind=prompt.kind,
        prompt=cat.get(key, key, **params),
        hint=cat.get(prompt.hint, "", **params) if prompt.hint else "",
        progress=prompt.progress,
        highlight=prompt.highlight,
        ok=prompt.ok,
        countdown=prompt.countdown,
    )
