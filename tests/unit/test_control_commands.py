"""Maintenance command logic with faked host probes: doctor checks, reports, status text, logs."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from kiosk.config import Config, LedConfig, ModelsConfig, StoreConfig
from kiosk.control import cli, doctor, report, system
from kiosk.control.report import Check
from kiosk.control.system import Result

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def fake_runner(outputs: dict[str, Result | None]):
    """Answers commands by their first two words; missing programs give None."""
    calls: list[list[str]] = []

    def run(cmd: list[str]) -> Result | None:
        calls.append(cmd)
        return outputs.get(" ".join(cmd[:2]))

    run.calls = calls  # type: ignore[attr-defined]
    return run


def ctx_for(cfg: Config, **kw) -> doctor.Context:
    kw.setdefault("environ", {})
    return doctor.Context(cfg, **kw)


def test_report_exit_code_and_text() -> None:
    checks = [Check.ok("config", "fine"), Check.warn("clock", "unsynced", "set-ntp"),
              Check.fail("model x", "missing", "kiosk models install")]
    assert report.exit_code(checks) == 1
    assert report.exit_code(checks[:2]) == 0
    text = report.render_text(checks)
    assert "FAIL  model x  missing" in text and "fix: kiosk models install" in text
    assert "fix: set-ntp" in text and text.endswith("1 ok, 1 warnings, 1 failed")
    data = json.loads(report.render_json([Check.ok("disk", "x", free_mb=float("nan"))]))
    assert data == {"ok": True, "checks": [{"name": "disk", "level": "ok", "detail": "x",
                                            "hint": "", "data": {"free_mb": None}}]}


def test_status_text_covers_the_snapshot() -> None:
    snap = {"ok": True, "stage": "liveness", "fault": "", "uptime_s": 93784.0, "fps": 14.96,
            "lag_ms": 3.2, "overruns": 4, "busy_median_ms": 21.5,
            "outcomes": {"captured": 12, "mouth": 3}, "captures": 12, "pending_sync": 2,
            "models": {"face_detector": "bbff11cebd1e"}, "disk_free_mb": 20480.0,
            "clock_synchronised": False, "kiosk_id": "k1",
            "store": {"pending": 2, "oldest_pending_age_s": 125.0, "quarantined": 1,
                      "last_sync_error": "connection refused"}}
    text = report.render_status(snap)
    lines = dict(line.split(None, 1) if not line.startswith(("disk", "pending"))
                 else (line[:14].strip(), line[14:].strip()) for line in text.splitlines())
    assert lines["stage"].strip() == "liveness"
    assert lines["uptime"].strip() == "1d 2h 3m"
    assert "15.0 fps, lag 3 ms, 4 overruns" in lines["loop"]
    assert lines["sessions"].strip() == "captured 12, mouth 3"
    assert "20.0 GB" in text and "NOT synchronised" in text and "pending upload" in text
    assert "kiosk_id" in text and "store" not in lines
    assert "oldest pending 2m 5s; 1 quarantined; last error: connection refused" in text
    faulty = report.render_status({"stage": "fault", "fault": "model 'eye_state' is missing"})
    assert "out of service: model 'eye_state' is missing" in faulty
    health = report.render_status({"healthy": False, "problem": "ZeroDivisionError: x"})
    assert health.startswith("health  UNHEALTHY: ZeroDivisionError: x")
    assert report.render_status({"healthy": True, "problem": ""}) == "health  ok"


def test_complete_status_fills_clock_and_disk(tmp_path: Path) -> None:
    runner = fake_runner({"timedatectl show": Result(0, "yes\n", "")})
    cfg = Config(store=StoreConfig(dir=str(tmp_path)))
    snap = cli.complete_status({"stage": "idle", "clock_synchronised": None}, cfg, runner)
    assert snap["clock_synchronised"] is True and snap["disk_free_mb"] > 0
    kept = cli.complete_status({"clock_synchronised": False, "disk_free_mb": 5.0}, cfg, runner)
    assert kept["clock_synchronised"] is False and kept["disk_free_mb"] == 5.0


def test_probes_parse_systemctl_and_timedatectl() -> None:
    assert system.service_state(runner=fake_runner({"systemctl is-active": Result(
        3, "inactive\n", "")})) == "inactive"
    assert system.service_state(runner=fake_runner({"systemctl is-active": Result(
        1, "", "System has not been booted with systemd")})) is None
    assert system.service_state(runner=fake_runner({})) is None
    assert system.service_running("activating") and not system.service_running("failed")
    assert system.clock_synchronised(fake_runner({"timedatectl show": Result(0, "no\n", "")})
                                     ) is False
    assert system.clock_synchronised(fake_runner({"timedatectl show": Result(1, "", "bus")})
                                     ) is None


def test_store_dir_rule(tmp_path: Path) -> None:
    assert system.store_dir(Config(store=StoreConfig(dir="/x")), {}) == Path("/x")
    assert system.store_dir(Config(hardware="pi"), {"STATE_DIRECTORY": "/var/lib/kiosk:/y"}
                            ) == Path("/var/lib/kiosk")
    assert system.store_dir(Config(hardware="pi"), {}) == Path("/var/lib/kiosk")
    assert system.store_dir(Config(), {}) == Path("kiosk-state").absolute()
    assert system.disk_free_mb(tmp_path / "not" / "yet") is not None


def test_service_and_daemon_checks() -> None:
    pi = Config(hardware="pi")
    failed = doctor.check_service(ctx_for(pi, service="failed"))[0]
    assert failed.level == "fail" and "reset-failed" in failed.hint
    assert doctor.check_service(ctx_for(pi, service="active"))[0].level == "ok"
    assert doctor.check_service(ctx_for(pi, service="inactive"))[0].level == "warn"
    assert doctor.check_service(ctx_for(pi, service=None))[0].level == "warn"
    assert doctor.check_service(ctx_for(Config(), service=None, emulator=True))[0].level == "ok"

    running = ctx_for(pi, service="active", daemon={"stage": "idle", "fault": ""})
    assert doctor.check_daemon(running)[0].level == "ok"
    out = ctx_for(pi, daemon={"stage": "fault", "fault": "disk full"})
    assert doctor.check_daemon(out)[0].level == "fail"
    silent = ctx_for(pi, service="active", daemon_error="did not answer")
    assert doctor.check_daemon(silent)[0].level == "fail"
    denied = ctx_for(pi, daemon_error="permission denied on /run/kiosk/control.sock: add...")
    assert "usermod" in doctor.check_daemon(denied)[0].hint


def test_camera_is_never_opened_under_a_running_service() -> None:
    opened: list[Config] = []

    def probe(cfg: Config) -> Check:
        opened.append(cfg)
        return Check.ok("camera", "probed")

    pi = Config(hardware="pi")
    via_daemon = doctor.check_camera(ctx_for(pi, service="active", daemon={"fps": 14.9}), probe)
    assert via_daemon[0].level == "ok" and "daemon" in via_daemon[0].detail
    unanswered = doctor.check_camera(ctx_for(pi, service="activating"), probe)
    assert unanswered[0].level == "warn" and "not checked" in unanswered[0].detail
    camera_fault = doctor.check_camera(ctx_for(pi, daemon={"fps": 0, "fault": "camera gone"}),
                                       probe)
    assert camera_fault[0].level == "fail"
    assert opened == []
    assert doctor.check_camera(ctx_for(pi, service="inactive"), probe)[0].detail == "probed"
    assert opened == [pi]


def test_model_checks_find_missing_and_corrupt_files(tmp_path: Path) -> None:
    manifest = (ROOT / "models" / "manifest.toml").read_text()
    (tmp_path / "manifest.toml").write_text(manifest)
    cfg = Config(models=ModelsConfig(dir=str(tmp_path)))
    checks = doctor.check_models(ctx_for(cfg))
    assert checks and all(c.level == "fail" for c in checks)
    assert any("kiosk models install" in c.hint for c in checks)
    empty = doctor.check_models(ctx_for(Config(models=ModelsConfig(dir=str(tmp_path / "no")))))
    assert empty[0].level == "fail" and "manifest" in empty[0].detail


def test_pins_disk_clock_checks(tmp_path: Path) -> None:
    pi_mock = Config(hardware="pi", leds=LedConfig(pin_factory="mock"))
    assert doctor.check_pins(ctx_for(pi_mock))[0].level == "fail"
    assert doctor.check_pins(ctx_for(Config(), emulator=True))[0].level == "ok"
    low = ctx_for(Config(store=StoreConfig(dir=str(tmp_path))), daemon={"disk_free_mb": 50.0})
    assert doctor.check_disk(low)[0].level == "fail"
    warn = ctx_for(Config(), daemon={"disk_free_mb": 600.0})
    assert doctor.check_disk(warn)[0].level == "warn"
    no = fake_runner({"timedatectl show": Result(0, "no\n", "")})
    assert doctor.check_clock(ctx_for(Config(), runner=no))[0].level == "warn"
    yes = fake_runner({"timedatectl show": Result(0, "yes\n", "")})
    assert doctor.check_clock(ctx_for(Config(), runner=yes))[0].level == "ok"


def test_a_crashing_check_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(ctx: doctor.Context) -> list[Check]:
        raise RuntimeError("probe bug")

    monkeypatch.setattr(doctor, "CHECKS", [broken, doctor.check_config])
    checks = doctor.run_checks(ctx_for(Config(), emulator=True))
    assert checks[0] == Check.fail("broken", "the check itself failed: RuntimeError: probe bug")
    assert len(checks) == 2


def test_logs_command_and_parser() -> None:
    assert cli.journal_command(20, follow=True) == [
        "journalctl", "--no-pager", "-o", "short-iso", "-n", "20",
        "-u", "kiosk.service", "-u", "kiosk-sync.service", "-f"]
    parser = argparse.ArgumentParser()
    cli.add_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["logs", "-n", "5"])
    assert (args.lines, args.follow, args.func) == (5, False, cli.cmd_logs)
    for name, func in [("status", cli.cmd_status), ("doctor", cli.cmd_doctor),
                       ("selftest", cli.cmd_selftest)]:
        parsed = parser.parse_args([name, "--json"])
        assert parsed.json and parsed.func is func


def test_status_says_not_running(capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KIOSK_CONTROL_SOCKET", str(tmp_path / "none.sock"))
    assert cli.cmd_status(argparse.Namespace(json=True), Config()) == cli.NOT_RUNNING_EXIT
    assert json.loads(capsys.readouterr().out)["running"] is False
    assert cli.cmd_status(argparse.Namespace(json=False), Config()) == cli.NOT_RUNNING_EXIT
    assert "NOT RUNNING" in capsys.readouterr().out


def test_public_key_check(tmp_path: Path) -> None:
    key = tmp_path / "capture_public.key"
    cfg = Config(hardware="pi", store=StoreConfig(public_key=str(key)))
    missing = doctor.check_public_key(ctx_for(cfg))[0]
    assert missing.level == "fail" and "kiosk keys generate" in missing.hint
    key.write_bytes(b"k" * 32)
    assert doctor.check_public_key(ctx_for(cfg))[0].level == "ok"
    assert doctor.check_public_key(ctx_for(Config(), emulator=True)) == []


def test_doctor_config_says_what_kiosk_run_would_do(tmp_path: Path) -> None:
    absent = tmp_path / "kiosk.toml"
    pi = ctx_for(Config(hardware="pi"), config_path=absent)
    [check] = doctor.check_config(pi)
    assert check.level == "fail" and "would stay out of service" in check.detail
    laptop = ctx_for(Config(), config_path=absent, emulator=True)
    assert doctor.check_config(laptop)[0].level == "warn"
    absent.write_text('hardware = "pi"\n[camera]\nsource = "picamera2"\n')
    assert doctor.check_config(pi)[0].level == "ok"
