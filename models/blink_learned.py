"""A learned per-eye closure for the blink detector (measured, not shipped): logistic, numpy.

The kiosk's rule measures each eye's p(closed) against the person's open level and applies a
hysteresis band. The option measured here replaces that closure by a logistic model over a
short window of per-frame features of the eye, and of the other eye:

- the calibrated closure of both eyes (the rule's own input),
- the eye's change in closure since the previous frame,
- how far both eye crops are from the person's open-eye crops (mean absolute difference
  from the median crop of the POSITION frames, as a log ratio to its POSITION level),
- the eye crop's change since the previous frame,

trained on frames labelled "both eyes shut" of other people. The band on the learned
closure is chosen on the training people; the same state machine (both eyes closed, timing)
turns it into blinks. `nested()` scores it leave-fold-out over the dev people, like the rule.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import blink_bench as bb
import blink_features as bf
import numpy as np
import zju

from kiosk.domain import Eyes
from kiosk.vision.blink import Blink, BlinkDetector, BlinkParams

BANDS = [(o, c) for o, c in itertools.product((0.05, 0.1, 0.2, 0.3), (0.3, 0.4, 0.5, 0.6, 0.7))
         if o < c]
L2 = 1.0


class _Learned(BlinkDetector):
    """The kiosk detector with a learned closure (weights `w`, or features only if None)."""

    def __init__(self, params: BlinkParams, w: np.ndarray | None) -> None:
        super().__init__(params)
        self.w = w
        self.crops: np.ndarray | None = None  # [2, 32, 32] of the frame being fed
        self._open: list[np.ndarray] = []  # POSITION crops: the open-eye template
        self._prev: tuple[np.ndarray, np.ndarray] | None = None
        self.rows: np.ndarray | None = None

    def position(self, t: float, eyes: Eyes | None) -> None:
        """A POSITION frame: the open level and the open-eye crops."""
        self.calibrate(t, eyes)
        if eyes is not None and self.crops is not None:
            self._open.append(self.crops.astype(np.float32))
            self._template: tuple[np.ndarray, np.ndarray] | None = None

    def features(self, eyes: Eyes) -> np.ndarray:
        c = np.array(super().closure(eyes))
        crops = self.crops.astype(np.float32)  # type: ignore[union-attr]
        if self._open and getattr(self, "_template", None) is None:
            template = np.median(np.stack(self._open), axis=0)
            rest = np.maximum(np.median([np.abs(o - template).mean(axis=(1, 2))
                                         for o in self._open], axis=0), 0.5)
            self._template = (template, rest)
        if self._open:
            template, rest = self._template  # type: ignore[misc]
            far = np.log(np.abs(crops - template).mean(axis=(1, 2)) / rest)
        else:
            far = np.zeros(2)
        pc, pcrops = self._prev if self._prev is not None else (c, crops)
        moved = np.abs(crops - pcrops).mean(axis=(1, 2)) / 10
        self._prev = (c, crops)
        return np.array([[c[e], c[1 - e], c[e] - pc[e], far[e], far[1 - e], moved[e]]
                         for e in (0, 1)])

    def closure(self, eyes: Eyes) -> tuple[float, float]:
        if self.rows is None or self.w is None:  # outside update, or the rule itself
            return super().closure(eyes)
        z = self.w[0] + self.rows @ self.w[1:]
        q = 1 / (1 + np.exp(-z))
        return float(q[0]), float(q[1])

    def update(self, t: float, eyes: Eyes | None) -> Blink | None:
        self.rows = self.features(eyes) if eyes is not None else None
        if eyes is None:
            self._prev = None
        return super().update(t, eyes)


class _Player:
    """Benchmark adapter: feeds the cached crops with each frame."""

    def __init__(self, params: BlinkParams, w: np.ndarray | None,
                 crops: dict[int, np.ndarray]) -> None:
        self.detector = _Learned(params, w)
        self.crops = crops

    def update(self, t: float, s: bb.Signals, i: int) -> Blink | None:
        self.detector.crops = self.crops[id(s)][i]
        return self.detector.update(t, s.eyes(i))

    def calibrate(self, t: float, s: bb.Signals, i: int) -> None:
        self.detector.crops = self.crops[id(s)][i]
        self.detector.position(t, s.eyes(i))


def training_rows(clips: Sequence[zju.Clip], sig: dict[str, bb.Signals],
                  crops: dict[int, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per-eye feature rows of every labelled frame at 30 fps; target: both eyes shut."""
    x, y = [], []
    for clip in clips:
        s = sig[clip.name]
        idx = np.arange(clip.n_frames)
        player = bb.position(_Player(BlinkParams(), None, crops), s, idx, clip.fps)
        for i in idx:
            player.update(i / clip.fps, s, int(i))
            rows = player.detector.rows  # type: ignore[attr-defined]
            if rows is not None and clip.labelled[i]:
                x.append(rows)
                y += [float(clip.closed[i])] * 2
    return np.concatenate(x), np.array(y)


def fit(x: np.ndarray, y: np.ndarray, l2: float = L2, steps: int = 30) -> np.ndarray:
    """Logistic regression by Newton steps (L2 on the weights, not the bias)."""
    xb = np.column_stack([np.ones(len(x)), x])
    w = np.zeros(xb.shape[1])
    reg = l2 * np.diag(np.r_[0.0, np.ones(x.shape[1])])
    for _ in range(steps):
        q = 1 / (1 + np.exp(-(xb @ w)))
        w -= np.linalg.solve((xb * (q * (1 - q))[:, None]).T @ xb + reg,
                             xb.T @ (q - y) + reg @ w)
    return w


def nested(clips: Sequence[zju.Clip], sig: dict[str, bb.Signals],
           fold_people: list[list[str]]) -> tuple[bb.Result, list[tuple[float, float]]]:
    """Leave-fold-out: weights and band from the other folds' people, scored on the fold's."""
    crops = {id(sig[c.name]): bf.clip_features(c).crops for c in clips}
    base = BlinkParams()
    parts, bands = [], []
    for held in fold_people:
        train = [c for c in clips if c.person not in held]
        w = fit(*training_rows(train, sig, crops))

        def make(band: tuple[float, float], w: np.ndarray = w) -> bb.Factory:
            params = BlinkParams(**{**base.__dict__, "open_at": band[0], "close_at": band[1]})
            return lambda: _Player(params, w, crops)

        band = max(BANDS, key=lambda b: bb.goal_score(bb.evaluate(make(b), train, sig)))
        parts.append(bb.evaluate(make(band), [c for c in clips if c.person in held], sig))
        bands.append(band)
    return bb.Result.merged(parts), bands
