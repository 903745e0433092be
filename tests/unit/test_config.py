"""Config schema: defaults, key-path errors, env overrides, the CLI validate command."""

from __future__ import annotations

import re

import pytest

from kiosk import config
from kiosk.cli import main
from kiosk.errors import ConfigError

pytestmark = pytest.mark.unit


def test_defaults_load_without_a_file():
    cfg = config.load(environ={})
    assert cfg.hardware == "emulator" and cfg.loop.fps == 15.0 and cfg.occlusion.duration_s == 2


def test_every_error_is_reported_with_its_key_path():
    with pytest.raises(ConfigError) as e:
        config.parse({"camera": {"sorce": "x", "width": "wide"}, "hardware": "mainframe",
                      "loop": {"fps": 1000}, "nonsense": {}})
    msg = str(e.value)
    for needle in ("camera.sorce: unknown key", "camera.width: expected int",
                   "hardware: 'mainframe' is not one of", "loop.fps: 1000",
                   "nonsense: unknown key"):
        assert needle in msg


def test_cross_field_checks():
    with pytest.raises(ConfigError, match="position.min_face"):
        config.parse({"position": {"min_face": 0.5, "max_face": 0.4}})


def test_ints_are_accepted_for_floats_but_bools_are_not_numbers():
    assert config.parse({"loop": {"fps": 30}}).loop.fps == 30.0
    with pytest.raises(ConfigError, match="loop.fps"):
        config.parse({"loop": {"fps": True}})


def test_env_overrides_win_over_the_file(tmp_path):
    f = tmp_path / "kiosk.toml"
    f.write_text('[camera]\nsource = "webcam"\n[loop]\nfps = 10\n')
    cfg = config.load(f, environ={"KIOSK_LOOP__FPS": "30", "KIOSK_HIL": "1"})
    assert cfg.camera.source == "webcam" and cfg.loop.fps == 30.0


def test_bad_toml_and_missing_explicit_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[camera\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        config.load(bad, environ={})
    with pytest.raises(ConfigError, match="not found"):
        config.load(tmp_path / "absent.toml", environ={})


def test_cli_validate_prints_errors_and_fails(tmp_path, capsys):
    f = tmp_path / "kiosk.toml"
    f.write_text('[leds]\ngreen = 99\n')
    assert main(["config", "validate", str(f)]) == 2
    assert "leds.green: 99 is outside" in capsys.readouterr().err
    f.write_text('[leds]\ngreen = 5\n')
    assert main(["config", "validate", str(f)]) == 0


def test_env_override_errors_name_the_variable_not_the_file(tmp_path):
    f = tmp_path / "kiosk.toml"
    f.write_text("[loop]\nfps = 10\n[leds]\ngreen = 99\n")
    with pytest.raises(ConfigError) as e:
        config.load(f, environ={"KIOSK_LOOP__FPS": "fast"})
    msg = str(e.value)
    assert "KIOSK_LOOP__FPS: loop.fps: expected float, got str 'fast'" in msg
    assert f"{f}: leds.green: 99 is outside" in msg  # the file's own error names the file
    with pytest.raises(ConfigError) as e:  # no file at all: nothing blames a missing file
        config.load(environ={"KIOSK_CONFIG": "", "KIOSK_LOOP__FPS": "fast"})
    assert "KIOSK_LOOP__FPS: loop.fps" in str(e.value)
    assert "kiosk.toml" not in str(e.value)


def test_unknown_env_sections_and_keys_are_errors_other_kiosk_variables_are_not():
    for name, needle in [("KIOSK_CAMRA__SOURCE", "unknown config section 'camra'"),
                         ("KIOSK_CAMERA__SORCE", "KIOSK_CAMERA__SORCE: camera.sorce: unknown key"),
                         ("KIOSK_CAMERA", "[camera] is a section")]:
        with pytest.raises(ConfigError, match=re.escape(needle)):
            config.load(environ={name: "webcam"})
    cfg = config.load(environ={"KIOSK_HIL": "1", "KIOSK_MODELS_DIR": "/x",
                               "KIOSK_CONTROL_SOCKET": "/y", "KIOSK_HARDWARE": "pi",
                               "KIOSK_CAMERA__SOURCE": "webcam"})
    assert cfg.hardware == "pi" and cfg.camera.source == "webcam"


def test_the_daemon_never_runs_on_defaults_the_emulator_or_the_demo(tmp_path):
    missing = tmp_path / "etc" / "kiosk.toml"
    cfg, problem = config.for_daemon(environ={"KIOSK_CONFIG": str(missing)})
    assert "not found" in problem and cfg.hardware == "pi"
    cfg, problem = config.for_daemon(environ={})  # the default path, absent here
    if not config.DEFAULT_PATH.exists():
        assert "no config file" in problem and "install.sh" in problem
    broken = tmp_path / "broken.toml"
    broken.write_text("[camera\n")
    assert "not valid TOML" in config.for_daemon(environ={"KIOSK_CONFIG": str(broken)})[1]
    ok = tmp_path / "kiosk.toml"
    ok.write_text('hardware = "pi"\n[camera]\nsource = "picamera2"\n')
    assert config.for_daemon(ok, environ={})[1] == ""
    assert "KIOSK_LOOP__FPS" in config.for_daemon(ok, environ={"KIOSK_LOOP__FPS": "x"})[1]
    ok.write_text('[camera]\nsource = "webcam"\n')  # hardware defaults to the emulator
    cfg, problem = config.for_daemon(ok, environ={})
    assert 'hardware = "emulator"' in problem and cfg.hardware == "pi"
    ok.write_text('hardware = "pi"\n[camera]\nsource = "demo"\n')
    cfg, problem = config.for_daemon(ok, environ={})
    assert "demo" in problem and cfg.camera.source == "picamera2"
