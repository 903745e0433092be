"""The back end's settings: a small TOML file (all keys optional), then command-line flags."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.config import SyncConfig
from kiosk.errors import ConfigError

ENV_CONFIG = "KIOSK_BACKEND_CONFIG"


@dataclass
class Settings:
    endpoint: str = ""  # S3 endpoint URL; empty = AWS S3
    region: str = "us-east-1"
    bucket: str = ""
    prefix: str = "selfies"  # the kiosks' sync.prefix
    addressing_style: str = "path"
    ca_bundle: str = ""
    credentials_file: str = ""  # AWS format; else $CREDENTIALS_DIRECTORY/s3, AWS_* variables
    keys: list[str] = field(default_factory=list)  # private key files or folders
    dest: str = "ingested"  # a folder, sqlite:PATH or postgresql://...
    concurrency: int = 8
    silent_after_s: float = 900.0  # fleet: no heartbeat for this long is "silent"
    metrics_file: str = ""  # node-exporter textfile for the command's numbers

    def s3(self) -> SyncConfig:
        if not self.bucket:
            raise ConfigError("no bucket: set bucket in the config file or pass --bucket")
        return SyncConfig(endpoint=self.endpoint, region=self.region, bucket=self.bucket,
                          prefix=self.prefix, ca_bundle=self.ca_bundle,
                          addressing_style=self.addressing_style,  # type: ignore[arg-type]
                          credentials_file=self.credentials_file)


def load(path: Path | None, overrides: Mapping[str, Any],
         environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    path = path or (Path(env[ENV_CONFIG]) if env.get(ENV_CONFIG) else None)
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text())
        except OSError as e:
            raise ConfigError(f"{path}: cannot read: {e.strerror}") from e
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: not valid TOML: {e}") from e
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    errors = [f"{k}: unknown key" for k in data if k not in fields]
    defaults = Settings()
    for k, v in data.items():
        if k in fields and type(v) is not type(getattr(defaults, k)) and not (
                isinstance(v, int) and isinstance(getattr(defaults, k), float)):
            errors.append(f"{k}: expected {type(getattr(defaults, k)).__name__}, got {v!r}")
    if errors:
        raise ConfigError(f"{path}: " + "; ".join(errors))
    merged = {**data, **{k: v for k, v in overrides.items() if v is not None and k in fields}}
    s = Settings(**merged)
    if s.concurrency < 1 or s.concurrency > 256:
        raise ConfigError(f"concurrency: {s.concurrency} is outside [1, 256]")
    return s
