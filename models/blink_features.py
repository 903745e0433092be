"""Per-frame pipeline outputs on the ZJU clips, cached: face, eye crops, face-mesh points.

The blink benchmark, the eye-state recipe and the liveness simulator read these instead of
re-running the detector: `clip_features(clip)` decodes a clip once through the kiosk's
BlazeFace and EYE_STATE crops (and the face mesh of models/face_mesh.py, a measured
option), and caches the arrays under models/.cache/blink/ keyed by the models' sha256 (a
new model file recomputes). Eye-state p(closed) is not cached: `eye_state_p(crops)` runs
any eye-state model on the cached crops in a second.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "models"
CACHE = MODELS / ".cache" / "blink"


@dataclass
class Features:
    found: np.ndarray  # [n] bool: a face was detected on this frame
    box: np.ndarray  # [n, 4] x, y, w, h (last face carried over when none found)
    keypoints: np.ndarray  # [n, 6, 2] in KEYPOINTS order
    crops: np.ndarray  # [n, 2, 32, 32] uint8 grey EYE_STATE crops, left eye first
    mesh: np.ndarray  # [n, 468, 2] face-mesh points in model-input pixels (192 x 192)
    mesh_ms: float  # median face-mesh invoke time while caching (1 thread)


class _Stack:
    """The kiosk's own detector, crops and face mesh (loaded once)."""

    def __init__(self) -> None:
        import face_mesh

        from kiosk.vision.detector import FaceDetector
        from kiosk.vision.manifest import load_manifest
        from kiosk.vision.runtime import TFLiteModel

        specs = load_manifest(MODELS)
        self.detector = FaceDetector(TFLiteModel(specs["face_detector"], MODELS))
        self.mesh = face_mesh.face_mesh()
        self.key = specs["face_detector"].sha256[:8] + face_mesh.SPEC.sha256[:8]


_stack: _Stack | None = None


def stack() -> _Stack:
    global _stack
    if _stack is None:
        _stack = _Stack()
    return _stack


def compute(frames: list[np.ndarray] | object) -> Features:
    """Run detector, crops and mesh over an iterable of RGB frames."""
    from kiosk.domain import KEYPOINTS, Face
    from kiosk.vision.crops import EYE_STATE, crop

    s = stack()
    found, boxes, kps, crops, mesh, times = [], [], [], [], [], []
    face: Face | None = None
    for image in frames:  # type: ignore[attr-defined]
        faces = sorted(s.detector.detect(image), key=lambda f: -f.eye_distance)
        found.append(bool(faces))
        face = faces[0] if faces else face
        if face is None:
            boxes.append(np.full(4, np.nan))
            kps.append(np.full((6, 2), np.nan))
            crops.append(np.zeros((2, 32, 32), np.uint8))
            mesh.append(np.full((468, 2), np.nan, np.float32))
            continue
        boxes.append(np.array(face.box))
        kps.append(np.array([face.keypoints[k] for k in KEYPOINTS]))
        crops.append(np.stack([cv2.cvtColor(crop(image, face, EYE_STATE[k]),
                                            cv2.COLOR_RGB2GRAY)
                               for k in ("left_eye", "right_eye")]))
        t0 = time.perf_counter()
        mesh.append(s.mesh.points(image, face)[:, :2].astype(np.float32))
        times.append(time.perf_counter() - t0)
    return Features(np.array(found), np.array(boxes), np.array(kps), np.array(crops),
                    np.array(mesh), float(np.median(times) * 1000) if times else 0.0)


def clip_features(clip: object) -> Features:
    """Cached features of one zju.Clip (decoded frame order)."""
    import zju  # models/ is on sys.path for recipes

    assert isinstance(clip, zju.Clip)
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"{clip.name}.{stack().key}.npz"
    if path.is_file():
        with np.load(path) as z:
            return Features(z["found"], z["box"], z["keypoints"], z["crops"], z["mesh"],
                            float(z["mesh_ms"]))
    f = compute(zju.frames(clip))
    if len(f.found) != clip.n_frames:
        raise ValueError(f"{clip.name}: decoded {len(f.found)} frames, expected {clip.n_frames}")
    np.savez_compressed(path, found=f.found, box=f.box, keypoints=f.keypoints, crops=f.crops,
                        mesh=f.mesh, mesh_ms=f.mesh_ms)
    return f


def eye_state_p(crops: np.ndarray, model_path: Path | None = None) -> np.ndarray:
    """p(closed) [n, 2] of cached crops through an eye-state model (default: the manifest's)."""
    from kiosk.vision.manifest import load_manifest
    from kiosk.vision.runtime import TFLiteModel

    spec = load_manifest(MODELS)["eye_state"]
    if model_path is not None:
        import dataclasses

        from kiosk.vision.manifest import sha256_of

        spec = dataclasses.replace(spec, file=model_path.name, sha256=sha256_of(model_path))
    model = TFLiteModel(spec, model_path.parent if model_path else MODELS)
    batch = model.input_shape[0]
    x = crops.reshape(len(crops), 2, 32, 32, 1).astype(np.float32)
    out = np.empty((len(crops), 2), np.float32)
    for i in range(len(crops)):
        if batch == 2:
            out[i] = model.run(x[i])[0].reshape(-1)
        else:
            out[i] = [model.run(x[i, j : j + 1])[0].reshape(-1)[0] for j in range(2)]
    return out
