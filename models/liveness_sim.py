"""Liveness simulator: the kiosk's blink challenge against real labelled footage, both ways.

The same ZJU Eyeblink clips (`models/zju.py`: 20 people, 4 conditions, blinks labelled on the
decoded frames) play two roles, through the real code: the real pipeline's output on every
real frame (computed once per clip and cached), the real `Session` with its `BlinkDetector`,
cued challenge and continuity check, at the kiosk's loop rates (15 fps today; 30 fps if
LIVENESS moves there).

- **Recording attack**: the clip as recorded, looped (at one continuity-safe cut), started at
  a random point, against many challenge seeds. It blinks when its subject happened to blink.
- **Cooperative person**: the clip re-timed (`kiosk.retime`) so that one of its real labelled
  blinks starts a human reaction delay after each cue the kiosk shows: real blink frames at
  their real speed, open-eye frames in between slowed down or sped up, cuts only between
  frames that look alike (same place, same look), never synthetic eyes. The reaction delay is
  drawn from published reaction-time data (see HUMAN below and the card).
- **Replayed session** (a recording made for another seed): the cooperative video made for
  seed A, shown to the kiosk while it asks seed B's cues: an attacker who filmed someone
  passing. The embedded demo clip is this attack too, measured over many seeds.
- **Printed photos**: NUAA ImposterRaw sequences, with position guidance relaxed so that every
  sequence reaches the challenge.

People are split as in the blink benchmark: the response window and the challenge's counts
are chosen on its 12 dev people; the card's headline numbers come from its 8 test people,
scored with the shipped configuration. The card (`models/liveness.md`) is written from these
results. The presentation-attack model is off here: this measures the challenge alone.

    python models/liveness_sim.py --data ../shared/datasets   # ~15 min on 2 cores (+7 min
                                                              # the first time: the pipeline)
    python models/liveness_sim.py --card                      # re-write the card only
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import itertools
import math
import pickle
import random
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "models"))

import blink_bench  # noqa: E402
import zju  # noqa: E402

from kiosk import demo, retime  # noqa: E402
from kiosk.config import Config, LivenessConfig, PositionConfig  # noqa: E402
from kiosk.domain import Frame, Observation  # noqa: E402
from kiosk.replay import cached, looped, run_session  # noqa: E402
from kiosk.session.continuity import Look, differences, limits  # noqa: E402
from kiosk.session.liveness import Kind, new_challenge  # noqa: E402
from kiosk.vision import stack  # noqa: E402

CARD = Path(__file__).with_name("liveness.md")
CACHE = Path(__file__).with_name(".cache") / "liveness-sim"
RATES = (15.0, 30.0)  # kiosk loop rates simulated


@dataclass(frozen=True)
class Human:
    """When a person who follows the cues starts to blink, after the cue is drawn.

    - display: the cue appears on the frame where it is due; the screen shows it 20-60 ms
      later (render, buffer flip, panel), uniform.
    - reaction: simple visual reaction time, ex-Gaussian (Gaussian mu, sigma plus an
      exponential tail tau, the usual shape of reaction-time distributions; Luce 1986,
      Heathcote 1996). mu 190 ms and sigma 30 ms, tau 60 ms give a mean of 250 ms, in the
      range of calibrated simple visual RTs (Woods et al. 2015, Front. Hum. Neurosci. 9:131:
      213-231 ms mean over 1469 adults aged 18-65, +0.55 ms per year of age); a person's own
      mean is shifted by N(0, 40 ms) (ages and alertness differ), and responses slower than
      500 ms (the psychomotor vigilance task's lapse) happen on ~1% of cues.
    - the blink's onset is the labelled first frame of the clip's blink (the lid starts to
      move); the detector's `Blink.start` comes later (first frame seen closed): measured.
    """

    display_s: tuple[float, float] = (0.02, 0.06)
    mu_s: float = 0.19
    sigma_s: float = 0.03
    tau_s: float = 0.06
    person_sd_s: float = 0.04
    # asked to close the eyes "for a moment", how long they stay shut (lognormal: median 1 s,
    # 90% between 0.66 and 1.5 s). An assumption: no measurement of this was found.
    close_median_s: float = 1.0
    close_sigma: float = 0.25

    def person(self, rng: np.random.Generator) -> float:
        return float(rng.normal(0.0, self.person_sd_s))

    def delay(self, rng: np.random.Generator, shift: float) -> float:
        display = rng.uniform(*self.display_s)
        rt = self.mu_s + shift + rng.normal(0.0, self.sigma_s) + rng.exponential(self.tau_s)
        return float(display + max(0.1, rt))

    def closure(self, rng: np.random.Generator) -> float:
        return float(self.close_median_s * math.exp(rng.normal(0.0, self.close_sigma)))


HUMAN = Human()


def sim_config(live: LivenessConfig | None = None) -> Config:
    """The kiosk's config with position guidance out of the way (320x240 clips, and the
    challenge is what is measured): the face is "in position" from the first frame, so
    LIVENESS starts after the kiosk's usual hold (`liveness_start`)."""
    pos = PositionConfig(min_face=0.01, max_face=1.0, max_offset=0.5, min_luma=0.0,
                         max_luma=255.0, max_motion=5.0)
    cfg = Config(position=pos)
    return dataclasses.replace(cfg, liveness=live) if live is not None else cfg


# -- footage --------------------------------------------------------------------------------


@dataclass
class Source:
    """One clip as the simulator uses it: real-time frames (the re-encode's inserted repeats
    dropped), the pipeline's observation of each, and what may be cut and placed."""

    clip: zju.Clip
    obs: list[Observation]  # per kept frame
    footage: retime.Footage  # blinks and cuts on kept-frame indices
    usable: list[int]  # blinks that can be placed on a cue
    closable: list[int]  # usable blinks with a frame labelled fully closed (held: a closure)
    loop: tuple[int, int]  # the recording loops from frame a back to frame b

    @property
    def person(self) -> str:
        return self.clip.person


def _models_hash() -> str:
    return hashlib.sha256((ROOT / "models" / "manifest.toml").read_bytes()).hexdigest()[:12]


