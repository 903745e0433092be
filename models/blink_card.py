"""The blink-detection card (models/blink.md), written from a run of models/blink_bench.py."""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

RATES = (30, 15, 8)
TEST_HEAD = ("| fps | condition | F1 | precision | recall | found / labelled | false "
             "| F1 first | precision first | recall first | found first | false first |\n"
             "|---|---|---|---|---|---|---|---|---|---|---|---|")
ABLATION_HEAD = ("| defaults, changed | worst cond. F1 15-30 | mean F1 | F1 30 | F1 15 | F1 8 "
                 "| printed photos blinking | dinoman | live NUAA with blinks |\n"
                 "|---|---|---|---|---|---|---|---|---|")
CONDITIONS = {"FNN": "frontal, no glasses", "FTN": "frontal, thin glasses",
              "FBN": "frontal, black-frame glasses", "UNN": "camera from below, no glasses"}


def _cpu() -> str:
    from kiosk.bench import machine

    m = machine()
    return f"{m['cpu']}, {m['cores']} cores"


def _cell(c: Any) -> str:
    return f"{c.f1:.3f} | {c.precision:.3f} | {c.recall:.3f} | {c.tp}/{c.tp + c.fn} | {c.fp}"


def _f1s(res: Any) -> str:
    return " / ".join(f"{res.get('all', 'all', r).f1:.3f}" for r in RATES)


def _alignment_summary(table: Path) -> str:
    with table.open() as f:
        rows = list(csv.DictReader(f))

    def stat(key: str) -> str:
        v = np.array([float(r[key]) for r in rows])
        return f"median {np.median(v):.2f} (min {v.min():.2f})"

    inserted = [int(r["decoded_frames"]) - int(r["annotator_frames"]) for r in rows]
    last = [int(r["lag_last"]) for r in rows]
    weak = sorted((float(r["check_corr"]), r["clip"]) for r in rows)[:5]
    return (
        f"{len(rows)} clips; {min(inserted)}-{max(inserted)} inserted frames per clip; the lag "
        f"grows from {min(int(r['lag_first']) for r in rows)}-"
        f"{max(int(r['lag_first']) for r in rows)} frames at the first label to "
        f"{min(last)}-{max(last)} at the last. Check (per-clip correlation of the eye-state "
        f"model's p(closed), not used to align, with the aligned labels): "
        f"{stat('check_corr')}; one constant lag per clip would give "
        f"{stat('check_corr_constant_lag')}, dropping the most repeat-like frames "
        f"{stat('check_corr_dedup')}. Least certain: "
        + ", ".join(f"{n} ({c:.2f})" for c, n in weak) + "."
    )


