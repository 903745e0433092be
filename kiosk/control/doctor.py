"""`kiosk doctor`: checks that never disturb a running service, each with a fix hint."""

from __future__ import annotations

import glob
import grp
import logging
import os
import pwd
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk import config as config_mod
from kiosk.control import system
from kiosk.control.client import request
from kiosk.control.report import Check
from kiosk.control.server import socket_path
from kiosk.errors import ControlError, DaemonNotRunningError, KioskError

log = logging.getLogger(__name__)

DEVICE_GROUPS = ("video", "render", "gpio", "input")
SERVICE_USER = "kiosk"
DISK_FAIL_MB = 200.0  # below this a session could not store its selfie
DISK_WARN_MB = 1024.0
CAMERA_PROBE_S = 3.0


@dataclass
class Context:
    """What the checks may look at; tests replace the probes."""

    cfg: config_mod.Config
    config_path: Path | None = None
    runner: system.Runner = system.run
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    emulator: bool = False
    service: str | None = None  # systemctl is-active kiosk.service
    daemon: dict[str, Any] | None = None  # the daemon's status reply, if it answered
    daemon_error: str = ""
    config_error: str = ""  # the config did not load; the other checks ran on defaults

    @property
    def hands_off(self) -> bool:
        """True if the service may own the hardware: then nothing is opened."""
        return self.daemon is not None or system.service_running(self.service)


def gather(cfg: config_mod.Config, config_path: Path | None = None,
           runner: system.Runner = system.run,
           environ: Mapping[str, str] | None = None) -> Context:
    env = dict(os.environ if environ is None else environ)
    ctx = Context(cfg, config_path, runner, env, emulator=cfg.hardware == "emulator")
    ctx.service = system.service_state(system.SERVICE, runner)
    try:
        ctx.daemon = request(socket_path(cfg, environ=env), "status")
    except DaemonNotRunningError as e:
        ctx.daemon_error = str(e)
    except ControlError as e:
        ctx.daemon_error = str(e)
    return ctx


# -- the checks, in the order they print ----------------------------------------------------

def check_config(ctx: Context) -> list[Check]:
    where = ctx.config_path or Path(ctx.environ.get("KIOSK_CONFIG", config_mod.DEFAULT_PATH))
    source = str(where) if where.is_file() else f"defaults ({where} does not exist)"
    if ctx.config_error:
        return [Check.fail("config", ctx.config_error,
                           "fix the keys named above; `kiosk config validate FILE` rechecks")]
    # what `kiosk run` would make of it: it never runs on defaults or emulator parts
    _, problem = config_mod.for_daemon(ctx.config_path, ctx.environ)
    detail = f"{source}; hardware = {ctx.cfg.hardware}"
    if problem:
        hint = ("copy /etc/kiosk/kiosk.toml.example to /etc/kiosk/kiosk.toml and set kiosk_id "
                "(sudo ./deploy/install.sh does it)")
        text = f"{detail}; kiosk run would stay out of service: {problem}"
        # on a laptop (the emulator) that is expected; on a kiosk it is the fault
        return [Check.warn("config", text, hint) if ctx.emulator else
                Check.fail("config", text, hint)]
    return [Check.ok("config", detail)]


def check_models(ctx: Context) -> list[Check]:
    from kiosk.vision.manifest import load_manifest, verify

    folder = config_mod.models_dir(ctx.cfg)
    try:
        specs = load_manifest(folder)
    except KioskError as e:
        return [Check.fail("models", str(e), "reinstall: sudo ./deploy/install.sh")]
    checks = []
    for spec in specs.values():
        try:
            verify(spec, folder)
        except KioskError as e:
            hint = "kiosk models install" if "fetch" in spec.extra else \
                "reinstall the models: sudo ./deploy/install.sh"
            checks.append(Check.fail(f"model {spec.name}", str(e), hint))
        else:
            checks.append(Check.ok(f"model {spec.name}",
                                   f"{spec.file} sha256 {spec.sha256[:12]} ok"))
    return checks


