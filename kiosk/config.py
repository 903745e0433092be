"""One typed config schema: TOML file + KIOSK_SECTION__KEY env overrides; unknown keys fail."""

from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from kiosk.errors import ConfigError

DEFAULT_PATH = Path("/etc/kiosk/kiosk.toml")
ENV_PREFIX = "KIOSK_"


def _f(default: Any, *, lo: float | None = None, hi: float | None = None, doc: str = "") -> Any:
    return field(default=default, metadata={"lo": lo, "hi": hi, "doc": doc})


@dataclass(frozen=True)
class CameraConfig:
    # "picamera2" (Pi), "webcam", "demo" (bundled clip), or a video file / image directory path
    source: str = "demo"
    webcam_index: int = _f(0, lo=0)
    width: int = _f(640, lo=64, hi=4096, doc="inference stream width")
    height: int = _f(480, lo=48, hi=4096, doc="inference stream height")
    still_width: int = _f(2304, lo=64, hi=9152, doc="selfie (main stream) width, Pi")
    still_height: int = _f(1296, lo=48, hi=6944)
    loop: bool = _f(True, doc="file sources start again at the end")


@dataclass(frozen=True)
class LoopConfig:
    fps: float = _f(15.0, lo=1, hi=60)


@dataclass(frozen=True)
class DisplayConfig:
    fullscreen: bool = True
    width: int = _f(1024, lo=160, hi=7680, doc="window size when not full-screen")
    height: int = _f(600, lo=120, hi=4320)
    mirror: bool = _f(True, doc="show the preview like a mirror")


@dataclass(frozen=True)
class UiConfig:
    language: str = _f("en", doc="language of every text on screen: en (English), id (Bahasa "
                       "Indonesia); one kiosk/locales/<language>.toml each")
    language_button: bool = _f(True, doc="a button on the attract and guidance screens offers "
                               "the other languages (tap; 'l' in the emulator); the choice "
                               "lasts until the visitor's session ends")
    sound: bool = _f(True, doc="a short tone on each blink cue (silent if there is no sound "
                     "device; `kiosk doctor` says so)")
    volume: float = _f(0.6, lo=0, hi=1, doc="tone volume")


@dataclass(frozen=True)
class LedConfig:
    pin_factory: str = _f("", doc="gpiozero pin factory: lgpio on a Pi 5; empty = mock")
    green: int = _f(17, lo=0, hi=27)
    red: int = _f(27, lo=0, hi=27)
    amber: int = _f(22, lo=0, hi=27)


@dataclass(frozen=True)
class ModelsConfig:
    dir: str = _f("", doc="folder with manifest.toml; empty = the models/ folder of the install")
    threads: int = _f(1, lo=1, hi=8)
    min_face_score: float = _f(0.6, lo=0.05, hi=0.99)


@dataclass(frozen=True)
class PositionConfig:
    min_face: float = _f(0.10, lo=0.01, hi=1, doc="min eye distance / frame width (too far)")
    max_face: float = _f(0.30, lo=0.02, hi=1, doc="max eye distance / frame width (too close)")
    max_offset: float = _f(0.15, lo=0.01, hi=0.5, doc="max face-centre offset, frame widths")
    min_luma: float = _f(60.0, lo=0, hi=255, doc="mean face luma below this is too dark")
    max_luma: float = _f(200.0, lo=0, hi=255, doc="mean face luma above this is too bright")
    max_motion: float = _f(0.12, lo=0.0, hi=5, doc="face movement per frame, eye distances")
    hold_s: float = _f(0.8, lo=0, hi=10, doc="seconds of good position before liveness")
    timeout_s: float = _f(30.0, lo=1, hi=600)