def render(*, ranked: Sequence[Any], chosen: dict[str, object], dev: dict[str, Any],
           val: dict[str, Any], test: dict[str, Any], estimate: Any,
           picks: Sequence[dict[str, object]], roles: dict[str, str],
           fold_people: Sequence[Sequence[str]], checks: dict[str, Any],
           clips: Sequence[Any], causes: dict[int, dict[str, int]],
           offsets: dict[int, dict[str, float]], learned: tuple[Any, Sequence[Any]],
           goal: Callable[[Any], tuple[float, float]],
           seconds: float, mesh_ms: float) -> str:
    people = {r: sorted(p for p, v in roles.items() if v == r)
              for r in ("train", "validation", "test")}
    n_blinks = {r: sum(len(c.blinks) for c in clips if roles[c.person] == r) for r in people}
    shipped, first, second = test["shipped"], test["first"], test["second"]
    from kiosk.config import LivenessConfig

    close_min = LivenessConfig().close_min_s

    def worst(res: Any) -> float:
        return min(res.get("condition", k, r).f1 for k in CONDITIONS for r in (15, 30))

    def rows(res: Any, before: Any) -> str:
        out = []
        for rate in RATES:
            for key, name in [*CONDITIONS.items(), ("all", "**all**")]:
                kind = "all" if key == "all" else "condition"
                c, b = res.get(kind, key, rate), before.get(kind, key, rate)
                label = name if key == "all" else f"{key} ({name})"
                out.append(f"| {rate} | {label} | {_cell(c)} | {_cell(b)} |")
        return "\n".join(out)

    person_rows = "\n".join(
        f"| {p} | " + " | ".join(f"{shipped.get('person', p, r).f1:.3f} "
                                 f"({first.get('person', p, r).f1:.3f})" for r in RATES) + " |"
        for p in people["test"])

    def summary(res: Any) -> str:
        return (" | ".join(f"{v:.3f}" for v in goal(res)) + " | "
                + " | ".join(f"{res.get('all', 'all', r).f1:.3f}" for r in RATES))

    keys = list(ranked[0].kw)
    search_rows = "\n".join(
        "| " + " | ".join(str(o.kw[k]) for k in keys) + f" | {'yes' if o.safe else '**no**'} | "
        + summary(o.result()) + " |" for o in ranked[:10])
    is_best = all(ranked[0].kw[k] == chosen[k] for k in keys)

    def safety(c: dict[str, tuple[int, int, int]]) -> str:
        imp, live = c["ImposterRaw"], c["ClientRaw"]
        return f"{imp[1]} of {imp[0]} | {c['dinoman'][2]} | {live[1]} of {live[0]}"

    ablation_rows = "\n".join(
        f"| {'(nothing: the defaults)' if name == 'defaults' else name} | {summary(res)} | "
        f"{safety(checks[name])} |" for name, res in dev.items())
    cause_rows = "\n".join(f"| {cause} | " + " | ".join(str(causes[r][cause]) for r in causes)
                            + " |" for cause in next(iter(causes.values())))
    offset_rows = "\n".join(
        f"| {r} | {o['n']} | {o['q5']:.0f} / {o['q25']:.0f} / {o['q50']:.0f} / {o['q75']:.0f} / "
        f"{o['q95']:.0f} | {o['mean']:.0f} | {o['within']:.1%} |" for r, o in offsets.items())
    bands = ", ".join(f"{o} / {c}" for o, c in learned[1])
    pick_text = "; ".join(", ".join(f"{k} {v}" for k, v in kw.items()) for kw in picks)
    n_dev = sum(n_blinks[r] for r in ("train", "validation"))
    imp, live = checks["defaults"]["ImposterRaw"], checks["defaults"]["ClientRaw"]
    table = Path(__file__).with_name("zju_alignment.csv")
    return f"""# Blink detection (`kiosk/vision/blink.py`)

Event accuracy of the kiosk's blink detector on people it was never tuned on. Written by
`models/blink_bench.py --test` (run time {seconds / 60:.1f} min on {_cpu()}); every number
below comes from that run.

## Result on the test people (third scoring)

Leave-person-out: {len(people['test'])} test people, {n_blinks['test']} labelled blinks in their
clips, scored with the kiosk defaults. **This is the third scoring of these test people**, and
no choice in any round was made from their numbers:

1. the first round's defaults, scored once at the end of that round (recomputed by this run:
   the last column group);
2. this round's first freeze, chosen on the {len(people['train']) + len(people['validation'])}
   dev people below: the same as the defaults but with blinks seen closed up to 0.7 s (cycle
   1.1 s). Recomputed by this run: worst condition {worst(second):.3f}, F1 {_f1s(second)} at
   30 / 15 / 8 fps. It was withdrawn after that scoring because the liveness "Close your
   eyes" cue, which landed meanwhile, takes eyes shut for `close_min_s` ({close_min} s) as
   its answer: a closure of {close_min}-0.7 s would have been a blink as well. Blinks now stay
   at most {chosen['max_closed_s']} s closed, the best dev choice under that constraint;
3. the shipped defaults (this table).

Worst per-condition F1 at 15 and 30 fps: **{worst(shipped):.3f}** (first scoring
{worst(first):.3f}; goal 0.95).

{TEST_HEAD}
{rows(shipped, first)}

Per test person, F1 over the person's four clips (first scoring in brackets):

| person | 30 fps | 15 fps | 8 fps |
|---|---|---|---|
{person_rows}

## What the detector is

BlazeFace keypoints -> the two `EYE_STATE` eye crops -> the int8 eye-state model
(`models/eye_state.md`) gives p(closed) per eye. Each frame's closure is measured against
the person's own open-eye level (the {chosen['reference_q']} quantile of p over the last 2 s of
frames on which no eye read closed; the POSITION stage feeds it before the challenge; an eye
whose level is above 0.5 is unreadable and counts as open), then a hysteresis band and human
blink timing decide: the blink starts on the first frame an eye stops being open, is counted
on the frame an eye is open again, may be seen closed for up to {chosen['max_closed_s']} s, and a
closure starting less than {chosen['merge_s']} s after a blink ended is the second half of a
double blink (module docstring). No model runs beyond the existing pipeline: the detector
adds about 0.02 ms per frame to the session step. Defaults: `{chosen}`.

## How the options were chosen (dev people: training and validation)

The {len(people['train']) + len(people['validation'])} non-test people ({n_dev} labelled blinks)
are split into {len(fold_people)} seeded folds ({'; '.join(', '.join(f) for f in fold_people)}).
For each fold an eye-state model is trained exactly like the shipped one but without that
fold's people (`python models/train_eye_state.py --folds-only`), and each dev person's clips
are scored through the model that never saw them. The shipped eye-state model was trained
on the 6 training people, so their own signals through it would be in-sample and too clean
(the first round chose on the 6 validation people alone, and its choices did not carry to
the test people). Every grid point below ran on all dev people; *safe* means no NUAA
printed-photo sequence blinks, the dinoman clip gives its 2 blinks, and a blink is shorter
than the shortest eyes-shut answer to the liveness close cue (`max_closed_s` below its
`close_min_s`); safe rows rank first; the criterion is the worst per-condition F1 at 15
and 30 fps, then the mean F1 over the three rates. `max_cycle_s` is `max_closed_s` + 0.4 s. Best 10:

| {' | '.join(keys)} | safe | worst cond. F1 15-30 | mean F1 | F1 30 | F1 15 | F1 8 |
|{'---|' * (len(keys) + 6)}
{search_rows}

The kiosk defaults {'are the best row' if is_best else 'are NOT the best row (see the report)'}
(in-sample for these people). **Nested leave-fold-out estimate** of choosing this way (pick on
3 folds' people, score the 4th fold's, pooled): worst-condition {goal(estimate)[0]:.3f}, mean
{goal(estimate)[1]:.3f}; F1 {_f1s(estimate)} at 30 / 15 / 8 fps. Picks per fold: {pick_text}.

**A learned closure instead of the rule** (`models/blink_learned.py`: per eye, a logistic
model over the calibrated closure of both eyes, the eye's change since the previous frame,
both eye crops' distance from the person's POSITION crops and the crop's change; trained on
frames labelled "both eyes shut", its band chosen on the same training people; the same
state machine), same nested scheme: worst-condition {goal(learned[0])[0]:.3f}, mean
{goal(learned[0])[1]:.3f}; F1 {_f1s(learned[0])} at 30 / 15 / 8 fps (bands per fold:
{bands}).
It does not beat the rule, so it was not taken further (nor checked on the photos).

Each option taken away from the defaults, same dev people and signals:

{ABLATION_HEAD}
{ablation_rows}

- *Open-eye level* at a low quantile rather than the median: the POSITION feed is every
  frame, blinks included, and a long blink filling much of it raises the median towards
  "closed", which hides the person's next blinks.
- *Closures up to 0.7 s* would count a few long labelled blinks more (the row above), but
  the liveness close cue takes eyes shut for {close_min} s or more as its answer, so a blink
  must stay shorter than that.
- *Double blinks*: the labels count a closure - brief reopening - closure as one blink; so
  does the liveness challenge (a second blink in an answered window is the same answer).
- *Open-eye calibration* is what keeps printed photos from blinking: without it an eye that
  reads closed at rest (a photo's eye behind glasses, glare) plus a flickering other eye
  makes blinks.
- *The face mesh* (MediaPipe `face_landmark.tflite`, eyelid gap over eye width, fused half
  and half, at its own best band 0.2 / 0.3) costs {mesh_ms:.2f} ms per frame here (median
  while caching, shared cores) and lets moving printed photos blink. Rejected; the kiosk does
  not run it (`models/face_mesh.py` keeps the measurement reproducible).

On the 6 validation people through the shipped eye-state model (the first round's basis, for
comparison): defaults {summary(val['defaults'])}; the first round's defaults
{summary(val["the first round's defaults"])} (worst-condition, mean, F1 30 / 15 / 8).

## Why the goal is not reached on the dev people (defaults, all phases)

Every labelled blink the defaults miss on the dev people, by cause, and every false
detection (counts over all phases of each rate):

| | 30 fps | 15 fps |
|---|---|---|
{cause_rows}

- *Unreadable eye*: an eye whose open level reads closed (a narrow, low-contrast eye behind
  glasses at 320x240) counts as open, so only one eye can close; counting one-eyed
  closures would let printed photos blink (in NUAA sequences a photo's readable eye
  flickers to "closed" for a frame while the other reads closed at rest).
- *Never closed together*: partial blinks (eyes narrowing, common with the camera below),
  and at 15 fps blinks whose closed frames fall between two sampled frames. A photo's
  flicker (one frame, one eye high, the other half-way) looks the same per frame, so a lower
  threshold for the second eye would make printed photos blink.
- *Timing*: labels that start the closing several frames before the lids visibly move, and
  double blinks labelled as one.

**`Blink.start` is not shifted.** `Blink.start` minus the labelled start, dev people,
detection nearest each labelled blink (ms):

| fps | blinks | quantiles 5 / 25 / 50 / 75 / 95 | mean | within ±2 frames |
|---|---|---|---|---|
{offset_rows}

At 30 fps the median offset is 0: the labels' onset is not consistently ahead of the
detector's, so a systematic shift would move as many starts out of tolerance as into it.
At lower rates the offset is about half a frame interval (the onset lies between the last
open frame and the first one seen closing); the liveness challenge's response window is
measured with this same `start`, so it already includes that delay.

## Benchmark (how the numbers are made)

- Data: `clips/zju-eyeblink` (ZJU Eyeblink: 20 people x 4 conditions, 320x240, 30 fps,
  research-only). Per-frame labels come from `models/zju.py`, aligned to the decoded frames:
  {_alignment_summary(table)}
- Split (seeded, fixed once, stratified by the M/F letter of the ids): train
  {', '.join(people['train'])} (their frames train the shipped eye-state model); validation
  {', '.join(people['validation'])}; test {', '.join(people['test'])} (scored in the first
  round and again here). Training and validation people together are the dev people.
- Frame rates: 30 fps as decoded, 15 fps (every 2nd frame) and 8 fps (every 3.75th frame,
  7.5 fps); each decimated rate is scored over all its phases, so every frame counts once
  per rate. A kiosk at 15 fps sees a 100-400 ms blink on 1-6 frames.
- Event rule: a detection matches a labelled blink when its start is within 2 frames (of the
  played rate) of the labelled start and it is counted (its end, the frame the eyes are
  seen open again) between the labelled start and 2 frames after the labelled reopening;
  one-to-one. Labelled blinks cut by the clip's start or end are neither truth nor false
  alarms; labelled blinks with no frame between them are one closure.

## Checks on other real footage

Same code and models, whole clips (no per-frame labels):

- `clips/dinoman/example.mp4` (25 fps, glasses, 2 blinks expected):
  **{checks['defaults']['dinoman'][2]}**.
- NUAA printed-photo sequences (5 fps): **{imp[1]} of {imp[0]}** gave a blink ({imp[2]} in all).
- NUAA live sequences (10 fps, unlabelled, informational): {live[1]} of {live[0]} with
  blinks, {live[2]} in all.

## Limits

- 20 people, one camera type, 320x240 (faces smaller than at a kiosk), indoor light; the
  test people are {len(people['test'])}: one missed blink moves a condition's F1 by about
  0.03 at 30 fps.
- Labels are aligned by `models/zju.py`; a residual error of a frame or two on the least
  certain clips costs events under the 2-frame start tolerance.
- Deliberately long closures (> {chosen['max_closed_s']} s closed) are not blinks, by design.
"""
