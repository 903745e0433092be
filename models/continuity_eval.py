"""Measures the continuity (anti face-swap) thresholds on real NUAA live / printed-photo frames.

    .venv/bin/python models/continuity_eval.py ../shared/datasets/spoof/nuaa [--cache F]
        [--covers]

NUAA file names are `ID_glasses_pos_session_picNo.jpg`; one (ID, glasses, pos, session) is one
sequence, ordered by picNo. picNo is taken as the frame counter of a 20 fps capture (the NUAA
set-up), so t = picNo / 20; the brief's alternative (ClientRaw 10 fps, ImposterRaw 5 fps, equal
steps) is reported too. What is printed is what models/continuity.md quotes.

--covers adds the covered-face study (issue #13): a hand composited over the middle third of
every live sequence (models/cover_synth.py: three hands, raised between two frames or over four
frames), measured with continuity as it was (no cover signal), with a cover hold (the design
kept: kiosk.session.covered + Continuity's hold) and with a pattern comparison that leaves the
covered regions out (the other design considered); and swaps made behind the cover.

Appearance measures compared, each against a running reference (exponential average of the
accepted frames) and against the previous frame:
  sig   correlation of the 24x24 zero-mean unit-norm grey patch (`Observation.signature`)
  grey  Bhattacharyya coefficient of 32-bin grey histograms of the aligned face crop
  hs    Bhattacharyya coefficient of 16x8 hue-saturation histograms of the same crop
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import pickle
import platform
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from kiosk.config import ContinuityConfig, OcclusionConfig
from kiosk.domain import Frame, Observation
from kiosk.session.continuity import Continuity, Look, limits
from kiosk.session.covered import CoverWatch
from kiosk.vision import crops, quality

NUAA_FPS = 20.0
BRIEF_FPS = {"ClientRaw": 10.0, "ImposterRaw": 5.0}
JUNCTION_S = 1 / 15  # a swap composed "between two frames" of a 15 fps loop
SETTLE_S = 1.0  # live frames before this (camera still adjusting) are not used


@dataclass
class Item:
    """One frame: where it came from and what the pipeline saw."""

    kind: str  # ClientRaw | ImposterRaw
    key: tuple[str, str, str, str]  # ID, glasses, pos, session
    pic: int
    obs: Observation
    grey: np.ndarray | None  # normalised grey histogram
    hs: np.ndarray | None  # normalised hue-saturation histogram


Seq = list[Item]
Data = dict[str, dict[tuple[str, str, str, str], Seq]]


def parse_name(path: Path) -> tuple[tuple[str, str, str, str], int]:
    sid, glasses, pos, session, pic = path.stem.split("_")
    return (sid, glasses, pos, session), int(pic)


def histograms(image: np.ndarray, obs: Observation) -> tuple[np.ndarray, np.ndarray] | None:
    if obs.face is None:
        return None
    patch = crops.crop(image, obs.face, quality.QUALITY_CROP)
    grey = np.bincount(cv2.cvtColor(patch, cv2.COLOR_RGB2GRAY).ravel() // 8, minlength=32)
    hsv = cv2.cvtColor(patch, cv2.COLOR_RGB2HSV)
    hs = cv2.calcHist([hsv], [0, 1], None, [16, 8], [0, 180, 0, 256]).ravel()
    return grey / grey.sum(), hs / hs.sum()


def extract(root: Path) -> Data:
    """Every NUAA frame through the real detector + quality/signature code, grouped and sorted."""
    from kiosk import config
    from kiosk.vision import stack

    pipeline = stack.build(config.parse({})).pipeline
    pipeline.regions = None  # not needed here; keeps the extraction fast
    out: dict[str, dict[tuple[str, str, str, str], Seq]] = {}
    for kind in ("ClientRaw", "ImposterRaw"):
        groups: dict[tuple[str, str, str, str], Seq] = defaultdict(list)
        for path in sorted((root / kind).glob("*/*.jpg")):
            key, pic = parse_name(path)
            image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
            pipeline.reset()  # motion between thinned frames is not meaningful here
            obs = pipeline.process(Frame(image, 0.0, 0))
            h = histograms(image, obs)
            groups[key].append(Item(kind, key, pic, obs, *(h or (None, None))))
        out[kind] = {k: sorted(v, key=lambda it: it.pic) for k, v in groups.items()}
    return out


# -- appearance measures ----------------------------------------------------------------

def bhattacharyya(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(a * b).sum())


def corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / max(float(np.linalg.norm(a) * np.linalg.norm(b)), 1e-9))


MEASURES: dict[str, tuple[Callable[[Item], np.ndarray | None], Callable[..., float]]] = {
    "sig": (lambda it: it.obs.signature, corr),
    "grey": (lambda it: it.grey, bhattacharyya),
    "hs": (lambda it: it.hs, bhattacharyya),
}


def reference_scores(seq: Iterable[Item], measure: str, alpha: float) -> list[float]:
    """Similarity of each frame to the running reference built from the frames before it."""
    get, sim = MEASURES[measure]
    ref: np.ndarray | None = None
    out = []
    for it in seq:
        v = get(it)
        if v is None:
            continue
        if ref is not None:
            out.append(sim(v, ref))
            ref = (1 - alpha) * ref + alpha * v
        else:
            ref = v.astype(np.float64).copy()
    return out


def swap_score(before: Seq, after: Seq, measure: str, alpha: float) -> float:
    """Similarity of the first new face to the reference built over `before`."""
    with_face = [it for it in after if MEASURES[measure][0](it) is not None]
    return reference_scores([*before, with_face[0]], measure, alpha)[-1]


# -- sequences and composition ------------------------------------------------------------

def settled(seq: Seq) -> Seq:
    """A live sequence from SETTLE_S on: the camera is still adjusting exposure and white
    balance in the first frames of every NUAA sequence, and in the kiosk continuity only
    starts after the POSITION hold (>= 0.8 s with the face in place)."""
    return [it for it in seq if (it.pic - seq[0].pic) / NUAA_FPS >= SETTLE_S]


def timed(seq: Seq, timing: str, start: float = 0.0, first: int = 0) -> list[Observation]:
    """Observations re-timed: "picno" = picNo / 20 (real spacing), "brief" = equal steps."""
    p0 = seq[0].pic
    step = 1 / BRIEF_FPS[seq[0].kind]
    return [dataclasses.replace(it.obs, index=first + i,
                                t=start + ((it.pic - p0) / NUAA_FPS if timing == "picno"
                                           else i * step))
            for i, it in enumerate(seq)]


def compose(first: Seq, second: Seq, timing: str) -> tuple[list[Observation], int]:
    """`first` then `second` one loop interval later; returns the frames and the junction."""
    a = timed(first, timing)
    return a + timed(second, timing, a[-1].t + JUNCTION_S, len(a)), len(a)


def breaks(observations: list[Observation], cfg: ContinuityConfig) -> list[tuple[int, str]]:
    c = Continuity(cfg)
    return [(o.index, why) for o in observations if (why := c.update(o)) is not None]


def cue_trace(observations: list[Observation], cfg: ContinuityConfig) -> list[tuple[float, ...]]:
    """Per frame, the appearance differences Continuity sees (motion limits switched off)."""
    c = Continuity(dataclasses.replace(cfg, max_speed=1e9, max_scale_rate=1e9,
                                       min_correlation=-1.0, max_chroma_shift=1e9,
                                       max_saturation_shift=1e9))
    out = []
    for o in observations:
        d = c.appearance(Look.of(o))
        c.update(o)
        out.append(d if d is not None else (float("nan"),) * 3)
    return out


def swap_cases(data: Data) -> dict[str, list[tuple[Seq, Seq]]]:
    """Live then photo of the same subject, photo of another subject, another live person."""
    live, photo = data["ClientRaw"], data["ImposterRaw"]
    cases: dict[str, list[tuple[Seq, Seq]]] = defaultdict(list)
    for lk, ls in sorted(live.items()):
        for pk, ps in sorted(photo.items()):
            cases["live->photo same person" if pk[0] == lk[0] else
                  "live->photo other person"].append((settled(ls), ps))
        for ok, os_ in sorted(live.items()):
            if ok[0] != lk[0]:
                cases["live->live other person"].append((settled(ls), settled(os_)))
    return cases


# -- report ------------------------------------------------------------------------------

def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def measures_table(data: Data, cases, alphas: Iterable[float]) -> None:
    live = [settled(s) for s in data["ClientRaw"].values()]
    print("\n## Appearance measures alone: live frames vs the running reference "
          "(alpha = weight of the newest frame; 1 = previous frame) and the first swapped frame")
    print("measure alpha | live min  p1   p5  | photo same person max p99 | others max | margin")
    for m in MEASURES:
        for a in alphas:
            lv = [s for seq in live for s in reference_scores(seq, m, a)]
            same = [swap_score(x, y, m, a) for x, y in cases["live->photo same person"]]
            other = [swap_score(x, y, m, a) for k in ("live->photo other person",
                                                      "live->live other person")
                     for x, y in cases[k]]
            print(f"{m:5} {a:4.2f}  | {min(lv):.3f} {pct(lv, 1):.3f} {pct(lv, 5):.3f} | "
                  f"{max(same):.3f} {pct(same, 99):.3f} | {max(other):.3f} | "
                  f"{min(lv) - max(same):+.3f}")


def motion_table(data: Data) -> None:
    print("\n## Motion on live sequences (t = picNo / 20; speed in eye distances per second)")
    speeds, rates = [], []
    for key, seq in sorted(data["ClientRaw"].items()):
        seq = settled(seq)
        faces = [(it.pic, it.obs.face) for it in seq if it.obs.face is not None]
        steps = list(zip(faces, faces[1:], strict=False))
        sp = [math.hypot(f1.center[0] - f0.center[0], f1.center[1] - f0.center[1])
              / f0.eye_distance / ((p1 - p0) / NUAA_FPS) for (p0, f0), (p1, f1) in steps]
        sr = [abs(math.log(f1.eye_distance / f0.eye_distance)) / ((p1 - p0) / NUAA_FPS)
              for (p0, f0), (p1, f1) in steps]
        speeds += sp
        rates += sr
        gap = np.median([(p1 - p0) / NUAA_FPS for (p0, _), (p1, _) in steps])
        print(f"{'_'.join(key)} frames={len(seq):3} step={gap:.2f}s "
              f"no-face={sum(it.obs.face is None for it in seq)} "
              f"more-faces={sum(it.obs.faces > 1 for it in seq)} "
              f"speed max={max(sp):.2f} scale-rate max={max(sr):.2f}")
    print(f"all live steps: speed max {max(speeds):.2f} p99 {pct(speeds, 99):.2f}; "
          f"scale rate max {max(rates):.2f} p99 {pct(rates, 99):.2f}")


def cue_table(data: Data, cases, cfg: ContinuityConfig) -> None:
    print("\n## Continuity's appearance cues (min over last face / reference), picNo timing")
    names = ("1-corr", "chroma", "saturation")
    lim = limits(cfg)
    live = np.array([d for s in data["ClientRaw"].values()
                     for d in cue_trace(timed(settled(s), "picno"), cfg)[1:]])
    print("live frames: max " + ", ".join(f"{n} {np.nanmax(live[:, i]):.3f}"
                                          for i, n in enumerate(names)) +
          " | limits " + ", ".join(f"{n} {v:.3f}" for n, v in zip(names, lim, strict=True)))
    print("live margins (limit / live max): " + ", ".join(
        f"{n} {lim[i] / np.nanmax(live[:, i]):.2f}x" for i, n in enumerate(names)))
    for name, pairs in cases.items():
        swap = np.array([cue_trace(obs, cfg)[j] for obs, j in
                         (compose(x, y, "picno") for x, y in pairs)])
        over = swap > np.array(lim)
        print(f"{name}: caught by appearance alone {int(over.any(1).sum())}/{len(pairs)}; "
              "per cue " + ", ".join(f"{n} {int(over[:, i].sum())} (min {swap[:, i].min():.3f})"
                                     for i, n in enumerate(names)))


def simulate(data: Data, cases, cfg: ContinuityConfig) -> None:
    print(f"\n## Continuity end to end with {cfg}")
    for timing in ("picno", "brief"):
        wrong = [("_".join(k), b) for k, s in sorted(data["ClientRaw"].items())
                 if (b := breaks(timed(settled(s), timing), cfg))]
        print(f"[{timing}] live sequences wrongly broken: {len(wrong)}/"
              f"{len(data['ClientRaw'])} {wrong}")
        photo = sum(bool(breaks(timed(s, timing), cfg)) for s in data["ImposterRaw"].values())
        print(f"[{timing}] photo-only sequences broken (harmless): {photo}/"
              f"{len(data['ImposterRaw'])}")
        for name, pairs in cases.items():
            caught = early = 0
            whys: dict[str, int] = defaultdict(int)
            for x, y in pairs:
                obs, j = compose(x, y, timing)
                bs = breaks(obs, cfg)
                early += any(i < j for i, _ in bs)
                first = [(i, w) for i, w in bs if i >= j]
                if first and first[0][0] == j:
                    caught += 1
                    whys[first[0][1]] += 1
            print(f"[{timing}] {name}: caught at the first swapped frame {caught}/{len(pairs)}"
                  f" (broken before the swap: {early}) by {dict(whys)}")


def cost(data: Data, cfg: ContinuityConfig) -> None:
    obs = [o for s in data["ClientRaw"].values() for o in timed(settled(s), "picno")]
    c = Continuity(cfg)
    t0 = time.perf_counter()
    for o in obs:
        c.update(o)
    us = (time.perf_counter() - t0) / len(obs) * 1e6
    print(f"\nContinuity.update: {us:.1f} us per frame ({len(obs)} frames, {platform.machine()})")


# -- covered faces --------------------------------------------------------------------------

COVER_FRACTION = (1 / 3, 2 / 3)  # the middle third of each live sequence is covered
COVER_THRESHOLD = OcclusionConfig().threshold


def extract_covered(root: Path, data: Data) -> dict[tuple[str, str], dict[tuple, Seq]]:
    """Every settled live sequence again, with a hand over its middle third: per (hand, raise)
    the frames through the whole pipeline (regions on: the cover signal needs them)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from cover_synth import HANDS, hand_over

    from kiosk import config
    from kiosk.vision import stack

    pipeline = stack.build(config.parse({})).pipeline
    out: dict[tuple[str, str], dict[tuple, Seq]] = defaultdict(dict)
    for key, seq in sorted(data["ClientRaw"].items()):
        seq = settled(seq)
        a, b = (round(f * len(seq)) for f in COVER_FRACTION)
        images = []
        for it in seq:
            path = root / "ClientRaw" / it.key[0] / f"{'_'.join(it.key)}_{it.pic}.jpg"
            images.append(cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB))
        for hand in HANDS:
            for ramp in ("sudden", "over 4 frames"):
                items = []
                # one clip, as the kiosk sees it: the fallback searches around the face just
                # seen (t = picNo / 20, as continuity is timed here)
                pipeline.reset()
                for i, (it, image) in enumerate(zip(seq, images, strict=True)):
                    if a <= i < b and it.obs.face is not None:
                        up = 1.0 if ramp == "sudden" else min(1.0, (i - a + 1) / 4, (b - i) / 4)
                        image = hand_over(image, it.obs.face, HANDS[hand], up)
                    obs = pipeline.process(Frame(image, (it.pic - seq[0].pic) / NUAA_FPS, i))
                    items.append(dataclasses.replace(it, obs=obs, grey=None, hs=None))
                out[(hand, ramp)][key] = items
    return out


