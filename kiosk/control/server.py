"""The daemon's control socket: newline-delimited JSON requests answered from snapshots."""

from __future__ import annotations

import json
import logging
import math
import os
import socket
import socketserver
import tempfile
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from kiosk.config import Config
from kiosk.errors import ControlError

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], dict[str, Any]]

SOCKET_NAME = "control.sock"
SYSTEM_RUNTIME_DIR = Path("/run/kiosk")  # RuntimeDirectory=kiosk in systemd/kiosk.service
MAX_REQUEST_BYTES = 64 * 1024  # requests are tiny; anything bigger is a mistake or an attack
CLIENT_IDLE_S = 2.0  # a client that stops talking is dropped so it cannot hold a slot
MAX_CLIENTS = 8
# Longest path bind() accepts: sun_path is 108 bytes including the terminating NUL.
MAX_PATH_BYTES = 107


def socket_path(cfg: Config, emulator: bool | None = None,
                environ: Mapping[str, str] | None = None) -> Path:
    """Where the daemon listens and the CLI connects, the same rule on both sides.

    1. `KIOSK_CONTROL_SOCKET` (tests, or several emulators on one machine);
    2. `$RUNTIME_DIRECTORY/control.sock` (set by systemd for the daemon; first entry);
    3. on the Pi: `/run/kiosk/control.sock`, where the service's RuntimeDirectory= is, so an
       SSH session (which has no RUNTIME_DIRECTORY) finds the daemon;
    4. in emulator mode: `$XDG_RUNTIME_DIR/kiosk/control.sock` (per-user, mode 0700 by
       login), else `<tempdir>/kiosk-<uid>/control.sock` (a per-user folder we create 0700).
    """
    env = os.environ if environ is None else environ
    if env.get("KIOSK_CONTROL_SOCKET"):
        return Path(env["KIOSK_CONTROL_SOCKET"])
    runtime = env.get("RUNTIME_DIRECTORY", "").split(":")[0]
    if runtime:
        return Path(runtime) / SOCKET_NAME
    if emulator is None:
        emulator = cfg.hardware == "emulator"
    if not emulator:
        return SYSTEM_RUNTIME_DIR / SOCKET_NAME
    if env.get("XDG_RUNTIME_DIR"):
        return Path(env["XDG_RUNTIME_DIR"]) / "kiosk" / SOCKET_NAME
    return Path(tempfile.gettempdir()) / f"kiosk-{os.getuid()}" / SOCKET_NAME


