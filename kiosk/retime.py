"""Re-time real footage so that its own blinks answer a challenge's cues (demo and simulator).

A person who follows the cues is played from a real clip, never synthetic eyes: each of the
clip's blinks is placed, at its real speed, so that it starts a reaction delay after a cue;
the time between blinks is filled with the clip's open-eye frames, slowed down or sped up
(frame repeats, decimation) along a path that never passes through a blink. Where the path
must leave one open stretch of the clip for another it takes a *cut*, a pair of frames the
caller found to look alike (same face position and appearance), so the cut itself does not
look like a face swap to the kiosk's continuity check.

Used by `kiosk.demo.render` (the embedded demo answers its documented seed's cues) and by the
liveness simulator in models/ (the cooperative person). Pure planning: frame indices in,
frame indices out.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Footage:
    """What the planner needs to know about a clip."""

    frames: int
    fps: float
    blinks: tuple[tuple[int, int], ...]  # every blink: first frame closing, first open after
    margin: int = 2  # frames kept clear of each blink when filling
    cuts: tuple[tuple[int, int, float], ...] = ()  # (a, b, cost): frame b may follow frame a
    avoid: frozenset[int] = frozenset()  # frames never used to fill (no face, unlabelled...)
    shut: tuple[int, ...] = ()  # per blink, a frame with both eyes shut (default: its middle)

    def shut_frame(self, blink: int) -> int:
        start, end = self.blinks[blink]
        return self.shut[blink] if self.shut else (start + end - 1) // 2

    def open_frames(self) -> list[bool]:
        ok = [i not in self.avoid for i in range(self.frames)]
        for start, end in self.blinks:
            for i in range(max(0, start - self.margin), min(self.frames, end + self.margin + 1)):
                ok[i] = False
        return ok

    def open_runs(self) -> list[list[int]]:
        """The stretches of consecutive open frames (cuts join them)."""
        runs: list[list[int]] = []
        for i, good in enumerate(self.open_frames()):
            if good and runs and runs[-1][-1] == i - 1:
                runs[-1].append(i)
            elif good:
                runs.append([i])
        return runs


def _path(footage: Footage, a: int, b: int, ok: list[bool]) -> list[int]:
    """Cheapest walk from frame a to frame b over open frames: steps to a neighbouring frame
    cost 1, a cut costs what the caller said (cuts go both ways)."""
    edges: dict[int, list[tuple[int, float]]] = {}
    for x, y, cost in footage.cuts:
        if ok[x] and ok[y]:
            edges.setdefault(x, []).append((y, cost))
            edges.setdefault(y, []).append((x, cost))
    best = {a: 0.0}
    back: dict[int, int] = {}
    heap = [(0.0, a)]
    while heap:
        d, x = heapq.heappop(heap)
        if x == b:
            break
        if d > best[x]:
            continue
        steps = [(x + s, 1.0) for s in (-1, 1) if 0 <= x + s < footage.frames and ok[x + s]]
        for y, cost in steps + edges.get(x, []):
            if d + cost < best.get(y, float("inf")):
                best[y], back[y] = d + cost, x
                heapq.heappush(heap, (d + cost, y))
    if b not in best:
        raise ValueError(f"no open-eye path from frame {a} to frame {b}: add cuts")
    path = [b]
    while path[-1] != a:
        path.append(back[path[-1]])
    return path[::-1]


def _nearest_open(i: int, ok: list[bool]) -> int:
    return min((j for j, good in enumerate(ok) if good), key=lambda j: abs(j - i))


def plan(footage: Footage, onsets: Sequence[float], blinks: Sequence[int], n_out: int,
         fps_out: float, t0: float = 0.0, first: int | None = None,
         last: int | None = None, holds: Sequence[float] | None = None) -> list[int]:
    """Source frame for each of `n_out` output frames at t0 + k / fps_out.

    Blink `blinks[i]` (an index into `footage.blinks`) starts closing at output time
    `onsets[i]`, played at the clip's real speed with `margin` frames around it; `holds[i]`
    seconds (default 0) keep its shut frame on screen before it opens again: eyes closed on
    purpose are that blink's own closed eyes, held. Between blinks the walk goes over open
    frames from where one blink segment ends to where the next begins. `first` / `last`:
    frames the output starts and ends on (default: nearest open frames to the segments).
    """
    ok = footage.open_frames()
    holds = holds if holds is not None else [0.0] * len(onsets)
    segments: list[tuple[int, int, int]] = []  # (first output k, last output k, blink)
    for onset, which, hold in zip(onsets, blinks, holds, strict=True):
        start, end = footage.blinks[which]
        src0 = max(0, start - footage.margin)
        src1 = min(footage.frames - 1, end + footage.margin)
        k0 = round((onset - t0 + (src0 - start) / footage.fps) * fps_out)
        k1 = k0 + int(((src1 - src0) / footage.fps + hold) * fps_out)
        if segments and k0 <= segments[-1][1]:
            raise ValueError("blink onsets too close for their blinks to play in full")
        if k0 < 0 or k1 >= n_out:
            raise ValueError("a blink does not fit into the output")
        segments.append((k0, k1, which))
    out: list[int] = [-1] * n_out
    for (k0, k1, which), onset, hold in zip(segments, onsets, holds, strict=True):
        start, shut = footage.blinks[which][0], footage.shut_frame(which)
        for k in range(k0, k1 + 1):
            # real time within the blink: before the shut frame as recorded, then held
            dt = (t0 + k / fps_out - onset) * footage.fps
            held = hold * footage.fps
            src = start + dt if start + dt <= shut else max(shut, start + dt - held)
            out[k] = min(footage.frames - 1, max(0, round(src)))
    # fill the gaps: before the first segment, between segments, after the last
    bounds = [(-1, first)] + [(k1, None) for _, k1, _ in segments]
    nexts = [k0 for k0, _, _ in segments] + [n_out]
    for (prev_k, start_frame), next_k in zip(bounds, nexts, strict=True):
        length = next_k - prev_k - 1
        if length <= 0:
            continue
        a = out[prev_k] if prev_k >= 0 else start_frame
        b = out[next_k] if next_k < n_out else last
        a = _nearest_open(a if a is not None else (b if b is not None else 0), ok)
        b = _nearest_open(b if b is not None else a, ok)
        path = _path(footage, a, b, ok)
        for j in range(length):
            # spread the path over the gap: repeats when it is short, skips when it is long
            out[prev_k + 1 + j] = path[round(j * (len(path) - 1) / max(1, length - 1))]
    return out