def cover_flags(observations: list[Observation]) -> list[bool]:
    w = CoverWatch(COVER_THRESHOLD)
    return [w.update(o).covered for o in observations]


def signature_mask(obs: Observation) -> np.ndarray | None:
    """Signature cells outside the regions blocked on this frame (None: nothing blocked)."""
    if obs.face is None or not obs.regions:
        return None
    blocked = [r for r, p in obs.regions.items() if p >= COVER_THRESHOLD]
    if not blocked:
        return None
    m = np.vstack([crops.crop_matrix(obs.face, quality.APPEARANCE), [0, 0, 1]])
    to_crop = np.linalg.inv(m)[:2]
    gw, gh = quality.SIGNATURE_SIZE
    sx, sy = quality.APPEARANCE.out[0] / gw, quality.APPEARANCE.out[1] / gh
    keep = np.ones((gh, gw), bool)
    for r in blocked:
        poly = crops.region_polygon(obs.face, crops.REGION_BOXES[r])
        cells = (np.c_[poly, np.ones(4)] @ to_crop.T) / (sx, sy)
        mask = np.zeros((gh * 4, gw * 4), np.uint8)
        cv2.fillPoly(mask, [np.round(cells * 4).astype(np.int32)], 1)
        keep &= cv2.resize(mask, (gw, gh), interpolation=cv2.INTER_AREA) < 0.5
    return keep.ravel()


