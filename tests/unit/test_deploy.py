"""Install/uninstall scripts: shellcheck, syntax, options, agreement with the units and config."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from kiosk import config as config_mod

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SCRIPTS = [DEPLOY / "install.sh", DEPLOY / "uninstall.sh", DEPLOY / "check-arm64.sh"]
# the set-up script of the README and the CI entry are linted too
LINTED = [*SCRIPTS, ROOT / "run", ROOT / ".ci" / "run"]
EXAMPLE = DEPLOY / "kiosk.toml.example"


def shell_var(script: Path, name: str) -> str:
    match = re.search(rf"^{name}=(.+)$", script.read_text(), re.MULTILINE)
    assert match, f"{name}= not found in {script.name}"
    value = match.group(1).strip('"')
    return re.sub(r"\$(\w+)|\$\{(\w+)\}",
                  lambda m: shell_var(script, m.group(1) or m.group(2)), value)


@pytest.mark.skipif(shutil.which("shellcheck") is None,
                    reason="shellcheck not installed (apt-get install shellcheck); CI installs it")
@pytest.mark.parametrize("script", LINTED, ids=lambda p: p.name)
def test_shellcheck(script: Path) -> None:
    result = subprocess.run(["shellcheck", "--severity=style", "-x", str(script)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_bash_syntax_mode_and_options(script: Path) -> None:
    assert script.stat().st_mode & 0o111, f"{script.name} is not executable"
    assert subprocess.run(["bash", "-n", str(script)], timeout=30).returncode == 0
    # option parsing comes before the root check, so these run safely anywhere
    help_ = subprocess.run(["bash", str(script), "--help"], capture_output=True, text=True,
                           timeout=30)
    assert help_.returncode == 0 and "Usage:" in help_.stdout
    bad = subprocess.run(["bash", str(script), "--no-such-option"], capture_output=True,
                         text=True, timeout=30)
    assert bad.returncode != 0 and "unknown option" in bad.stderr


def test_uninstall_keeps_captures_unless_asked() -> None:
    text = (DEPLOY / "uninstall.sh").read_text()
    assert "PURGE_CAPTURES=0" in text and "--purge-captures) PURGE_CAPTURES=1" in text
    removal = text.index('rm -rf "$STATE_DIR"')
    guard = text.index('if [ "$PURGE_CAPTURES" -eq 0 ]')
    assert guard < removal, "captures are deleted only after the --purge-captures check"


def test_install_paths_agree_with_units() -> None:
    install = DEPLOY / "install.sh"
    daemon = (ROOT / "systemd" / "kiosk.service").read_text()
    sync = (ROOT / "systemd" / "kiosk-sync.service").read_text()
    assert f"ExecStart={shell_var(install, 'VENV')}/bin/kiosk run" in daemon
    assert f"KIOSK_MODELS_DIR={shell_var(install, 'MODELS')}" in daemon
    assert f":{shell_var(install, 'CREDENTIALS')}\n" in sync
    assert f"ConfigurationDirectory={Path(shell_var(install, 'CONF_DIR')).name}" in daemon
    assert "--system-site-packages" in install.read_text()
    for group in ("video", "render", "gpio", "input"):
        assert group in shell_var(install, "DEVICE_GROUPS")


def test_constraints_keep_apt_numpy() -> None:
    bookworm = (DEPLOY / "constraints-bookworm.txt").read_text()
    assert re.search(r"^numpy<2$", bookworm, re.MULTILINE)
    assert (DEPLOY / "constraints-trixie.txt").is_file()


def test_example_config_loads_with_pi_values() -> None:
    cfg = config_mod.load(EXAMPLE, environ={})
    assert cfg.hardware == "pi"
    assert cfg.camera.source == "picamera2"
    assert cfg.leds.pin_factory == "lgpio"
    assert cfg.display.fullscreen
    assert cfg.models.dir == shell_var(DEPLOY / "install.sh", "MODELS")


def test_example_config_covers_every_section_and_comments_only_real_keys() -> None:
    data = tomllib.loads(EXAMPLE.read_text())
    sections = {f.name: getattr(config_mod.Config(), f.name)
                for f in dataclasses.fields(config_mod.Config)
                if dataclasses.is_dataclass(getattr(config_mod.Config(), f.name))}
    missing = sorted(set(sections) - set(data))
    assert not missing, f"add these sections to {EXAMPLE.name}: {missing}"
    # "# key = value" lines are defaults a maintainer may uncomment: they must stay valid keys
    section = ""
    for line in EXAMPLE.read_text().splitlines():
        if line.startswith("["):
            section = line.strip("[] ")
            continue
        commented = re.match(r"^# (\w+) = ", line)
        if commented and section:
            names = {f.name for f in dataclasses.fields(sections[section])}
            assert commented.group(1) in names, f"[{section}] {commented.group(1)} is not a key"


def test_example_config_still_loads_with_every_default_uncommented(tmp_path: Path) -> None:
    text = re.sub(r"^# (\w+ = )", r"\1", EXAMPLE.read_text(), flags=re.MULTILINE)
    assert text != EXAMPLE.read_text()
    (tmp_path / "kiosk.toml").write_text(text)
    assert config_mod.load(tmp_path / "kiosk.toml", environ={}).hardware == "pi"
