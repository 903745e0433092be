"""Presentation-attack data: NUAA live / printed-photo sequences and the minivision samples,
cropped exactly as the kiosk crops them at run time (real detector, `crops.context_crop`).

NUAA file names are `ID_glasses_pos_session_picNo.jpg`; one (ID, glasses, pos, session) is one
sequence, ordered by picNo. Subjects are split once so that no person is on two sides. The
published weights transferred without fine-tuning (no training subjects needed), so the
validation subjects (13 live, 60 printed-photo sequences) give the int8 calibration crops,
the choice of scale and the operating point; the test subjects (6 live, 30 printed-photo
sequences) are scored once at the end.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from kiosk.domain import Face
from kiosk.vision.crops import WIDER_BOX, ContextCrop, context_crop
from kiosk.vision.detector import FaceDetector

log = logging.getLogger(__name__)

SPLITS = {
    "val": ("0001", "0002", "0003", "0005", "0006", "0007"),
    "test": ("0004", "0008", "0009"),
}
SCALES = (2.7, 4.0)  # the two published checkpoints' crop scales
LIVE, ATTACK = 0, 1
MINIVISION = {"image_T1.jpg": ("live", LIVE), "image_F1.jpg": ("print", ATTACK),
              "image_F2.jpg": ("screen", ATTACK)}


@dataclass(frozen=True)
class Item:
    path: Path
    source: str  # nuaa | minivision
    kind: str  # live | print | screen
    label: int  # LIVE or ATTACK
    subject: str
    sequence: str  # frames of one recording share it
    pic: int  # order inside the sequence


def split_of(subject: str) -> str:
    for name, subjects in SPLITS.items():
        if subject in subjects:
            return name
    raise ValueError(f"NUAA subject {subject} is in no split")


def nuaa_items(root: Path) -> list[Item]:
    items = []
    for folder, kind, label in (("ClientRaw", "live", LIVE), ("ImposterRaw", "print", ATTACK)):
        for path in sorted((root / "spoof" / "nuaa" / folder).glob("*/*.jpg")):
            subject, glasses, pos, session, pic = path.stem.split("_")
            items.append(Item(path, "nuaa", kind, label, subject,
                              f"{kind}/{subject}_{glasses}_{pos}_{session}", int(pic)))
    if not items:
        raise FileNotFoundError(f"no NUAA frames under {root / 'spoof' / 'nuaa'}")
    return sorted(items, key=lambda it: (it.sequence, it.pic))


def minivision_items(root: Path) -> list[Item]:
    return [Item(root / "samples" / "minivision" / name, "minivision", kind, label, name,
                 f"minivision/{name}", 0) for name, (kind, label) in MINIVISION.items()]


def read_rgb(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)  # applies EXIF orientation (minivision)
    if image is None:
        raise OSError(f"cannot read {path}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def main_face(detector: FaceDetector, image: np.ndarray) -> Face | None:
    faces = detector.detect(image)
    return max(faces, key=lambda f: f.eye_distance) if faces else None


@dataclass
class Crops:
    """Context crops of every item with a face: `crops[scale]` is [N, 80, 80, 3] RGB uint8."""

    items: list[Item]
    crops: dict[float, np.ndarray]
    boxes: np.ndarray  # [N, 4] kiosk (BlazeFace) face boxes
    no_face: list[Item]


def _cache_key(items: list[Item]) -> str:
    text = repr((SCALES, WIDER_BOX, [str(it.path) for it in items]))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def extract(items: list[Item], detector: FaceDetector, cache: Path | None = None) -> Crops:
    """Detect the main face in every frame and cut its context crops (cached on disk)."""
    file = cache / f"pad_crops_{_cache_key(items)}.npz" if cache else None
    if file is not None and file.is_file():
        z = np.load(file)
        keep = [items[i] for i in z["kept"]]
        lost = [it for i, it in enumerate(items) if i not in set(z["kept"].tolist())]
        log.info("crops from cache %s", file)
        return Crops(keep, {s: z[f"s{s}"] for s in SCALES}, z["boxes"], lost)
    kept, boxes, lost = [], [], []
    out: dict[float, list[np.ndarray]] = {s: [] for s in SCALES}
    for i, it in enumerate(items):
        image = read_rgb(it.path)
        face = main_face(detector, image)
        if face is None:
            lost.append(it)
            continue
        kept.append(i)
        boxes.append(face.box)
        for s in SCALES:
            out[s].append(context_crop(image, face, ContextCrop(s)))
    crops = {s: np.stack(v) for s, v in out.items()}
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        np.savez(file, kept=np.array(kept), boxes=np.array(boxes),
                 **{f"s{s}": v for s, v in crops.items()})
    return Crops([items[i] for i in kept], crops, np.array(boxes, np.float64), lost)


def wider_box_factors(items: list[Item], detector: FaceDetector, yunet: Path,
                      limit: int = 300) -> dict[str, float]:
    """Median YuNet (WIDER FACE) box relative to the kiosk box, to check `crops.WIDER_BOX`."""
    yn = cv2.FaceDetectorYN.create(str(yunet), "", (320, 320), 0.6)
    rows = []
    step = max(1, len(items) // limit)
    for it in items[::step]:
        image = read_rgb(it.path)
        face = main_face(detector, image)
        yn.setInputSize((image.shape[1], image.shape[0]))
        _, found = yn.detect(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        if face is None or found is None:
            continue
        x, y, w, h = face.box
        yx, yy, yw, yh = (float(v) for v in found[0][:4])
        rows.append((yw / w, yh / h, (yy + yh / 2 - y - h / 2) / h))
    med = np.median(np.array(rows), axis=0)
    return {"width": float(med[0]), "height": float(med[1]), "shift": float(med[2]),
            "frames": len(rows)}
