"""systemd integration: sd_notify (READY, WATCHDOG, STATUS, STOPPING) and journal logging."""

from __future__ import annotations

import importlib
import logging
import os
import socket
import sys
import threading
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)

# Extra fields the daemon attaches with `log.info(..., extra={"stage": ..., "reason": ...})`.
# The journal stores them as STAGE=/OUTCOME=/REASON=/CAPTURE_ID=, so `journalctl -u kiosk
# REASON=store_failed` finds them; on stderr they are appended as key=value.
STRUCTURED_FIELDS = ("stage", "outcome", "reason", "capture_id")


def _notify_address(value: str) -> str | bytes:
    """NOTIFY_SOCKET as a socket address: '@name' is Linux's abstract namespace ('\\0name')."""
    if value.startswith("@"):
        return b"\0" + value[1:].encode()
    return value


def _sd_notify() -> Callable[[str], bool] | None:
    """python-systemd's sd_notify (apt python3-systemd on the Pi), or None where it is absent."""
    try:
        # imported by name so this module's own name (kiosk.hardware.systemd) cannot be
        # confused with the package by type checkers
        notify: Callable[[str], bool] = importlib.import_module("systemd.daemon").notify
        return notify
    except ImportError:
        return None


class Notifier:
    """sd_notify(3); every call is a harmless no-op when NOTIFY_SOCKET is not set.

    Through python-systemd's sd_notify where the module is installed (the Pi); the plain
    datagram protocol only where it is absent (a laptop), or for an `environ` other than the
    process's own (sd_notify reads the process environment). Either way a failed send is
    logged once instead of raised: losing one STATUS line must never take the kiosk down (a
    lost WATCHDOG=1 makes systemd restart us, which is the watchdog's point).
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        raw = env.get("NOTIFY_SOCKET", "")
        self._address = _notify_address(raw) if raw else None
        self._sd = _sd_notify() if environ is None else None
        self.backend = "python-systemd" if self._sd is not None else "plain"
        self._watchdog_usec = self._own_watchdog_usec(env)
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()  # the loop thread and the main thread both notify
        self._warned = False

    @staticmethod
    def _own_watchdog_usec(env: Mapping[str, str]) -> int | None:
        pid = env.get("WATCHDOG_PID", "")
        if pid and pid != str(os.getpid()):
            return None  # the watchdog belongs to another process of the service
        try:
            usec = int(env.get("WATCHDOG_USEC", ""))
        except ValueError:
            return None
        return usec if usec > 0 else None

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def watchdog_interval(self) -> float | None:
        """Seconds between pings: half of WatchdogSec=, as sd_watchdog_enabled(3) advises."""
        return None if self._watchdog_usec is None else self._watchdog_usec / 2e6

    def notify(self, message: str) -> bool:
        """Send one raw sd_notify message; True if it was sent."""
        if self._address is None:
            return False
        if self._sd is not None:
            sent = bool(self._sd(message))
            if not sent and not self._warned:
                self._warned = True
                log.warning("cannot notify systemd at %r (sd_notify failed)", self._address)
            return sent
        # A fresh sendto per message (no connected socket) survives `daemon-reexec`.
        with self._lock:
            try:
                if self._sock is None:
                    kind = socket.SOCK_DGRAM | socket.SOCK_CLOEXEC
                    self._sock = socket.socket(socket.AF_UNIX, kind)
                self._sock.sendto(message.encode(), self._address)
            except OSError as e:
                if not self._warned:
                    self._warned = True
                    log.warning("cannot notify systemd at %r: %s", self._address, e)
                return False
        return True

    def ready(self) -> None:
        self.notify("READY=1")

    def watchdog(self) -> None:
        self.notify("WATCHDOG=1")

    def status(self, text: str) -> None:
        # one line: a newline would start a new (bogus) assignment in the datagram
        self.notify("STATUS=" + " ".join(text.split()))

    def stopping(self) -> None:
        self.notify("STOPPING=1")

    def close(self) -> None:
        with self._lock:
            if self._sock is not None:
                self._sock.close()
                self._sock = None


class FieldsFormatter(logging.Formatter):
    """Plain one-line format that keeps the structured fields visible as key=value."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = [f"{k}={getattr(record, k)}" for k in STRUCTURED_FIELDS if hasattr(record, k)]
        return f"{text} [{' '.join(fields)}]" if fields else text


def stderr_is_journal(environ: Mapping[str, str] | None = None) -> bool:
    """True if stderr is the journal stream systemd set up (JOURNAL_STREAM=dev:inode matches)."""
    env = os.environ if environ is None else environ
    value = env.get("JOURNAL_STREAM", "")
    dev, _, ino = value.partition(":")
    if not dev.isdigit() or not ino.isdigit():
        return False
    try:
        st = os.fstat(sys.stderr.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return st.st_dev == int(dev) and st.st_ino == int(ino)


def _priority(levelno: int) -> int:
    """syslog priority for a logging level (journald's PRIORITY=)."""
    if levelno >= logging.CRITICAL:
        return 2
    if levelno >= logging.ERROR:
        return 3
    if levelno >= logging.WARNING:
        return 4
    return 6 if levelno >= logging.INFO else 7


class JournalFieldsHandler(logging.Handler):
    """Sends records to the journal with STAGE=/OUTCOME=/REASON= as fields of their own.

    python-systemd's own JournalHandler forwards `extra=` keys unchanged (lower case), and
    journald drops fields whose names are not upper case, so the fields are mapped here.
    """

    def __init__(self, send: Callable[..., object], identifier: str = "kiosk") -> None:
        super().__init__()
        self._send = send
        self._identifier = identifier

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fields = {k.upper(): str(getattr(record, k)) for k in STRUCTURED_FIELDS
                      if hasattr(record, k)}
            self._send(self.format(record), PRIORITY=str(_priority(record.levelno)),
                       SYSLOG_IDENTIFIER=self._identifier, LOGGER=record.name,
                       THREAD_NAME=str(record.threadName), CODE_FILE=record.pathname,
                       CODE_LINE=record.lineno, CODE_FUNC=record.funcName, **fields)
        except Exception:  # noqa: BLE001 - logging must never raise into the caller
            self.handleError(record)


def _journal_handler() -> logging.Handler | None:
    try:
        # apt python3-systemd on the Pi; imported by name so this module's own name
        # (kiosk.hardware.systemd) cannot be confused with the package by type checkers
        journal = importlib.import_module("systemd.journal")
    except ImportError:
        return None
    return JournalFieldsHandler(journal.send)


def setup_logging(level: str, environ: Mapping[str, str] | None = None) -> logging.Handler:
    """Route the root logger to the journal under systemd, else to stderr; returns the handler.

    Nothing the kiosk logs may contain an image or personal data: log counts, stages,
    outcomes and reasons, never pixels, names or capture contents.
    """
    handler: logging.Handler | None = _journal_handler() if stderr_is_journal(environ) else None
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        # under systemd without python3-systemd the journal adds its own timestamps
        fmt = "%(levelname)s %(name)s: %(message)s"
        if not stderr_is_journal(environ):
            fmt = "%(asctime)s " + fmt
        handler.setFormatter(FieldsFormatter(fmt))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    return handler
