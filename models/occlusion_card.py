"""Writes the model card models/occlusion.md from the recipe's report, and the candidates page."""

from __future__ import annotations

import math
from typing import Any

SOURCES = {
    "masks_with": "occlusion/masks/with_mask (real masks: nose + mouth blocked)",
    "sunglasses": "occlusion/sunglasses/images (real sunglasses: both eyes blocked)",
    "celeba": "faces/celeba (clean; eyes unknown if Eyeglasses=1, forehead unknown if hat/bangs)",
    "masks_without": "occlusion/masks/without_mask (clean)",
    "nuaa": "spoof/nuaa/ClientRaw (clean live frames, some with clear glasses)",
    "maskedfacenet": "occlusion/maskedfacenet (SYNTHETIC masks; training only)",
}


def _pct(v: float) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:.1f}%"


def _cell(r: dict[str, Any], key: str, n: str) -> str:
    return "–" if not r[n] else f"{_pct(r[key])} (n={r[n]})"


def table(split: dict[str, dict[str, dict[str, Any]]], regions: list[str]) -> str:
    rows = ["| source | " + " | ".join(regions) + " |", "|---" * (len(regions) + 1) + "|"]
    for src, per in split.items():
        if any(per[r]["n_blocked"] for r in regions):
            rows.append(
                f"| {src}: recall on blocked | "
                + " | ".join(_cell(per[r], "recall", "n_blocked") for r in regions)
                + " |"
            )
        if any(per[r]["n_clear"] for r in regions):
            rows.append(
                f"| {src}: false block on clear | "
                + " | ".join(_cell(per[r], "false_block", "n_clear") for r in regions)
                + " |"
            )
    return "\n".join(rows)


def _rate(t: dict[str, Any]) -> str:
    return f"{t['k']}/{t['n']} = {_pct(t['rate'])} [{_pct(t['lo'])}, {_pct(t['hi'])}]"


def _verdict(t: dict[str, Any], goal: float, at_least: bool = False) -> str:
    """Met only when the whole 95% interval is on the right side of the goal."""
    if not t["n"]:
        return "not measured"
    sure = t["lo"] >= goal if at_least else t["hi"] <= goal
    point = t["rate"] >= goal if at_least else t["rate"] <= goal
    return "yes" if sure else "point estimate only (n too small)" if point else "**no**"


def goal_rows(h: dict[str, Any]) -> str:
    g = h["goals"]
    rows = [
        ("masks: nose and mouth named", g["masks: nose and mouth named"], 0.95, True),
        ("sunglasses: both eyes named", g["sunglasses: both eyes named"], 0.95, True),
        ("clean faces: any region falsely named (overall)", h["overall"], 0.01, False),
        ("clear glasses: eyes called covered", h["clear_glasses"], 0.05, False),
    ]
    return "\n".join(
        f"| {name} | {_rate(t)} | {'>=' if up else '<='} {_pct(goal)} | {_verdict(t, goal, up)} |"
        for name, t, goal, up in rows
    )


def subgroup_rows(h: dict[str, Any], goal: float = 0.02) -> str:
    out = []
    for name, t in h["groups"].items():
        found = h["found"].get(name)
        seen = f"{found['k']}/{found['n']}" if found else "–"
        who = "person" if t["units"] == 1 else "people"
        people = f" ({t['units']} {who})" if t["units"] else ""
        which = ", ".join(f"{r} {k}" for r, k in sorted(t.get("named", {}).items())) or "–"
        out.append(f"| {name}{people} | {seen} | {_rate(t)} | {which} | {_verdict(t, goal)} |")
    return "\n".join(out)


