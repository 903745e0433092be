"""S3 credentials from a file (systemd LoadCredential friendly) or the environment; never logged."""

from __future__ import annotations

import configparser
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.config import SyncConfig
from kiosk.errors import SyncAuthError

log = logging.getLogger(__name__)

CREDENTIAL_NAME = "s3"  # LoadCredential=s3:/etc/kiosk/s3-credentials


@dataclass(frozen=True)
class S3Credentials:
    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)
    source: str = ""


def _from_file(path: Path) -> S3Credentials:
    """AWS shared-credentials format: [default] aws_access_key_id / aws_secret_access_key."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(path.read_text(), source=str(path))
    except OSError as e:
        raise SyncAuthError(f"credentials file {path} cannot be read: {e.strerror}") from e
    except configparser.Error:
        # the parser's message may quote a line of the file: do not pass it on
        raise SyncAuthError(f"credentials file {path} is not in the AWS format") from None
    sections = parser.sections()
    name = "default" if "default" in sections else (sections[0] if sections else "")
    section = parser[name] if name else {}
    key, secret = section.get("aws_access_key_id"), section.get("aws_secret_access_key")
    if not key or not secret:
        raise SyncAuthError(f"credentials file {path} lacks aws_access_key_id or "
                            "aws_secret_access_key in its [default] section")
    if path.stat().st_mode & 0o077:
        log.warning("credentials file %s is readable by other users", path)
    return S3Credentials(key.strip(), secret.strip(),
                         (section.get("aws_session_token") or "").strip() or None, str(path))


def load_credentials(cfg: SyncConfig, environ: Mapping[str, str] | None = None) -> S3Credentials:
    env = os.environ if environ is None else environ
    if cfg.credentials_file:
        return _from_file(Path(cfg.credentials_file))
    if env.get("CREDENTIALS_DIRECTORY"):
        path = Path(env["CREDENTIALS_DIRECTORY"]) / CREDENTIAL_NAME
        if path.exists():
            return _from_file(path)
    if env.get("AWS_SHARED_CREDENTIALS_FILE"):
        return _from_file(Path(env["AWS_SHARED_CREDENTIALS_FILE"]))
    if env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
        return S3Credentials(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"],
                             env.get("AWS_SESSION_TOKEN") or None, "environment")
    raise SyncAuthError(
        "no S3 credentials: set sync.credentials_file, or LoadCredential=s3:FILE in the unit, "
        "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