class UncoveredOnly(Continuity):
    """The other design: the grey pattern is compared on the cells no blocked region covers
    (both sides re-centred and re-normalised on those cells); colour and motion as before."""

    mask: np.ndarray | None = None

    def update(self, obs: Observation, covered: bool = False) -> str | None:
        self.mask = signature_mask(obs)
        return super().update(obs)

    def appearance(self, look: Look | None) -> tuple[float, float, float] | None:
        if look is None or self._look is None or self._reference is None or self.mask is None:
            return super().appearance(look)

        def cut(x: Look) -> Look:
            v = x.signature[self.mask] - x.signature[self.mask].mean()
            return Look(v / max(float(np.linalg.norm(v)), 1e-9), x.chroma, x.saturation)

        saved = self._look, self._reference
        self._look, self._reference = cut(self._look), cut(self._reference)
        try:
            return super().appearance(cut(look))
        finally:
            self._look, self._reference = saved


DESIGNS = ("as before", "uncovered regions only", "cover hold (kept)")


def design_breaks(design: str, observations: list[Observation],
                  cfg: ContinuityConfig) -> list[tuple[int, str]]:
    if design == "as before":
        return breaks(observations, cfg)
    if design == "uncovered regions only":
        c: Continuity = UncoveredOnly(cfg)
        return [(o.index, why) for o in observations if (why := c.update(o)) is not None]
    c = Continuity(cfg)
    return [(o.index, why) for o, cov in zip(observations, cover_flags(observations),
                                            strict=True)
            if (why := c.update(o, cov)) is not None]


