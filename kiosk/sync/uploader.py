"""One upload pass: never-overwriting, verified PUTs of waiting captures and their sidecars."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from kiosk.errors import SyncAuthError, SyncError
from kiosk.store import receipts
from kiosk.sync import outbox
from kiosk.sync.backoff import Pacer

log = logging.getLogger(__name__)

AUTH_CODES = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "InvalidToken",
              "ExpiredToken", "AuthorizationHeaderMalformed", "InvalidClientTokenId"}
TRANSIENT_CODES = {"SlowDown", "RequestTimeout", "ServiceUnavailable", "InternalError",
                   "RequestTimeTooSkewed", "ConditionalRequestConflict"}
KIOSK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
HEARTBEAT = "heartbeat.json"


class CaptureRejected(SyncError):
    """The server refused this one object (bad digest, verification mismatch); others may go."""


class Conflict(SyncError):
    """A different object already has this key: never overwritten, quarantined, reported."""


class PreconditionFailed(SyncError):
    """If-None-Match: * found an object at the key."""


def kiosk_prefix(prefix: str, kiosk_id: str) -> str:
    if not KIOSK_ID.match(kiosk_id):
        raise SyncError(f"kiosk_id {kiosk_id!r} cannot name objects: use letters, digits, "
                        "'.', '_' and '-' (at most 63)")
    return "/".join(p for p in (prefix.strip("/"), kiosk_id) if p)


def object_key(prefix: str, kiosk_id: str, sidecar: dict[str, Any], suffix: str = ".bin") -> str:
    """Unique for all time: the store id is generated once per store, the sequence per capture."""
    day = str(sidecar["wall_time"])[:10]
    return (f"{kiosk_prefix(prefix, kiosk_id)}/{day}/"
            f"{sidecar['capture_id']}-{sidecar['store_id']}{suffix}")


def metadata_document(sidecar: dict[str, Any], kiosk_id: str, bin_key: str) -> bytes:
    """The JSON object next to each capture; deterministic so re-uploads are identical."""
    doc = dict(sidecar, kiosk_id=kiosk_id, object=bin_key)
    return json.dumps(doc, sort_keys=True, indent=1).encode()


def classify(e: Exception, endpoint: str, bucket: str) -> SyncError:
    """Map a boto error to: stop the pass (auth, outage) or skip this capture (rejected)."""
    if isinstance(e, ClientError):
        err = e.response.get("Error", {})
        code = str(err.get("Code", ""))
        status = int(e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code == "PreconditionFailed" or status == 412:
            return PreconditionFailed(f"{endpoint}: an object already has this key")
        if code in AUTH_CODES or status == 403:
            return SyncAuthError(f"{endpoint} rejected the credentials ({code or status}); "
                                 "check the access key and secret")
        if code == "NoSuchBucket":
            return SyncError(f"bucket {bucket!r} does not exist at {endpoint}")
        if status >= 500 or code in TRANSIENT_CODES or status == 409:
            return SyncError(f"{endpoint} is failing ({code or status}); will retry")
        return CaptureRejected(f"{endpoint} refused the object ({code or status}: "
                               f"{err.get('Message', '')})")
    return SyncError(f"cannot reach {endpoint}: {e}")


@dataclass
class PassResult:
    uploaded: int = 0
    already_there: int = 0
    quarantined: int = 0
    conflicts: int = 0
    rejected: int = 0
    error: str | None = None
    auth_error: bool = False

    @property
    def confirmed(self) -> int:
        return self.uploaded + self.already_there


class Uploader:
    def __init__(self, client: Any, *, captures: Path, sync_dir: Path, bucket: str,
                 prefix: str, kiosk_id: str, endpoint: str, pacer: Pacer,
                 conditional_put: bool = True,
                 sleep: Callable[[float], None] = time.sleep,
                 wall_clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.captures = captures
        self.sync_dir = sync_dir
        self.bucket = bucket
        self.prefix = prefix
        self.kiosk_id = kiosk_id
        self.endpoint = endpoint or "AWS S3"
        self.pacer = pacer
        self.conditional_put = conditional_put
        self.attempts: dict[str, int] = {}
        self._sleep = sleep
        self._wall = wall_clock
        kiosk_prefix(prefix, kiosk_id)  # a bad kiosk id is a configuration error, said at once

    def run_pass(self, batch_size: int) -> PassResult:
        """Upload up to `batch_size` waiting captures; stops early on auth errors or outages."""
        res = PassResult()
        for item in outbox.waiting(self.captures, self.sync_dir, self.attempts, batch_size):
            if not self._one(item, res):
                break
        return res

    def _one(self, item: outbox.Outgoing, res: PassResult) -> bool:
        try:
            sidecar = json.loads(item.sidecar.read_bytes())
            data = item.sealed.read_bytes()
        except FileNotFoundError:
            return True  # purged or quarantined by the kiosk since the listing
        except (OSError, ValueError) as e:
            self._receipt(item.capture_id, "", receipts.CORRUPT, reason=f"unreadable: {e}")
            res.quarantined += 1
            return True
        digest = hashlib.sha256(data).hexdigest()
        if len(data) != sidecar.get("size") or digest != sidecar.get("sha256"):
            self._receipt(item.capture_id, str(sidecar.get("sha256", "")), receipts.CORRUPT,
                          reason=f"local file is corrupted ({len(data)} bytes, expected "
                          f"{sidecar.get('size')}; sha256 mismatch)")
            res.quarantined += 1
            return True
        self.attempts[item.capture_id] = self.attempts.get(item.capture_id, 0) + 1
        try:
            key = object_key(self.prefix, self.kiosk_id, sidecar)
            doc = metadata_document(sidecar, self.kiosk_id, key)
            sent = self._deliver(key, data, "application/octet-stream")
            # the sidecar goes second: on the server, its presence means the capture is whole
            sent = self._deliver(key[:-4] + ".json", doc, "application/json") or sent
        except Conflict as e:
            log.error("capture %s: %s", item.capture_id, e)
            self._receipt(item.capture_id, digest, receipts.CONFLICT, reason=str(e))
            res.conflicts += 1
            res.quarantined += 1
            return True
        except CaptureRejected as e:
            log.warning("capture %s: %s", item.capture_id, e)
            res.rejected += 1
            return True
        except SyncError as e:
            res.error, res.auth_error = str(e), isinstance(e, SyncAuthError)
            return False
        self._receipt(item.capture_id, digest,
                      receipts.UPLOADED if sent else receipts.ALREADY_THERE, key=key)
        if sent:
            res.uploaded += 1
        else:
            res.already_there += 1
        return True

    def _receipt(self, cid: str, sha256: str, outcome: str, *, key: str = "",
                 reason: str = "") -> None:
        self.attempts.pop(cid, None)
        receipts.write(self.sync_dir, receipts.Receipt(cid, sha256, outcome, key, reason,
                                                       self._wall()))

    def _deliver(self, key: str, body: bytes, content_type: str) -> bool:
        """PUT `body` at `key` unless exactly it is there already (False); never overwrite."""
        if not self.conditional_put:
            same = self._same(key, body)
            if same is not None:
                return self._settle(key, same)
        try:
            self._put(key, body, content_type)
            return True
        except PreconditionFailed:
            # ours from an attempt whose answer was lost, or somebody else's object
            return self._settle(key, self._same(key, body))

    def _settle(self, key: str, same: bool | None) -> bool:
        if same:
            return False
        raise Conflict(f"{key} already exists on {self.endpoint} with different content; "
                       "not overwritten")

    def _same(self, key: str, body: bytes) -> bool | None:
        """None: no object; True: the same bytes; False: something else."""
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise classify(e, self.endpoint, self.bucket) from e
        except BotoCoreError as e:
            raise classify(e, self.endpoint, self.bucket) from e
        etag = str(head.get("ETag", "")).strip('"')
        return bool(head.get("ContentLength") == len(body)
                    and (etag == hashlib.md5(body).hexdigest()
                         or head.get("Metadata", {}).get("sha256")
                         == hashlib.sha256(body).hexdigest()))

    def _put(self, key: str, body: bytes, content_type: str, *,
             conditional: bool | None = None) -> None:
        wait = self.pacer.delay(len(body))
        if wait > 0:
            self._sleep(wait)
        md5 = hashlib.md5(body)
        extra = {"IfNoneMatch": "*"} if (self.conditional_put if conditional is None
                                         else conditional) else {}
        try:
            resp = self.client.put_object(
                Bucket=self.bucket, Key=key, Body=body, ContentType=content_type,
                ContentMD5=base64.b64encode(md5.digest()).decode(),
                Metadata={"sha256": hashlib.sha256(body).hexdigest()}, **extra)
        except (ClientError, BotoCoreError) as e:
            raise classify(e, self.endpoint, self.bucket) from e
        etag = str(resp.get("ETag", "")).strip('"')
        # Multipart and SSE-KMS ETags are not MD5s; the server already checked Content-MD5.
        if len(etag) == 32 and etag != md5.hexdigest():
            raise CaptureRejected(f"{key}: server ETag {etag} does not match MD5 "
                                  f"{md5.hexdigest()}")

    def put_heartbeat(self, doc: dict[str, Any]) -> str:
        """The one object that is replaced on purpose: the kiosk's latest status."""
        key = f"{kiosk_prefix(self.prefix, self.kiosk_id)}/{HEARTBEAT}"
        body = json.dumps(doc, sort_keys=True, default=str).encode()
        self._put(key, body, "application/json", conditional=False)
        return key


def iso(t: float | None) -> str | None:
    return None if t is None else dt.datetime.fromtimestamp(t, dt.UTC).isoformat(
        timespec="seconds")
