"""Train the region occlusion model: one small int8 CNN on the aligned face crop, a head per region.

    PYTHONPATH=. python models/train_occlusion.py [--data ../shared/datasets]

Reads real images (faces, masks, sunglasses, NUAA live frames) and synthetic region-labelled
masks, pastes generated occluders onto clean training faces (models/occlusion_synth.py),
trains with a loss that ignores unknown labels, converts to full-int8 TFLite, picks the
threshold on the validation split, measures the test split (real images only), and writes
models/occlusion_regions.tflite, its manifest entry and the model card models/occlusion.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import random
import re
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
) -> tuple[np.ndarray, np.ndarray]:
    """One augmented training crop; with `other`, a generated occluder relabels what it covers."""
    face = jitter_face(pts, rng, 1.0)
    lab = labels.copy()
    if other is not None:
        for _ in range(1 if rng.random() < 0.8 else 2):
            occ = synth.occlude(ctx, face, rng, other)
            ctx = occ.image
            lab = np.array(synth.region_labels(occ.coverage, tuple(int(v) for v in lab)), np.int8)
    x = face_crop(ctx, face)
    if rng.random() < 0.5:
        x, lab = x[:, ::-1], lab[SWAP]
    return photometric(np.ascontiguousarray(x), rng), lab


def build_epoch(
    data: dict[str, np.ndarray], train: np.ndarray, rng: np.random.Generator, synth_share: float
) -> tuple[np.ndarray, np.ndarray]:
    """Every training image once (sunglasses, the scarcest real positive, four times) plus
    generated occlusions on clean faces."""
    src = data["source"]
    order = list(train) + [i for i in train if src[i] == "sunglasses"] * 3
    clean = train[np.isin(src[train], CLEAN_SOURCES)]
    n_synth = int(len(order) * synth_share)
    xs, ys = [], []
    for i in order:
        x, y = sample(data["context"][i], data["points"][i], data["labels"][i], rng, None)
        xs.append(x)
        ys.append(y)
    for i in rng.choice(clean, n_synth):
        j = int(rng.choice(train))  # textures are cut from training photos only
        x, y = sample(
            data["context"][i], data["points"][i], data["labels"][i], rng, data["context"][j]
        )
        xs.append(x)
        ys.append(y)
    return np.stack(xs), np.stack(ys).astype(np.float32)


def eval_crops(data: dict[str, np.ndarray], idx: np.ndarray) -> np.ndarray:
    return np.stack(
        [face_crop(data["context"][i], od.face_from_points(data["points"][i])) for i in idx]
    )


# --- model -------------------------------------------------------------------------------------


def build_model(tf):  # type: ignore[no-untyped-def]
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
    x = L.Conv2D(24, 1, activation="relu")(x)
    x = L.Flatten()(x)
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

    def __init__(self, path: Path) -> None:
        from kiosk.vision.manifest import ModelSpec
        from kiosk.vision.regions import RegionModel
        from kiosk.vision.runtime import TFLiteModel

        spec = ModelSpec(
            MODEL_NAME,
            path.name,
            sha256_of(path),
            (1, FACE.out[1], FACE.out[0], 3),
            "int8",
            {"regions": list(REGIONS)},
        )
        self.model = RegionModel(TFLiteModel(spec, path.parent, num_threads=1))

    def __call__(self, crops: np.ndarray, mirror: bool = True) -> np.ndarray:
        if mirror:
            return np.array([[self.model.predict_all(c)[r] for r in REGIONS] for c in crops])
        return np.stack(
            [self.model.model.run(c[None].astype(np.float32))[0].reshape(-1) for c in crops]
        )

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


def pick_threshold(p: np.ndarray, labels: np.ndarray, max_fb: float) -> float:
    """Lowest threshold at which every core region's false-block rate on val is within max_fb."""
    for thr in np.arange(0.05, 0.96, 0.01):
        r = rates(p, labels, float(thr))
        if all(r[c]["false_block"] <= max_fb for c in CORE):
            return round(float(thr), 2)
    return 0.95


def per_source(p: np.ndarray, data: dict[str, np.ndarray], idx: np.ndarray, thr: float):  # type: ignore[no-untyped-def]
    return {
        s: rates(p[data["source"][idx] == s], data["labels"][idx][data["source"][idx] == s], thr)
        for s in sorted(set(data["source"][idx]))
    }