def candidate_rows(judged: dict[str, dict[str, Any]]) -> str:
    """One row per candidate judged on validation by models/occlusion_compare.py."""
    out = []
    for name, j in judged.items():
        c, s = j["candidate"], j["shipped"]
        name = f"{name}: {j['what']}" if j.get("what") else name
        failed = ", ".join(k for k, ok in j["rule"].items() if not ok) or "–"
        thr = ", ".join(f"{r} {t}" for r, t in c["thresholds"].items())
        out.append(
            f"| {name} | {c['sunglasses_miss']}/{c['sunglasses_n']} ({s['sunglasses_miss']}) | "
            f"{c['masks_miss']}/{c['masks_n']} ({s['masks_miss']}) | "
            f"{c['clean_fb']}/{c['clean_n']} ({s['clean_fb']}) | "
            f"{c['hard_fb']}/{c['hard_n']} ({s['hard_fb']}) | "
            f"{c['glasses_fb']}/{c['glasses_n']} ({s['glasses_fb']}) | {thr} | "
            f"{'**kept**' if j['keep'] else 'not kept'} | {failed} |")
    return "\n".join(out)


KEEP_RULE = """\
Keep rule (all must hold; written down and committed before the first candidate was trained):
K1 at least 4 fewer misses over sunglasses and masks together; K2 no more sunglasses misses
and at most 1 more mask miss; K3 at most 1 more false block on the hard clean faces (CelebA
beard, goatee, moustache, sideburns, hat, blurry, not young; masks/without_mask); K4 at most 1
more clear-glasses face with an eye named; K5 `predict_crop` at most 25% slower."""


def candidates_page(judged: dict[str, dict[str, Any]], ceiling: dict[str, Any] | None,
                    note: str = "") -> str:
    """models/occlusion_candidates.md: retrained region models judged on validation only, kept
    or not, and what a perfect region model could reach on training/validation photos."""
    kept = [name for name, j in judged.items() if j["keep"]]
    verdict = (f"Kept: {', '.join(kept)}." if kept else
               "**None was kept**: the shipped model stays; the test split was not scored again.")
    ceil = "" if ceiling is None else f"""
## Ceiling (training and validation photos)

How much of the two goals of `occlusion.md` a perfect region model could reach through the
kiosk's detector stack, measured on the *training and validation* photos of the masks and
sunglasses collections (the test photos may not be looked at). A face not found is a miss
whatever the region model says; so is a photo whose audited label says the person does not
wear what the folder promises (no sunglasses on the largest face; a mask under the nose).

| | rate |
|---|---|
{plain_rows(ceiling)}
"""
    header = ("| candidate | sunglasses missed | masks missed | clean faces named "
              "| hard clean named | clear glasses named | thresholds | verdict | failed |")
    return f"""# Region occlusion model: retrained candidates (validation only)

Written by `models/occlusion_compare.py --page` from its verdicts; nothing below is typed by
hand and nothing below is held-out. Each candidate was trained by `models/train_occlusion.py
--train-only` and judged against the shipped model (`occlusion.md`), both at thresholds from
the recipe's own rule, on the audited validation split (faces the training detector found).

{KEEP_RULE}

{verdict}

{header}
|---|---|---|---|---|---|---|---|---|
{candidate_rows(judged)}

In brackets: the shipped model. Misses: sunglasses without both eyes named; masks without nose
and mouth named (mouth alone where the mask is worn under the nose).{" " + note if note else ""}
{ceil}"""


def plain_rows(section: dict[str, Any]) -> str:
    return "\n".join(f"| {name} | {_rate(t)} |" for name, t in section.items())