def observe_clip(clip: zju.Clip, vision: Any) -> list[Observation]:
    """The real pipeline on every decoded frame, in order (cached per clip and model set)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"{clip.name}-{_models_hash()}.pkl"
    if path.is_file():
        with path.open("rb") as f:
            cached: list[Observation] = pickle.load(f)
        return cached
    vision.pipeline.reset()
    out = [vision.pipeline.process(Frame(img, i / clip.fps, i), attack=False)
           for i, img in enumerate(zju.frames(clip))]
    with path.open("wb") as f:
        pickle.dump(out, f)
    return out


def _look_alike(obs: Sequence[Observation], a_frames: Iterable[int], b_frames: Iterable[int],
                cfg: Config, best: int) -> list[tuple[int, int, float]]:
    """Frame pairs (a, b) between two stretches that the continuity check would take for the
    same face holding still: centre within 0.1 eye distances, size within 5%, and each
    appearance difference under half its limit. Cheapest first."""
    lim = limits(cfg.continuity)
    pairs = []
    for a, b in itertools.product(a_frames, b_frames):
        fa, fb = obs[a].face, obs[b].face
        la, lb = Look.of(obs[a]), Look.of(obs[b])
        if fa is None or fb is None or la is None or lb is None:
            continue
        d = fa.eye_distance
        jump = math.hypot(fa.center[0] - fb.center[0], fa.center[1] - fb.center[1]) / d
        scale = abs(math.log(fb.eye_distance / d))
        diff = [x / m for x, m in zip(differences(la, lb), lim, strict=True)]
        if jump < 0.1 and scale < 0.05 and max(diff) < 0.5:
            pairs.append((a, b, 5.0 + 20 * (jump + scale) + 5 * sum(diff)))
    return sorted(pairs, key=lambda p: p[2])[:best]


def make_source(clip: zju.Clip, all_obs: list[Observation], cfg: Config) -> Source:
    inserted = set(clip.inserted)
    keep = [i for i in range(clip.n_frames) if i not in inserted]
    index = {d: k for k, d in enumerate(keep)}
    obs = [dataclasses.replace(all_obs[d], index=k) for k, d in enumerate(keep)]

    def kept(d: int) -> int:  # a decoded frame's kept index (an inserted one: its original)
        while d not in index:
            d -= 1
        return index[d]

    blinks = tuple((kept(b.start), kept(b.end) + 1) for b in clip.blinks)
    avoid = frozenset(k for k, d in enumerate(keep)
                      if obs[k].face is None or not clip.labelled[d])
    shut_frames = [[k for k in range(s, e) if clip.closed[keep[k]]] for s, e in blinks]
    shut = tuple(f[len(f) // 2] if f else (s + e - 1) // 2
                 for f, (s, e) in zip(shut_frames, blinks, strict=True))
    footage = retime.Footage(len(keep), clip.fps, blinks, margin=2, avoid=avoid, shut=shut)
    ok = footage.open_frames()
    runs = footage.open_runs()
    cuts: list[tuple[int, int, float]] = []
    for ra, rb in itertools.combinations(runs, 2):
        cuts += _look_alike(obs, ra, rb, cfg, best=4)
    footage = dataclasses.replace(footage, cuts=tuple(cuts))
    usable = [n for n, (s, e) in enumerate(blinks)
              if s - 2 > 0 and e + 2 < len(keep)
              and all(obs[k].face is not None for k in range(s - 2, e + 3))]
    closable = [n for n in usable if shut_frames[n]]
    # the recording's loop: from late in the clip back to early, where it looks the same
    n = len(keep)
    late = [k for k in range(int(0.7 * n), n) if ok[k]]
    early = [k for k in range(0, int(0.3 * n)) if ok[k]]
    loop = _look_alike(obs, late, early, cfg, best=1)
    a, b = (loop[0][0], loop[0][1]) if loop else (n - 1, 0)
    return Source(clip, obs, footage, usable, closable, (a, b))


def jumps(src: Source, cfg: Config) -> list[int]:
    """Frames of the recording (kept indices) whose look differs from the frame before by more
    than a continuity limit: the footage's own jumps (a camera's exposure step), no cut."""
    lim = limits(cfg.continuity)
    looks = [Look.of(o) for o in src.obs]
    return [k for k in range(1, len(looks))
            if (a := looks[k - 1]) is not None and (b := looks[k]) is not None
            and any(d > m for d, m in zip(differences(a, b), lim, strict=True))]


def load_sources(data: Path, cfg: Config, log: Callable[[str], None]) -> list[Source]:
    clips = zju.load_clips(data)
    vision = stack.build(cfg)
    if vision.missing:
        raise SystemExit(f"models missing: {vision.missing}")
    sources = []
    for n, clip in enumerate(clips):
        sources.append(make_source(clip, observe_clip(clip, vision), cfg))
        if n % 20 == 19:
            log(f"  {n + 1}/{len(clips)} clips observed")
    return sources


# -- streams -------------------------------------------------------------------------------


Stream = list[Observation]


def at(src: Source, frames: Sequence[int], rate: float) -> Stream:
    """Observations of the given source frames, re-stamped at the loop rate."""
    return [dataclasses.replace(src.obs[f], t=k / rate, index=k) for k, f in enumerate(frames)]


def recording(src: Source, rate: float, start: float, seconds: float) -> Stream:
    """The clip as recorded from `start` seconds in, looped at its cut, sampled at `rate`."""
    a, b = src.loop
    fps = src.footage.fps
    frames = []
    for k in range(int(seconds * rate)):
        p = start * fps + k / rate * fps
        if p > a:
            p = b + (p - a) % (a - b + 1)
        frames.append(min(a, int(round(p))))
    return at(src, frames, rate)


def liveness_start(rate: float, cfg: Config) -> float:
    """The frame on which LIVENESS starts when the face is in position from frame 0."""
    return math.ceil(cfg.position.hold_s * rate - 1e-9) / rate


def schedule(seed: int, live: LivenessConfig, rate: float, spare: Kind = "blink",
             ) -> list[tuple[float, Kind]]:
    """When the kiosk shows each cue and what it asks (spare cues: `spare`), LIVENESS starting
    as in `liveness_start` and nothing delaying a cue."""
    challenge = new_challenge(random.Random(seed), live)
    t0 = liveness_start(rate, sim_config(live))
    return [(math.ceil((t0 + c) * rate - 1e-6) / rate,
             challenge.kind(i) if i < challenge.required else spare)
            for i, c in enumerate(challenge.cues)]


@dataclass(frozen=True)
class Plan:
    onsets: list[float]  # when each placed blink starts closing
    which: list[int]  # which of the clip's blinks
    holds: list[float]  # seconds its shut frame is held (a closure)


def person_plan(src: Source, cues: Sequence[tuple[float, Kind]], rng: np.random.Generator,
                shift: float, spontaneous_per_min: float = 0.0, human: Human = HUMAN) -> Plan:
    """What the person's eyes do: after every cue, a blink or a closure (a blink whose shut
    frame is held), plus spontaneous blinks at the given rate where they fit."""
    acts = []
    for c, kind in cues:  # draws grouped per cue: a later cue's kind changes nothing before it
        onset = c + human.delay(rng, shift)
        hold = human.closure(rng) if kind == "close" else 0.0
        acts.append((onset, hold, int(rng.choice(src.closable if hold else src.usable)), True))
    if spontaneous_per_min > 0:
        t = 0.3
        while True:
            t += float(rng.exponential(60.0 / spontaneous_per_min))
            if t > cues[-1][0] + 1.5:
                break
            acts.append((t, 0.0, int(rng.choice(src.usable)), False))
    acts.sort()
    fp = src.footage
    kept: list[tuple[float, float, int, bool]] = []
    free = -1e9  # when the eyes are free again after the last placed blink
    for onset, hold, which, asked in acts:
        start, end = fp.blinks[which]
        if onset - fp.margin / fp.fps <= free + 0.1:  # frames round: keep two apart
            if not asked:
                continue  # a spontaneous blink that would overlap: it does not happen
            onset = free + fp.margin / fp.fps + 0.15  # an answer comes once the last blink ends
        kept.append((onset, hold, which, asked))
        free = onset + (end - start + fp.margin) / fp.fps + hold
    return Plan([a[0] for a in kept], [a[2] for a in kept], [a[1] for a in kept])


def cooperative(src: Source, rate: float, seed: int, live: LivenessConfig,
                rng: np.random.Generator, shift: float, seconds: float,
                spontaneous_per_min: float = 0.0, human: Human = HUMAN,
                spare: Kind = "blink") -> Stream:
    """The clip re-timed so that its real blinks answer every cue of `seed`'s challenge."""
    plan = person_plan(src, schedule(seed, live, rate, spare), rng, shift,
                       spontaneous_per_min, human)
    n_out = int(seconds * rate)
    ok = src.footage.open_frames()
    first = next(k for k in range(len(ok)) if ok[k])
    frames = retime.plan(src.footage, plan.onsets, plan.which, n_out, rate, first=first,
                         holds=plan.holds)
    return at(src, frames, rate)