def summarise(
    report: dict, p_test: np.ndarray, data: dict[str, np.ndarray], test: np.ndarray
) -> None:  # type: ignore[type-arg]
    """Goal numbers: real masks / sunglasses recall, clean-face false blocks, weaknesses."""
    thr = report["threshold"]
    src, labels = data["source"][test], data["labels"][test]
    clean = np.isin(src, CLEAN_SOURCES)
    report["clean_test"] = rates(p_test[clean], labels[clean], thr)
    masks, sun_raw = src == "masks_with", src == "sunglasses"
    sun = sun_raw & (labels[:, REGIONS.index("left_eye")] == 1)
    k = {r: REGIONS.index(r) for r in REGIONS}
    blocked = p_test >= thr
    report["goals"] = {
        "n_masks": int(masks.sum()),
        "n_sun": int(sun.sum()),
        "mask_nose": float(blocked[masks, k["nose"]].mean()),
        "mask_mouth": float(blocked[masks, k["mouth"]].mean()),
        "mask_chin_named": float(blocked[masks, k["chin"]].mean()),
        "sun_left": float(blocked[sun, k["left_eye"]].mean()),
        "sun_right": float(blocked[sun, k["right_eye"]].mean()),
        "sun_both": float((blocked[sun, k["left_eye"]] & blocked[sun, k["right_eye"]]).mean()),
        "n_sun_raw": int(sun_raw.sum()),
        "sun_left_raw": float(blocked[sun_raw, k["left_eye"]].mean()),
        "sun_right_raw": float(blocked[sun_raw, k["right_eye"]].mean()),
    }
    g = report["goals"]
    notes = []
    missed = [
        f"{name} {100 * g[key]:.1f}%"
        for key, name in (
            ("mask_nose", "mask nose recall"),
            ("mask_mouth", "mask mouth recall"),
            ("sun_left", "sunglasses left-eye recall"),
            ("sun_right", "sunglasses right-eye recall"),
        )
        if g[key] < 0.95
    ]
    missed += [
        f"{r} false block {100 * report['clean_test'][r]['false_block']:.1f}%"
        for r in CORE
        if report["clean_test"][r]["false_block"] > 0.02
    ]
    if missed:
        notes.append(
            "- **Goals missed:** " + "; ".join(missed) + ". The sunglasses set is small "
            f"({g['n_sun']} test images from two scraped folders, with cartoons, "
            "collages, several faces and tiny faces); a per-frame miss is partly "
            "recovered by the session's time window only if the next frames score higher."
        )
    nuaa = report["test"].get("nuaa", {})
    if nuaa:
        worst = max(nuaa[r]["false_block"] for r in ("left_eye", "right_eye"))
        notes.append(
            f"- Clear glasses: NUAA test subjects (several wear glasses) get up to "
            f"{100 * worst:.1f}% eye false blocks per frame; thick dark frames and "
            "glare on lenses are the usual cause. Photochromic lenses are a grey zone."
        )
    notes += [
        "- The clean sets are not fully clean: viewing the eye false blocks on clean test "
        "faces (first training run, 35 of 1490) showed about a third are people wearing real "
        "sunglasses inside `occlusion/masks/without_mask` (that set only promises no mask), "
        "about half are frames of one NUAA test subject with thick dark glasses frames, the "
        "rest a hat brim shading the eyes, a cartoon, very dark or profile faces. The "
        "false-block rates above count them all as errors.",
        "- Real blocked examples exist only for masks and sunglasses. Hands, phones, hair, "
        "scarves and single-eye occlusions are learnt from generated occluders only; their "
        "real recall is unmeasured (only the fixture tests check one real-photo case each).",
        "- Labels of the real sets are per image, not per region: a mask photo is assumed to "
        "have both nose and mouth covered (masks worn under the nose count as misses), a "
        "sunglasses photo both eyes. The masks set is dominated by East-Asian faces, the "
        "sunglasses set by young women's selfies; darker skin tones are under-represented.",
        "- Source bias: with_mask and without_mask come from different collections (crop "
        "style, resolution); splitting by source group limits but does not remove it.",
        "- Strong profile poses and faces smaller than about 30 px between the eyes were not "
        "evaluated separately; the kiosk's POSITION stage keeps people frontal and close.",
        f"- `forehead`/`chin` are not reported (see above). Chin is named on "
        f"{100 * g['mask_chin_named']:.1f}% of real mask test images.",
    ]
    report["weaknesses"] = "\n".join(notes)


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
            "threads": args.threads,
            "seed": args.seed,
        },
    )
    (models / "occlusion.md").write_text(text)