def render(
    report: dict[str, Any], regions: list[str], reported: list[str], args: dict[str, Any]
) -> str:
    thr = report["threshold"]
    h = report["heldout"]
    counts = report["counts"]
    count_rows = "\n".join(
        f"| {SOURCES.get(s, s)} | {counts.get(f'{s}/train', 0)} | {counts.get(f'{s}/val', 0)} | "
        f"{counts.get(f'{s}/test', 0)} |"
        for s in SOURCES
    )
    thresholds = ", ".join(f"{r} {t}" for r, t in report["thresholds"].items())
    failing = [n for n, t in h["groups"].items() if t["n"] and t["rate"] > 0.02]
    unproven = [n for n, t in h["groups"].items() if t["n"] and t["rate"] <= 0.02 < t["hi"]]
    g = h["goals"]
    zju = h["zju_clips"]
    return f"""# Region occlusion model (`occlusion_regions.tflite`)

Says, for each named region of the face, how likely it is **blocked** (subject's point of view:
`left_eye` is the person's own left eye). Written by `models/train_occlusion.py` from its own
measurements; nothing below is typed by hand.

## Which numbers are held-out and which are in-sample

- **Held-out** (scored once, after every choice was made): the test splits of the training
  collections and five sets the model never trained on (UTKFace, MeGlass, UCI-OFD, ZJU
  eyeblink clips; NUAA test subjects are people never trained on). The test splits were drawn
  from images that the *previous* recipe used for training, because that recipe tuned its
  hyperparameters and audited labels on its own test split; that old test split is training
  data now. Masks and sunglasses have no real source other than their training collections:
  their test images are other source groups (masks) and other scrape folders (sunglasses) of
  the same collections.
- **In-sample**: the validation split. The per-region thresholds are chosen on it, and the
  hard-negative mining and label audits use training (mining) and training + validation
  (audits) images only. Validation numbers are shown only to explain the thresholds.

## Model

- One small CNN (depthwise-separable, {report["params"]:,} parameters) on the aligned face crop
  `kiosk.vision.crops.FACE` ({args["face"]}), one sigmoid head per region in this order:
  `{", ".join(regions)}`. Full int8 (weights, activations, int8 input and output).
- Why one multi-head model on the face instead of one model per region crop: one invoke per
  frame instead of six, and the heads see the context that separates a worn mask (nose and
  mouth together, mask edges on the cheeks) from a hand, or sunglasses from clear glasses.
  Large faces are cut at a multiple of the size and area-averaged down
  (`kiosk.vision.regions.face_crop`, used by the recipe too), so glasses frames and hair
  do not alias. The eyes share weights through mirroring: every training crop is flipped at
  random with the left/right labels swapped; at run time each crop is scored as is and
  mirrored and the two are averaged.
- Size **{report["size_bytes"]:,} bytes**. Latency per face: **{report["latency_ms"]:.3f} ms** for
  `RegionModel.predict_crop` (quantise, two invokes, average), {report["invoke_ms"]:.3f} ms per
  single invoke (LiteRT {args["runtime"]}, 1 thread, {report["machine"]}, a shared machine),
  measured by the recipe; `kiosk bench` gives the per-frame figure of the whole pipeline.
- Reported regions (what `RegionModel.predict` returns): `{", ".join(reported)}`. The
  `forehead` and `chin` heads are trained (on generated occluders and synthetic
  MaskedFace-Net masks) and kept in the file but **not reported**: no real image here has a
  labelled blocked forehead or chin (real mask photos leave the chin unlabelled, hats and
  bangs are not occlusion labels), so their recall on real faces cannot be measured. For the
  record, the chin head fires on {_pct(report["mask_chin_named"])} of the real mask test faces.
- **Operating point.** Thresholds per region, chosen on validation faces: {thresholds}.
  Rule: the same false-block budget for every region, the largest budget that keeps the share
  of clean validation faces with *any* region named within {_pct(args["max_false_block"])}
  (in-sample: {_pct(report["val_any"])}), never below {args["threshold_floor"]}. The model's
  outputs are rescaled per region (`thresholds` in the manifest) so that every region is named
  at the common operating point **{thr}** (config `occlusion.threshold`); the session averages
  p over {args["window_s"]} s before naming anything.
- The rule was revised once *after* the held-out numbers had been seen: it first counted
  false blocks on every validation photo, including the eyes of mask photos and the mouths of
  sunglasses selfies, which are not known to be clear. It now counts the clean sources only,
  as the goals do. The first rule put the eye threshold much higher (fewer false blocks and
  less sunglasses recall on held-out faces). So the held-out numbers below have been looked
  at once before this final choice.

## Goals on held-out data, counted over every image

Every photo goes through the kiosk's vision stack (`kiosk.vision.stack.build`: the face
detector(s) on main, then this model); a face the kiosk does not find counts as a miss.
Rates with their 95% Wilson interval; a goal counts as met only when the whole interval is
on the right side of it.

| goal | measured | goal | met |
|---|---|---|---|
{goal_rows(h)}

- Masks: face found on {_rate(g["masks: face found"])} of the mask test photos; given a face,
  nose {_rate(g["masks: nose named"])}, mouth {_rate(g["masks: mouth named"])} (over all
  photos). Eyes named as well on {_rate(g["masks: eyes named too"])}.
- Sunglasses: face found on {_rate(g["sunglasses: face found"])}; at least one eye named on
  {_rate(g["sunglasses: an eye named"])}. The test folders are web-scraped selfies and were
  not looked at: some show no face, several faces, cartoons or no sunglasses on the largest
  face, and all of them count. Nose or mouth named too on
  {_rate(g["sunglasses: nose or mouth named too"])} (hands, drinks and scarves are in those
  selfies; not checked).
- Clear glasses = ZJU clips with thin or black-framed glasses (an eye named at any moment of
  the ~5 s clip, smoothed as the session does), MeGlass black-framed glasses photos and NUAA
  test frames with glasses: {h["clear_glasses"]["units"]} people.

## False blocks per subgroup (held-out clean faces)

A clean face is falsely blocked when any reported region is named. "found" = faces the
kiosk's detector found; only found faces can be falsely blocked. CelebA test = images 1-800
(never trained on; the subset has no identities, so the same person may also appear in
training). CelebA `Eyeglasses` mixes clear glasses and sunglasses and test images may not be
audited, so that row judges nose and mouth only. UTKFace has 20 photos per race and gender.

Goal: <= 2% in every subgroup. "point estimate only" means the measured rate is within 2% but
the 95% interval reaches above it: **a subgroup of a few dozen faces cannot show a 2% rate**
(with 0 false blocks in n faces the upper bound is about 3.7/n).

| subgroup | found | falsely blocked [95% CI] | regions named | <= 2%? |
|---|---|---|---|---|
{subgroup_rows(h)}

Over every held-out clean still (every row above that is not a subset of another):
{_rate(h["overall"])}. Per region: {", ".join(f"{r} {_pct(t['rate'])} (n={t['n']})"
                                            for r, t in h["regions"].items())}.

Subgroups above 2%: {", ".join(failing) or "none"}.
Within 2% but not shown to be (interval above 2%): {", ".join(unproven) or "none"}.

## Video clips and occluded faces (held-out)

ZJU eyeblink clips (20 people, about 5 s each, 320x240), played through the session's
`OcclusionCheck` ({args["window_s"]} s window): clips in which any region was named at any
moment, and smoothed per-frame false blocks.

| condition | clips with a region named | frames falsely blocked |
|---|---|---|
""" + "\n".join(
        f"| {c} | {_rate(zju[c])} | {_rate(h['zju_frames'][c])} |"
        for c in ("FNN", "FTN", "FBN", "UNN") if c in zju
    ) + f"""

(FNN frontal without glasses, FTN thin glasses, FBN black-framed glasses, UNN camera looking up.)

UCI-OFD group photos (each annotated face cut out with its surroundings; `occ_level` from the
annotations: 0 visible, 1 occluded, 2 an inner part covered by something other than glasses,
mostly hands). "A region named" counts over all faces of that level: a missed face names
nothing. There are no per-region labels, so this is not a recall of a named region.

| UCI-OFD | rate |
|---|---|
{plain_rows(h["uci"])}

## Crop-level results per source (faces found by the training detector)

Test split (held-out):

{table(report["test"], regions)}

Validation split (in-sample: the thresholds were chosen on it):

{table(report["val"], regions)}

## Data and splits

Faces are found with the kiosk's own BlazeFace detector (largest face; tight crops are retried
with a border) and cut with the kiosk's crop geometry. {report["listed_total"]} images listed,
{report["kept_total"]} with a usable face. Labels per region: 1 blocked, 0 clear, unknown (ignored
by the loss and by the evaluation). Splits (no group in two splits):

| source | train | val | test |
|---|---|---|---|
{count_rows}

- masks: split by source group from the file name (celebrity name of video frames, weibo
  user id, `Screenshot_`/`OIP_`/... prefix, or blocks of 50 consecutive numbers), hashed.
- sunglasses: by source folder (`selfies_2`, `selfies_4` test; `selfies_5` validation).
- NUAA: by subject (0003, 0006, 0009 test; 0001, 0008 validation).
- CelebA: by index block (1-800 test, 801-1100 validation).
- Label audits (training and validation images only): 22 sunglasses training photos whose
  largest face wears no sunglasses get unknown eyes; the 98 training/validation CelebA photos
  with `Eyeglasses` were viewed and labelled sunglasses (eyes blocked), clear glasses (eyes
  clear) or unsure (unknown) (`occlusion_data.CELEBA_SUNGLASSES` / `CELEBA_CLEAR_GLASSES`).
- Generated occluders are pasted only onto **training** faces, with textures cut only from
  training photos.

## Training

- Clean training faces that look a bit like an occlusion (CelebA beard, goatee, moustache,
  stubble, sideburns, glasses, hat, bushy eyebrows, pale skin) are seen three times per epoch.
- Hard-negative mining: from epoch {args["mine_from"]} on, every 4 epochs, the training faces
  on which the model names a region labelled clear with p >= {args["mine_p"]} are seen three
  times per epoch too (training images only).
- Occluder generator (`models/occlusion_synth.py`): pastes one or two occluders onto a clean
  real training face and labels each region by the fraction of its `REGION_BOXES` box covered
  (measured through the same crop function): blocked if >= {args["blocked_at"]}, clear if <
  {args["clear_below"]}, unknown in between; a region the occluder misses keeps its real label.
  Occluders: hand silhouettes, phones, paper/cards, bottles, scarves, hair strands, hats, face
  masks of any colour and height, sunglasses (sometimes one lens), single dark lenses, blobs,
  shapes cut from other real photos; plus **clear glasses** from thin metal to thick dark
  frames, sometimes with glare, always labelled clear (a frame is not an occluder).
  {args["synth_share"]:.1f} generated samples per real one per epoch.
- Every crop also gets keypoint jitter (detector noise), mirroring, exposure, colour, grey,
  dim light (gamma), blur, low resolution and noise.
- {args["epochs"]} epochs, {report["train_minutes"]:.1f} min on {args["threads"]} CPU threads of
  a shared machine (seed {args["seed"]}).

## Weaknesses

- Real blocked examples exist only for masks and sunglasses. Hands, phones, hair, scarves and
  single-eye occlusions are learnt from generated occluders only; their per-region recall on
  real photos is unmeasured (UCI-OFD above says how often *something* is named).
- Labels of the real sets are per image, not per region: a mask photo is assumed to have nose
  and mouth covered (masks worn under the nose count as misses), a sunglasses photo both eyes.
- The masks set is dominated by East-Asian faces, the sunglasses set by young women's
  selfies; UTKFace is only 20 photos per race and gender. Small subgroups cannot show the 2%
  goal (see the intervals).
- Source bias: with_mask and without_mask come from different collections (crop style,
  resolution); splitting by source group limits but does not remove it.
- Thresholds are chosen on single photos; the session's 0.5 s window averages frames, which
  lowers per-frame noise (see the ZJU rows) but was not used to set them.

## Licence of the training data

Trained on research-only / unclear-rights images (CelebA non-commercial, NUAA research use,
scraped mask and sunglasses photos, MaskedFace-Net CC BY-NC-SA). The weights are fit for
development and evaluation; check the data terms before any commercial deployment.
"""
