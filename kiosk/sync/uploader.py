"""One upload pass: verified, idempotent PUTs of pending captures and their metadata objects."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from kiosk.errors import StoreError, SyncAuthError, SyncError
from kiosk.store.capture_store import CaptureStore
from kiosk.store.index import CaptureRow
from kiosk.sync.backoff import Pacer

log = logging.getLogger(__name__)

COMMIT_EVERY = 25  # confirmed uploads per index transaction; a crash re-checks them with HEAD
AUTH_CODES = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "InvalidToken",
              "ExpiredToken", "AuthorizationHeaderMalformed", "InvalidClientTokenId"}
TRANSIENT_CODES = {"SlowDown", "RequestTimeout", "ServiceUnavailable", "InternalError",
                   "RequestTimeTooSkewed"}


class CaptureRejected(SyncError):
    """The server refused this one object (bad digest, verification mismatch); others may go."""


def object_key(prefix: str, kiosk_id: str, row: CaptureRow, suffix: str = ".bin") -> str:
    """Deterministic per capture, so a retry can only ever overwrite the same object."""
    day = dt.datetime.fromtimestamp(row.wall_time, dt.UTC).strftime("%Y-%m-%d")
    parts = [p for p in (prefix.strip("/"), kiosk_id, day, f"{row.id}{suffix}") if p]
    return "/".join(parts)


def metadata_document(row: CaptureRow, kiosk_id: str, bin_key: str) -> bytes:
    """The small JSON object next to each capture; deterministic so re-uploads are identical."""
    doc = {
        "capture_id": row.id, "kiosk_id": kiosk_id, "object": bin_key,
        "encryption": "libsodium sealed box (X25519, XSalsa20-Poly1305) of a JPEG",
        "sha256": row.sha256, "size": row.size, "seq": row.seq, "boot_id": row.boot_id,
        "wall_time": dt.datetime.fromtimestamp(row.wall_time, dt.UTC).isoformat(),
        "clock_synchronised": row.clock_synchronised, "session_s": row.session_s,
        "metadata": row.metadata,
    }
    return json.dumps(doc, sort_keys=True, indent=1).encode()


def classify(e: Exception, endpoint: str, bucket: str) -> SyncError:
    """Map a boto error to: stop the pass (auth, outage) or skip this capture (rejected)."""
    if isinstance(e, ClientError):
        err = e.response.get("Error", {})
        code = str(err.get("Code", ""))
        status = int(e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code in AUTH_CODES or status == 403:
            return SyncAuthError(f"{endpoint} rejected the credentials ({code or status}); "
                                 "check the access key and secret")
        if code == "NoSuchBucket":
            return SyncError(f"bucket {bucket!r} does not exist at {endpoint}")
        if status >= 500 or code in TRANSIENT_CODES:
            return SyncError(f"{endpoint} is failing ({code or status}); will retry")
        return CaptureRejected(f"{endpoint} refused the object ({code or status}: "
                               f"{err.get('Message', '')})")
    return SyncError(f"cannot reach {endpoint}: {e}")


@dataclass
class PassResult:
    uploaded: int = 0
    already_there: int = 0
    quarantined: int = 0
    rejected: int = 0
    error: str | None = None
    auth_error: bool = False

    @property
    def confirmed(self) -> int:
        return self.uploaded + self.already_there


class Uploader:
    def __init__(self, store: CaptureStore, client: Any, *, bucket: str, prefix: str,
                 kiosk_id: str, endpoint: str, pacer: Pacer,
                 sleep: Callable[[float], None] = time.sleep,
                 wall_clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.kiosk_id = kiosk_id
        self.endpoint = endpoint or "AWS S3"
        self.pacer = pacer
        self._sleep = sleep
        self._wall = wall_clock

    def run_pass(self, batch_size: int) -> PassResult:
        """Upload up to `batch_size` pending captures; stops early on auth errors or outages."""
        res = PassResult()
        rows = self.store.index.upload_batch(batch_size)
        if rows:
            # Counted before any request: a retry after a crash then checks with HEAD first.
            self.store.index.mark_attempt([r.id for r in rows], self._wall())
        done: list[tuple[str, str]] = []
        try:
            for row in rows:
                if not self._one(row, res, done):
                    break
                if len(done) >= COMMIT_EVERY:
                    self.store.index.mark_synced(done, self._wall())
                    done = []
        finally:
            self.store.index.mark_synced(done, self._wall())
        self._record(res)
        return res

    def _one(self, row: CaptureRow, res: PassResult, done: list[tuple[str, str]]) -> bool:
        try:
            data = self.store.read_verified(row)
        except StoreError as e:
            self.store.quarantine(row.id, str(e))
            res.quarantined += 1
            return True
        try:
            key, fresh = self._upload(row, data)
        except CaptureRejected as e:
            log.warning("capture %s: %s", row.id, e)
            self.store.index.record_error(row.id, str(e))
            res.rejected += 1
            return True
        except SyncError as e:
            res.error, res.auth_error = str(e), isinstance(e, SyncAuthError)
            return False
        done.append((row.id, key))
        if fresh:
            res.uploaded += 1
        else:
            res.already_there += 1
        return True

    def _upload(self, row: CaptureRow, data: bytes) -> tuple[str, bool]:
        """Returns (key, whether anything was sent); idempotent under retries."""
        key = object_key(self.prefix, self.kiosk_id, row)
        doc_key = object_key(self.prefix, self.kiosk_id, row, ".json")
        doc = metadata_document(row, self.kiosk_id, key)
        sent = False
        for k, body, ctype in ((key, data, "application/octet-stream"),
                               (doc_key, doc, "application/json")):
            if row.attempts > 0 and self._present(k, body):
                continue  # an earlier attempt got through before we could record it
            self._put(k, body, ctype)
            sent = True
        return key, sent

    def _call(self, fn: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return fn(Bucket=self.bucket, **kwargs)
        except (ClientError, BotoCoreError) as e:
            raise classify(e, self.endpoint, self.bucket) from e

    def _present(self, key: str, body: bytes) -> bool:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise classify(e, self.endpoint, self.bucket) from e
        except BotoCoreError as e:
            raise classify(e, self.endpoint, self.bucket) from e
        etag = str(head.get("ETag", "")).strip('"')
        return bool(head.get("ContentLength") == len(body)
                    and (etag == hashlib.md5(body).hexdigest()
                         or head.get("Metadata", {}).get("sha256")
                         == hashlib.sha256(body).hexdigest()))

    def _put(self, key: str, body: bytes, content_type: str) -> None:
        wait = self.pacer.delay(len(body))
        if wait > 0:
            self._sleep(wait)
        md5 = hashlib.md5(body)
        resp = self._call(
            self.client.put_object, Key=key, Body=body, ContentType=content_type,
            ContentMD5=base64.b64encode(md5.digest()).decode(),
            Metadata={"sha256": hashlib.sha256(body).hexdigest()})
        etag = str(resp.get("ETag", "")).strip('"')
        # Multipart and SSE-KMS ETags are not MD5s; the server already checked Content-MD5.
        if len(etag) == 32 and etag != md5.hexdigest():
            raise CaptureRejected(f"{key}: server ETag {etag} does not match MD5 "
                                  f"{md5.hexdigest()}")

    def _record(self, res: PassResult) -> None:
        now = self._wall()
        values: dict[str, Any] = {"last_pass_at": now}
        if res.error:
            values.update(last_error=res.error, last_error_at=now)
            log.error("sync pass stopped: %s", res.error)
        elif res.confirmed or res.quarantined or res.rejected:
            if res.confirmed:
                values["last_success_at"] = now
            log.info("sync pass: %d uploaded, %d already there, %d quarantined, %d rejected",
                     res.uploaded, res.already_there, res.quarantined, res.rejected)
        self.store.index.set_meta(**values)