# -- trials -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Trial:
    person: str
    clip: str
    role: str
    rate: float
    seed: int
    passed: bool
    reason: str
    duration: float | None  # LIVENESS start to pass
    latencies: tuple[float, ...]  # Blink.start - cue shown, for answered cues
    restarts: int  # continuity breaks (a new challenge)
    close_latencies: tuple[float, ...] = ()  # closure start - close cue shown
    extra_closes: int = 0  # close cues beyond the challenge's own (spares asking to close)


def run_trial(cfg: Config, stream: Stream, rate: float, seed: int, src: Source, role: str
              ) -> Trial:
    result = run_session(cfg, cached(stream), rate=rate, seed=seed, max_s=stream[-1].t)
    stages = result["stages"]
    lv = [s["t"] for s in stages if s["stage"] == "liveness"]
    occ = [s["t"] for s in stages if s["stage"] == "occlusion"]
    ch = result["challenge"]
    lo, hi = ch["window"]

    def latencies(asked: list[float], began: list[float]) -> tuple[float, ...]:
        out = []
        for a in asked:
            later = [s - a for s in began if lo <= s - a <= hi]
            if later:
                out.append(round(min(later), 4))
        return tuple(out)
    reason = result["reason"] if not result["liveness_passed"] else "passed"
    if not result["liveness_passed"] and result["outcome"] == "timeout":
        reason = "no verdict"
    own = cfg.liveness.closures * max(1, len(lv))
    return Trial(src.person, src.clip.name, role, rate, seed, bool(result["liveness_passed"]),
                 reason, round(occ[0] - lv[0], 3) if occ and lv else None,
                 latencies(ch["blink_at"], ch["started"]), max(0, len(lv) - 1),
                 latencies(ch["close_at"], ch["closed_from"]), len(ch["close_at"]) - own)


def challenge_seconds(live: LivenessConfig) -> float:
    """Long enough for every cue's window and the last answer to be reported, with slack."""
    return (1.0 + live.lead_s + live.first_jitter_s
            + (live.cues + live.spare_cues) * (live.gap_min_s + live.gap_jitter_s)
            + live.closures * (live.close_gap_s - live.gap_min_s) + live.close_max_s + 2.0)


def attack_trials(sources: Sequence[Source], live: LivenessConfig, rate: float, per_clip: int,
                  seed0: int) -> list[Trial]:
    cfg = sim_config(live)
    seconds = challenge_seconds(live)
    rng = np.random.default_rng(seed0)
    out = []
    for src in sources:
        length = src.loop[0] / src.footage.fps
        for j in range(per_clip):
            seed = seed0 + j
            start = float(rng.uniform(0, length))
            out.append(run_trial(cfg, recording(src, rate, start, seconds), rate, seed, src,
                                 "recording"))
    return out


def coop_trials(sources: Sequence[Source], live: LivenessConfig, rate: float, per_clip: int,
                seed0: int, spontaneous_per_min: float = 0.0, human: Human = HUMAN,
                ) -> list[Trial]:
    cfg = sim_config(live)
    seconds = challenge_seconds(live)
    rng = np.random.default_rng(seed0 + 1)
    shifts: dict[str, float] = {}
    out = []
    for n, src in enumerate(sources):
        if not src.usable:
            continue
        shift = shifts.setdefault(src.person, human.person(rng))
        for j in range(per_clip):
            seed = seed0 + 7919 * j

            trial = None
            for spare in ("blink", "close"):
                person = np.random.default_rng([seed0, n, j])  # the same person both times
                stream = cooperative(src, rate, seed, live, person, shift, seconds,
                                     spontaneous_per_min, human, spare)  # type: ignore[arg-type]
                trial = run_trial(cfg, stream, rate, seed, src, "cooperative")
                if trial.extra_closes <= 0:  # else the spare asked to close the eyes: she does
                    break
            assert trial is not None
            out.append(trial)
    return out


def replayed_trials(sources: Sequence[Source], live: LivenessConfig, rate: float,
                    per_clip: int, seed0: int) -> list[Trial]:
    """A cooperative video made for one seed, shown to the kiosk asking another's cues."""
    cfg = sim_config(live)
    seconds = challenge_seconds(live)
    rng = np.random.default_rng(seed0 + 2)
    out = []
    for src in sources:
        if not src.usable:
            continue
        for j in range(per_clip):
            made_for = seed0 + 104729 * j
            stream = cooperative(src, rate, made_for, live, rng, 0.0, seconds)
            out.append(run_trial(cfg, stream, rate, made_for + 1, src, "replayed"))
    return out


# -- summaries -------------------------------------------------------------------------------


def rate_of(trials: Sequence[Trial]) -> float:
    return sum(t.passed for t in trials) / max(1, len(trials))


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% interval of a pass rate (Wilson score)."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, c - h), min(1.0, c + h)


