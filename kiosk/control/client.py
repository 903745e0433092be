"""Client side of the control socket: one request, one reply, clear errors when nobody answers."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

from kiosk.errors import ControlError, DaemonNotRunningError

MAX_REPLY_BYTES = 4 * 1024 * 1024


def request(path: Path, cmd: str, timeout: float = 2.0, **kw: Any) -> dict[str, Any]:
    """Send `{"cmd": cmd, **kw}` and return the daemon's reply (with its "ok" flag).

    Raises DaemonNotRunningError when no daemon listens at `path`, ControlError for any
    other failure to get a well-formed reply (permissions, timeout, garbage).
    """
    payload = json.dumps({"cmd": cmd, **kw}).encode() + b"\n"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError) as e:
            raise DaemonNotRunningError(
                f"the kiosk daemon is not running (nothing listens on {path}); "
                "start it with `sudo systemctl start kiosk`") from e
        except PermissionError as e:
            raise ControlError(
                f"permission denied on {path}: add yourself to the kiosk group "
                "(`sudo usermod -aG kiosk $USER`, then log in again) or use sudo") from e
        except OSError as e:
            raise ControlError(f"cannot connect to {path}: {e}") from e
        try:
            sock.sendall(payload)
            data = _read_line(sock)
        except TimeoutError as e:
            raise ControlError(f"the daemon did not answer {cmd!r} within {timeout:g} s") from e
        except OSError as e:
            raise ControlError(f"connection to the daemon failed during {cmd!r}: {e}") from e
    try:
        reply = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ControlError(f"the daemon sent a malformed reply to {cmd!r}: {e}") from e
    if not isinstance(reply, dict):
        raise ControlError(f"the daemon's reply to {cmd!r} is not a JSON object")
    return reply


def _read_line(sock: socket.socket) -> bytes:
    buf = b""
    while b"\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            if not buf:
                raise ControlError("the daemon closed the connection without answering")
            break
        buf += chunk
        if len(buf) > MAX_REPLY_BYTES:
            raise ControlError("the daemon's reply is too large")
    return buf.split(b"\n", 1)[0]
