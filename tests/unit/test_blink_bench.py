"""models/blink_bench.py: the person folds and the event matching rule."""

from __future__ import annotations

import pytest

from kiosk.vision.blink import Blink
from tests.conftest import recipe_module

bb = recipe_module("blink_bench")

pytestmark = pytest.mark.unit

PEOPLE = [f"{i:06d}{'F' if i in (13, 14, 15, 16, 17, 19, 20) else 'M'}" for i in range(1, 21)]


def test_folds_cover_the_dev_people_once_and_never_a_test_person() -> None:
    roles = bb.split(PEOPLE)
    folds = bb.folds(roles)
    dev = sorted(p for p, r in roles.items() if r != "test")
    assert sorted(p for f in folds for p in f) == dev  # each dev person in exactly one fold
    assert len(folds) == bb.FOLDS
    for f in folds:  # stratified: every fold has men and women
        assert {p[-1] for p in f} == {"M", "F"}
    assert bb.folds(roles) == folds  # seeded


def test_matching_rule_start_tolerance_and_end_window() -> None:
    blinks = [(1.0, 1.3)]  # labelled start, reopening (s)
    span = (0.0, 5.0)
    ok = bb.match([Blink(1.05, 1.25)], blinks, [], span, 30)
    assert (ok.tp, ok.fp, ok.fn) == (1, 0, 0)
    late_start = bb.match([Blink(1.1, 1.25)], blinks, [], span, 30)  # 3 frames off at 30 fps
    assert (late_start.tp, late_start.fp, late_start.fn) == (0, 1, 1)
    at_15 = bb.match([Blink(1.1, 1.25)], blinks, [], span, 15)  # 2 frames at 15 fps: fits
    assert at_15.tp == 1
    late_end = bb.match([Blink(1.0, 1.45)], blinks, [], span, 30)  # counted > 2 frames late
    assert late_end.tp == 0
    cut = bb.match([Blink(0.0, 0.1)], blinks, [(0.0, 0.15)], span, 30)  # a cut blink: ignored
    assert (cut.tp, cut.fp, cut.fn) == (0, 0, 1)
    got, free = bb.outcomes([Blink(1.0, 1.2), Blink(1.0, 1.2), Blink(3.0, 3.2)], blinks, [],
                            span, 30)
    assert got == [0, "false", "false"] and free == []  # one-to-one


def test_results_merge_by_key() -> None:
    a, b = bb.Result(), bb.Result()
    a.add("all", "all", 30, bb.Counts(tp=2, fp=1))
    b.add("all", "all", 30, bb.Counts(tp=1, fn=1))
    b.add("person", "x", 15, bb.Counts(tp=1))
    merged = bb.Result.merged([a, b])
    c = merged.get("all", "all", 30)
    assert (c.tp, c.fp, c.fn) == (3, 1, 1)
    assert merged.get("person", "x", 15).tp == 1
