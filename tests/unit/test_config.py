"""Config schema: defaults, key-path errors, env overrides, the CLI validate command."""

from __future__ import annotations

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