def check_service(ctx: Context) -> list[Check]:
    state = ctx.service
    if state is None:
        if ctx.emulator:
            return [Check.ok("service", "not under systemd (emulator)")]
        return [Check.warn("service", "systemd is not reachable: state unknown",
                           "run on the kiosk itself (systemctl must work)")]
    if state == "active":
        return [Check.ok("service", f"{system.SERVICE} is active")]
    if state == "failed":
        return [Check.fail("service", f"{system.SERVICE} has failed",
                           "kiosk logs -n 100; then sudo systemctl reset-failed kiosk && "
                           "sudo systemctl start kiosk")]
    if ctx.emulator:
        return [Check.ok("service", f"{system.SERVICE} is {state} (emulator mode)")]
    return [Check.warn("service", f"{system.SERVICE} is {state}",
                       "sudo systemctl enable --now kiosk")]


def check_daemon(ctx: Context) -> list[Check]:
    if ctx.daemon is not None:
        fault = ctx.daemon.get("fault") or ""
        if fault:
            return [Check.fail("daemon", f"answers, but is out of service: {fault}",
                               "fix the reason above, then sudo systemctl restart kiosk")]
        return [Check.ok("daemon", f"answers on the control socket (stage "
                         f"{ctx.daemon.get('stage', '?')})")]
    if "permission denied" in ctx.daemon_error:
        return [Check.fail("daemon", ctx.daemon_error.split(":")[0] + ": permission denied",
                           "sudo usermod -aG kiosk $USER, then log in again")]
    if system.service_running(ctx.service):
        return [Check.fail("daemon", f"the service is {ctx.service} but the control socket "
                           f"does not answer: {ctx.daemon_error}",
                           "kiosk logs -n 100; sudo systemctl restart kiosk")]
    return [Check.warn("daemon", "not running", "sudo systemctl start kiosk"
                       if not ctx.emulator else "kiosk emulate")]


def _probe_camera(cfg: config_mod.Config) -> Check:
    from kiosk.hardware.camera import open_camera

    try:
        camera = open_camera(cfg, time.monotonic, realtime=True)
        camera.start()
    except KioskError as e:
        return Check.fail("camera", str(e), _camera_hint(cfg))
    try:
        frames, started = 0, time.monotonic()
        while time.monotonic() - started < CAMERA_PROBE_S:
            frame = camera.read()
            if frame is not None:
                frames += 1
                if frames >= 3:
                    h, w = frame.image.shape[:2]
                    return Check.ok("camera", f"{cfg.camera.source}: {w}x{h} frames arrive")
            time.sleep(0.02)
    except KioskError as e:
        return Check.fail("camera", str(e), _camera_hint(cfg))
    finally:
        camera.close()
    return Check.fail("camera", f"{cfg.camera.source}: no frames within {CAMERA_PROBE_S:g} s",
                      _camera_hint(cfg))


def _camera_hint(cfg: config_mod.Config) -> str:
    if cfg.camera.source == "picamera2":
        return ("check the ribbon cable and `rpicam-hello --list-cameras`; "
                "python3-picamera2 must be installed")
    return "check [camera] source in the config"


def check_camera(ctx: Context, probe: Callable[[config_mod.Config], Check] = _probe_camera
                 ) -> list[Check]:
    if ctx.daemon is not None:
        fps = ctx.daemon.get("fps") or 0.0
        fault = str(ctx.daemon.get("fault") or "")
        if "camera" in fault.lower():
            return [Check.fail("camera", f"the daemon reports: {fault}", _camera_hint(ctx.cfg))]
        if fps > 0:
            return [Check.ok("camera", f"delivering frames to the daemon ({fps:.1f} fps)")]
        return [Check.warn("camera", "the daemon runs but reports 0 fps", _camera_hint(ctx.cfg))]
    if system.service_running(ctx.service):
        return [Check.warn("camera", "not checked: the service runs but does not answer, and "
                           "the camera is never opened under a running service",
                           "sudo systemctl stop kiosk, then kiosk doctor again")]
    return [probe(ctx.cfg)]


def check_display(ctx: Context) -> list[Check]:
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    try:
        import pygame
    except ImportError:
        return [Check.fail("display", "pygame is not installed",
                           "sudo apt install python3-pygame" if not ctx.emulator
                           else "pip install -e '.[emulator]'")]
    if ctx.emulator:
        return [_emulator_display(pygame, ctx.environ)]
    cards = sorted(glob.glob("/dev/dri/card*"))
    if not cards:
        return [Check.fail("display", "no /dev/dri/card* device: no KMS display driver",
                           "enable dtoverlay=vc4-kms-v3d in /boot/firmware/config.txt")]
    origin = Path(pygame.__file__).resolve()
    # the PyPI wheel bundles an SDL without kmsdrm; Debian's links the system SDL
    if "dist-packages" not in origin.parts:
        return [Check.fail("display", f"pygame comes from {origin.parent}, whose SDL has no "
                           "kmsdrm driver", "pip uninstall pygame in /opt/kiosk/venv; "
                           "sudo apt install python3-pygame")]
    checks = [Check.ok("display", f"{', '.join(cards)}; Debian pygame {pygame.version.ver} "
                       "(kmsdrm)")]
    dm = system.service_state("display-manager.service", ctx.runner)
    if dm == "active":
        checks.append(Check.warn("desktop", "a desktop session holds the screen",
                                 "sudo systemctl set-default multi-user.target && sudo reboot"))
    return checks