VALIDATION = {"0001", "0003", "0005", "0007", "0009"}  # subjects the hold's constants are chosen on
SWEEP = [(j, p, g) for j in (0.25, 0.5) for p in (0.2, 0.3) for g in (0.0, 1.0, float("inf"))]


def swap_cases_behind(covered, data: Data, subjects: set[str] | None = None):
    """Settled live frames up to the end of a nose+mouth cover, then another face."""
    live_cov = covered[("nose_mouth", "sudden")]
    cases: dict[str, list[tuple[Seq, Seq]]] = defaultdict(list)
    for lk, ls in sorted(live_cov.items()):
        if subjects is not None and lk[0] not in subjects:
            continue
        upto = ls[: round(COVER_FRACTION[1] * len(ls))]
        for pk, ps in sorted(data["ImposterRaw"].items()):
            cases["print, same person" if pk[0] == lk[0] else "print, other person"].append(
                (upto, ps))
        for ok, os_ in sorted(data["ClientRaw"].items()):
            if ok[0] != lk[0]:
                cases["another live person"].append((upto, settled(os_)))
    return cases


def caught_at_first(design: str, pairs, cfg: ContinuityConfig) -> int:
    caught = 0
    for x, y in pairs:
        obs, j = compose(x, y, "picno")
        found = [i for i, _ in design_breaks(design, obs, cfg) if i >= j]
        caught += bool(found) and found[0] == j
    return caught