def jsonable(value: Any) -> Any:
    """Strict JSON: NaN/inf become null (json.dumps would write invalid `NaN`)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def encode(reply: Mapping[str, Any]) -> bytes:
    return json.dumps(jsonable(reply), allow_nan=False).encode() + b"\n"


def error(message: str) -> dict[str, Any]:
    return {"ok": False, "error": message}


class ControlServer:
    """Serves `{"cmd": name, ...}` lines with `handlers[name](request) -> dict` in threads.

    Built on socketserver (a thread per client). Handlers run on those threads, so they must
    only read data the loop has already published (a fresh dict per iteration), never touch
    the loop's objects. Every failure of a request (bad JSON, unknown command, too large,
    handler error, client gone) is answered or logged, never raised into the daemon.
    """

    def __init__(self, path: Path, handlers: Mapping[str, Handler], *, mode: int = 0o660) -> None:
        self.path = Path(path)
        self.handlers: dict[str, Handler] = {"ping": self._ping, **handlers}
        self.mode = mode
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.slots = threading.BoundedSemaphore(MAX_CLIENTS)

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        if len(os.fsencode(self.path)) > MAX_PATH_BYTES:
            raise ControlError(f"control socket path is too long for a Unix socket: {self.path}")
        if not self.path.parent.is_dir():
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._refuse_if_served()
        self._server = _Server(self)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.2,),
                                        name="control-socket", daemon=True)
        self._thread.start()
        log.info("control socket listening on %s", self.path)

    def _refuse_if_served(self) -> None:
        if not self.path.exists():
            return
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        probe.settimeout(0.5)
        try:
            probe.connect(str(self.path))
        except OSError:
            return  # nobody listening: a stale file from a crash, replaced in start()
        finally:
            probe.close()
        raise ControlError(f"another kiosk daemon already serves {self.path}")

    def close(self) -> None:
        """Stop serving and remove the socket file; safe to call twice."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
            self.path.unlink(missing_ok=True)
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None

    def __enter__(self) -> ControlServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- requests ---------------------------------------------------------------------------

    def handle_line(self, line: bytes) -> dict[str, Any]:
        """One request line -> one reply dict; pure apart from calling the handler."""
        try:
            req = json.loads(line)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            return error(f"not valid JSON: {e}")
        if not isinstance(req, dict) or not isinstance(req.get("cmd"), str):
            return error('a request is a JSON object with a string "cmd"')
        handler = self.handlers.get(req["cmd"])
        if handler is None:
            known = ", ".join(sorted(self.handlers))
            return error(f"unknown command {req['cmd']!r} (known: {known})")
        try:
            reply = handler(req)
        except Exception as e:  # noqa: BLE001 - a handler bug must not kill the daemon
            log.exception("control command %r failed", req["cmd"])
            return error(f"{req['cmd']} failed: {type(e).__name__}: {e}")
        if not isinstance(reply, Mapping):
            return error(f"{req['cmd']} returned {type(reply).__name__}, not an object")
        return {"ok": True, **reply}

    def _ping(self, _: dict[str, Any]) -> dict[str, Any]:
        return {"pid": os.getpid(), "commands": sorted(self.handlers)}


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True  # a client that hangs must not hold the daemon's exit
    block_on_close = False
    request_queue_size = MAX_CLIENTS

    def __init__(self, owner: ControlServer) -> None:
        self.owner = owner
        super().__init__(str(owner.path), _Client, bind_and_activate=False)
        try:
            self.server_bind()
            self.server_activate()
        except OSError:
            self.server_close()
            raise

    def server_bind(self) -> None:
        # bind under a temporary name, set the mode, then rename: the final path never
        # exists with looser permissions, and a stale socket file is replaced atomically
        path = self.owner.path
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.unlink(missing_ok=True)
        try:
            self.socket.bind(str(tmp))
            os.chmod(tmp, self.owner.mode)
            os.replace(tmp, path)
        except OSError:
            tmp.unlink(missing_ok=True)
            raise
        self.server_address = str(path)

    def verify_request(self, request: Any, client_address: Any) -> bool:
        if self.owner.slots.acquire(blocking=False):
            return True  # released when the client's thread ends
        try:
            request.settimeout(CLIENT_IDLE_S)
            request.sendall(encode(error("busy: too many clients")))
        except OSError:
            pass  # the client is gone; nothing to tell it
        return False


class _Client(socketserver.StreamRequestHandler):
    """One connection: newline-delimited requests, one reply line each."""

    timeout = CLIENT_IDLE_S  # a client that stops talking is dropped so it cannot hold a slot
    server: _Server

    def handle(self) -> None:
        try:
            while True:
                line = self.rfile.readline(MAX_REQUEST_BYTES + 1)
                if len(line) > MAX_REQUEST_BYTES:
                    self._refuse_too_large()
                    return
                if not line:
                    return
                if line.strip():  # a last request without its newline still gets an answer
                    self.wfile.write(encode(self.server.owner.handle_line(line)))
        except OSError as e:  # timeouts, resets, broken pipes: the client's problem
            log.debug("control client dropped: %s", e)
        finally:
            self.server.owner.slots.release()

    def _refuse_too_large(self) -> None:
        self.wfile.write(encode(error(f"request larger than {MAX_REQUEST_BYTES} bytes")))
        self.wfile.flush()
        # closing with unread input would reset the connection and lose the reply on the
        # client side: half-close, then discard what the client is still sending (bounded)
        self.connection.shutdown(socket.SHUT_WR)
        for _ in range(256):
            if not self.connection.recv(65536):
                break