def pct(trials: Sequence[Trial]) -> str:
    k, n = sum(t.passed for t in trials), len(trials)
    lo, hi = wilson(k, n)
    return f"{100 * k / max(1, n):.2f}% ({k}/{n}; 95% CI {100 * lo:.2f}-{100 * hi:.2f}%)"


def per_person(trials: Sequence[Trial]) -> dict[str, list[Trial]]:
    out: dict[str, list[Trial]] = defaultdict(list)
    for t in trials:
        out[t.person].append(t)
    return dict(sorted(out.items()))


def reasons(trials: Sequence[Trial]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for t in trials:
        out[t.reason] += 1
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def quantiles(values: Sequence[float], qs: Sequence[float]) -> list[float]:
    return [round(float(np.quantile(values, q)), 3) for q in qs] if values else []


# -- the window and the counts (tuning people only) ----------------------------------------


def measure_latency(sources: Sequence[Source], rate: float, per_clip: int
                    ) -> tuple[list[float], list[float]]:
    """Cue shown -> Blink.start, and close cue shown -> first closed frame, for a cooperative
    person, with a window wide open (0-1.5 s) and far-apart cues, so nothing is cut off: what
    the window must contain."""
    wide = LivenessConfig(cues=3, closures=1, spare_cues=0, max_strays=8, window_start_s=0.0,
                          window_end_s=1.5, gap_min_s=1.8, close_gap_s=3.5, gap_jitter_s=0.5)
    trials = coop_trials(sources, wide, rate, per_clip, seed0=500)
    return ([x for t in trials for x in t.latencies],
            [x for t in trials for x in t.close_latencies])


def choose_window(latency: dict[Any, list[float]]) -> tuple[float, float]:
    """From the 0.5th to the 99.5th percentile over both loop rates and both kinds of answer,
    widened by one 15 fps frame each side (the emulator's clock can shift a cue by a frame),
    rounded outwards to 0.05 s."""
    lo = min(np.quantile(v, 0.005) for v in latency.values() if v) - 1 / 15
    hi = max(np.quantile(v, 0.995) for v in latency.values() if v) + 1 / 15
    return max(0.0, math.floor(lo * 20) / 20), math.ceil(hi * 20) / 20


def tune(sources: Sequence[Source], window: tuple[float, float], log: Callable[[str], None]
         ) -> list[dict[str, Any]]:
    """Candidate counts and cue spacing on the tuning people: attack and cooperative pass
    rates and the challenge's length, at 15 fps (the shipped loop rate)."""
    rows = []
    # single-blink designs for reference, then the ones with a close cue
    grid = [((0, 0), c, 0, j) for c in (3, 4) for j in (1.5, 2.0)] + list(
        itertools.product(((1, 1), (1, 2)), (3, 4), (0, 1), (1.0, 1.5, 2.0)))
    for (closures, most), cues, strays, jitter in grid:
        live = LivenessConfig(cues=cues, closures=closures, closures_max=most, spare_cues=1,
                              max_strays=strays,
                              lead_s=1.0, first_jitter_s=1.5,
                              gap_min_s=round(window[1] + 0.1, 2), close_gap_s=1.8,
                              close_min_s=0.6, close_max_s=3.0,
                              gap_jitter_s=jitter, window_start_s=window[0],
                              window_end_s=window[1])
        att = attack_trials(sources, live, 15.0, per_clip=15, seed0=1000)
        coop = coop_trials(sources, live, 15.0, per_clip=10, seed0=2000)
        rep = replayed_trials(sources, live, 15.0, per_clip=30 if closures else 10,
                              seed0=3000)
        durs = [t.duration for t in coop if t.duration is not None]
        row = {"closures": closures, "closures_max": most, "cues": cues, "max_strays": strays,
               "gap_jitter_s": jitter, "ideal_replay": ideal_replay(live, 3000),
               "attack": rate_of(att), "cooperative": rate_of(coop), "replayed": rate_of(rep),
               "median_s": statistics.median(durs) if durs else None,
               "p95_s": float(np.quantile(durs, 0.95)) if durs else None}
        rows.append(row)
        log(f"  tune {row}")
    return rows


def pick(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Among the rows whose recording attack is <= 1% and median challenge <= 8.5 s ("about
    8 s"): those within 3 points of the best cooperative rate, then the lowest flawless
    replay rate (the crafted recording; replayed ZJU clips pass less often than a clean
    recording would, because the detector misses some of their blinks), then the shortest
    median. (Cooperative >= 97% is the goal; the rule does not hide a miss.)"""
    safe = [r for r in rows if r["attack"] <= 0.01 and (r["median_s"] or 99) <= 8.5]
    safe = safe or list(rows)
    best = max(r["cooperative"] for r in safe)
    near = [r for r in safe if r["cooperative"] >= best - 0.03]
    return min(near, key=lambda r: (round(r["ideal_replay"], 3), r["median_s"] or 99))


# -- printed photos and the demo --------------------------------------------------------


def nuaa_prints(data: Path, cfg: Config, vision: Any, seeds: int) -> dict[str, Any]:
    """Every NUAA printed-photo sequence (kept frames: ~5 fps), looped for 30 s, with
    guidance relaxed so that it reaches the challenge: how many reach it, how many pass."""
    root = data / "spoof" / "nuaa" / "ImposterRaw"
    seqs: dict[str, list[Path]] = defaultdict(list)
    for f in root.glob("*/*.jpg"):
        key = f.stem.rpartition("_")[0]
        seqs[key].append(f)
    import cv2

    reached = passed = trials = 0
    reasons_: dict[str, int] = defaultdict(int)
    for _key, files in sorted(seqs.items()):
        files.sort(key=lambda p: int(p.stem.rpartition("_")[2]))
        vision.pipeline.reset()
        obs = []
        for i, f in enumerate(files):
            img = cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB)
            obs.append(vision.pipeline.process(Frame(img, i / 5.0, i), attack=False))
        stream = [dataclasses.replace(obs[k % len(obs)], t=k / 5.0, index=k)
                  for k in range(150)]
        for s in range(seeds):
            result = run_session(cfg, cached(stream), rate=5.0, seed=s, max_s=30.0)
            trials += 1
            reached += any(st["stage"] == "liveness" for st in result["stages"])
            passed += bool(result["liveness_passed"])
            reasons_[result["reason"]] += 1
    return {"sequences": len(seqs), "trials": trials, "reached_liveness": reached,
            "passed": passed, "reasons": dict(reasons_)}


def demo_seeds(vision: Any, n: int) -> dict[str, Any]:
    """The embedded demo (a recording made for demo.SEED) against n other seeds."""
    cfg = Config()
    vision.pipeline.reset()
    frames = itertools.islice(looped(demo.demo_source(), demo.FPS), int(40 * demo.FPS))
    stream = [vision.pipeline.process(Frame(sf.image, k / demo.FPS, k), attack=False)
              for k, sf in enumerate(frames)]
    own = run_session(cfg, cached(stream), rate=demo.FPS, seed=demo.SEED)
    passed = [s for s in range(1, n + 1) if s != demo.SEED
              and run_session(cfg, cached(stream), rate=demo.FPS, seed=s)["liveness_passed"]]
    stages = {s["stage"]: s["t"] for s in own["stages"]}
    return {"seed": demo.SEED, "own": own["outcome"], "challenge": own["challenge"],
            "challenge_s": round(stages.get("occlusion", 0) - stages.get("liveness", 0), 3),
            "others": n, "others_passed": len(passed), "passed_seeds": passed[:20]}


# -- the arithmetic ----------------------------------------------------------------------


def ideal_passes(live: LivenessConfig, seed: int, shut: Sequence[tuple[float, float]],
                 rate: float = 15.0) -> bool:
    """The real LivenessCheck (no video) for `seed`'s challenge, on a face whose eyes are shut
    during each (start, seconds) of `shut` and open otherwise; shut spells shorter than the
    detector's longest blink are reported as blinks when the eyes reopen, as the detector
    does. What an ideal recording does, without any detector error."""
    from kiosk.session.liveness import LivenessCheck
    from kiosk.vision.blink import Blink, BlinkParams

    longest = BlinkParams().max_closed_s
    check = LivenessCheck(new_challenge(random.Random(seed), live), 0.0)
    spells = sorted((a, a + d) for a, d in shut if a > 0)
    pending = [(a, b) for a, b in spells if b - a <= longest]
    for k in range(int(challenge_seconds(live) * rate)):
        t = k / rate
        blink = None
        if pending and pending[0][1] <= t:
            a, _ = pending.pop(0)
            blink = Blink(a, t)
        eyes = "closed" if any(a <= t < b for a, b in spells) else "open"
        if check.update(t, blink, eyes=eyes) != "pending":  # type: ignore[arg-type]
            break
    return check.status == "passed"


def ideal_replay(live: LivenessConfig, n: int, offset: int = 1_000_003) -> float:
    """A flawless recording made for seed s (each blink 0.4 s after its cue, each closure
    held 1 s), played while the kiosk asks seed s + offset's cues: the crafted-recording rate
    without the detector's misses that make replayed ZJU clips fail more often."""
    passed = 0
    for s in range(n):
        made = new_challenge(random.Random(s), live)
        shut = [(c + 0.4, 1.0 if made.kind(i) == "close" else 0.15)
                for i, c in enumerate(made.cues[:made.required])]
        passed += ideal_passes(live, s + offset, shut)
    return passed / n


def arithmetic(live: LivenessConfig, n: int = 20000) -> dict[str, Any]:
    """Pass rates of idealised recordings through the real LivenessCheck (no video): blinking
    as a Poisson process at natural rates, a metronome blinker at its best period, and a
    flawless recording made for another seed."""
    rng = np.random.default_rng(3)

    def blinks(times: Iterable[float]) -> list[tuple[float, float]]:
        return [(float(t), 0.15) for t in times]

    poisson = {}
    for per_min in (10, 17, 26, 40, 60):
        lam = per_min / 60
        k = sum(ideal_passes(live, s, blinks(rng.uniform(0, 30, rng.poisson(lam * 30))))
                for s in range(n))
        poisson[per_min] = k / n
    best = (0.0, 0.0)
    for period in np.arange(0.8, 3.01, 0.1):
        k = sum(ideal_passes(live, s, blinks(np.arange(rng.uniform(0, period), 30, period)))
                for s in range(n // 4))
        best = max(best, (k / (n // 4), float(period)))
    return {"poisson_per_min": poisson, "metronome": {"rate": best[0], "period_s": best[1]},
            "ideal_replay": ideal_replay(live, n)}


def detector_timing(sources: Sequence[Source], rate: float) -> dict[str, Any]:
    """The real BlinkDetector over each clip as recorded: Blink.start minus the labelled
    onset (first frame of the blink) for the labelled blinks it found, and how many it found."""
    from kiosk.vision.blink import BlinkDetector

    offsets, found, total = [], 0, 0
    for src in sources:
        step = max(1, round(src.footage.fps / rate))
        det = BlinkDetector()
        seen = []
        for k in range(0, src.footage.frames, step):
            o = src.obs[k]
            b = det.update(k / src.footage.fps, o.eyes if o.face is not None else None)
            if b is not None:
                seen.append(b)
        for start, end in src.footage.blinks:
            total += 1
            t0, t1 = start / src.footage.fps, end / src.footage.fps
            match = [b for b in seen if t0 - 0.1 <= b.start <= t1]
            if match:
                found += 1
                offsets.append(match[0].start - t0)
    return {"found": found, "labelled": total,
            "offset_q": quantiles(offsets, (0.05, 0.25, 0.5, 0.75, 0.95)),
            "offset_mean": round(float(np.mean(offsets)), 3) if offsets else None}


def split_people(sources: Sequence[Source]) -> tuple[list[str], list[str]]:
    """The blink benchmark's person split: its 12 dev people tune the challenge, its 8 test
    people (never seen by the eye-state model or by any detector or challenge choice) score."""
    roles = blink_bench.split({s.person for s in sources})
    return (sorted(p for p, r in roles.items() if r != "test"),
            sorted(p for p, r in roles.items() if r == "test"))


def _table(rows: Sequence[Sequence[Any]], head: Sequence[str]) -> str:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def goal(what: str, t15: Sequence[Trial], t30: Sequence[Trial], target: str,
         ok: Callable[[float], bool]) -> list[str]:
    r15, r30 = rate_of(t15), rate_of(t30)
    return [what, f"{100 * r15:.2f}%", f"{100 * r30:.2f}%", target, "yes" if ok(r15) else "**no**"]


def _dur(trials: Sequence[Trial]) -> str:
    d = [t.duration for t in trials if t.duration is not None]
    if not d:
        return "-"
    return f"median {statistics.median(d):.1f} s, 95th percentile {np.quantile(d, 0.95):.1f} s"


def card(res: dict[str, Any]) -> str:
    live = res["shipped"]
    closures = (f"{live['closures']} of them (at a random place)"
                if live["closures"] == live["closures_max"] else
                f"{live['closures']}-{live['closures_max']} of them (how many and where drawn "
                "at random)")
    f15, f30 = res["final"]["15.0"], res["final"]["30.0"]
    lo, hi = res["window"]
    picked = res["picked"]
    same = picked is not None and all(live[k] == picked[k] for k in (
        "closures", "closures_max", "cues", "max_strays", "gap_jitter_s"))
    people = sorted({t.person for t in f15["attack"]})
    by = {name: per_person(trials) for name, trials in f15.items()}
    by30 = {name: per_person(trials) for name, trials in f30.items()}
    restarts = dict(sorted(Counter(t.clip for v in (*f15.values(), *f30.values()) for t in v
                                   for _ in range(t.restarts)).items()))
    person_rows = [[p, pct(by["attack"].get(p, [])), pct(by["cooperative"].get(p, [])),
                    pct(by30["attack"].get(p, [])), pct(by30["cooperative"].get(p, []))]
                   for p in people]
    tune_rows = [[f"{r['closures']}-{r['closures_max']}", r["cues"], r["max_strays"],
                  r["gap_jitter_s"],
                  f"{100 * r['attack']:.2f}%", f"{100 * r['replayed']:.2f}%",
                  f"{100 * r['ideal_replay']:.2f}%", f"{100 * r['cooperative']:.1f}%",
                  "-" if r["median_s"] is None else f"{r['median_s']:.1f}",
                  "-" if r["p95_s"] is None else f"{r['p95_s']:.1f}"]
                 for r in res["tuning"]]
    det = res["detector"]
    nuaa = res["nuaa"]
    demo_ = res["demo"]
    ar = res["arithmetic"]
    sens = res["sensitivity"]
    tc = res["tune_check"][15.0]
    lines = [
        "# Liveness challenge (`kiosk/session/liveness.py`)",
        "",
        "Written by `models/liveness_sim.py` from its own results "
        f"({res['minutes']} min on this machine); do not edit by hand, re-run it.",
        "",
        "## The design",
        "",
        "After the person is in position the screen says *Get ready to blink*; then, at random "
        "moments, **Blink now** or **Close your eyes** with an amber frame around the picture "
        "and a closed-eye sign (and a tone where there is sound). "
        f"{live['cues']} cues, {closures} asking to close the eyes. A blink answers a blink "
        "cue when it "
        "*starts* (the detector's `Blink.start`) "
        f"**{lo:.2f}-{hi:.2f} s** after the cue appeared; a closure (both eyes seen shut for "
        f"{live['close_min_s']:.1f}-{live['close_max_s']:.1f} s, longer than any blink the "
        "detector counts) answers a close cue when its first shut frame is in the same window. "
        f"**{live['spare_cues']}** more cue is shown if one is missed (asking again for what "
        f"was missed); **{live['max_strays']}** blink or closure nobody asked for is tolerated "
        "after the first cue, more fail the attempt (what happens before the first cue answers "
        "nothing and is ignored). The first cue comes "
        f"{live['lead_s']:.1f}-{live['lead_s'] + live['first_jitter_s']:.1f} s after the "
        f"instruction, each next one {live['gap_min_s']:.2f}-"
        f"{live['gap_min_s'] + live['gap_jitter_s']:.2f} s after the previous "
        f"({live['close_gap_s']:.1f}-{live['close_gap_s'] + live['gap_jitter_s']:.1f} s after a "
        "close cue), uniform; a cue waits for a face with open eyes. A recording cannot see the "
        "cues: it passes only if its blinks happen to start inside every blink window, hardly "
        "anywhere else, and its subject happened to hold their eyes shut exactly when each close "
        "cue came. Why closures: with blinks alone the measured trade-off was poor (next "
        "section: the single-blink rows); people do not shut their eyes for most of a second "
        "unless asked, so natural blinking cannot answer a close cue at all.",
        "",
        "## Data, roles, split",
        "",
        "ZJU Eyeblink (`models/zju.py`: 80 clips, 20 people x 4 conditions - frontal without "
        "glasses, thin glasses, black-frame glasses, camera from below; 320x240, ~30 fps; "
        "labels aligned to the decoded frames). The re-encode's inserted repeat frames are "
        "dropped, so the footage runs in real time. The real pipeline (BlazeFace, eye-state "
        "model, quality and the continuity signature) ran once on every frame; the "
        "simulator then feeds those observations, re-stamped at the loop rate, to the real "
        "`Session` (blink detector, challenge, continuity), with position guidance relaxed so "
        "the face is in position from the first frame and LIVENESS starts after the kiosk's "
        "usual hold (0.8 s, when the blink detector learns the person's open eyes). The "
        "presentation-attack model is not run here: this measures the challenge alone (the "
        "attack model is the second barrier, with its own card). The pipeline keeps only the "
        "previous face between frames (for the motion figure, which LIVENESS does not use), so "
        "per-frame caching gives what a kiosk would compute.",
        "",
        "- **Recording attack**: the clip as recorded, from a random point, looped at one cut "
        "chosen where the face looks the same (continuity-safe), sampled at the loop rate.",
        "- **Cooperative person**: the clip re-timed (`kiosk/retime.py`) so that one of its "
        "real labelled blinks (chosen at random) starts a human reaction delay after each cue "
        "shown: blink frames at real speed, open-eye frames slowed or sped between them, cuts "
        "only between frames the continuity check takes for the same face holding still "
        "(centre within 0.1 eye distances, size within 5%, every appearance difference below "
        "half its limit). Never synthetic eyes.",
        "- **Replayed session**: the cooperative video made for one seed, played while the "
        "kiosk asks another seed's cues (someone filmed a person passing and replays it).",
        f"- **People** (the blink benchmark's split, `models/blink_bench.py`): tuning "
        f"{', '.join(res['tuning_people'])} (its dev people: the eye-state model trained on "
        "them and the blink detector's options were chosen on them, so their rows are "
        f"in-sample for the detector too); test (headline numbers) "
        f"{', '.join(res['test_people'])}: no model, detector option or challenge setting was "
        "chosen on them (the pick below reads tuning-people rows only). Not a first look: the "
        "blink card scored the detector on them three times, and this simulator's earlier "
        "runs (a different split of the same 20 people) reported four of them "
        "(000003M, 000018M, 000019F, 000020F) while its pick rule was being revised, and "
        "tuned on the other four (the counts picked then are the counts picked now on the "
        "new tuning people).",
        "",
        "## The response window and where its numbers come from",
        "",
        "From cue to `Blink.start` = screen latency + reaction + the detector's delay:",
        "",
        "- screen: the cue is drawn on the frame where it is due and seen 20-60 ms later "
        "(assumed, uniform: render, flip, panel).",
        "- reaction: simple visual reaction time, ex-Gaussian mu 190 ms, sigma 30 ms, tau "
        "60 ms (mean 250 ms), each person's mean shifted by N(0, 40 ms). Calibrated simple "
        "visual RTs average 213-231 ms in 1469 adults aged 18-65 and grow 0.55 ms per year "
        "(Woods et al. 2015, Front. Hum. Neurosci. 9:131); RT distributions are ex-Gaussian "
        "(Luce 1986; Heathcote 1996); a response over 500 ms counts as a lapse in the "
        "psychomotor vigilance task (Basner & Dinges). No published distribution of "
        "*blink* responses to a visual cue was found; the eyelid's own down-phase takes "
        "~80 ms for voluntary blinks (scleral search coil, 7 adults), so the hand-RT "
        "literature is used for the onset of the lid movement. Assumed, not measured here.",
        "- the detector's delay, measured on the tuning people's clips as recorded: "
        f"`Blink.start` minus the labelled first frame of the blink, quartiles "
        f"{det['15.0']['offset_q'][1:4]} s at 15 fps, {det['30.0']['offset_q'][1:4]} s at "
        f"30 fps (it found {det['15.0']['found']}/{det['15.0']['labelled']} and "
        f"{det['30.0']['found']}/{det['30.0']['labelled']} labelled blinks).",
        "",
        "Measured end to end on the tuning people (cooperative role, window wide open, far-apart "
        "cues) - quantiles 0 / 0.5 / 5 / 50 / 95 / 99.5 / 100%:",
        "",
        _table([[what, *q] for what, q in res["latency_q"].items()],
               ["loop rate, answer", "min", "0.5%", "5%", "median", "95%", "99.5%", "max"]),
        "",
        f"Window = 0.5th to 99.5th percentile over both rates, widened by one 15 fps frame each "
        f"side (the emulator's clock can move a cue by a frame) and rounded outwards to 0.05 s: "
        f"**{lo:.2f}-{hi:.2f} s**.",
        "",
        "## Counts and spacing (tuning people, 15 fps)",
        "",
        "Rule (`pick`): among recording attack <= 1% and median challenge <= 8.5 s, those within "
        "3 points of the best cooperative rate, then the lowest *flawless replay* rate (a clean "
        "recording made for one seed, each blink 0.4 s after its cue and each closure held 1 s, "
        "judged by the real `LivenessCheck` against another seed, 3000 pairs: replayed ZJU "
        "clips pass less often than that only because the detector misses some of their "
        "blinks), then the shortest. Lead 1.0 s, first-cue jitter 1.5 s, one spare cue, the "
        "next cue no sooner than the window's end + 0.1 s (1.8 s after a close cue).",
        "",
        _table(tune_rows, ["closures", "cues", "strays", "gap jitter s", "recording",
                           "replayed session", "flawless replay",
                           "cooperative", "median s", "p95 s"]) if tune_rows else "(not run)",
        "",
        f"Picked: {picked}. The shipped configuration "
        f"{'is this pick' if same else 'DIFFERS from this pick'}: {live}.",
        "",
        "## Results on the test people (shipped configuration)",
        "",
        _table([
            ["recording attack (clip as recorded)", pct(f15["attack"]), pct(f30["attack"])],
            ["cooperative person (re-timed)", pct(f15["cooperative"]),
             pct(f30["cooperative"])],
            ["replayed session (made for another seed)", pct(f15["replayed"]),
             pct(f30["replayed"])],
            ["challenge length, cooperative", _dur(f15["cooperative"]),
             _dur(f30["cooperative"])],
        ], ["", "15 fps (shipped loop rate)", "30 fps"]),
        "",
        _table([goal("recording attack passes", f15["attack"], f30["attack"], "<= 1%",
                     lambda r: r <= 0.01),
                goal("cooperative person passes", f15["cooperative"], f30["cooperative"],
                     ">= 97%", lambda r: r >= 0.97)],
               ["issue goal (test people)", "15 fps", "30 fps", "goal", "met at 15 fps"]),
        "",
        "Per person (test people):",
        "",
        _table(person_rows, ["person", "attack 15 fps", "cooperative 15 fps", "attack 30 fps",
                             "cooperative 30 fps"]),
        "",
        "Why cooperative attempts failed, per person (15 fps): "
        + "; ".join(f"{p} {reasons([t for t in v if not t.passed])}"
                    for p, v in by["cooperative"].items() if any(not t.passed for t in v))
        + f". All (15 fps): {reasons(f15['cooperative'])}; "
        f"(30 fps): {reasons(f30['cooperative'])}. How attacks ended (15 fps): "
        f"{reasons(f15['attack'])}.",
        "",
        "Continuity restarts (the face taken for a new one, a new challenge): "
        f"{sum(t.restarts for v in f15.values() for t in v)} at 15 fps, "
        f"{sum(t.restarts for v in f30.values() for t in v)} at 30 fps over all trials above; "
        f"by clip (both rates) {restarts or 'none'}. Cuts and the recording's loop join only "
        "frames within half of every continuity limit; frames of the recordings themselves "
        "that already differ from the frame before by more than a limit (the camera's own "
        f"jumps, no cut involved): {res['jumps'] or 'none'}. "
        + ("Every restart is in a clip with such a frame: the continuity check breaking on the "
           "footage itself, as it would on a live person, not on the simulator's cuts."
           if set(restarts) <= set(res["jumps"]) else
           "Some restarts are in clips without such a frame: cuts may trip continuity."),
        "",
        f"The same configuration on the tuning people (15 fps, in-sample): attack "
        f"{pct(tc['attack'])}, cooperative {pct(tc['cooperative'])}.",
        "",
        "## Other attacks",
        "",
        f"- **Printed photos** (NUAA ImposterRaw, {nuaa['sequences']} sequences, kept frames "
        f"at 5 fps, looped 30 s, {nuaa['trials']} sessions, guidance relaxed): "
        f"{nuaa['reached_liveness']} reached the challenge, **{nuaa['passed']} passed**. "
        f"Outcomes: {nuaa['reasons']}.",
        f"- **The embedded demo** (`kiosk/assets/demo.mp4`, a recording made for seed "
        f"{demo_['seed']}): with its seed {demo_['own']} (challenge {demo_['challenge_s']} s; "
        f"Blink now at {demo_['challenge']['blink_at']}, blinks counted at "
        f"{demo_['challenge']['seen']}; Close your eyes at {demo_['challenge']['close_at']}, "
        f"closures counted at {demo_['challenge']['closed']}); with seeds 1-{demo_['others']}: "
        f"**{demo_['others_passed']} passed** ({100 * demo_['others_passed'] / demo_['others']:.1f}"
        f"%; first: {demo_['passed_seeds']}). This is the replayed-session attack: a recording "
        "made for one schedule passes when another schedule happens to put its cues near "
        "the same moments.",
        "- **Arithmetic** (idealised eyes through the real `LivenessCheck`, 15 fps, no "
        "detector errors): a recording blinking as a Poisson process passes "
        + ", ".join(f"{100 * v:.2f}% at {k}/min" for k, v in ar["poisson_per_min"].items())
        + " (people blink ~17/min at rest, 26 in conversation, 4.5 reading: Bentivoglio et "
        "al. 1997, Mov. Disord. 12:1028); a metronome blinker at its best period "
        f"({ar['metronome']['period_s']:.1f} s) passes {100 * ar['metronome']['rate']:.2f}%: "
        "blinks, however timed, never answer a close cue. A flawless recording made for "
        f"another seed passes {100 * ar['ideal_replay']:.2f}%: it must meet the same kinds "
        f"in the same order ({live['closures']}-{live['closures_max']} closures among "
        f"{live['cues']} cues, anywhere) and each cue must fall within the window's "
        f"{hi - lo:.2f} s of where the recording answers, while the first cue is spread over "
        f"{live['first_jitter_s']:.1f} s and each next over {live['gap_jitter_s']:.1f} s. The "
        "replayed ZJU sessions above pass more often than this flawless replay because their "
        "video also answers the spare cue: one more answer for another schedule to land on.",
        "",
        "## Sensitivity (test people, 15 fps, cooperative)",
        "",
        _table([[k, pct(v), _dur(v)] for k, v in sens.items()],
               ["the person also", "pass", "challenge length"]),
        "",
        "People blink on their own too: 4.5/min is the reading rate and 17/min the resting "
        "rate (Bentivoglio 1997); while waiting for a cue people hold blinks back and blink "
        "after their response (Wascher et al. 2015, EXCLI J. 14:1207; Hoppe et al. 2018, "
        "PNAS 115:2246), so the real rate during the challenge is likely between the two. "
        "The headline cooperative figure has no spontaneous blinks (every blink answers a "
        "cue), as the issue defines the cooperative person.",
        "",
        "## Limits",
        "",
        "- Reaction times come from the literature on hand responses, not from people blinking "
        "at this kiosk; the screen latency is assumed. Both should be measured on a real "
        "kiosk (`kiosk replay --json` gives `blink_at` and `seen`).",
        "- ZJU faces are small (320x240) and the people were recorded blinking often; the "
        "cooperative role is only as good as the detector on them.",
        "- A recording made for one schedule (the replayed-session row, the demo) is the "
        "strongest timing attack and passes more often than natural blinking; the attempt "
        "limits bound how often it can be tried, and the passive presentation-attack model "
        "is the second, independent barrier against recordings shown on screens.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets")
    ap.add_argument("--quick", action="store_true", help="fewer trials (a smoke run)")
    ap.add_argument("--card", action="store_true",
                    help="re-write the card from the last run's results (no simulation)")
    ap.add_argument("--tune-only", action="store_true",
                    help="stop after choosing the window and the counts (prints the pick)")
    args = ap.parse_args(argv)
    began = time.time()

    def log(msg: str) -> None:
        print(f"[{time.time() - began:6.0f}s] {msg}", flush=True)

    if args.card:
        with (CACHE / "results.pkl").open("rb") as f:
            CARD.write_text(card(pickle.load(f)))
        return 0
    scale = 0.2 if args.quick else 1.0
    cfg = Config()
    sources = load_sources(args.data, sim_config(), log)
    tuning, test = split_people(sources)
    tune_src = [s for s in sources if s.person in tuning]
    test_src = [s for s in sources if s.person in test]
    log(f"people: tuning {tuning}, test {test}")
    res: dict[str, Any] = {"tuning_people": tuning, "test_people": test}
    res["jumps"] = {s.clip.name: j for s in sources if (j := jumps(s, cfg))}

    # 1. what the window must hold (tuning people only)
    res["detector"] = {str(r): detector_timing(tune_src, r) for r in RATES}
    measured = {r: measure_latency(tune_src, r, max(2, int(30 * scale))) for r in RATES}
    qs = (0.0, 0.005, 0.05, 0.5, 0.95, 0.995, 1.0)
    res["latency_q"] = {f"{r:.0f} fps, {what}": quantiles(m[k], qs)
                        for r, m in measured.items()
                        for k, what in enumerate(("blink", "closure"))}
    window = choose_window({(r, k): m[k] for r, m in measured.items() for k in (0, 1)})
    res["window"] = window
    log(f"window {window}: latency quantiles {res['latency_q']}")

    # 2. counts and spacing (tuning people only)
    rows = tune(tune_src, window, log) if not args.quick else []
    res["tuning"] = rows
    res["picked"] = pick(rows) if rows else None
    log(f"picked {res['picked']}")
    if args.tune_only:
        return 0

    # 3. the shipped configuration, scored once on the test people
    live = cfg.liveness
    res["shipped"] = dataclasses.asdict(live)
    per = max(4, int(50 * scale))
    final: dict[str, Any] = {}
    for r in RATES:
        att = attack_trials(test_src, live, r, per_clip=2 * per, seed0=10_000)
        coop = coop_trials(test_src, live, r, per_clip=per, seed0=20_000)
        rep = replayed_trials(test_src, live, r, per_clip=per, seed0=30_000)
        final[str(r)] = {"attack": att, "cooperative": coop, "replayed": rep}
        log(f"{r:.0f} fps: attack {pct(att)}, cooperative {pct(coop)}, replayed {pct(rep)}")
    res["final"] = final
    tune_check = {r: {"attack": attack_trials(tune_src, live, r, per, 40_000),
                      "cooperative": coop_trials(tune_src, live, r, per // 2, 50_000)}
                  for r in (15.0,)}
    res["tune_check"] = tune_check
    res["sensitivity"] = {
        f"spontaneous {m}/min": coop_trials(test_src, live, 15.0, per // 2, 60_000, m)
        for m in (4.5, 17.0)}
    slow = dataclasses.replace(HUMAN, mu_s=HUMAN.mu_s + 0.1)
    res["sensitivity"]["reaction +100 ms"] = coop_trials(test_src, live, 15.0, per // 2,
                                                          70_000, human=slow)
    log("sensitivity done")

    # 4. prints, the demo, the arithmetic
    vision = stack.build(cfg)
    res["nuaa"] = nuaa_prints(args.data, sim_config(live), vision, seeds=3 if scale < 1 else 10)
    log(f"NUAA prints: {res['nuaa']}")
    res["demo"] = demo_seeds(vision, 1000 if scale == 1 else 100)
    log(f"demo: {res['demo']['others_passed']}/{res['demo']['others']} other seeds pass")
    res["arithmetic"] = arithmetic(live, 20000 if scale == 1 else 2000)
    log(f"arithmetic: {res['arithmetic']}")
    res["minutes"] = round((time.time() - began) / 60, 1)
    with (CACHE / "results.pkl").open("wb") as f:
        pickle.dump(res, f)  # `--card` re-writes the card from these without re-running
    CARD.write_text(card(res))
    log(f"wrote {CARD}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