def sweep(covered, data: Data, cfg: ContinuityConfig) -> None:
    """The hold's constants on the validation subjects only: live clips broken (every hand and
    raise) and swaps behind a cover caught."""
    from kiosk.session import continuity as cont

    print(f"\n## Hold constants on validation subjects {sorted(VALIDATION)} (choice: fewest live "
          "clips broken, then most swaps caught)")
    print("| COVER_JITTER | PLACE_SCALE | SCALE_GROWTH_S | live clips broken | print same | "
          "print other | live other |")
    saved = cont.COVER_JITTER, cont.PLACE_SCALE, cont.SCALE_GROWTH_S
    cases = swap_cases_behind(covered, data, VALIDATION)
    for j, p, g in SWEEP:
        cont.COVER_JITTER, cont.PLACE_SCALE, cont.SCALE_GROWTH_S = j, p, g
        broken = sum(bool(design_breaks("cover hold (kept)", timed(seq, "picno"), cfg))
                     for seqs in covered.values() for k, seq in seqs.items() if k[0] in VALIDATION)
        n = sum(k[0] in VALIDATION for seqs in covered.values() for k in seqs)
        caught = [f"{caught_at_first('cover hold (kept)', pairs, cfg)}/{len(pairs)}"
                  for pairs in cases.values()]
        print(f"| {j} | {p} | {g} | {broken}/{n} | " + " | ".join(caught) + " |")
    cont.COVER_JITTER, cont.PLACE_SCALE, cont.SCALE_GROWTH_S = saved