def check_sound(ctx: Context, cards: Callable[[], list[str]] | None = None,
                open_tones: Callable[[], Any] | None = None) -> list[Check]:
    """The blink cue's tone: without a device the kiosk stays silent, so this only warns."""
    from kiosk.hardware.sound import Tones, sound_cards

    if not ctx.cfg.ui.sound:
        return [Check.ok("sound", "off in the config (ui.sound = false): blink cues are shown "
                         "on screen only")]
    silent = "blink cues are shown on screen only, without their tone"
    found = (cards or sound_cards)()
    if not ctx.emulator and not found:
        return [Check.warn("sound", f"no sound card: {silent}",
                           "connect a speaker (HDMI audio or a USB sound card); "
                           "check `aplay -l`")]
    if ctx.hands_off:
        return [Check.ok("sound", f"{', '.join(found) or 'sound device'} (not opened: the "
                         "service may be using it)")]
    tones = (open_tones or (lambda: Tones(True, 0.0)))()
    try:
        if not tones.available:
            return [Check.warn("sound", f"{tones.reason}: {silent}",
                               "check `aplay -l` and SDL_AUDIODRIVER" if not ctx.emulator
                               else "")]
        driver = ctx.environ.get("SDL_AUDIODRIVER", "SDL default")
        return [Check.ok("sound", f"cue tone ready ({', '.join(found) or driver})")]
    finally:
        tones.close()


def _emulator_display(pygame: Any, environ: Mapping[str, str]) -> Check:
    """Which SDL driver the emulator would get: an invisible one is not a display."""
    from kiosk.hardware.display import INVISIBLE_DRIVERS, invisible

    try:
        pygame.display.init()
        driver = str(pygame.display.get_driver())
    except pygame.error as e:
        return Check.fail("display", f"SDL cannot start a video driver: {e}",
                          "run on a desktop, or kiosk emulate --headless")
    finally:
        pygame.display.quit()
    problem = invisible(driver, environ)
    if problem:
        return Check.warn("display", problem, "kiosk emulate --headless --screenshots DIR")
    if driver in INVISIBLE_DRIVERS:
        return Check.warn("display", f"SDL_VIDEODRIVER={driver}: frames are drawn but nothing "
                          "is shown", "unset SDL_VIDEODRIVER to see the emulator")
    return Check.ok("display", f"pygame {pygame.version.ver}, SDL driver {driver}")


def check_pins(ctx: Context) -> list[Check]:
    name = ctx.cfg.leds.pin_factory.strip().lower() or ("mock" if ctx.emulator else "lgpio")
    pins = f"green {ctx.cfg.leds.green}, red {ctx.cfg.leds.red}, amber {ctx.cfg.leds.amber}"
    if name == "mock":
        if ctx.emulator:
            return [Check.ok("pins", f"mock pin factory ({pins}): the LEDs are simulated")]
        return [Check.fail("pins", f"mock pin factory on a Pi ({pins}): the LEDs stay dark",
                           "set [leds] pin_factory = \"lgpio\"")]
    if not ctx.emulator and name != "lgpio":
        note = [Check.warn("pins", f"pin factory {name!r}: only lgpio works on a Pi 5",
                           "set [leds] pin_factory = \"lgpio\"")]
    else:
        note = []
    if name == "lgpio":
        try:
            import lgpio  # noqa: F401
        except ImportError:
            return [Check.fail("pins", "lgpio is not importable", "sudo apt install python3-lgpio")]
    chips = sorted(glob.glob("/dev/gpiochip*"))
    if not chips:
        return [*note, Check.fail("pins", "no /dev/gpiochip* device", "is this a Raspberry Pi?")]
    return [*note, Check.ok("pins", f"{name} on {', '.join(chips)} ({pins})")]