@dataclass(frozen=True)
class LivenessConfig:
    # The cued blink challenge (kiosk/session/liveness.py). The window and the counts are
    # measured in models/liveness.md (recording attack vs cooperative person); change them
    # only together with a new run of models/liveness_sim.py.
    cues: int = _f(4, lo=1, hi=8, doc="cues to answer (see closures)")
    spare_cues: int = _f(1, lo=0, hi=4, doc="extra cues a person may miss and still pass")
    max_strays: int = _f(1, lo=0, hi=8,
                         doc="blinks or closures away from any cue tolerated per attempt")
    lead_s: float = _f(1.0, lo=0.2, hi=10, doc="earliest first cue: time to read the instruction")
    first_jitter_s: float = _f(1.5, lo=0, hi=10, doc="the first cue comes up to this much later")
    gap_min_s: float = _f(0.8, lo=0.3, hi=10, doc="shortest time from one cue to the next")
    gap_jitter_s: float = _f(1.5, lo=0, hi=10, doc="the next cue comes up to this much later")
    window_start_s: float = _f(0.0, lo=0, hi=2,
                               doc="an answer counts when it starts this long after its cue")
    window_end_s: float = _f(0.7, lo=0.05, hi=3, doc="... and no later than this")
    closures: int = _f(1, lo=0, hi=8, doc="at least this many of the cues say 'Close your eyes'")
    closures_max: int = _f(1, lo=0, hi=8, doc="... and at most this many (drawn uniformly)")
    close_min_s: float = _f(0.6, lo=0.2, hi=5,
                            doc="eyes shut at least this long answer a close cue (a blink is "
                                "shorter)")
    close_max_s: float = _f(3.0, lo=0.5, hi=10, doc="... and at most this long")
    close_gap_s: float = _f(1.8, lo=0.5, hi=10,
                            doc="shortest time from a close cue to the next cue")


@dataclass(frozen=True)
class AttemptsConfig:
    max_failures: int = _f(3, lo=1, hi=100,
                           doc="failed liveness attempts that pause the kiosk ('ask staff')")
    within_min: float = _f(10.0, lo=0.1, hi=1440, doc="... counted over this many minutes")
    pause_min: float = _f(5.0, lo=0.1, hi=1440, doc="how long the kiosk stays paused")


@dataclass(frozen=True)
class AttackConfig:
    # Passive presentation-attack model, LIVENESS through CAPTURE (kiosk.session.attack).
    # threshold and min_frames: chosen on NUAA validation subjects (models/presentation_attack.md)
    threshold: float = _f(0.67, lo=0.05, hi=0.99,
                          doc="mean p(attack) of an attempt at or above which it is an attack")
    min_frames: int = _f(4, lo=1, hi=100, doc="scored frames before the mean is judged")
    rate_hz: float = _f(7.5, lo=0.5, hi=60, doc="how often the model scores the face")


@dataclass(frozen=True)
class OcclusionConfig:
    duration_s: float = _f(2.0, lo=0.2, hi=30, doc="seconds of clear face needed")
    threshold: float = _f(0.4, lo=0.01, hi=0.99, doc="smoothed p(blocked) naming a region")
    timeout_s: float = _f(20.0, lo=1, hi=600)
    window_s: float = _f(0.5, lo=0.0, hi=5, doc="p(blocked) is averaged over this many seconds")
    min_frames: int = _f(3, lo=1, hi=60, doc="frames in the window before a region is judged")


@dataclass(frozen=True)
class CaptureConfig:
    countdown_s: float = _f(2.0, lo=0, hi=10)
    buffer_s: float = _f(1.0, lo=0.1, hi=10, doc="best frame is chosen from this last window")
    # Defaults measured on NUAA live frames, demo.mp4 and blurred/dark copies of them:
    # models/continuity.md (capture section).
    min_eye_distance_px: float = _f(60.0, lo=5, hi=2000,
                                    doc="inter-eye distance in the inference frame")
    max_offset: float = _f(0.15, lo=0.01, hi=0.5, doc="max face-centre offset, frame widths")
    max_yaw: float = _f(0.35, lo=0, hi=1)
    max_roll_deg: float = _f(15.0, lo=0, hi=90)
    min_sharpness: float = _f(25.0, lo=0, doc="Laplacian variance on the aligned face crop")
    max_clipped: float = _f(0.10, lo=0, hi=1)
    min_luma_range: float = _f(40.0, lo=0, hi=255)
    max_eye_closed: float = _f(0.5, lo=0, hi=1)


