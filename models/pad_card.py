"""The presentation-attack model card, rendered from the conversion recipe's own results."""

from __future__ import annotations

import platform
from typing import Any

from kiosk.vision.crops import WIDER_BOX as wider


def _pct(v: float) -> str:
    return f"{100 * v:.1f}%"


def _seq(r: dict[str, Any], kind: str) -> str:
    k, n = r[f"seq_{kind}_k"], r[f"seq_{'live' if kind == 'bpcer' else 'attack'}"]
    return f"{k}/{n} ({_pct(k / n)}; 95% upper bound {_pct(r[f'seq_{kind}_upper95'])})"


def _row(name: str, r: dict[str, Any]) -> str:
    return (f"| {name} | {_pct(r['frame_apcer'])} | {_pct(r['frame_bpcer'])} | "
            f"{r['frame_auc']:.4f} | {_seq(r, 'apcer')} | {_seq(r, 'bpcer')} | "
            f"{r['min_attack_peak']:.3f} / {r['max_live_peak']:.3f} |")


def zju_text(z: dict[str, Any]) -> str:
    flagged = ", ".join(z["flagged"]) or "none"
    return (f"{z['clips']} webcam clips of {z['people']} people (4 conditions each: frontal "
            f"without glasses, thin glasses, black-framed glasses, camera looking up; faces at "
            f"kiosk framing, eye distance about 0.15-0.22 of the frame width, but at 320x240, "
            f"half the kiosk's resolution), each clip scored as one attempt at the "
            f"session's rate ({z['frames']} frames). Frames flagged: {_pct(z['frame_bpcer'])}. "
            f"Clips flagged: {z['seq_bpcer_k']}/{z['clips']} "
            f"({_pct(z['seq_bpcer_k'] / z['clips'])}; "
            f"95% upper bound {_pct(z['seq_bpcer_upper95'])}): {flagged}; people with at least "
            f"one flagged clip: {z['people_flagged']}/{z['people']}. Highest clip mean: "
            f"{z['max_clip_peak']:.3f}. Clips with too few scored faces for a verdict: "
            f"{len(z['no_score_clips'])}.")


HEADER = ("| | frame APCER | frame BPCER | frame ROC AUC | sequence APCER | sequence BPCER "
          "| lowest attack / highest live sequence mean |\n|---|---|---|---|---|---|---|")


