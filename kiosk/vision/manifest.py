"""models/manifest.toml: which model files exist, their sha256 and what they take and give."""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.errors import ModelError, ModelMissingError


@dataclass(frozen=True)
class ModelSpec:
    name: str
    file: str
    sha256: str
    input_shape: tuple[int, ...]
    input_dtype: str
    extra: dict[str, Any] = field(default_factory=dict)

    def path(self, models_dir: Path) -> Path:
        return models_dir / self.file


def load_manifest(models_dir: Path) -> dict[str, ModelSpec]:
    path = models_dir / "manifest.toml"
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError as e:
        raise ModelMissingError(f"model manifest not found: {path}") from e
    except tomllib.TOMLDecodeError as e:
        raise ModelError(f"model manifest {path} is not valid TOML: {e}") from e
    specs = {}
    for name, entry in data.items():
        try:
            specs[name] = ModelSpec(
                name=name,
                file=entry["file"],
                sha256=entry["sha256"].lower(),
                input_shape=tuple(entry["input_shape"]),
                input_dtype=entry["input_dtype"],
                extra={k: v for k, v in entry.items()
                       if k not in {"file", "sha256", "input_shape", "input_dtype"}},
            )
        except (KeyError, TypeError, AttributeError) as e:
            raise ModelError(f"model manifest {path}: entry [{name}] is incomplete ({e})") from e
    return specs


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify(spec: ModelSpec, models_dir: Path) -> Path:
    """Return the model path if the file is there and its sha256 matches, else raise."""
    path = spec.path(models_dir)
    if not path.is_file():
        hint = "run `kiosk models install`" if "fetch" in spec.extra else "reinstall the kiosk"
        raise ModelMissingError(f"model '{spec.name}' is missing: {path} ({hint})")
    digest = sha256_of(path)
    if digest != spec.sha256:
        raise ModelError(
            f"model '{spec.name}' at {path} is corrupt or the wrong file: sha256 {digest[:12]}... "
            f"does not match the manifest's {spec.sha256[:12]}..."
        )
    return path
