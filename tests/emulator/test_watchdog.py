"""`kiosk run` under a fake systemd: READY, periodic WATCHDOG, STATUS, STOPPING, and a stall."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.hil.harness import ROOT, Daemon, kiosk_config, make_clip

pytestmark = [pytest.mark.emulator, pytest.mark.timeout(180)]

WATCHDOG_S = 2.0  # WATCHDOG_USEC the fake systemd hands over
START_TIMEOUT_S = 60.0  # imports + model loading on a slow CI machine


@pytest.fixture
def make_daemon(tmp_path: Path) -> Iterator[Callable[..., Daemon]]:
    started: list[Daemon] = []

    def make(**env: str) -> Daemon:
        folder = tmp_path / f"d{len(started)}"
        folder.mkdir()
        clip = make_clip(folder / "clip.avi")
        daemon = Daemon(kiosk_config(folder, clip), folder, WATCHDOG_S, dict(env)).start()
        started.append(daemon)
        return daemon

    yield make
    for d in started:
        d.close()


def _wait_ready(daemon: Daemon) -> float:
    return daemon.wait_for("READY=1", START_TIMEOUT_S)


def test_ready_periodic_watchdog_status_and_clean_stop(make_daemon: Callable[..., Daemon]) -> None:
    daemon = make_daemon()
    ready = _wait_ready(daemon)
    time.sleep(3.0)
    notify = daemon.notify
    pings = [t for t, _ in notify.lines("WATCHDOG=1")]
    assert pings, "no WATCHDOG=1 at all"
    assert min(pings) >= ready, "watchdog pings must come after READY=1"
    # systemd kills the service after WATCHDOG_USEC without a ping: none may come close
    gaps = [b - a for a, b in zip([ready, *pings], pings, strict=False)]
    assert max(gaps) < WATCHDOG_S / 2, f"longest gap between pings {max(gaps):.2f} s"
    assert len(pings) >= 10, f"only {len(pings)} pings in 3 s"
    statuses = [m for _, m in notify.lines("STATUS=")]
    assert statuses and "fps=" in statuses[-1], statuses[-3:]

    code, took, output = daemon.terminate(timeout=10)
    assert code == 0, output[-3000:]
    assert took < 5.0, f"SIGTERM to exit took {took:.1f} s"
    stopping = notify.lines("STOPPING=1")
    assert stopping, f"no STOPPING=1; got {notify.lines()[-5:]}"
    assert not daemon.control_socket.exists(), "the control socket is removed on exit"
    assert "Traceback" not in output, output[-3000:]


# Loaded by the daemon's Python at start-up (sitecustomize): from `stall_after` seconds after
# the first iteration on, each iteration blocks until the loop is told to stop, like a loop
# stuck in a driver call. The product has no test hook for this.
STALL_HOOK = """
import time
import kiosk.loop as loop

_init = loop.FixedRateLoop.__init__


def _stalling_init(self, period, iteration, *args, **kwargs):
    first = []

    def stalling(now):
        first.append(now)
        if now - first[0] > {stall_after}:
            self.stop.wait()
        return iteration(now)

    _init(self, period, stalling, *args, **kwargs)


loop.FixedRateLoop.__init__ = _stalling_init
"""


def test_stalled_loop_stops_the_watchdog_pings(make_daemon: Callable[..., Daemon],
                                               tmp_path: Path) -> None:
    stall_after = 1.5
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(STALL_HOOK.format(stall_after=stall_after))
    daemon = make_daemon(PYTHONPATH=os.pathsep.join([str(hooks), str(ROOT)]))
    ready = _wait_ready(daemon)
    quiet_from = ready + stall_after + 0.5  # the loop is certainly stuck by then
    time.sleep(max(0.0, quiet_from + 2 * WATCHDOG_S - time.monotonic()))
    pings = [t for t, _ in daemon.notify.lines("WATCHDOG=1")]
    assert any(t < ready + stall_after for t in pings), "pings before the stall"
    late = [round(t - ready, 2) for t in pings if t > quiet_from]
    assert late == [], f"pings continued after the loop stalled: {late}"
    assert daemon.proc is not None and daemon.proc.poll() is None, \
        "the stalled daemon stays alive: killing it is systemd's job"
    # still stops on SIGTERM (the stall hook waits on the stop event)
    code, _, output = daemon.terminate(timeout=10)
    assert code == 0, output[-3000:]
