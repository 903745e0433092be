"""Facts recorded with each capture: boot id and whether the wall clock is synchronised."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import uuid
from pathlib import Path

BOOT_ID_FILE = Path("/proc/sys/kernel/random/boot_id")
TIMESYNC_FLAG = Path("/run/systemd/timesync/synchronized")
TIME_ERROR = 5  # adjtimex(2): "clock not synchronized"
_TIMEX_SIZE = 512  # larger than struct timex on every Linux ABI; modes=0 means read-only

_fallback_boot = uuid.uuid4().hex


def boot_id() -> str:
    """The kernel's boot id without dashes; a per-process random id where there is none."""
    try:
        return BOOT_ID_FILE.read_text().strip().replace("-", "")
    except OSError:
        return _fallback_boot


def clock_synchronised() -> bool:
    """The kernel's NTP state (set by chrony, timesyncd, ntpd); False when unknown."""
    if TIMESYNC_FLAG.exists():
        return True
    libc = _libc()
    if libc is None:
        return False
    try:
        state = libc.adjtimex(ctypes.create_string_buffer(_TIMEX_SIZE))
    except AttributeError:
        return False
    return state not in (-1, TIME_ERROR)


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """Looked up once: find_library runs ldconfig, far too slow for every capture."""
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name, use_errno=True) if name else None
    except OSError:
        return None