def _groups_of(user: str) -> set[str]:
    try:
        gid = pwd.getpwnam(user).pw_gid
    except KeyError:
        return set()
    return {g.gr_name for g in grp.getgrall() if user in g.gr_mem} | {grp.getgrgid(gid).gr_name}


def check_groups(ctx: Context) -> list[Check]:
    if ctx.emulator:
        return []
    checks = []
    missing = []
    for name in DEVICE_GROUPS:
        try:
            grp.getgrnam(name)
        except KeyError:
            missing.append(name)
    if missing:
        checks.append(Check.fail("groups", f"missing groups: {', '.join(missing)} "
                                 "(SupplementaryGroups= in kiosk.service needs them)",
                                 f"sudo groupadd --system {missing[0]}"))
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        checks.append(Check.fail("groups", f"no '{SERVICE_USER}' user",
                                 "sudo ./deploy/install.sh creates it"))
        return checks
    me = pwd.getpwuid(os.getuid()).pw_name
    if os.getuid() != 0 and SERVICE_USER not in _groups_of(me) | {
            grp.getgrgid(g).gr_name for g in os.getgroups()}:
        checks.append(Check.warn("groups", f"{me} is not in group {SERVICE_USER}: "
                                 "status needs sudo", "sudo usermod -aG kiosk $USER; log in again"))
    if not checks:
        checks.append(Check.ok("groups", f"{', '.join(DEVICE_GROUPS)} exist; user "
                               f"{SERVICE_USER} present"))
    return checks


def check_public_key(ctx: Context) -> list[Check]:
    from kiosk.store import SYSTEM_PUBLIC_KEY

    if ctx.emulator and not ctx.cfg.store.public_key:
        return []  # the emulator makes itself a development key pair
    path = Path(ctx.cfg.store.public_key) if ctx.cfg.store.public_key else SYSTEM_PUBLIC_KEY
    try:
        present = path.is_file()
    except PermissionError:
        return [Check.warn("public key", f"cannot look into {path.parent}",
                           "run as root or join the kiosk group")]
    if not present:
        return [Check.fail("public key", f"{path} is missing: selfies cannot be encrypted, "
                           "the kiosk stays out of service",
                           f"copy the back end's public key to {path} "
                           "(for a test set-up: kiosk keys generate --out DIR)")]
    return [Check.ok("public key", str(path))]


def check_disk(ctx: Context) -> list[Check]:
    free = ctx.daemon.get("disk_free_mb") if ctx.daemon else None
    where = system.store_dir(ctx.cfg, ctx.environ)
    if free is None:
        free = system.disk_free_mb(where)
    if free is None:
        return [Check.warn("disk", f"cannot measure free space at {where}")]
    text = f"{free / 1024:.1f} GB free at {where}"
    if free < DISK_FAIL_MB:
        return [Check.fail("disk", text, "free space: kiosk captures purge --synced, "
                           "or check that kiosk-sync uploads", free_mb=free)]
    if free < DISK_WARN_MB:
        return [Check.warn("disk", text, "check that kiosk-sync uploads and purges",
                           free_mb=free)]
    return [Check.ok("disk", text, free_mb=round(free, 1))]


def check_clock(ctx: Context) -> list[Check]:
    synced = system.clock_synchronised(ctx.runner)
    if synced is True:
        return [Check.ok("clock", "synchronised (NTP)")]
    hint = "sudo timedatectl set-ntp true; check the network and `timedatectl timesync-status`"
    if synced is False:
        return [Check.warn("clock", "NOT synchronised: capture times are marked unsynchronised "
                           "and uploads may be refused", hint)]
    return [Check.warn("clock", "synchronisation state unknown (timedatectl unavailable)",
                       hint if not ctx.emulator else "")]


CHECKS: list[Callable[[Context], list[Check]]] = [
    check_config, check_service, check_daemon, check_models, check_camera, check_display,
    check_sound, check_pins, check_groups, check_public_key, check_disk, check_clock,
]


def run_checks(ctx: Context) -> list[Check]:
    results: list[Check] = []
    for check in CHECKS:
        try:
            results.extend(check(ctx))
        except Exception as e:  # noqa: BLE001 - one broken probe must not hide the others
            log.debug("check %s crashed", check.__name__, exc_info=True)
            name = check.__name__.removeprefix("check_")
            results.append(Check.fail(name, f"the check itself failed: {type(e).__name__}: {e}"))
    return results