@dataclass(frozen=True)
class ContinuityConfig:
    lost_grace_s: float = _f(0.5, lo=0, hi=10, doc="a face missing this long breaks it")
    max_speed: float = _f(6.0, lo=0.1, hi=100, doc="face-centre speed limit, eye distances/s")
    max_scale_rate: float = _f(1.5, lo=0.01, hi=100, doc="limit on |log size change| per second")
    # Appearance limits: 1.2x the largest change seen on live NUAA sequences (models/continuity.md)
    min_correlation: float = _f(0.36, lo=-1, hi=1,
                                doc="face patch correlation with the last face or the reference")
    max_chroma_shift: float = _f(4.5, lo=0, hi=255, doc="mean Lab a*/b* change of the face")
    max_saturation_shift: float = _f(25.0, lo=0, hi=255, doc="mean HSV saturation change")
    reference_tau_s: float = _f(1.0, lo=0, hi=60, doc="time constant of the running reference")
    max_covered_s: float = _f(30.0, lo=0.5, hi=600,
                              doc="a covered face puts appearance on hold this long at most")


@dataclass(frozen=True)
class SessionConfig:
    walk_away_s: float = _f(2.0, lo=0.1, hi=60, doc="no face this long: back to attract")
    result_s: float = _f(4.0, lo=0.5, hi=60, doc="how long the result screen stays")
    seed: int = _f(-1, doc="challenge randomness; -1 = from the OS. A fixed seed gives every "
                   "session the same cues: for demos and tests only, never on a kiosk")
    max_restarts: int = _f(3, lo=0, hi=100, doc="face lost/swapped this often: session fails")


@dataclass(frozen=True)
class StoreConfig:
    dir: str = _f("", doc="empty: $STATE_DIRECTORY, /var/lib/kiosk, ./kiosk-state (emulator)")
    public_key: str = _f("", doc="back end's public key file; empty: /etc/kiosk/capture_public.key"
                         " (a dev key pair is generated in the state dir in the emulator)")
    reserve_mb: int = _f(500, lo=0, hi=1_000_000, doc="out of service below this much free disk")
    jpeg_quality: int = _f(92, lo=50, hi=100)
    retention_h: float = _f(24.0, lo=0, hi=24 * 365,
                            doc="keep local copies this long after a confirmed upload")


@dataclass(frozen=True)
class SyncConfig:
    endpoint: str = _f("", doc="S3 endpoint URL; empty = AWS S3")
    region: str = _f("us-east-1")
    bucket: str = _f("", doc="bucket name; empty = sync not configured")
    prefix: str = _f("selfies", doc="keys are <prefix>/<kiosk_id>/<date>/<capture_id>-<store_id>"
                     ".bin (+ .json); the heartbeat is <prefix>/<kiosk_id>/heartbeat.json")
    addressing_style: Literal["auto", "path", "virtual"] = "path"
    ca_bundle: str = _f("", doc="CA file for a private endpoint; empty = system CAs")
    credentials_file: str = _f("", doc="AWS-format credentials file; empty = $CREDENTIALS_"
                               "DIRECTORY/s3, $AWS_SHARED_CREDENTIALS_FILE, AWS_* variables")
    batch_size: int = _f(50, lo=1, hi=10_000, doc="captures per pass")
    max_kbps: float = _f(0.0, lo=0, doc="upload bandwidth cap in KiB/s; 0 = unlimited")
    interval_s: float = _f(30.0, lo=0.1, hi=86_400, doc="idle time between passes")
    backoff_base_s: float = _f(2.0, lo=0.01, hi=3600)
    backoff_max_s: float = _f(600.0, lo=0.01, hi=86_400)
    timeout_s: float = _f(20.0, lo=0.5, hi=600, doc="connect/read timeout per request")
    state_dir: str = _f("", doc="the sync service's own folder (receipts, state); empty: "
                        "/var/lib/kiosk-sync, <store dir>/sync in the emulator")
    conditional_put: bool = _f(True, doc="send If-None-Match: * so nothing is overwritten "
                               "(SeaweedFS, MinIO, AWS); false: HEAD before each PUT instead")
    heartbeat_s: float = _f(300.0, lo=0, hi=86_400, doc="status object upload period; 0 = off")
    metrics_file: str = _f("", doc="node-exporter textfile (…/kiosk.prom) written after each "
                           "pass and heartbeat; empty = off")