# --- outputs -----------------------------------------------------------------------------------


def write_manifest(models: Path, entry: dict[str, object]) -> None:
    """Replace (or add) only this model's table; other entries are left byte-for-byte."""
    path = models / "manifest.toml"
    text = path.read_text()
    text = re.sub(rf"\n\[{MODEL_NAME}\]\n(?:(?!\n\[).)*", "", text, flags=re.S).rstrip("\n") + "\n"
    lines = [f"\n[{MODEL_NAME}]"]
    for k, v in entry.items():
        lines.append(f"{k} = {json.dumps(v)}")
    path.write_text(text + "\n".join(lines) + "\n")


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
    model = build_model(tf)
    steps = args.epochs * int(np.ceil(len(train_idx) * 1.4 * (1 + args.synth_share) / 64))
    sched = tf.keras.optimizers.schedules.CosineDecay(3e-3, steps, alpha=0.02)
    model.compile(tf.keras.optimizers.Adam(sched), masked_bce(tf, args.eye_pos_weight))
    xv, yv = eval_crops(data, val), data["labels"][val].astype(np.float32)
    tdata = {**data, "labels": training_labels(data, args.without_mask_eyes_unknown)}
    for epoch in range(args.epochs):
        x, y = build_epoch(tdata, train_idx, rng, args.synth_share)
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
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--evaluate-only",
        action="store_true",
        help="keep the existing .tflite; re-measure, rewrite manifest entry and card",
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
    data = od.build_cache(args.datasets, detector, args.work / "cache.npz")
    split = data["split"]
    train_idx, val, test = (np.where(split == s)[0] for s in od.SPLITS)
    real_eval = data["source"] != "maskedfacenet"
    val, test = val[real_eval[val]], test[real_eval[test]]
    log.info("items: train %d, val %d, test %d", len(train_idx), len(val), len(test))

    out = args.models / MODEL_FILE
    report_path = args.work / "report.json"
    if args.evaluate_only:
        old = json.loads(report_path.read_text())
        params, minutes = old["params"], old["train_minutes"]
    else:
        params = train(args, data, train_idx, val, out)
        minutes = (time.time() - t0) / 60

    runner = KioskRunner(out)
    xv, xt = eval_crops(data, val), eval_crops(data, test)
    p_val = runner(xv)
    thr = pick_threshold(p_val, data["labels"][val], args.max_false_block)
    p_test = runner(xt)
    latency = runner.latency_ms(xv[0])
    # the same measurement without the mirrored second pass, to justify paying for it
    p_val1 = runner(xv, mirror=False)
    thr1 = pick_threshold(p_val1, data["labels"][val], args.max_false_block)
    p_test1 = runner(xt, mirror=False)
    single = {"threshold": thr1, "test": per_source(p_test1, data, test, thr1)}
    summarise(single, p_test1, data, test)
    machine = f"{platform.machine()}, {platform.processor() or 'cpu'}, {os.cpu_count()} cores"
    report = {
        "threshold": thr,
        "val": per_source(p_val, data, val, thr),
        "test": per_source(p_test, data, test, thr),
        "test_all": rates(p_test, data["labels"][test], thr),
        "size_bytes": out.stat().st_size,
        "latency_ms": latency["predict"],
        "invoke_ms": latency["invoke"],
        "single_pass": {k: single[k] for k in ("threshold", "clean_test", "goals")},
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
    }
    summarise(report, p_test, data, test)
    report_path.write_text(json.dumps(report, indent=1))
    write_manifest(
        args.models,
        {
            "file": MODEL_FILE,
            "sha256": sha256_of(out),
            "input_shape": [1, FACE.out[1], FACE.out[0], 3],
            "input_dtype": "int8",
            "quantization": "full int8 (weights, activations, input, output)",
            "input": "crops.FACE of the RGB frame, pixels 0..255 quantised with the input scale",
            "outputs": "p_blocked [1,6] int8, dequantise; order = regions",
            "regions": list(REGIONS),
            "reported": list(CORE),
            "threshold": thr,
            "card": "occlusion.md",
            "licence": "trained on research-only data: see occlusion.md",
        },
    )
    write_card(args.models, report, args)
    log.info(
        "wrote %s (%d bytes), threshold %.2f, %.3f ms; report in %s",
        out,
        report["size_bytes"],
        thr,
        latency["predict"],
        report_path,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
