"""`kiosk-backend`: ingest sealed selfies from the bucket and watch the fleet (on a server)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from kiosk import __version__
from kiosk.backend import fleet, settings
from kiosk.backend.destinations import open_destination
from kiosk.backend.ingest import Ingest, Progress, Summary
from kiosk.backend.keys import load_keys
from kiosk.errors import KioskError
from kiosk.metrics import Metric, write_textfile

log = logging.getLogger("kiosk.backend")


def _client(s: settings.Settings) -> Any:
    from kiosk.sync.client import make_client
    from kiosk.sync.credentials import load_credentials

    s3 = s.s3()
    return make_client(s3, load_credentials(s3), max_pool=s.concurrency + 4)


def _ingest_metrics(summary: Summary) -> list[Metric]:
    d = summary.to_json()
    objects = Metric("kiosk_ingest_objects", "Captures by result in the last ingest run")
    for result in ("ingested", "already_done", "quarantined", "failed", "incomplete"):
        objects.add(d[result], result=result)
    reasons = Metric("kiosk_ingest_quarantined", "Quarantined in the last run, by reason")
    for reason, n in d["quarantine_reasons"].items():
        reasons.add(n, reason=reason)
    return [objects, reasons,
            Metric("kiosk_ingest_last_run_timestamp_seconds", "When the last run ended").add(
                time.time()),
            Metric("kiosk_ingest_duration_seconds", "Length of the last run").add(d["seconds"]),
            Metric("kiosk_ingest_objects_per_second", "Ingest rate of the last run").add(
                d["objects_per_s"]),
            Metric("kiosk_ingest_ok", "1 when the last run had no failure").add(summary.ok)]


def cmd_ingest(args: argparse.Namespace, s: settings.Settings) -> int:
    keys = load_keys([Path(p) for p in s.keys])
    dest = open_destination(s.dest)
    progress = None
    if not args.json and sys.stderr.isatty():
        progress = Progress(sys.stderr)
    try:
        summary = Ingest(_client(s), bucket=s.bucket, prefix=s.prefix, keys=keys, dest=dest,
                         concurrency=s.concurrency, retry_quarantined=args.retry_quarantined,
                         progress=progress).run()
    finally:
        dest.close()
    if s.metrics_file:
        write_textfile(Path(s.metrics_file), _ingest_metrics(summary))
    if args.json:
        print(json.dumps(summary.to_json(), sort_keys=True))
    else:
        d = summary.to_json()
        print(f"{d['ingested']} ingested ({d['objects_per_s']}/s, concurrency "
              f"{d['concurrency']}), {d['already_done']} already there, {d['quarantined']} "
              f"quarantined, {d['incomplete']} incomplete, {d['failed']} failed; "
              f"into {d['destination']}")
        for reason, n in d["quarantine_reasons"].items():
            print(f"  quarantined: {n} {reason}")
        for e in d["errors"]:
            print(f"  error: {e}", file=sys.stderr)
    return 0 if summary.ok else 1


def cmd_fleet(args: argparse.Namespace, s: settings.Settings) -> int:
    now = time.time()
    kiosks = fleet.assess(fleet.read_beats(_client(s), s.bucket, s.prefix), now,
                          s.silent_after_s)
    if s.metrics_file:
        write_textfile(Path(s.metrics_file), fleet.metrics(kiosks))
    if args.json:
        print(json.dumps(fleet.report(kiosks, now), sort_keys=True, default=str))
    else:
        print(fleet.render(kiosks) if kiosks else f"no kiosks under {s.bucket}/{s.prefix}")
    return 0 if all(k.health == "ok" for k in kiosks) else 1


def cmd_keys(args: argparse.Namespace, s: settings.Settings) -> int:
    for kid, key in sorted(load_keys([Path(p) for p in s.keys]).items()):
        print(f"{kid}  public {bytes(key.public_key).hex()}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kiosk-backend", description=__doc__)
    p.add_argument("--version", action="version", version=f"kiosk-backend {__version__}")
    p.add_argument("--config", type=Path, default=None,
                   help=f"TOML file with the settings below (default ${settings.ENV_CONFIG})")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    s3 = argparse.ArgumentParser(add_help=False)
    g = s3.add_argument_group("bucket")
    g.add_argument("--endpoint", help="S3 endpoint URL (empty: AWS S3)")
    g.add_argument("--bucket", help="the kiosks' sync.bucket")
    g.add_argument("--prefix", help="the kiosks' sync.prefix (default selfies)")
    g.add_argument("--credentials", dest="credentials_file",
                   help="AWS-format credentials file (else $CREDENTIALS_DIRECTORY/s3, AWS_*)")
    g.add_argument("--metrics", dest="metrics_file",
                   help="write node-exporter textfile metrics to this .prom file")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    s = sub.add_parser("ingest", parents=[s3], help="verify, open and store new captures, "
                       "exactly once; bad objects are quarantined with a reason")
    s.add_argument("--key", dest="keys", action="append", default=None,
                   help="private key file or folder (repeat for rotated keys; also "
                   "$CREDENTIALS_DIRECTORY/capture*)")
    s.add_argument("--dest", help="a folder (default ./ingested), sqlite:PATH or "
                   "postgresql://user@host/db")
    s.add_argument("--concurrency", type=int, help="objects fetched at once (default 8)")
    s.add_argument("--retry-quarantined", action="store_true",
                   help="try quarantined objects again (e.g. after adding a key)")
    s.add_argument("--json", action="store_true", help="print a JSON summary")
    s.set_defaults(func=cmd_ingest)

    s = sub.add_parser("fleet", parents=[s3], help="every kiosk's last heartbeat, health and "
                       "flags (silent, faulted, unusual liveness failures)")
    s.add_argument("--silent-after", dest="silent_after_s", type=float,
                   help="seconds without a heartbeat before a kiosk is silent (default 900)")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.set_defaults(func=cmd_fleet)

    s = sub.add_parser("keys", help="the key ids of the private keys ingest would use")
    s.add_argument("--key", dest="keys", action="append", default=None,
                   help="private key file or folder")
    s.set_defaults(func=cmd_keys, bucket="-")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        s = settings.load(args.config, vars(args))
        return int(args.func(args, s))
    except KioskError as e:
        print(f"kiosk-backend {args.command}: {e}", file=sys.stderr)
        return 2 if isinstance(e, ValueError) else 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