@dataclass(frozen=True)
class Config:
    hardware: Literal["pi", "emulator"] = "emulator"
    kiosk_id: str = "kiosk-dev"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    camera: CameraConfig = field(default_factory=CameraConfig)
    loop: LoopConfig = field(default_factory=LoopConfig)
    display: DisplayConfig = field(default_factory=DisplayConfig)
    ui: UiConfig = field(default_factory=UiConfig)
    leds: LedConfig = field(default_factory=LedConfig)
    models: ModelsConfig = field(default_factory=ModelsConfig)
    position: PositionConfig = field(default_factory=PositionConfig)
    liveness: LivenessConfig = field(default_factory=LivenessConfig)
    attack: AttackConfig = field(default_factory=AttackConfig)
    attempts: AttemptsConfig = field(default_factory=AttemptsConfig)
    occlusion: OcclusionConfig = field(default_factory=OcclusionConfig)
    capture: CaptureConfig = field(default_factory=CaptureConfig)
    continuity: ContinuityConfig = field(default_factory=ContinuityConfig)
    session: SessionConfig = field(default_factory=SessionConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    sync: SyncConfig = field(default_factory=SyncConfig)


Errors = list[tuple[str, str]]  # (key path, what is wrong)


def _coerce(value: Any, tp: Any, path: str, errors: Errors) -> Any:
    origin = typing.get_origin(tp)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            errors.append((path, f"expected a table, got {type(value).__name__}"))
            return tp()
        return _build(tp, value, path, errors)
    if origin is Literal:
        if value not in typing.get_args(tp):
            choices = ", ".join(repr(a) for a in typing.get_args(tp))
            errors.append((path, f"{value!r} is not one of {choices}"))
        return value
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is bool and not isinstance(value, bool) or tp is not bool and isinstance(value, bool):
        errors.append((path, f"expected {tp.__name__}, got {value!r}"))
        return value
    if not isinstance(value, tp):
        errors.append((path, f"expected {tp.__name__}, got {type(value).__name__} {value!r}"))
    return value


def _build(cls: Any, data: dict[str, Any], prefix: str, errors: Errors) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else key
        if key not in fields:
            errors.append((path, "unknown key"))
            continue
        value = _coerce(value, hints[key], path, errors)
        lo, hi = fields[key].metadata.get("lo"), fields[key].metadata.get("hi")
        if isinstance(value, int | float) and not isinstance(value, bool):
            if lo is not None and value < lo or hi is not None and value > hi:
                errors.append((path, f"{value} is outside [{lo}, {hi}]"))
        kwargs[key] = value
    try:
        return cls(**kwargs)
    except TypeError as e:
        errors.append((prefix or "config", str(e)))
        return cls()


def _cross_checks(cfg: Config, errors: Errors) -> None:
    from kiosk import messages

    if cfg.ui.language not in messages.available():
        errors.append(("ui.language", f"{cfg.ui.language!r} is not one of "
                                      f"{', '.join(messages.available())}"))
    if cfg.position.min_face >= cfg.position.max_face:
        errors.append(("position.min_face", "must be below position.max_face"))
    if cfg.position.min_luma >= cfg.position.max_luma:
        errors.append(("position.min_luma", "must be below position.max_luma"))
    live = cfg.liveness
    if live.window_start_s >= live.window_end_s:
        errors.append(("liveness.window_start_s", "must be below liveness.window_end_s"))
    if min(live.gap_min_s, live.close_gap_s) <= live.window_end_s:
        # one response window must close before the next cue can appear
        errors.append(("liveness.gap_min_s", "must exceed liveness.window_end_s"))
    if live.close_min_s >= live.close_max_s:
        errors.append(("liveness.close_min_s", "must be below liveness.close_max_s"))
    if not live.closures <= live.closures_max <= live.cues:
        errors.append(("liveness.closures_max", "need closures <= closures_max <= cues"))


def _sections() -> dict[str, bool]:
    """Top-level names of the schema: True for a [section], False for a plain key."""
    hints = typing.get_type_hints(Config)
    return {f.name: dataclasses.is_dataclass(hints[f.name]) for f in dataclasses.fields(Config)}


def env_overrides(environ: typing.Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """KIOSK_CAMERA__SOURCE=webcam -> {"camera": {"source": "webcam"}}, values parsed as TOML,
    and where each key came from ({"camera.source": "KIOSK_CAMERA__SOURCE"}).

    A KIOSK_ variable with `__` is always a config key, so a typo'd section is an error;
    one without it is config only if it names a top-level key (KIOSK_HARDWARE): the other
    KIOSK_* variables (KIOSK_CONFIG, KIOSK_HIL...) are not config keys.
    """
    sections = _sections()
    out: dict[str, Any] = {}
    origins: dict[str, str] = {}
    errors: list[str] = []
    for name, raw in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX):
            continue
        parts = name[len(ENV_PREFIX):].lower().split("__")
        if len(parts) == 1 and sections.get(parts[0]) is not False:
            if parts[0] in sections:
                errors.append(f"{name}: [{parts[0]}] is a section; set one of its keys, "
                              f"e.g. {name}__KEY")
            continue
        if len(parts) > 1 and not sections.get(parts[0]):
            known = ", ".join(k for k, table in sections.items() if table)
            errors.append(f"{name}: unknown config section {parts[0]!r} (sections: {known})")
            continue
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        node = out
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
        origins[".".join(parts)] = name
    if errors:
        raise ConfigError("invalid environment override:\n  " + "\n  ".join(errors))
    return out, origins


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for k, v in extra.items():
        merged[k] = _merge(merged[k], v) if isinstance(v, dict) and isinstance(
            merged.get(k), dict) else v
    return merged


def parse(data: dict[str, Any], origins: typing.Mapping[str, str] | None = None,
          source: str = "") -> Config:
    """Validate `data`; each error names its key and where it came from: the environment
    variable that set it (`origins`), else `source` (the config file)."""
    errors: Errors = []
    cfg = _build(Config, data, "", errors)
    if not errors:
        _cross_checks(cfg, errors)
    if errors:
        origins = origins or {}
        lines = []
        for path, problem in errors:
            where = origins.get(path) or source
            lines.append(f"{where}: {path}: {problem}" if where else f"{path}: {problem}")
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(lines))
    return typing.cast(Config, cfg)


