"""The boto3 S3 client, configured for S3-compatible servers and our own retry policy."""

from __future__ import annotations

import functools
import threading
from typing import Any

import boto3
from botocore.config import Config as BotoConfig

from kiosk.config import SyncConfig
from kiosk.sync.credentials import S3Credentials

_lock = threading.Lock()


@functools.cache
def _session() -> boto3.session.Session:
    """One session: it parses botocore's large service models once, not for every client."""
    return boto3.session.Session()


def make_client(cfg: SyncConfig, creds: S3Credentials, max_pool: int = 10) -> Any:
    boto_cfg = BotoConfig(
        max_pool_connections=max_pool,
        region_name=cfg.region,
        connect_timeout=cfg.timeout_s,
        read_timeout=cfg.timeout_s,
        # botocore's standard mode retries a dropped connection or a 5xx/throttle a few times
        # with jittered back-off inside one pass; the sync loop backs off between passes.
        retries={"mode": "standard", "total_max_attempts": 3},
        s3={"addressing_style": cfg.addressing_style},
        # We send Content-MD5 ourselves; the newer default CRC trailers break some servers.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    with _lock:  # a session is not thread-safe while it makes a client
        return _session().client(
            "s3",
            endpoint_url=cfg.endpoint or None,
            aws_access_key_id=creds.access_key_id,
            aws_secret_access_key=creds.secret_access_key,
            aws_session_token=creds.session_token,
            verify=cfg.ca_bundle or None,
            config=boto_cfg,
        )
