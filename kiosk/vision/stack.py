"""Builds the vision pipeline from the manifest: which models loaded, which are missing."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.config import Config, models_dir
from kiosk.errors import ModelError
from kiosk.vision.detector import FaceDetector
from kiosk.vision.manifest import ModelSpec, load_manifest
from kiosk.vision.pipeline import Pipeline
from kiosk.vision.runtime import TFLiteModel

log = logging.getLogger(__name__)

EYE_MODEL = "eye_state"
FALLBACK_MODEL = "face_detector_yunet"
REGION_PREFIX = "occlusion"
ATTACK_MODEL = "presentation_attack"


@dataclass
class VisionStack:
    pipeline: Pipeline
    models_dir: Path
    versions: dict[str, str] = field(default_factory=dict)  # name -> sha256 prefix
    sizes: dict[str, int] = field(default_factory=dict)  # name -> file bytes
    missing: list[str] = field(default_factory=list)  # why the session cannot run yet

    @property
    def complete(self) -> bool:
        return not self.missing


def _load(spec: ModelSpec, folder: Path, threads: int, stack: VisionStack) -> TFLiteModel:
    model = TFLiteModel(spec, folder, num_threads=threads)
    stack.versions[spec.name] = spec.sha256[:12]
    stack.sizes[spec.name] = model.path.stat().st_size
    return model


def build(cfg: Config) -> VisionStack:
    """Face detector or ModelError; eye and region models are optional here (see `missing`)."""
    folder = models_dir(cfg)
    specs = load_manifest(folder)
    threads = cfg.models.threads
    if "face_detector" not in specs:
        raise ModelError(f"{folder}/manifest.toml has no [face_detector] entry")
    stack = VisionStack(Pipeline(FaceDetector(TFLiteModel(specs["face_detector"], folder,
                                                          num_threads=threads),
                                              min_score=cfg.models.min_face_score)), folder)
    det = stack.pipeline.detector.model
    stack.versions["face_detector"] = det.spec.sha256[:12]
    stack.sizes["face_detector"] = det.path.stat().st_size

    if FALLBACK_MODEL not in specs:
        # without it the kiosk is silent on faces covered past BlazeFace's reach
        stack.missing.append(f"model '{FALLBACK_MODEL}' is missing from {folder}/manifest.toml")
    else:
        try:
            from kiosk.vision.fallback import Fallback
            from kiosk.vision.yunet import YuNet

            spec = specs[FALLBACK_MODEL]
            yunet = YuNet(spec, folder, min_score=float(spec.extra.get("min_score", 0.6)),
                          threads=threads)
            stack.pipeline.fallback = Fallback(yunet, spec.extra.get("scan_min_score"))
            stack.versions[spec.name] = spec.sha256[:12]
            stack.sizes[spec.name] = yunet.path.stat().st_size
        except ModelError as e:
            stack.missing.append(str(e))

    if EYE_MODEL not in specs:
        stack.missing.append(f"model '{EYE_MODEL}' is missing from {folder}/manifest.toml")
    else:
        try:
            from kiosk.vision.eyes import EyeStateModel

            stack.pipeline.eyes = EyeStateModel(_load(specs[EYE_MODEL], folder, threads, stack))
        except ModelError as e:
            stack.missing.append(str(e))

    region_specs = {n: s for n, s in specs.items() if n.startswith(REGION_PREFIX)}
    if not region_specs:
        stack.missing.append(f"occlusion models are missing from {folder}/manifest.toml")
    else:
        try:
            from kiosk.vision.regions import RegionModel

            stack.pipeline.regions = RegionModel.from_specs(region_specs, folder, threads)
            for spec in region_specs.values():
                stack.versions[spec.name] = spec.sha256[:12]
                stack.sizes[spec.name] = spec.path(folder).stat().st_size
        except ModelError as e:
            stack.missing.append(str(e))

    # Liveness without its second barrier is not offered: a missing or corrupt attack model
    # puts the kiosk out of service like the other models.
    if ATTACK_MODEL not in specs:
        stack.missing.append(f"model '{ATTACK_MODEL}' is missing from {folder}/manifest.toml")
    else:
        try:
            from kiosk.vision.attack import AttackModel

            stack.pipeline.attack = AttackModel(_load(specs[ATTACK_MODEL], folder, threads,
                                                      stack))
        except ModelError as e:
            stack.missing.append(str(e))
    for why in stack.missing:
        log.warning("%s", why)
    return stack
