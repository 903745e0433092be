"""Train the region occlusion model: one small int8 CNN on the aligned face crop, a head per region.

    PYTHONPATH=. python models/train_occlusion.py [--data ../shared/datasets]

Reads real images (faces, masks, sunglasses, NUAA live frames) and synthetic region-labelled
masks, pastes generated occluders onto clean training faces (models/occlusion_synth.py),
trains with a loss that ignores unknown labels (re-mining hard clean training faces as it
goes), converts to full-int8 TFLite, picks a threshold per region on the validation split,
measures the test split and the never-trained sets through the kiosk's own vision stack
(models/occlusion_eval.py), and writes models/occlusion_regions.tflite, its manifest entry
and the model card models/occlusion.md. `--evaluate-only` re-measures the installed model
(for example after the face detector changed) and rewrites the card.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import random
import re
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "models"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import occlusion_card  # noqa: E402
import occlusion_data as od  # noqa: E402
import occlusion_eval  # noqa: E402
import occlusion_synth as synth  # noqa: E402

from kiosk.domain import REGIONS  # noqa: E402
from kiosk.vision.crops import FACE  # noqa: E402
from kiosk.vision.manifest import sha256_of  # noqa: E402
from kiosk.vision.regions import face_crop  # noqa: E402

log = logging.getLogger("train_occlusion")

MODEL_NAME = "occlusion_regions"
MODEL_FILE = "occlusion_regions.tflite"
SWAP = [
    REGIONS.index(r.replace("left", "x").replace("right", "left").replace("x", "right"))
    for r in REGIONS
]  # mirrored face: the subject's left eye becomes the right one
CLEAN_SOURCES = ("celeba", "masks_without", "nuaa")
CORE = ("left_eye", "right_eye", "nose", "mouth")  # the regions RegionModel reports
WINDOW_S = 0.5  # the session's smoothing window (config occlusion.window_s), for the card
# The kiosk names a region at one common operating point (config occlusion.threshold); the
# model's outputs are rescaled per region so that each region's validated threshold lands there.
OPERATING_POINT = 0.4
# Per-region thresholds are never set below this, however clean the validation faces look: a
# few hundred validation faces cannot vouch for a threshold in the tail of the distribution.
THRESHOLD_FLOOR = 0.3


# --- samples -----------------------------------------------------------------------------------


def jitter_face(points: np.ndarray, rng: np.random.Generator, amount: float) -> od.Face:
    """Keypoints moved like a noisy detector would: per-point noise, scale, shift, roll."""
    d = float(np.hypot(*(points[0] - points[1])))
    centre = points[:4].mean(0)
    angle = rng.normal(0, 0.08 * amount)
    c, s = np.cos(angle), np.sin(angle)
    p = (
        (points - centre)
        @ np.array([[c, s], [-s, c]])
        * rng.uniform(1 - 0.1 * amount, 1 + 0.1 * amount)
    )
    p = p + centre + rng.normal(0, 0.06 * d * amount, 2) + rng.normal(0, 0.03 * d * amount, p.shape)
    return od.face_from_points(p)


def photometric(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Camera variety: exposure, contrast, colour cast, grey, blur, low resolution, noise."""
    x = img.astype(np.float32)
    if rng.random() < 0.2:  # dim light: a dark, low-contrast face (gamma), then sensor noise
        x = 255 * (x / 255) ** rng.uniform(1.3, 2.2) * rng.uniform(0.5, 0.9)
        x += rng.normal(0, rng.uniform(1, 5), x.shape)
    x = (x - 128) * rng.uniform(0.7, 1.3) + 128 + rng.uniform(-35, 35)
    x *= rng.uniform(0.85, 1.15, 3)
    if rng.random() < 0.1:
        x[:] = x.mean(axis=2, keepdims=True)
    x = np.clip(x, 0, 255)
    if rng.random() < 0.3:
        x = cv2.GaussianBlur(x, (0, 0), rng.uniform(0.4, 1.2))
    if rng.random() < 0.3:
        f = rng.uniform(0.35, 0.7)
        small = cv2.resize(x, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
        x = cv2.resize(small, img.shape[1::-1], interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.3:
        x += rng.normal(0, rng.uniform(2, 8), x.shape)
    return np.clip(x, 0, 255).astype(np.uint8)


def sample(
    ctx: np.ndarray,
    pts: np.ndarray,
    labels: np.ndarray,
    rng: np.random.Generator,
    other: np.ndarray | None,
    donors: synth.Donors | None = None,
    kinds: frozenset[str] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One augmented training crop; with `other`, a generated occluder (or a transplant from
    `donors`; only `kinds` if given) relabels what it covers."""
    face = jitter_face(pts, rng, 1.0)
    lab = labels.copy()
    if other is not None:
        for _ in range(1 if rng.random() < 0.8 else 2):
            occ = synth.occlude(ctx, face, rng, other, donors=donors, kinds=kinds)
            ctx = occ.image
            lab = np.array(synth.region_labels(occ.coverage, tuple(int(v) for v in lab)), np.int8)
    x = face_crop(ctx, face)
    if rng.random() < 0.5:
        x, lab = x[:, ::-1], lab[SWAP]
    return photometric(np.ascontiguousarray(x), rng), lab


def training_donors(data: dict[str, np.ndarray], train: np.ndarray) -> synth.Donors:
    """Training photos the transplants cut real material from (never validation or test):
    sunglasses wearers (audited labels), mask wearers, and clean faces with clear eyes."""
    src, lab = data["source"][train], data["labels"][train]
    eyes = lab[:, [REGIONS.index("left_eye"), REGIONS.index("right_eye")]]
    return synth.Donors(
        images=data["context"],
        points=data["points"],
        sunglasses=train[(src == "sunglasses") & (eyes == 1).all(axis=1)],
        masks=train[(src == "masks_with") & (lab[:, REGIONS.index("nose")] == 1)],
        clean=train[np.isin(src, CLEAN_SOURCES) & (eyes == 0).all(axis=1)],
    )


def build_epoch(
    data: dict[str, np.ndarray],
    train: np.ndarray,
    rng: np.random.Generator,
    synth_share: float,
    mined: np.ndarray | None = None,
    donors: synth.Donors | None = None,
    masked_share: float = 0.0,
    hard_more: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Every training image once (sunglasses, the scarcest real positive, four times; clean
    faces with beards, glasses, hats ..., with `hard_more` blurry and older ones too, and the
    mined hard negatives three times) plus
    generated occlusions on clean faces (and, `masked_share` of them, glasses, lenses and eye
    shades on real mask photos: a mask with sunglasses must name all four)."""
    src = data["source"]
    order = list(train) + [i for i in train if src[i] == "sunglasses"] * 3
    hard = train[(data["hard"] | (data["hard_more"] & hard_more))[train]]
    if mined is not None:
        hard = np.union1d(hard, mined)
    order += list(hard) * 2
    clean = train[np.isin(src[train], CLEAN_SOURCES)]
    masked = train[src[train] == "masks_with"]
    n_synth = int(len(order) * synth_share)
    n_masked = int(n_synth * masked_share)
    xs, ys = [], []
    for i in order:
        x, y = sample(data["context"][i], data["points"][i], data["labels"][i], rng, None)
        xs.append(x)
        ys.append(y)
    targets = [(int(i), None) for i in rng.choice(clean, n_synth - n_masked)]
    targets += [(int(i), synth.EYE_KINDS) for i in rng.choice(masked, n_masked)]
    for i, kinds in targets:
        j = int(rng.choice(train))  # textures are cut from training photos only
        x, y = sample(data["context"][i], data["points"][i], data["labels"][i], rng,
                      data["context"][j], donors, kinds)
        xs.append(x)
        ys.append(y)
    return np.stack(xs), np.stack(ys).astype(np.float32)


def mine_hard_negatives(model, data: dict[str, np.ndarray], train: np.ndarray,  # type: ignore[no-untyped-def]
                        labels: np.ndarray, p_min: float) -> np.ndarray:
    """Training faces (never validation or test) on which the current model calls a region
    that is labelled clear blocked with p >= p_min: they are seen more often from then on."""
    core = [REGIONS.index(r) for r in CORE]
    crops = eval_crops(data, train)
    p = model.predict(crops, batch_size=256, verbose=0)
    clear = labels[train][:, core] == 0
    return train[((p[:, core] >= p_min) & clear).any(axis=1)]


def eval_crops(data: dict[str, np.ndarray], idx: np.ndarray) -> np.ndarray:
    return np.stack(
        [face_crop(data["context"][i], od.face_from_points(data["points"][i])) for i in idx]
    )


# --- model -------------------------------------------------------------------------------------


def build_model(tf, head: int = 24, hidden: int = 0):  # type: ignore[no-untyped-def]
    """`head` channels per 4x4 cell feed the region heads, through a `hidden` dense layer if
    given (more capacity where the eyes are told from lenses, for a few hundred bytes of
    compute)."""
    L = tf.keras.layers
    inp = L.Input((FACE.out[1], FACE.out[0], 3), name="face")
    x = L.Rescaling(1 / 255.0)(inp)

    def block(x, ch, stride):  # type: ignore[no-untyped-def]
        x = L.DepthwiseConv2D(3, stride, padding="same", use_bias=False)(x)
        x = L.BatchNormalization()(x)
        x = L.ReLU(6.0)(x)
        x = L.Conv2D(ch, 1, use_bias=False)(x)
        x = L.BatchNormalization()(x)
        return L.ReLU(6.0)(x)

    x = L.Conv2D(16, 3, 2, padding="same", use_bias=False)(x)  # 32x32
    x = L.BatchNormalization()(x)
    x = L.ReLU(6.0)(x)
    x = block(x, 32, 2)  # 16x16
    x = block(x, 48, 1)
    x = block(x, 64, 2)  # 8x8
    x = block(x, 96, 1)
    x = block(x, 96, 2)  # 4x4: each cell still knows where on the face it is
    x = L.Conv2D(head, 1, activation="relu")(x)
    x = L.Flatten()(x)
    x = L.Dropout(0.2)(x)
    if hidden:
        x = L.Dense(hidden, activation="relu")(x)
        x = L.Dropout(0.2)(x)
    out = L.Dense(len(REGIONS), activation="sigmoid", name="p_blocked")(x)
    return tf.keras.Model(inp, out)


def masked_bce(tf, eye_pos_weight: float = 1.0):  # type: ignore[no-untyped-def]
    """BCE over known labels only; blocked eyes (the scarce real positives) may weigh more."""
    eyes = np.array([r in ("left_eye", "right_eye") for r in REGIONS], np.float32)
    extra = tf.constant((eye_pos_weight - 1.0) * eyes)

    def loss(y_true, y_pred):  # type: ignore[no-untyped-def]
        known = tf.cast(y_true >= 0, tf.float32)
        y = tf.clip_by_value(y_true, 0.0, 1.0)
        p = tf.clip_by_value(y_pred, 1e-6, 1 - 1e-6)
        bce = -(y * tf.math.log(p) + (1 - y) * tf.math.log(1 - p))
        weight = known * (1.0 + y * extra)
        return tf.reduce_sum(bce * weight) / tf.maximum(tf.reduce_sum(known), 1.0)

    return loss


def training_labels(data: dict[str, np.ndarray], without_mask_eyes_unknown: bool) -> np.ndarray:
    """Labels the loss sees. `occlusion/masks/without_mask` only promises no mask: some of its
    people wear sunglasses, so its eye labels may be left out of training. Evaluation keeps the
    recorded labels (the clean-face false-block numbers stay comparable).

    Off by default: measured (seed 7, 28 epochs) it made the eye heads fire on many more clean
    faces, so the validation threshold rose to 0.75 and mask recall fell to 88%/93% (nose/mouth);
    with the validation rule ignoring the same labels, threshold 0.36 gave 6-8% eye false blocks
    on clean test faces."""
    labels = data["labels"].copy()
    if without_mask_eyes_unknown:
        rows = data["source"] == "masks_without"
        for r in ("left_eye", "right_eye"):
            labels[rows, REGIONS.index(r)] = od.UNKNOWN
    return labels


def to_int8(tf, model, rep: np.ndarray) -> bytes:  # type: ignore[no-untyped-def]
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([r[None].astype(np.float32)] for r in rep)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    return bytes(conv.convert())


class KioskRunner:
    """Scores crops through the kiosk's own RegionModel (same quantisation, mirroring, order)."""

    def __init__(self, path: Path, thresholds: dict[str, float] | None = None) -> None:
        from kiosk.vision.manifest import ModelSpec
        from kiosk.vision.regions import RegionModel
        from kiosk.vision.runtime import TFLiteModel

        spec = ModelSpec(
            MODEL_NAME,
            path.name,
            sha256_of(path),
            (1, FACE.out[1], FACE.out[0], 3),
            "int8",
            {"regions": list(REGIONS), "reported": list(CORE), "threshold": OPERATING_POINT,
             "thresholds": thresholds or {}},
        )
        self.model = RegionModel(TFLiteModel(spec, path.parent, num_threads=1))

    def __call__(self, crops: np.ndarray) -> np.ndarray:
        return np.array([[self.model.predict_all(c)[r] for r in REGIONS] for c in crops])

    def latency_ms(self, crop_: np.ndarray, n: int = 1000) -> dict[str, float]:
        """Per face: one invoke, and what the kiosk runs (crop and mirror, two invokes)."""
        x = crop_[None].astype(np.float32)
        for _ in range(50):
            self.model.predict_crop(crop_)
        t = time.perf_counter()
        for _ in range(n):
            self.model.model.run(x)
        single = (time.perf_counter() - t) / n * 1000
        t = time.perf_counter()
        for _ in range(n):
            self.model.predict_crop(crop_)
        return {"invoke": single, "predict": (time.perf_counter() - t) / n * 1000}


# --- evaluation --------------------------------------------------------------------------------


def rates(p: np.ndarray, labels: np.ndarray, thr: float) -> dict[str, dict[str, float | int]]:
    """Per region: recall on blocked, false-block rate on clear (unknown labels skipped)."""
    out: dict[str, dict[str, float | int]] = {}
    for k, r in enumerate(REGIONS):
        pos, neg = labels[:, k] == 1, labels[:, k] == 0
        out[r] = {
            "n_blocked": int(pos.sum()),
            "recall": float((p[pos, k] >= thr).mean()) if pos.any() else float("nan"),
            "n_clear": int(neg.sum()),
            "false_block": float((p[neg, k] >= thr).mean()) if neg.any() else float("nan"),
        }
    return out


def false_block_any(p: np.ndarray, labels: np.ndarray, thr: dict[str, float]) -> float:
    """Share of faces with a core region labelled clear and named blocked (any of them)."""
    core = [REGIONS.index(r) for r in CORE]
    t = np.array([thr[r] for r in CORE])
    clear = labels[:, core] == 0
    judged = clear.any(axis=1)
    hit = ((p[:, core] >= t) & clear).any(axis=1)
    return float(hit[judged].mean()) if judged.any() else float("nan")


def pick_thresholds(p: np.ndarray, labels: np.ndarray, max_fb: float) -> dict[str, float]:
    """Per core region, on validation faces: the lowest threshold (not below THRESHOLD_FLOOR)
    whose false-block rate is within a budget b, the same b for every region, with b the
    largest that keeps the share of clean faces with *any* region named within max_fb.
    The two eyes share one threshold (their false blocks pooled): the model treats them alike
    through mirroring, and a few hundred faces would otherwise set them apart by noise."""
    groups = [("left_eye", "right_eye"), ("nose",), ("mouth",)]
    for b in np.arange(max_fb, -1e-9, -max_fb / 20):
        thr = {}
        for group in groups:
            neg = np.concatenate([p[labels[:, REGIONS.index(r)] == 0, REGIONS.index(r)]
                                  for r in group])
            cands = [t for t in np.arange(THRESHOLD_FLOOR, 0.951, 0.01)
                     if (neg >= t).mean() <= b + 1e-12]
            thr.update(dict.fromkeys(group, round(float(cands[0]), 2) if cands else 0.95))
        if false_block_any(p, labels, thr) <= max_fb:
            return thr
    return dict.fromkeys(CORE, 0.95)


def per_source(p: np.ndarray, data: dict[str, np.ndarray], idx: np.ndarray, thr: float):  # type: ignore[no-untyped-def]
    return {
        s: rates(p[data["source"][idx] == s], data["labels"][idx][data["source"][idx] == s], thr)
        for s in sorted(set(data["source"][idx]))
    }


def write_card(models: Path, report: dict, args: argparse.Namespace) -> None:  # type: ignore[type-arg]
    from ai_edge_litert import __version__ as litert_version

    text = occlusion_card.render(
        report,
        list(REGIONS),
        list(CORE),
        {
            "face": f"{FACE.out[0]}x{FACE.out[1]} RGB, {FACE.size[0]} eye distances wide",
            "runtime": litert_version,
            "max_false_block": args.max_false_block,
            "window_s": WINDOW_S,
            "blocked_at": synth.BLOCKED_AT,
            "clear_below": synth.CLEAR_BELOW,
            "synth_share": args.synth_share,
            "mine_from": args.mine_from,
            "mine_p": args.mine_p,
            "epochs": args.epochs,
            "threshold_floor": THRESHOLD_FLOOR,
            "threads": args.threads,
            "seed": args.seed,
        },
    )
    (models / "occlusion.md").write_text(text)


# --- outputs -----------------------------------------------------------------------------------


def write_manifest(models: Path, entry: dict[str, object]) -> None:
    """Replace this model's table where it stands (or add it at the end); other entries are
    left byte-for-byte."""
    path = models / "manifest.toml"
    text = path.read_text()
    lines = [f"[{MODEL_NAME}]"]
    for k, v in entry.items():
        if isinstance(v, dict):  # a TOML inline table
            v = "{ " + ", ".join(f"{a} = {json.dumps(b)}" for a, b in v.items()) + " }"
        else:
            v = json.dumps(v)
        lines.append(f"{k} = {v}")
    table = "\n".join(lines) + "\n"
    pattern = re.compile(rf"^\[{MODEL_NAME}\]\n(?:(?!\n\[).)*?\n(?=\n\[|\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: table, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + table
    path.write_text(text)


def train(
    args: argparse.Namespace,
    data: dict[str, np.ndarray],
    train_idx: np.ndarray,
    val: np.ndarray,
    out: Path,
) -> int:
    """Fit the Keras model, convert it to full int8 at `out`; returns the parameter count."""
    import tensorflow as tf

    tf.random.set_seed(args.seed)
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    t0 = time.time()
    rng = np.random.default_rng(args.seed)
    model = build_model(tf, args.head, args.hidden)
    steps = args.epochs * int(np.ceil(len(train_idx) * 1.6 * (1 + args.synth_share) / 64))
    sched = tf.keras.optimizers.schedules.CosineDecay(3e-3, steps, alpha=0.02)
    model.compile(tf.keras.optimizers.Adam(sched), masked_bce(tf, args.eye_pos_weight))
    xv, yv = eval_crops(data, val), data["labels"][val].astype(np.float32)
    tdata = {**data, "labels": training_labels(data, args.without_mask_eyes_unknown)}
    donors = training_donors(tdata, train_idx) if args.transplants else None
    if not args.shades:
        for kind in ("brim_shadow", "eye_shadow"):
            synth.MAKERS.pop(kind, None)
    if donors is not None:
        log.info("transplant donors: %d sunglasses, %d masks, %d clean",
                 len(donors.sunglasses), len(donors.masks), len(donors.clean))
    mined = None
    for epoch in range(args.epochs):
        if args.mine_from and epoch >= args.mine_from and (epoch - args.mine_from) % 4 == 0:
            mined = mine_hard_negatives(model, data, train_idx, tdata["labels"], args.mine_p)
            log.info("mined %d hard negatives from the training faces", len(mined))
        x, y = build_epoch(tdata, train_idx, rng, args.synth_share, mined, donors,
                           args.masked_share, args.hard_more)
        h = model.fit(
            x, y, batch_size=64, epochs=1, shuffle=True, verbose=0, validation_data=(xv, yv)
        )
        log.info(
            "epoch %d/%d: loss %.4f val %.4f (%d samples, %.0f s)",
            epoch + 1,
            args.epochs,
            h.history["loss"][0],
            h.history["val_loss"][0],
            len(x),
            time.time() - t0,
        )
    rep_rng = np.random.default_rng(args.seed + 1)
    rep = build_epoch(tdata, train_idx, rep_rng, args.synth_share)[0][:400]
    out.write_bytes(to_int8(tf, model, rep))
    return int(model.count_params())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", "--datasets", dest="datasets", type=Path,
                    default=ROOT.parent / "shared" / "datasets")
    ap.add_argument("--work", type=Path, default=ROOT / "build" / "occlusion")
    ap.add_argument("--models", type=Path, default=ROOT / "models")
    ap.add_argument("--epochs", type=int, default=28)
    ap.add_argument("--synth-share", type=float, default=0.8, help="generated samples per real one")
    ap.add_argument("--max-false-block", type=float, default=0.01, help="on val, per core region")
    ap.add_argument(
        "--without-mask-eyes-unknown",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="leave without_mask eye labels out of the loss (that set has sunglasses wearers)",
    )
    # 1.5 (32 epochs) measured: eye false blocks 1.1-1.3%, but validation threshold 0.56 and
    # mask recall 93% on test; 2 (with the option above): threshold 0.84, mask nose 81%
    ap.add_argument("--eye-pos-weight", type=float, default=1.0, help="loss weight, blocked eyes")
    ap.add_argument("--mine-from", type=int, default=8,
                    help="from this epoch on, every 4 epochs, re-mine hard clean training faces")
    ap.add_argument("--mine-p", type=float, default=0.3, help="p(blocked) that makes one hard")
    # the shipped model was trained with all of the following off (their defaults); the
    # candidates that turned them on were not kept (models/occlusion_candidates.md)
    ap.add_argument("--transplants", action=argparse.BooleanOptionalAction, default=False,
                    help="also paste real lenses and masks cut from other training photos")
    ap.add_argument("--shades", action=argparse.BooleanOptionalAction, default=False,
                    help="brim and eye-socket shades as clear-eyed negatives")
    ap.add_argument("--masked-share", type=float, default=0.0,
                    help="share of generated samples put on real mask photos (eye occluders)")
    ap.add_argument("--hard-more", action=argparse.BooleanOptionalAction, default=False,
                    help="blurry and older CelebA faces are hard clean faces too")
    ap.add_argument("--head", type=int, default=24, help="channels per cell into the heads")
    ap.add_argument("--hidden", type=int, default=0, help="a hidden dense layer before the heads")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--evaluate-only",
        action="store_true",
        help="keep the existing .tflite; re-measure, rewrite manifest entry and card",
    )
    ap.add_argument(
        "--train-only",
        action="store_true",
        help="write the candidate to --work and stop: nothing held-out is scored, nothing "
        "installed (judge it on validation with models/occlusion_compare.py)",
    )
    ap.add_argument(
        "--install",
        action="store_true",
        help="take the candidate --train-only left in --work: thresholds, held-out scoring, "
        "manifest and card",
    )
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    t0 = time.time()
    random.seed(args.seed)
    np.random.seed(args.seed)
    cv2.setNumThreads(1)

    from kiosk.vision.detector import FaceDetector
    from kiosk.vision.manifest import load_manifest
    from kiosk.vision.runtime import TFLiteModel

    detector = FaceDetector(TFLiteModel(load_manifest(args.models)["face_detector"], args.models))
    data = od.build_cache(args.datasets, detector, args.work / "contexts.npz")
    split = data["split"]
    train_idx, val, test = (np.where(split == s)[0] for s in od.SPLITS)
    real_eval = data["source"] != "maskedfacenet"
    val, test = val[real_eval[val]], test[real_eval[test]]
    log.info("items: train %d, val %d, test %d", len(train_idx), len(val), len(test))

    report_path = args.work / "report.json"
    trained = args.work / "train.json"
    if args.evaluate_only:
        out = args.models / MODEL_FILE
        params, minutes = (json.loads(trained.read_text())[k] for k in ("params", "minutes"))
    elif args.install:  # the candidate trained before with --train-only
        out = args.work / MODEL_FILE
        params, minutes = (json.loads(trained.read_text())[k] for k in ("params", "minutes"))
    else:  # a candidate in the work folder; installed into models/ once measured
        out = args.work / MODEL_FILE
        params = train(args, data, train_idx, val, out)
        minutes = (time.time() - t0) / 60
        trained.write_text(json.dumps({"params": params, "minutes": minutes}))
        if args.train_only:
            log.info("candidate in %s (%.1f min); judge it with models/occlusion_compare.py",
                     out, minutes)
            return 0

    xv, xt = eval_crops(data, val), eval_crops(data, test)
    # thresholds from the raw heads on validation faces only; then every number is measured
    # the way the kiosk runs the model (heads rescaled onto the common operating point)
    # false blocks are counted on the clean sources only, as in the goals: a mask photo's eyes
    # or a sunglasses selfie's mouth are not known to be clear (hands, drinks, second masks)
    clean_val = np.isin(data["source"][val], CLEAN_SOURCES)
    thresholds = pick_thresholds(
        KioskRunner(out)(xv[clean_val]), data["labels"][val][clean_val], args.max_false_block
    )
    runner = KioskRunner(out, thresholds)
    thr = OPERATING_POINT
    p_val, p_test = runner(xv), runner(xt)
    latency = runner.latency_ms(xv[0])
    machine = f"{platform.machine()}, {platform.processor() or 'cpu'}, {os.cpu_count()} cores"
    log.info("thresholds %s; held-out evaluation through the kiosk's vision stack", thresholds)
    heldout = occlusion_eval.evaluate(
        args.datasets, occlusion_eval.kiosk_pipeline(args.models, runner.model), thr
    )
    report = {
        "threshold": thr,
        "thresholds": thresholds,
        "val_any": false_block_any(
            p_val[clean_val], data["labels"][val][clean_val], dict.fromkeys(CORE, thr)
        ),
        "val": per_source(p_val, data, val, thr),
        "test": per_source(p_test, data, test, thr),
        "heldout": heldout,
        "size_bytes": out.stat().st_size,
        "latency_ms": latency["predict"],
        "invoke_ms": latency["invoke"],
        "machine": machine,
        "params": params,
        "train_minutes": minutes,
        "counts": {
            f"{s}/{sp}": int(((data["source"] == s) & (split == sp)).sum())
            for s in sorted(set(data["source"]))
            for sp in od.SPLITS
        },
        "listed": [str(v) for v in data["listed_by_source"]],
        "listed_total": int(data["listed"][0]),
        "kept_total": len(data["split"]),
        "mask_chin_named": float(
            (p_test[data["source"][test] == "masks_with", REGIONS.index("chin")] >= thr).mean()
        ),
    }
    report_path.write_text(json.dumps(report, indent=1))
    if out != args.models / MODEL_FILE:
        shutil.copyfile(out, args.models / MODEL_FILE)
    write_manifest(
        args.models,
        {
            "file": MODEL_FILE,
            "sha256": sha256_of(out),
            "input_shape": [1, FACE.out[1], FACE.out[0], 3],
            "input_dtype": "int8",
            "quantization": "full int8 (weights, activations, input, output)",
            "input": "crops.FACE of the RGB frame, pixels 0..255 quantised with the input scale",
            "outputs": "p_blocked [1,6] int8, dequantise, rescale per region; order = regions",
            "regions": list(REGIONS),
            "reported": list(CORE),
            "threshold": thr,
            "thresholds": thresholds,
            "card": "occlusion.md",
            "licence": "trained on research-only data: see occlusion.md",
        },
    )
    write_card(args.models, report, args)
    log.info("wrote %s (%d bytes), thresholds %s, %.3f ms; report in %s",
             out, report["size_bytes"], thresholds, latency["predict"], report_path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
