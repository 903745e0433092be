"""The message catalogue: every text the person at the kiosk reads, one TOML file per language."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources
from typing import Any

from kiosk.errors import ConfigError


class Catalogue:
    """Looks up dotted keys ("position.too_far") and fills {placeholders}."""

    def __init__(self, texts: dict[str, Any], lang: str) -> None:
        self._texts = texts
        self.lang = lang

    def _lookup(self, key: str) -> str | None:
        node: Any = self._texts
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node if isinstance(node, str) else None

    def text(self, key: str, **params: Any) -> str:
        message = self._lookup(key)
        if message is None:
            raise KeyError(f"no message '{key}' in the '{self.lang}' catalogue")
        return message.format(**params)

    def has(self, key: str) -> bool:
        return self._lookup(key) is not None

    def get(self, key: str, default: str = "", **params: Any) -> str:
        try:
            return self.text(key, **params)
        except KeyError:
            return default

    def region(self, name: str) -> str:
        return self.text(f"regions.{name}")

    def join(self, names: list[str]) -> str:
        """'nose', 'nose and mouth', 'nose, mouth and chin' in the catalogue's language."""
        words = [self.region(n) for n in names]
        if len(words) <= 1:
            return "".join(words)
        if len(words) == 2:
            return f"{words[0]} {self.text('grammar.and')} {words[1]}"
        return f"{', '.join(words[:-1])}{self.text('grammar.and_many')} {words[-1]}"

    def keys(self) -> dict[str, str]:
        """Every message as {dotted key: text}."""
        out: dict[str, str] = {}

        def walk(node: dict[str, Any], prefix: str) -> None:
            for k, v in node.items():
                if isinstance(v, dict):
                    walk(v, f"{prefix}{k}.")
                else:
                    out[f"{prefix}{k}"] = v
        walk(self._texts, "")
        return out


def available() -> list[str]:
    """The bundled languages (one kiosk/locales/<lang>.toml each), sorted."""
    folder = resources.files("kiosk").joinpath("locales")
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir()
                  if p.name.endswith(".toml"))


@lru_cache(maxsize=8)
def load(lang: str = "en") -> Catalogue:
    try:
        raw = resources.files("kiosk").joinpath("locales", f"{lang}.toml").read_text("utf-8")
    except FileNotFoundError as e:
        raise ConfigError(f"no message catalogue for language '{lang}'") from e
    return Catalogue(tomllib.loads(raw), lang)
