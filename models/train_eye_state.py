"""Train, quantise, evaluate and publish the eye-state model (p(closed) of one eye crop).

Usage (train extra; about 10 minutes on 2 CPU cores; needs the ZJU per-frame cache of
models/blink_features.py, built on first use):
    python models/train_eye_state.py [--data ../shared/datasets] [--epochs 30]

Every source is split three ways by group (person where the source has identities): the
shipped model is trained on the training groups only, its operating threshold is chosen on
the validation groups, and the test groups are scored once with that threshold. Writes
models/eye_state.tflite (full int8, uint8 in/out), its [eye_state] entry in
models/manifest.toml and the model card models/eye_state.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import platform
import random
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "models")]

import eye_data as data  # noqa: E402

from kiosk.vision.detector import FaceDetector  # noqa: E402
from kiosk.vision.manifest import load_manifest  # noqa: E402
from kiosk.vision.runtime import TFLiteModel  # noqa: E402

log = logging.getLogger("train_eye_state")

SEED = 1234
BATCH = 2  # both eyes of a face in one invoke
DEFAULT_THRESHOLD = 0.5  # used when the held-out runs are skipped
WIDTHS = (16, 32, 64, 72)
# CelebA open eyes are the only crops in exact kiosk geometry; weighting them down keeps the
# model from learning "kiosk framing = open" (there are no kiosk-geometry closed eyes).
SOURCE_WEIGHT = {"cew": 1.0, "closeups": 1.0, "celeba": 0.5, "zju": 1.0}
PER_EPOCH = 8000
MANIFEST_ENTRY = """[eye_state]
file = "eye_state.tflite"
sha256 = "{sha256}"
input_shape = [{batch}, {size}, {size}, 1]
input_dtype = "uint8"
quantization = "full int8; uint8 input = raw grey pixels (scale 1, zero 0), uint8 output"
outputs = "p(closed) [2,1]: one row per EYE_STATE crop (greyscale), left eye first"
threshold = {threshold:.4f}
licence = "trained here on research-only data (CEW, close-ups, CelebA, ZJU training people)"
"""


def set_seeds(tf: object) -> None:
    random.seed(SEED)
    np.random.seed(SEED)
    tf.keras.utils.set_random_seed(SEED)  # type: ignore[attr-defined]


def build(tf: object, batch: int | None = None) -> object:
    k = tf.keras  # type: ignore[attr-defined]
    x = inp = k.Input((data.SIZE, data.SIZE, 1), batch_size=batch)
    x = k.layers.Rescaling(1 / 255.0)(x)  # the model takes raw uint8 pixels
    for i, filters in enumerate(WIDTHS):
        x = k.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = k.layers.BatchNormalization()(x)
        x = k.layers.ReLU()(x)
        if i < len(WIDTHS) - 1:
            x = k.layers.MaxPooling2D()(x)
    x = k.layers.GlobalAveragePooling2D()(x)
    x = k.layers.Dropout(0.3)(x)
    out = k.layers.Dense(1, activation="sigmoid")(x)
    return k.Model(inp, out)


def weights_for(samples: list[data.Sample]) -> np.ndarray:
    """Half the draws closed, half open; within a class sources weigh SOURCE_WEIGHT."""
    cells: dict[tuple[int, str], int] = {}
    for s in samples:
        cells[(s.label, s.source)] = cells.get((s.label, s.source), 0) + 1
    per_label = {lab: sum(SOURCE_WEIGHT[src] for (lb, src) in cells if lb == lab)
                 for lab in (0, 1)}
    return np.array([0.5 * SOURCE_WEIGHT[s.source] / per_label[s.label]
                     / cells[(s.label, s.source)] for s in samples])


def train(tf: object, samples: list[data.Sample], epochs: int) -> object:
    set_seeds(tf)
    k = tf.keras  # type: ignore[attr-defined]
    model = build(tf)
    steps = PER_EPOCH // 64
    sched = k.optimizers.schedules.CosineDecay(3e-3, epochs * steps, alpha=0.02)
    model.compile(optimizer=k.optimizers.Adam(sched), loss="binary_crossentropy",
                  metrics=["accuracy"])
    rng = np.random.default_rng(SEED)
    w = weights_for(samples)
    for epoch in range(epochs):
        xs, ys = zip(*data.batches(samples, w, PER_EPOCH, PER_EPOCH, rng), strict=True)
        hist = model.fit(xs[0], ys[0], batch_size=64, epochs=1, verbose=0)
        log.info("epoch %d/%d loss %.4f acc %.4f", epoch + 1, epochs,
                 hist.history["loss"][0], hist.history["accuracy"][0])
    return model


def to_int8(tf: object, model: object, samples: list[data.Sample]) -> bytes:
    """Full-int8 TFLite with uint8 input (raw pixels) and uint8 output, batch of 2."""
    fixed = build(tf, BATCH)  # same layers with a fixed batch of 2 in the graph
    fixed.set_weights(model.get_weights())  # type: ignore[attr-defined]
    conv = tf.lite.TFLiteConverter.from_keras_model(fixed)  # type: ignore[attr-defined]
    rng = np.random.default_rng(SEED + 1)
    picks = rng.choice(len(samples), 400, replace=False)

    def representative():  # type: ignore[no-untyped-def]
        for i in range(0, len(picks), BATCH):
            pair = [samples[j] for j in picks[i:i + BATCH]]
            aug = rng if i % 4 else None
            yield [np.stack([data.render(s, aug) for s in pair])[..., None].astype(np.float32)]

    conv.optimizations = [tf.lite.Optimize.DEFAULT]  # type: ignore[attr-defined]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]  # type: ignore[attr-defined]
    conv.inference_input_type = tf.uint8  # type: ignore[attr-defined]
    conv.inference_output_type = tf.uint8  # type: ignore[attr-defined]
    return bytes(conv.convert())


def interpreter(blob: bytes) -> object:
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=blob, num_threads=1)
    interp.allocate_tensors()
    return interp


def predict(blob: bytes, x: np.ndarray) -> np.ndarray:
    """p(closed) for uint8 inputs N x 32 x 32 x 1 through the int8 model."""
    interp = interpreter(blob)
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]  # type: ignore[attr-defined]
    scale, zero = out["quantization"]
    n = len(x)
    padded = np.concatenate([x, x[: n % BATCH]]) if n % BATCH else x
    probs = []
    for i in range(0, len(padded), BATCH):
        interp.set_tensor(inp["index"], padded[i:i + BATCH])  # type: ignore[attr-defined]
        interp.invoke()  # type: ignore[attr-defined]
        probs.append((interp.get_tensor(out["index"]).astype(np.float32) - zero) * scale)  # type: ignore[attr-defined]
    return np.concatenate(probs).reshape(-1)[:n]


def roc_auc(y: np.ndarray, p: np.ndarray) -> float:
    """Probability that a random closed eye scores above a random open one (ties half)."""
    pos, neg = p[y == 1], p[y == 0]
    if not len(pos) or not len(neg):
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (len(pos) * len(neg)))


def pick_threshold(y: np.ndarray, p: np.ndarray) -> float:
    """The threshold (1/256 steps, like the uint8 output) maximising the worse class accuracy."""
    grid = np.arange(1, 256) / 256
    worst = [min(float((p[y == 0] < t).mean()), float((p[y == 1] >= t).mean())) for t in grid]
    return float(grid[int(np.argmax(worst))])


def metrics(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, float]:
    pred = p >= threshold
    out = {"n_open": int((y == 0).sum()), "n_closed": int((y == 1).sum())}
    if out["n_open"]:
        out["acc_open"] = float((~pred[y == 0]).mean())
    if out["n_closed"]:
        out["acc_closed"] = float(pred[y == 1].mean())
    out["auc"] = roc_auc(y, p)
    return out


def latency_ms(blob: bytes, repeats: int = 3000) -> float:
    """Median ms per crop (one batch-of-2 invoke / 2), one thread."""
    interp = interpreter(blob)
    inp = interp.get_input_details()[0]  # type: ignore[attr-defined]
    x = np.random.default_rng(0).integers(0, 256, inp["shape"], dtype=np.uint8)
    interp.set_tensor(inp["index"], x)  # type: ignore[attr-defined]
    for _ in range(200):
        interp.invoke()  # type: ignore[attr-defined]
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        interp.invoke()  # type: ignore[attr-defined]
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000 / BATCH


def sunglasses_probe(blob: bytes, root: Path, detector: FaceDetector) -> dict[str, float]:
    """What an open/closed model says about eyes behind sunglasses (for the card)."""
    import cv2

    crops = []
    for path in sorted((root / "occlusion" / "sunglasses" / "images").glob("*/*.jpg")):
        rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        faces = detector.detect(rgb)
        if len(faces) != 1 or faces[0].eye_distance < 20:
            continue
        for name, spec in data.EYE_STATE.items():
            del name
            crops.append(cv2.cvtColor(data.crop(rgb, faces[0], spec), cv2.COLOR_RGB2GRAY))
    p = predict(blob, np.stack(crops)[..., None])
    return {"n": len(p), "open": float((p < 0.4).mean()), "closed": float((p > 0.6).mean()),
            "between": float(((p >= 0.4) & (p <= 0.6)).mean())}


def update_manifest(path: Path, entry: str) -> None:
    text = path.read_text() if path.exists() else ""
    # Drop an old [eye_state] table wherever it is, keep every other table untouched.
    text = re.sub(r"\[eye_state\]\n(?:(?!\n\[).)*", "", text, flags=re.S)
    text = re.sub(r"\n{3,}", "\n\n", text).rstrip("\n")
    path.write_text(text + "\n\n" + entry)


def fmt(m: dict[str, float]) -> str:
    parts = [f"open {m['acc_open']:.2%} (n={m['n_open']})" if "acc_open" in m else "",
             f"closed {m['acc_closed']:.2%} (n={m['n_closed']})" if "acc_closed" in m else "",
             f"ROC AUC {m['auc']:.4f}" if m["auc"] == m["auc"] else ""]
    return ", ".join(p for p in parts if p)


def fold_models(tf: object, others: list[data.Sample], zju_samples: list[data.Sample],
                folds: list[list[str]], epochs: int) -> None:
    """Cross-fitting for the blink benchmark: for each fold of non-test ZJU people, a model
    trained like the shipped one but without that fold's people (the non-test ZJU people of
    the other folds and the other sources' training groups), so that every non-test person
    is scored by a model that never saw them. Written to the benchmark's FOLD_DIR with
    folds.json (folds, epochs, seed, sha256) and reused while those are unchanged."""
    import blink_bench

    out = blink_bench.FOLD_DIR
    out.mkdir(parents=True, exist_ok=True)
    index = out / "folds.json"
    want = {"epochs": epochs, "seed": SEED, "folds": folds}
    old = json.loads(index.read_text()) if index.is_file() else {}
    paths = [out / f"fold{k}.tflite" for k in range(len(folds))]
    if {key: old.get(key) for key in want} == want and all(
            p.is_file() and hashlib.sha256(p.read_bytes()).hexdigest() == d
            for p, d in zip(paths, old.get("sha256", [""] * len(paths)), strict=True)):
        log.info("fold models up to date in %s", out)
        return
    digests = []
    for held, path in zip(folds, paths, strict=True):
        pool = others + [s for s in zju_samples if s.group.split("/", 1)[1] not in held]
        log.info("fold model without %s", ", ".join(held))
        blob = to_int8(tf, train(tf, pool, epochs), pool)
        path.write_bytes(blob)
        digests.append(hashlib.sha256(blob).hexdigest())
    index.write_text(json.dumps({**want, "sha256": digests}, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets")
    ap.add_argument("--models", type=Path, default=ROOT / "models")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--folds-only", action="store_true",
                    help="train the cross-fitting fold models only (for the blink benchmark)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import blink_bench
    import tensorflow as tf
    import zju

    tf.config.threading.set_intra_op_parallelism_threads(2)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    started = time.time()

    spec = load_manifest(args.models)["face_detector"]
    detector = FaceDetector(TFLiteModel(spec, args.models))
    zju_roles = blink_bench.split({c.person for c in zju.load_clips(args.data)})
    sources = {
        "cew": data.load_cew(args.data),
        "closeups": data.load_closeups(args.data),
        "celeba": data.load_celeba(args.data, detector.detect),
        "zju": data.load_zju(args.data, set(zju_roles)),
    }
    parts: dict[str, dict[str, list[data.Sample]]] = {r: {} for r in blink_bench.ROLES}
    for name, samples in sources.items():
        for r in blink_bench.ROLES:
            parts[r][name] = [s for s in samples if data.role(s.group, zju_roles) == r]
    counts = {r: {n: (sum(s.label == 0 for s in v), sum(s.label == 1 for s in v))
                  for n, v in parts[r].items()} for r in parts}
    log.info("samples (open, closed) per split and source: %s", counts)

    train_set = [s for v in parts["train"].values() for s in v]
    others = [s for n, v in parts["train"].items() if n != "zju" for s in v]
    non_test = [s for s in sources["zju"] if data.role(s.group, zju_roles) != "test"]
    fold_models(tf, others, non_test, blink_bench.folds(zju_roles), args.epochs)
    if args.folds_only:
        return 0
    blob = to_int8(tf, train(tf, train_set, args.epochs), train_set)
    preds = {r: {n: (data.stack(v)[1], predict(blob, data.stack(v)[0]))
                 for n, v in parts[r].items() if v} for r in ("validation", "test")}
    # the operating threshold comes from the validation groups only
    threshold = pick_threshold(np.concatenate([y for y, _ in preds["validation"].values()]),
                               np.concatenate([p for _, p in preds["validation"].values()]))
    results: dict[str, dict[str, dict[str, float]]] = {}
    for r, by_source in preds.items():
        for label, t in (("", threshold), (" @0.5", 0.5)):
            for name, (y, p) in by_source.items():
                m = metrics(y, p, t)
                results.setdefault(r + label, {})[name] = m
                log.info("%s%s %s at %.3f: %s", r, label, name, t, fmt(m))

    out = args.models / "eye_state.tflite"
    out.write_bytes(blob)
    digest = hashlib.sha256(blob).hexdigest()
    lat = latency_ms(blob)
    probe = sunglasses_probe(blob, args.data, detector)
    x, y = data.stack(train_set)
    train_fit = metrics(y, predict(blob, x), threshold)
    log.info("shipped model: %d bytes, %.4f ms/crop, train fit %s, sunglasses %s",
             len(blob), lat, fmt(train_fit), probe)

    update_manifest(args.models / "manifest.toml", MANIFEST_ENTRY.format(
        sha256=digest, batch=BATCH, size=data.SIZE, threshold=threshold))
    card = card_text(results, threshold, len(blob), lat, probe, train_fit, counts,
                     zju_roles, args.epochs, time.time() - started)
    (args.models / "eye_state.md").write_text(card)
    log.info("wrote %s (%s), manifest and card in %.0f s", out, digest[:12], time.time() - started)
    return 0


def card_text(results: dict[str, dict[str, dict[str, float]]], threshold: float,
              size: int, lat: float, probe: dict[str, float], train_fit: dict[str, float],
              counts: dict[str, dict[str, tuple[int, int]]], zju_roles: dict[str, str],
              epochs: int, seconds: float) -> str:
    from eye_card import render_card

    return render_card(results=results, size=size, latency_ms=lat, probe=probe,
                       train_fit=train_fit, counts=counts, zju_roles=zju_roles, epochs=epochs,
                       seconds=seconds,
                       machine=f"{platform.processor() or platform.machine()}, "
                               f"{_cpu_name()}, {os.cpu_count()} cores",
                       threshold=threshold, fmt=fmt)


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


if __name__ == "__main__":
    sys.exit(main())
