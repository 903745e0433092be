"""Eye-state training data: loading CEW, closeups and detector crops, and kiosk augmentation.

Every sample is stored as a greyscale base image plus a square "window" (centre, side in
base pixels) that corresponds to the kiosk's EYE_STATE crop. Augmentation warps a jittered
window (scale, rotation, shift, flip) to the 32x32 model input, then degrades it the way a
kiosk camera does (resolution, blur, noise, brightness/contrast/gamma).
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from kiosk.domain import KEYPOINTS, Face
from kiosk.vision.crops import EYE_STATE, crop

log = logging.getLogger(__name__)

SIZE = 32  # model input side, matches EYE_STATE[...].out
OPEN, CLOSED = 0, 1

# CelebA aligned images put the eyes at fixed pixels (178x218 frames): detections whose
# keypoints are far from these are detector errors and are not used for training.
CELEBA_EYES = {"right_eye": (69.0, 111.0), "left_eye": (108.0, 111.0)}
CELEBA_EYE_TOL = 12.0

# Window side relative to the source image: CEW patches frame the eye a little wider than
# the kiosk crop, the close-ups a little tighter (looked at side by side with kiosk crops).
CEW_WINDOW = 0.92
CLOSEUP_WINDOW = 1.15


@dataclass(frozen=True)
class Sample:
    base: np.ndarray  # greyscale uint8
    centre: tuple[float, float]
    side: float  # window side in base pixels
    label: int  # OPEN or CLOSED
    source: str  # cew, closeups, celeba
    group: str  # images that must stay in one split share a group


def _grey(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise OSError(f"cannot read {path}")
    return image


def load_cew(root: Path) -> list[Sample]:
    out = []
    for folder, label in (("openLeftEyes", OPEN), ("openRightEyes", OPEN),
                          ("closedLeftEyes", CLOSED), ("closedRightEyes", CLOSED)):
        for path in sorted((root / "eyes" / "cew" / folder).glob("*.jpg")):
            image = _grey(path)
            if "Left" in folder:  # the model sees every eye as a right eye
                image = np.ascontiguousarray(image[:, ::-1])
            h, w = image.shape
            # Group by person (open: LFW identity) or by photo (closed: several faces of one
            # photo, and both eyes of a face, stay on one side of a split).
            stem = path.stem.split(".")[0] if label == CLOSED else path.stem.rsplit("_", 2)[0]
            out.append(Sample(image, ((w - 1) / 2, (h - 1) / 2), CEW_WINDOW * max(w, h), label,
                              "cew", f"cew/{stem}"))
    return out


# Near-duplicate pairs named in the datasets README: they share a group (and so a split).
CLOSEUP_PAIRS = {"open/709": "open/90", "open/211": "open/210", "closed/590": "closed/184",
                 "closed/725": "closed/467"}


def load_closeups(root: Path) -> list[Sample]:
    out = []
    for folder, label in (("open", OPEN), ("closed", CLOSED)):
        for path in sorted((root / "eyes" / "closeups" / folder).glob("*.jpg")):
            image = _grey(path)
            h, w = image.shape
            key = CLOSEUP_PAIRS.get(f"{folder}/{path.stem}", f"{folder}/{path.stem}")
            # No person IDs: neighbouring numbers are often the two eyes of one person, so
            # blocks of ten numbers stay together.
            block = f"{folder}/{int(key.split('/')[1]) // 10}"
            out.append(Sample(image, ((w - 1) / 2, (h - 1) / 2), CLOSEUP_WINDOW * max(w, h),
                              label, "closeups", f"closeups/{block}"))
    return out


def base_crops(rgb: np.ndarray, face: Face, margin: float = 2.0) -> dict[str, np.ndarray]:
    """Greyscale crops of both eyes with the EYE_STATE geometry, `margin` times wider.

    The window (the real EYE_STATE crop) is the centred 1/margin of each base crop, so the
    training crops come from exactly the run-time crop function.
    """
    out = {}
    for name, spec in EYE_STATE.items():
        wide = replace(spec, size=(spec.size[0] * margin, spec.size[1] * margin),
                       out=(int(spec.out[0] * margin), int(spec.out[1] * margin)))
        out[name] = cv2.cvtColor(crop(rgb, face, wide), cv2.COLOR_RGB2GRAY)
    return out


def load_celeba(root: Path, detect: Callable[[np.ndarray], list[Face]],
                stop: int | None = None) -> list[Sample]:
    """Open eyes from CelebA, cropped from real detections (Narrow_Eyes excluded)."""
    folder = root / "faces" / "celeba"
    rows = (folder / "list_attr_celeba_000001-002436.txt").read_text().splitlines()
    names = rows[1].split()
    narrow = names.index("Narrow_Eyes")
    files = [r.split()[0] for r in rows[2:] if r.split()[1 + narrow] == "-1"][:stop]
    out, rejected = [], 0
    for name in files:
        bgr = cv2.imread(str(folder / "img_align_celeba" / name))
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        faces = detect(rgb)
        face = max(faces, key=lambda f: f.score) if faces else None
        if face is None or any(
            np.hypot(*np.subtract(face.keypoints[k], p)) > CELEBA_EYE_TOL
            for k, p in CELEBA_EYES.items()
        ):
            rejected += 1
            continue
        for base in base_crops(rgb, face).values():
            h, w = base.shape
            out.append(Sample(base, ((w - 1) / 2, (h - 1) / 2), w / 2, OPEN, "celeba",
                              f"celeba/{name}"))
    log.info("celeba: %d eye crops, %d images rejected (no face / keypoints off)",
             len(out), rejected)
    return out


def load_zju(root: Path, people: set[str], open_every: int = 3) -> list[Sample]:
    """Kiosk-geometry eye crops from the ZJU clips of `people` (the blink benchmark's
    training people only): closed = frames labelled with both eyes shut, open = every
    `open_every`-th frame outside any labelled blink (neighbouring frames are near copies);
    closing and opening frames are left out (half-closed has no label)."""
    import blink_features
    import zju

    out = []
    for clip in zju.load_clips(root):
        if clip.person not in people:
            continue
        f = blink_features.clip_features(clip)
        for i, rgb in enumerate(zju.frames(clip)):
            if not f.found[i] or not clip.labelled[i]:
                continue
            if clip.closed[i]:
                label = CLOSED
            elif not clip.in_blink[i] and i % open_every == 0:
                label = OPEN
            else:
                continue
            face = Face(tuple(f.box[i]), 1.0,  # type: ignore[arg-type]
                        {k: tuple(f.keypoints[i, j]) for j, k in enumerate(KEYPOINTS)})
            for base in base_crops(rgb, face).values():
                h, w = base.shape
                out.append(Sample(base, ((w - 1) / 2, (h - 1) / 2), w / 2, label, "zju",
                                  f"zju/{clip.person}"))
    return out


def role(group: str, zju_roles: dict[str, str]) -> str:
    """train | validation | test of a sample group: ZJU people by the blink benchmark's
    person split, every other source by group hash (1/5 test, 1/5 validation)."""
    if group.startswith("zju/"):
        return zju_roles[group.split("/", 1)[1]]
    return {0: "test", 1: "validation"}.get(zlib.crc32(group.encode()) % 5, "train")


def nuaa_sequences(root: Path, kind: str) -> dict[str, list[Path]]:
    """NUAA frames grouped by subject/glasses/pos/session, each sorted by picture number."""
    seqs: dict[str, list[tuple[int, Path]]] = {}
    for path in (root / "spoof" / "nuaa" / kind).glob("*/*.jpg"):
        subject, glasses, pos, session, pic = path.stem.split("_")
        seqs.setdefault(f"{subject}_{glasses}_{pos}_{session}", []).append((int(pic), path))
    return {k: [p for _, p in sorted(v)] for k, v in sorted(seqs.items())}


def window_matrix(s: Sample, rng: np.random.Generator | None) -> np.ndarray:
    """2x3 affine from output pixel to base pixel, jittered when `rng` is given."""
    scale, angle, dx, dy, flip = 1.0, 0.0, 0.0, 0.0, False
    if rng is not None:
        scale = float(np.exp(rng.uniform(np.log(0.8), np.log(1.25))))
        angle = float(np.deg2rad(rng.uniform(-12, 12)))
        dx, dy = rng.uniform(-0.1, 0.1, 2)
        flip = bool(rng.random() < 0.5)
    side = s.side * scale
    px = side / SIZE
    ex = np.array([np.cos(angle), np.sin(angle)]) * px * (-1 if flip else 1)
    ey = np.array([-np.sin(angle), np.cos(angle)]) * px
    centre = np.array(s.centre) + s.side * np.array([dx, dy])
    c = centre - ex * (SIZE / 2 - 0.5) - ey * (SIZE / 2 - 0.5)
    return np.array([[ex[0], ey[0], c[0]], [ex[1], ey[1], c[1]]])


def render(s: Sample, rng: np.random.Generator | None = None) -> np.ndarray:
    """The 32x32 model input of a sample; augmented when `rng` is given."""
    out = cv2.warpAffine(s.base, window_matrix(s, rng), (SIZE, SIZE),
                         flags=cv2.INTER_AREA | cv2.WARP_INVERSE_MAP,
                         borderMode=cv2.BORDER_REPLICATE)
    if rng is None:
        return out
    return degrade(out, rng)


def degrade(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Kiosk camera conditions: low resolution, blur (focus and motion), exposure (dim
    light), contrast, gamma, sensor noise, JPEG."""
    if rng.random() < 0.35:  # small or distant faces: crops upsampled from 12-28 pixels
        side = int(rng.integers(12, 29))
        img = cv2.resize(cv2.resize(img, (side, side), interpolation=cv2.INTER_AREA),
                         (SIZE, SIZE), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.3:
        img = cv2.GaussianBlur(img, (0, 0), float(rng.uniform(0.4, 1.2)))
    elif rng.random() < 0.15:  # a head moving during the exposure
        k = np.zeros((5, 5), np.float32)
        k[2, :] = 1 / 5
        rot = cv2.getRotationMatrix2D((2, 2), float(rng.uniform(0, 180)), 1.0)
        img = cv2.filter2D(img, -1, cv2.warpAffine(k, rot, (5, 5)))
    x = img.astype(np.float32) / 255.0
    x = x ** float(np.exp(rng.uniform(-0.5, 0.5)))
    mean = float(x.mean())
    x = (x - mean) * float(rng.uniform(0.6, 1.4)) + mean + float(rng.uniform(-0.2, 0.2))
    if rng.random() < 0.2:  # dim light: a dark, low-contrast exposure with more noise
        x = x * float(rng.uniform(0.25, 0.6))
    if rng.random() < 0.5:
        x = x + rng.normal(0.0, float(rng.uniform(0.005, 0.04)), x.shape).astype(np.float32)
    out = np.clip(x * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if rng.random() < 0.4:
        ok, enc = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(25, 91))])
        if ok:
            out = cv2.imdecode(enc, cv2.IMREAD_GRAYSCALE)
    return out


def batches(samples: list[Sample], weights: np.ndarray, n: int, batch: int,
            rng: np.random.Generator) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """`n` augmented samples drawn with `weights` (sources and classes balanced)."""
    idx = rng.choice(len(samples), size=n, p=weights / weights.sum())
    for i in range(0, n, batch):
        chunk = [samples[j] for j in idx[i:i + batch]]
        x = np.stack([render(s, rng) for s in chunk])[..., None].astype(np.float32)
        y = np.array([s.label for s in chunk], np.float32)
        yield x, y


def stack(samples: list[Sample]) -> tuple[np.ndarray, np.ndarray]:
    """Un-augmented inputs and labels (for evaluation)."""
    x = np.stack([render(s) for s in samples])[..., None]
    return x, np.array([s.label for s in samples], np.int64)
