"""systemd unit files: `systemd-analyze verify` and `security` pass; promised settings are there."""

from __future__ import annotations

import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

from kiosk.control.server import SYSTEM_RUNTIME_DIR

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
UNITS = sorted((ROOT / "systemd").glob("kiosk*.*"))
INSTALLED_KIOSK = "/opt/kiosk/venv/bin/kiosk"
INSTALLED_BACKEND = "/opt/kiosk-backend/venv/bin/kiosk-backend"
MAX_EXPOSURE = 2.0  # `systemd-analyze security` scale 0 (locked down) .. 10 (unprotected)

needs_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze not installed (apt-get install systemd); CI installs it")


def parse_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """Sections -> key -> values in order (systemd keys may repeat, e.g. DeviceAllow=)."""
    out: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    section = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        out[section][key.strip()].append(value.strip())
    return out


def one(unit: dict[str, dict[str, list[str]]], section: str, key: str) -> str:
    values = unit[section][key]
    assert len(values) == 1, f"[{section}] {key}= expected once, got {values}"
    return values[0]


@pytest.fixture(scope="module")
def verify_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Copies of the units whose ExecStart points at an executable that exists here.

    `systemd-analyze verify` refuses a unit whose ExecStart binary is missing, and
    /opt/kiosk/venv/bin/kiosk exists only on an installed Pi (kiosk-backend only on a
    server). Everything else in the
    files is verified exactly as shipped.
    """
    root = tmp_path_factory.mktemp("units")
    stand_in = root / "kiosk"
    stand_in.write_text("#!/bin/sh\nexit 0\n")
    stand_in.chmod(0o755)
    for unit in UNITS:
        text = unit.read_text().replace(INSTALLED_KIOSK, str(stand_in))
        (root / unit.name).write_text(text.replace(INSTALLED_BACKEND, str(stand_in)))
    return root


def test_the_units_exist() -> None:
    assert {u.name for u in UNITS} >= {"kiosk.service", "kiosk-sync.service"}


@needs_analyze
@pytest.mark.parametrize("name", [u.name for u in UNITS])
def test_systemd_analyze_verify(verify_root: Path, name: str) -> None:
    result = subprocess.run(["systemd-analyze", "verify", str(verify_root / name)],
                            capture_output=True, text=True, timeout=60)
    # verify exits 0 on unknown keys and unparsable values: it only warns, so warnings
    # that name our file count as failures too
    warnings = [ln for ln in (result.stdout + result.stderr).splitlines() if name in ln]
    assert result.returncode == 0, result.stderr
    assert warnings == []


@needs_analyze
@pytest.mark.parametrize("name", [u.name for u in UNITS if u.suffix == ".service"])
def test_sandboxing_exposure(verify_root: Path, name: str) -> None:
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--no-pager", str(verify_root / name)],
        capture_output=True, text=True, timeout=60)
    last = [ln for ln in result.stdout.splitlines() if "Overall exposure level" in ln]
    assert last, result.stdout + result.stderr
    exposure = float(last[-1].split(":")[-1].split()[0])
    assert exposure <= MAX_EXPOSURE, last[-1]


def test_capture_daemon_settings() -> None:
    unit = parse_unit(ROOT / "systemd" / "kiosk.service")
    svc = unit["Service"]
    assert one(unit, "Service", "Type") == "notify"
    assert one(unit, "Service", "ExecStart") == f"{INSTALLED_KIOSK} run"
    assert one(unit, "Service", "WatchdogSec").rstrip("s").isdigit()
    assert one(unit, "Service", "Restart") == "always"
    assert unit["Unit"]["StartLimitIntervalSec"] and unit["Unit"]["StartLimitBurst"]
    assert one(unit, "Service", "User") == "kiosk"
    assert set(one(unit, "Service", "SupplementaryGroups").split()) == {
        "video", "render", "gpio", "input"}
    for key in ("StateDirectory", "RuntimeDirectory", "ConfigurationDirectory"):
        assert one(unit, "Service", key) == "kiosk"
    # the control socket lives where the maintenance CLI looks for it over SSH
    assert Path("/run") / one(unit, "Service", "RuntimeDirectory") == SYSTEM_RUNTIME_DIR
    assert one(unit, "Service", "WorkingDirectory") == str(SYSTEM_RUNTIME_DIR)
    assert one(unit, "Service", "DevicePolicy") == "closed"
    allowed = {v.split()[0] for v in svc["DeviceAllow"]}
    assert allowed == {"char-drm", "char-dma_heap", "char-video4linux", "char-media",
                       "char-gpiochip", "char-input"}
    assert one(unit, "Service", "ProtectSystem") == "strict"
    for key in ("ProtectHome", "PrivateTmp", "NoNewPrivileges"):
        assert one(unit, "Service", key) == "yes"
    assert one(unit, "Service", "RestrictAddressFamilies").split() == ["AF_UNIX", "AF_NETLINK"]
    assert one(unit, "Service", "IPAddressDeny") == "any"
    env = dict(v.split("=", 1) for v in svc["Environment"])
    assert env["SDL_VIDEODRIVER"] == "kmsdrm"
    assert env["GPIOZERO_PIN_FACTORY"] == "lgpio"
    assert env["LG_WD"] == str(SYSTEM_RUNTIME_DIR)
    assert env["KIOSK_MODELS_DIR"] == "/opt/kiosk/models"


def test_sync_service_has_network_but_no_devices() -> None:
    unit = parse_unit(ROOT / "systemd" / "kiosk-sync.service")
    svc = unit["Service"]
    assert one(unit, "Service", "ExecStart") == f"{INSTALLED_KIOSK} sync --daemon"
    assert one(unit, "Service", "User") == "kiosk-sync"
    assert "DeviceAllow" not in svc and "SupplementaryGroups" not in svc
    assert one(unit, "Service", "PrivateDevices") == "yes"
    assert one(unit, "Service", "DevicePolicy") == "closed"
    assert {"AF_INET", "AF_INET6"} <= set(one(unit, "Service", "RestrictAddressFamilies").split())
    assert "IPAddressDeny" not in svc
    cred_name = one(unit, "Service", "LoadCredential").split(":")[0]
    env = dict(v.split("=", 1) for v in svc["Environment"])
    assert env["AWS_SHARED_CREDENTIALS_FILE"] == f"%d/{cred_name}"
    assert "network-online.target" in one(unit, "Unit", "After")


def test_sync_reads_the_store_but_writes_only_its_own_folder() -> None:
    """Least privilege: the uploader's user is not the kiosk's, the store is read-only to it
    (ProtectSystem=strict, no ReadWritePaths), and the kiosk user takes in its receipts."""
    sync = parse_unit(ROOT / "systemd" / "kiosk-sync.service")
    kiosk = parse_unit(ROOT / "systemd" / "kiosk.service")
    reconcile = parse_unit(ROOT / "systemd" / "kiosk-reconcile.service")
    assert one(sync, "Service", "Group") == one(kiosk, "Service", "Group") == "kiosk"
    assert one(sync, "Service", "StateDirectory") == "kiosk-sync"
    assert one(sync, "Service", "ProtectSystem") == "strict"
    assert "ReadWritePaths" not in sync["Service"]
    assert one(kiosk, "Service", "StateDirectoryMode") == "0750"  # group may traverse
    assert one(reconcile, "Service", "User") == "kiosk"
    assert one(reconcile, "Service", "ExecStart") == f"{INSTALLED_KIOSK} captures reconcile"
    assert one(reconcile, "Service", "PrivateNetwork") == "yes"
    timer = parse_unit(ROOT / "systemd" / "kiosk-reconcile.timer")
    assert one(timer, "Install", "WantedBy") == "timers.target"


def test_backend_unit_runs_fleet_then_ingest_with_the_network_and_its_own_credentials() -> None:
    """The server side: a timer-started oneshot; an unhealthy kiosk (fleet exits 1) is a
    report, not a failed run; S3 credentials through LoadCredential, never on the command
    line; no devices."""
    unit = parse_unit(ROOT / "systemd" / "kiosk-backend.service")
    svc = unit["Service"]
    assert one(unit, "Service", "Type") == "oneshot"
    fleet, ingest = svc["ExecStart"]
    assert fleet.startswith(f"-{INSTALLED_BACKEND} fleet --metrics /var/lib/kiosk-backend/")
    assert ingest.startswith(f"{INSTALLED_BACKEND} ingest --metrics /var/lib/kiosk-backend/")
    assert one(unit, "Service", "User") == "kiosk-backend"
    assert one(unit, "Service", "StateDirectory") == "kiosk-backend"
    assert one(unit, "Service", "LoadCredential").split(":")[0] == "s3"  # $CREDENTIALS_DIRECTORY/s3
    env = dict(v.split("=", 1) for v in svc["Environment"])
    assert env["KIOSK_BACKEND_CONFIG"] == "/etc/kiosk-backend/backend.toml"
    assert one(unit, "Service", "PrivateDevices") == "yes"
    assert {"AF_INET", "AF_INET6"} <= set(one(unit, "Service", "RestrictAddressFamilies").split())
    timer = parse_unit(ROOT / "systemd" / "kiosk-backend.timer")
    assert timer["Timer"]["OnUnitInactiveSec"] and timer["Install"]["WantedBy"] == ["timers.target"]
