"""Message catalogues: every language has every key with the same placeholders; switching."""

from __future__ import annotations

import string

import pytest

from kiosk import config, messages
from kiosk.errors import ConfigError
from kiosk.screens import Texts, message, to_screen
from kiosk.session.machine import BLOCKED_KEY, Prompt

pytestmark = pytest.mark.unit


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_bahasa_indonesia_is_bundled_beside_english() -> None:
    assert {"en", "id"} <= set(messages.available())


@pytest.mark.parametrize("lang", [lang for lang in messages.available() if lang != "en"])
def test_every_catalogue_has_the_english_keys_and_placeholders(lang: str) -> None:
    en, other = messages.load("en").keys(), messages.load(lang).keys()
    assert sorted(set(en) - set(other)) == [], f"missing in {lang}"
    assert sorted(set(other) - set(en)) == [], f"not in en (typo?) in {lang}"
    for key, text in en.items():
        assert placeholders(other[key]) == placeholders(text), key
        assert other[key].strip(), key


def test_lists_of_parts_follow_each_language() -> None:
    en, id_ = messages.load("en"), messages.load("id")
    assert en.join(["nose", "mouth"]) == "nose and mouth"
    assert en.join(["nose", "mouth", "chin"]) == "nose, mouth and chin"
    assert id_.join(["nose", "mouth"]) == "hidung dan mulut"
    assert id_.join(["nose", "mouth", "chin"]) == "hidung, mulut, dan dagu"
    blocked = Prompt("live", BLOCKED_KEY, "occlusion.blocked_hint", highlight=("nose", "mouth"))
    assert to_screen(blocked, id_).prompt == ("Silakan lepas masker Anda — hidung dan mulut "
                                              "Anda tertutup")
    assert message(blocked, id_)[0] == "occlusion.mask"


def test_ui_language_picks_the_catalogue_and_rejects_unknown_ones() -> None:
    cfg = config.parse({"ui": {"language": "id"}})
    assert Texts(cfg.ui.language).screen(Prompt("attract", "attract.prompt")).prompt == (
        "Ambil foto selfie Anda")
    with pytest.raises(ConfigError, match="ui.language: 'fr' is not one of en, id"):
        config.parse({"ui": {"language": "fr"}})


def test_the_visitors_language_lasts_until_their_session_ends() -> None:
    texts = Texts("id")
    attract = Prompt("attract", "attract.prompt", "attract.hint")
    live = Prompt("live", "position.too_far", "position.too_far_hint")
    result = Prompt("result", "result.pass", "result.pass_hint", ok=True)
    first = texts.screen(attract)
    assert first.language == "English" and first.prompt == "Ambil foto selfie Anda"
    assert len(first.steps) == 4 and first.legend == ("berhasil", "siap, sibuk", "gagal, gangguan")
    texts.switch()
    assert texts.screen(attract).prompt == "Take your selfie"
    screen = texts.screen(live)
    assert screen.prompt == "Please come closer" and screen.language == "Bahasa Indonesia"
    assert texts.screen(result).language == ""  # no button on the result screen
    assert texts.screen(attract).prompt == "Ambil foto selfie Anda"  # the next visitor


def test_no_button_when_switching_is_off() -> None:
    texts = Texts("en", button=False)
    texts.switch()
    screen = texts.screen(Prompt("attract", "attract.prompt"))
    assert screen.prompt == "Take your selfie" and screen.language == ""