def render(*, scale: float, threshold: float, size: int, sha256: str, reference: dict[str, float],
           factors: dict[str, float], dev: dict[str, dict[str, Any]],
           results: dict[str, Any], splits: dict[str, tuple[str, ...]], no_face: int,
           min_frames: int) -> str:
    val, test, z = results["val"], results["test"], results["zju"]
    mv = results["minivision"]
    mv_all = results["minivision_all_scales"]
    dev_rows = "\n".join(_row(f"scale {k}" + (" (shipped)" if k == str(scale) else "")
                              + (" (not shipped: twice the cost)" if "+" in k else ""),
                              r) for k, r in dev.items())
    return f"""# Presentation-attack model (passive, MiniFASNet int8)

*Written by `models/convert_presentation_attack.py` from its own results; do not edit by hand.*

**What it is.** Minivision's MiniFASNet (Silent-Face-Anti-Spoofing, Apache-2.0 weights),
written anew in Keras (`models/pad_net.py`), converted to full int8 TFLite:
`presentation_attack.tflite`, {size:,} bytes, sha256 `{sha256[:16]}...`. Input: one 80x80
RGB crop of the face with its surroundings (`crops.context_crop`, {scale}x the face box),
raw uint8 pixels. Output: softmax over (attack type 1, live, attack type 2); the kiosk uses
p(attack) = 1 - p(live). It runs from LIVENESS through CAPTURE at `attack.rate_hz`
(`kiosk bench` reports its cost and rate) and the session judges the running mean of an
attempt's scores (`kiosk/session/attack.py`).

**Same function as upstream.** On real crops (validation frames and the minivision samples)
this definition and the upstream reference definition (run with torch, read from the data
folder, not copied) agree to a max |softmax difference| of
{', '.join(f'{v:.1e} (scale {k})' for k, v in reference.items())}. Two deliberate rewrites
keep the function: the stem takes RGB (its weights' input channels are swapped), and PReLU
is computed as max(x, a*x), equal for slopes a <= 1 (all are), because LiteRT's XNNPACK has
no int8 PReLU (16.5 ms per crop instead of 0.64 ms here).

**Crop.** Upstream cuts an axis-aligned box around a WIDER-FACE-style detector box scaled by
2.7 (or 4.0), shifted (and shrunk if needed) to stay inside the frame, resized to 80x80. The
kiosk's BlazeFace box is mapped to such a box by fixed factors (`crops.WIDER_BOX`). Checked
here against YuNet (a WIDER FACE detector) on {factors['frames']} validation frames: its box
is {factors['width']:.3f} x {factors['height']:.3f} of the kiosk box (width x height), its
centre {-factors['shift']:.3f} box heights higher; the runtime uses {wider[0]} x {wider[1]},
{-wider[2]} higher (measured the same way before the recipe existed).

## Data and splits

NUAA Photograph Imposter Database (research use), subjects 0001-0009 (0010-0016 are withheld
outside this project): live webcam frames (`ClientRaw`) and printed photos held up to the
camera (`ImposterRaw`), one 2010-era webcam, one office. Split by subject, fixed before any
score was looked at: validation {', '.join(splits['val'])}; test {', '.join(splits['test'])}.
The published weights transferred without fine-tuning, so nothing was trained here;
validation subjects gave the int8 calibration crops, the scale and the operating point, and
the test subjects were scored once. A sequence is one NUAA recording (subject, glasses,
position, session), frames in capture order; {no_face} frames had no detected face.

**Sequence verdict** (what the session does): an attempt is an attack once at least
{min_frames} frames are scored and their running mean p(attack) reaches the threshold.
"Sequence mean" below is the highest running mean seen after {min_frames} frames.

**Operating point.** Threshold {threshold:.4f} = the midpoint between the lowest
printed-photo and the highest live sequence mean on validation subjects (the widest margin
on both sides). Frame-level rates use the same threshold on single frames.

## Validation subjects (choices made here)

{HEADER}
{dev_rows}

Scale {scale} alone was shipped (rule: 4.0 only if its validation margin is more than 0.02
wider than 2.7's); running both scales would double the cost, and the fused row shows what
it would have given on validation subjects.

## Test subjects (scored once)

{HEADER}
{_row('validation, shipped model', val)}
{_row('**test**', test)}

Test frames: {test['frames_live']} live, {test['frames_attack']} printed-photo; sequences:
{test['seq_live']} live, {test['seq_attack']} printed-photo. APCER = attacks not flagged, BPCER =
live faces flagged. With {test['seq_live']} live test sequences, "<= 2% of live sequences
flagged" can be neither shown nor refuted here: the 95% upper bound is what the data allows.

## Live people on another camera (ZJU Eyeblink; used for no choice)

{zju_text(results["zju"])}

## Minivision samples (phone photos, Apache-2.0; one of each kind)

| sample | p(attack), shipped scale {scale} | scale 2.7 | scale 4.0 |
|---|---|---|---|
""" + "\n".join(f"| {k} | {mv[k]:.4f} | {mv_all['2.7'][k]:.4f} | {mv_all['4.0'][k]:.4f} |"
                for k in ("live", "print", "screen")) + f"""

## What is and is not known

- **Printed photos (NUAA)**: measured above, on 3 test subjects and 9 subjects in all, from
  one webcam, one office and one printer of 2010. Other cameras, light, paper and print
  quality are not measured here.
- **Screens (phone/tablet replays)**: one sample image (minivision `screen`), scored as above.
  One image says the model *can* flag a screen; it says nothing about how often. No screen
  recording was available to measure a rate; the blink challenge's cue timing is what stops
  a replayed recording (see the liveness card), this model is a second barrier.
- **Masks, cut-out photos, 3D attacks**: not measured.
- **Live people**: NUAA's few subjects (several with glasses), one camera, and the ZJU clips
  above: how often a live face is flagged depends on the camera. On ZJU's low-resolution
  webcam {z['seq_bpcer_k']} of {z['clips']} attempts were flagged (mostly with the camera
  looking up), more than the 2% goal. Before deployment, record live sessions with the
  kiosk's own camera and light and check the threshold (`attack.threshold`) on them.
  Fairness across skin tones and ages is not measured.
- The upstream training data is Minivision's own and unpublished; their accuracy claims are
  not reproduced here.

Machine: {platform.machine()}, Python {platform.python_version()}.
"""
