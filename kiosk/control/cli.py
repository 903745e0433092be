"""Maintenance commands over SSH: `kiosk status`, `doctor`, `selftest`, `logs`."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from typing import Any

from kiosk.config import Config
from kiosk.control import doctor, report, selftest, system
from kiosk.control.client import request
from kiosk.control.server import socket_path
from kiosk.errors import ControlError, DaemonNotRunningError

NOT_RUNNING_EXIT = 3  # like `systemctl status` for an inactive unit


def cmd_status(args: argparse.Namespace, cfg: Config) -> int:
    try:
        snap = request(socket_path(cfg), "status")
    except DaemonNotRunningError as e:
        if args.json:
            print(json.dumps({"ok": False, "running": False, "error": str(e)}))
        else:
            print(f"kiosk: NOT RUNNING\n{e}")
        return NOT_RUNNING_EXIT
    if not snap.get("ok"):
        raise ControlError(f"the daemon refused the status request: {snap.get('error')}")
    snap = complete_status(snap, cfg)
    if args.json:
        print(json.dumps({**snap, "running": True}))
    else:
        print(report.render_status(snap))
    return 0


def complete_status(snap: dict[str, Any], cfg: Config,
                    runner: system.Runner = system.run) -> dict[str, Any]:
    """Fill facts the daemon could not know (it has no D-Bus access to timedated)."""
    snap = dict(snap)
    if snap.get("clock_synchronised") is None:
        snap["clock_synchronised"] = system.clock_synchronised(runner)
    if snap.get("disk_free_mb") is None:
        free = system.disk_free_mb(system.store_dir(cfg))
        snap["disk_free_mb"] = None if free is None else round(free, 1)
    return snap


def cmd_doctor(args: argparse.Namespace, cfg: Config) -> int:
    ctx = doctor.gather(cfg, getattr(args, "config", None))
    ctx.config_error = getattr(args, "config_error", "")
    checks = doctor.run_checks(ctx)
    print(report.render_json(checks) if args.json else report.render_text(checks))
    return report.exit_code(checks)


def _service_holds_hardware(cfg: Config) -> str:
    """Why the hardware must not be touched now, or '' if it may be."""
    state = system.service_state()
    if system.service_running(state):
        return f"{system.SERVICE} is {state}"
    try:
        request(socket_path(cfg), "ping", timeout=1.0)
    except DaemonNotRunningError:
        return ""
    except ControlError:
        return "a kiosk daemon holds the control socket"
    return "a kiosk daemon is running (it answers on the control socket)"


def cmd_selftest(args: argparse.Namespace, cfg: Config) -> int:
    busy = _service_holds_hardware(cfg)
    if busy:
        message = (f"selftest needs the camera, screen and LEDs to itself, but {busy}. "
                   "Stop it first: sudo systemctl stop kiosk (start it again afterwards)")
        if args.json:
            print(json.dumps({"ok": False, "error": message}))
        else:
            print(f"kiosk selftest: {message}", file=sys.stderr)
        return 2
    from kiosk.hardware.leds import parse_loopback

    opts = selftest.Options(emulator=cfg.hardware == "emulator",
                            loopback=parse_loopback(os.environ.get("KIOSK_HIL_LOOPBACK", "")))
    if args.quick:  # for scripts and CI: the same steps, too short for a person to watch
        opts.led_step_s, opts.camera_s, opts.display_s = 0.05, 1.2, 0.2
    checks = selftest.run_selftest(cfg, opts)
    print(report.render_json(checks) if args.json else report.render_text(checks))
    return report.exit_code(checks)


def journal_command(lines: int, follow: bool) -> list[str]:
    cmd = ["journalctl", "--no-pager", "-o", "short-iso", "-n", str(lines),
           "-u", system.SERVICE, "-u", system.SYNC_SERVICE]
    return [*cmd, "-f"] if follow else cmd


def cmd_logs(args: argparse.Namespace, cfg: Config) -> int:
    if shutil.which("journalctl") is None:
        print("kiosk logs: journalctl is not available here (the emulator logs to stderr)",
              file=sys.stderr)
        return 1
    try:
        return subprocess.call(journal_command(args.lines, args.follow))
    except KeyboardInterrupt:
        return 0


def add_commands(subparsers: Any) -> None:
    """Register status, doctor, selftest and logs on the `kiosk` command's subparsers."""
    s = subparsers.add_parser("status", help="what the running daemon is doing (control socket)")
    s.add_argument("--json", action="store_true", help="one JSON object")
    s.set_defaults(func=cmd_status)

    s = subparsers.add_parser(
        "doctor", help="check config, models, camera, display, pins, groups, disk, clock and "
        "service without disturbing the service; exit 1 on failures")
    s.add_argument("--json", action="store_true", help="one JSON object")
    s.set_defaults(func=cmd_doctor)

    s = subparsers.add_parser(
        "selftest", help="with the service stopped: LEDs, camera fps, display test pattern, "
        "model inference on a bundled image")
    s.add_argument("--json", action="store_true", help="one JSON object")
    s.add_argument("--quick", action="store_true",
                   help="short steps (for scripts): LEDs flash too fast to watch")
    s.set_defaults(func=cmd_selftest)

    s = subparsers.add_parser("logs", help="recent journal lines of kiosk and kiosk-sync")
    s.add_argument("-n", "--lines", type=int, default=50, metavar="N",
                   help="how many lines (default 50)")
    s.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    s.set_defaults(func=cmd_logs)