def config_path(path: Path | None = None,
                environ: typing.Mapping[str, str] | None = None) -> tuple[Path, bool]:
    """The config file to read, and whether it was named (--config, KIOSK_CONFIG)."""
    environ = os.environ if environ is None else environ
    from_env = environ.get("KIOSK_CONFIG", "")
    return path or Path(from_env or DEFAULT_PATH), path is not None or bool(from_env)


def load(path: Path | None = None, environ: typing.Mapping[str, str] | None = None,
         require_file: bool = False) -> Config:
    """Load the config file plus env overrides. A missing default file means all defaults,
    unless `require_file` (the daemon: a kiosk never runs on defaults)."""
    environ = os.environ if environ is None else environ
    path, explicit = config_path(path, environ)
    data: dict[str, Any] = {}
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError as e:
        if explicit:
            raise ConfigError(f"config file not found: {path}") from e
        if require_file:
            raise ConfigError(f"no config file: {path} does not exist (sudo ./deploy/install.sh "
                              "writes it from deploy/kiosk.toml.example)") from e
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from e
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e}") from e
    overrides, origins = env_overrides(environ)
    return parse(_merge(data, overrides), origins, str(path) if data else "")


def for_daemon(path: Path | None = None,
               environ: typing.Mapping[str, str] | None = None) -> tuple[Config, str]:
    """The config `kiosk run` uses, and why it must stay out of service ("" if it need not).

    Never raises: with no file, a bad file or bad overrides the daemon still starts (on the
    Pi's own defaults: kmsdrm screen, lgpio LEDs, nothing else) and shows the reason. It
    never runs the emulator's parts: no demo clip, no mock hardware by default, no generated
    key."""
    try:
        cfg = load(path, environ, require_file=True)
    except ConfigError as e:
        return Config(hardware="pi", camera=CameraConfig(source="picamera2")), str(e)
    if cfg.hardware != "pi":
        problem = (f'config: hardware = "{cfg.hardware}": kiosk run drives a real kiosk only '
                   '(set hardware = "pi"; on a laptop use kiosk emulate)')
    elif cfg.camera.source == "demo":
        problem = ('config: camera.source = "demo" is the emulator\'s clip, not a camera '
                   '(set "picamera2", "webcam" or a video file)')
    else:
        return cfg, ""
    return Config(hardware="pi", camera=CameraConfig(source="picamera2")), problem


def to_dict(cfg: Any) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def models_dir(cfg: Config) -> Path:
    from kiosk import DEFAULT_MODELS_DIR

    return Path(cfg.models.dir or os.environ.get("KIOSK_MODELS_DIR", "") or DEFAULT_MODELS_DIR)
