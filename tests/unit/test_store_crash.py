"""Crash safety: a writer process killed with SIGKILL leaves a complete capture or nothing."""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import pytest

from kiosk.store import CaptureStore, RepairReport
from tests.storehelp import SMALL, check_invariant, keypair, make_store

pytestmark = pytest.mark.unit

STEPS_PER_SAVE = 8  # reserved, 6 stages of the atomic write, committed
WAIT_S = 20.0


def _child(tmp: Path, pub: Path, ack: Path, kill_at: int | None) -> None:
    """Runs in a forked process: save selfies, acknowledge each one, die at step `kill_at`."""
    count = 0

    def step(_: str) -> None:
        nonlocal count
        count += 1
        if count == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    s = make_store(tmp, pub)
    s._step = step
    fd = os.open(ack, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    while True:
        cid = s.save(SMALL, {"session_s": 1.0})
        os.write(fd, f"{cid}\n".encode())  # only after save() returned: the promise made


def _fork_writer(tmp: Path, pub: Path, ack: Path, kill_at: int | None) -> int:
    pid = os.fork()
    if pid == 0:
        try:
            _child(tmp, pub, ack, kill_at)
        finally:
            os._exit(3)  # never fall back into pytest in the child
    return pid


def _reap(pid: int) -> int:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.002)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    raise AssertionError("writer did not finish")


def _acked(ack: Path) -> set[str]:
    return set(ack.read_text().split()) if ack.exists() else set()


def _repair_and_check(tmp: Path, pub: Path, priv: Path, ack: Path) -> RepairReport:
    store: CaptureStore = make_store(tmp, pub)
    try:
        report = store.repair()
        check_invariant(store, priv, _acked(ack))
        return report
    finally:
        store.close()  # the next child must be able to take the writer lock


def test_sigkill_at_every_step_of_several_saves(tmp_path: Path) -> None:
    pub, priv = keypair(tmp_path)
    ack = tmp_path / "acked.txt"
    points = range(1, 5 * STEPS_PER_SAVE + 1)  # every step of five consecutive saves
    temp_removed, recovered, rolled_back = 0, 0, 0
    for kill_at in points:
        status = _reap(_fork_writer(tmp_path, pub, ack, kill_at))
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, status
        rep = _repair_and_check(tmp_path, pub, priv, ack)
        temp_removed += rep.temp_removed
        recovered += len(rep.recovered)
        rolled_back += len(rep.rolled_back)
    # per save: 5 kills land before the rename (row rolled back; 4 of them leave a temp file),
    # 2 after it (capture recovered), 1 after the commit (nothing to do)
    assert (temp_removed, recovered, rolled_back) == (20, 10, 25)
    acked = _acked(ack)
    # each child completes (kill_at - 1) // STEPS_PER_SAVE saves before dying
    assert len(acked) == sum((k - 1) // STEPS_PER_SAVE for k in points)


def test_sigkill_from_outside_at_random_times(tmp_path: Path) -> None:
    pub, priv = keypair(tmp_path)
    ack = tmp_path / "acked.txt"
    rng = random.Random(6)
    kills = 0
    # at least 15 kills, and on a slow disk more until some saves completed in between
    while kills < 15 or (not _acked(ack) and kills < 60):
        pid = _fork_writer(tmp_path, pub, ack, None)
        time.sleep(rng.uniform(0.0, 0.05 * (1 + kills // 15)))
        os.kill(pid, signal.SIGKILL)
        _reap(pid)
        _repair_and_check(tmp_path, pub, priv, ack)
        kills += 1
    assert _acked(ack), "the writer never got a capture through: the delays are too short"
