"""Runs `kiosk run` as systemd would, with a fake NOTIFY_SOCKET, on a generated clip."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"


def make_clip(path: Path, seconds: float = 2.0, fps: float = 15.0, size: int = 320) -> Path:
    """A short MJPG clip of the public-domain astronaut portrait drifting a little."""
    image = cv2.imread(str(FIXTURES / "astronaut.png"), cv2.IMREAD_COLOR)
    image = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (size, size))
    assert writer.isOpened(), "OpenCV cannot write MJPG here"
    for i in range(int(seconds * fps)):
        writer.write(np.roll(image, (i % 6) - 3, axis=1))
    writer.release()
    return path


def kiosk_config(folder: Path, source: Path, fps: float = 15.0) -> Path:
    """A config for `kiosk run` (real-hardware mode: `kiosk run` refuses the emulator) with
    stand-ins a test machine has: a file camera, gpiozero's mock pins, a key pair made here;
    it writes only inside `folder`. The display is SDL's dummy driver (Daemon.env)."""
    from kiosk.store import crypto

    public, _ = crypto.generate_keypair(folder / "keys")
    path = folder / "kiosk.toml"
    path.write_text(f"""\
hardware = "pi"
kiosk_id = "test-kiosk"
[camera]
source = "{source}"
[loop]
fps = {fps}
[display]
fullscreen = false
width = 320
height = 240
[leds]
pin_factory = "mock"
[store]
dir = "{folder / 'state'}"
public_key = "{public}"
""")
    return path


class NotifyListener:
    """The systemd side of sd_notify: a datagram socket that records what arrives and when."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.1)
        self.messages: list[tuple[float, str]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                for line in data.decode().splitlines():
                    self.messages.append((time.monotonic(), line))

    def lines(self, prefix: str = "") -> list[tuple[float, str]]:
        with self._lock:
            return [(t, m) for t, m in self.messages if m.startswith(prefix)]

    def wait_for(self, prefix: str, timeout: float) -> float:
        """Monotonic time of the first message starting with `prefix`; fails on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.lines(prefix)
            if found:
                return found[0][0]
            time.sleep(0.05)
        raise AssertionError(f"no {prefix!r} within {timeout} s; got {self.lines()[-10:]}")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1)
        self.sock.close()


@dataclass
class Daemon:
    """`kiosk run` in a subprocess with the environment systemd would give it."""

    config: Path
    folder: Path
    watchdog_s: float = 2.0
    extra_env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[str] | None = None
    notify: NotifyListener | None = None

    @property
    def control_socket(self) -> Path:
        return self.folder / "control.sock"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KIOSK_", "NOTIFY_",
                                                                          "WATCHDOG_"))}
        env.update(
            SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy", PYTHONUNBUFFERED="1",
            KIOSK_CONTROL_SOCKET=str(self.control_socket),
            KIOSK_MODELS_DIR=str(ROOT / "models"),
            NOTIFY_SOCKET=str(self.folder / "notify.sock"),
            WATCHDOG_USEC=str(int(self.watchdog_s * 1e6)),
            PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        )
        env.update(self.extra_env)
        return env

    def start(self) -> Daemon:
        self.notify = NotifyListener(self.folder / "notify.sock")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kiosk", "--config", str(self.config), "run"],
            cwd=self.folder, env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True)
        return self

    def wait_for(self, prefix: str, timeout: float) -> float:
        """Like NotifyListener.wait_for, but gives up at once (with its output) if it died."""
        assert self.notify is not None and self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                return self.notify.wait_for(prefix, 0.2)
            except AssertionError:
                if self.proc.poll() is not None:
                    raise AssertionError(f"no {prefix!r}: {self.output_if_dead()}") from None
        return self.notify.wait_for(prefix, 0.0)

    def cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run a maintenance command against this daemon, as a maintainer would over SSH."""
        return subprocess.run(
            [sys.executable, "-m", "kiosk", "--config", str(self.config), *args],
            cwd=self.folder, env={k: v for k, v in self.env().items()
                                  if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC")},
            capture_output=True, text=True, timeout=timeout)

    def terminate(self, timeout: float = 10.0) -> tuple[int, float, str]:
        """SIGTERM; returns exit code, seconds it took to exit, and its output."""
        assert self.proc is not None
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
            raise AssertionError(
                f"no exit within {timeout} s of SIGTERM:\n{out[-3000:]}") from None
        return self.proc.returncode, time.monotonic() - started, out

    def output_if_dead(self) -> str:
        """The daemon's output if it has already exited (to explain a failed wait)."""
        if self.proc is not None and self.proc.poll() is not None:
            out, _ = self.proc.communicate()
            return f"kiosk run exited with {self.proc.returncode}:\n{out[-3000:]}"
        return ""

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()
        if self.notify is not None:
            self.notify.close()