def cover_study(root: Path, data: Data, cfg: ContinuityConfig, cache: Path | None,
                do_sweep: bool = False) -> None:
    cache = cache.with_suffix(".covers.pkl") if cache else None
    if cache and cache.is_file():
        covered = pickle.loads(cache.read_bytes())
    else:
        covered = extract_covered(root, data)
        if cache:
            cache.write_bytes(pickle.dumps(covered))
    if do_sweep:
        sweep(covered, data, cfg)
    print("\n## Covered faces: a hand composited over the middle third of each live sequence "
          "(t = picNo/20)")
    print(f"cover signal: a region at p(blocked) >= {COVER_THRESHOLD}, a fallback face, or a "
          "face that vanished in place (kiosk.session.covered)")
    print("| hand | raised | covered frames seen as covered | " +
          " | ".join(f"live broken: {d}" for d in DESIGNS) + " |")
    for (hand, ramp), seqs in covered.items():
        flagged = total = 0
        broken = {d: 0 for d in DESIGNS}
        whys: dict[str, dict[str, int]] = {d: defaultdict(int) for d in DESIGNS}
        for seq in seqs.values():
            obs = timed(seq, "picno")
            a, b = (round(f * len(obs)) for f in COVER_FRACTION)
            flags = cover_flags(obs)
            flagged += sum(flags[a:b])
            total += b - a
            for d in DESIGNS:
                found = design_breaks(d, obs, cfg)
                broken[d] += bool(found)
                if found:
                    whys[d][found[0][1]] += 1
        print(f"| {hand} | {ramp} | {flagged}/{total} | " + " | ".join(
            f"{broken[d]}/{len(seqs)} {dict(whys[d]) or ''}" for d in DESIGNS) + " |")

    # swaps behind the cover: live, covered live, then the swapped face uncovered
    print("\n## Swaps behind a cover: settled live frames up to the end of the cover (hand "
          "over the mouth, nose and cheeks, raised between two frames), then another face "
          "one loop interval later; caught at its first frame (all subjects; validation "
          f"subjects {sorted(VALIDATION)} chose the hold's constants)")
    print("| swap | " + " | ".join(DESIGNS) + " |")
    for name, pairs in swap_cases_behind(covered, data).items():
        print(f"| {name} | " + " | ".join(f"{caught_at_first(d, pairs, cfg)}/{len(pairs)}"
                                          for d in DESIGNS) + " |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("nuaa", type=Path)
    ap.add_argument("--cache", type=Path, help="pickle of the extracted frames (reused)")
    ap.add_argument("--covers", action="store_true", help="add the covered-face study")
    ap.add_argument("--sweep", action="store_true",
                    help="with --covers: the hold's constants on the validation subjects")
    args = ap.parse_args(argv)
    if args.cache and args.cache.is_file():
        data = pickle.loads(args.cache.read_bytes())
    else:
        data = extract(args.nuaa)
        if args.cache:
            args.cache.write_bytes(pickle.dumps(data))
    cfg = ContinuityConfig()
    cases = swap_cases(data)
    n = {k: sum(len(s) for s in v.values()) for k, v in data.items()}
    print(f"frames {n}, sequences { {k: len(v) for k, v in data.items()} }, "
          f"composed { {k: len(v) for k, v in cases.items()} }")
    motion_table(data)
    measures_table(data, cases, (0.1, 0.3, 1.0))
    cue_table(data, cases, cfg)
    simulate(data, cases, cfg)
    cost(data, cfg)
    if args.covers:
        cover_study(args.nuaa, data, cfg, args.cache, args.sweep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
