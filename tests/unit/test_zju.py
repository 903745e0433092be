"""models/zju.py: the ZJU label reader and the label-to-video alignment."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import recipe_module

zju = recipe_module("zju")

pytestmark = pytest.mark.unit

GEOMETRY = "86:49:130:160:112:105:138:107:176:109:200:109"


def tag(lines: list[str]) -> str:
    return "#eye-blink annotation file version 1.1\n#start\n" + "\n".join(lines) + "\n#end\n"


def test_labels_are_read(tmp_path: Path) -> None:
    path = tmp_path / "x.tag"
    path.write_text(tag([f"1:-1:X:X:X:X:X:{GEOMETRY}", f"2:1:X:X:X:X:X:{GEOMETRY}",
                         f"3:1:X:C:X:C:X:{GEOMETRY}", f"4:1:X:C:X:X:X:{GEOMETRY}"]))
    labels = zju.read_labels(path)
    assert labels.frame.tolist() == [1, 2, 3, 4]
    assert labels.blink_id.tolist() == [-1, 1, 1, 1]
    assert labels.closed.tolist() == [0.0, 0.0, 1.0, 0.5]
    assert labels.face[0].tolist() == [86, 49, 130, 160]
    assert labels.corners.shape == (4, 8)


@pytest.mark.parametrize("body", [["1:-1:X"], [f"1:-1:X:X:X:X:X:{GEOMETRY}",
                                               f"3:-1:X:X:X:X:X:{GEOMETRY}"]])
def test_bad_label_files_are_refused(tmp_path: Path, body: list[str]) -> None:
    path = tmp_path / "x.tag"
    path.write_text(tag(body))
    with pytest.raises(ValueError):
        zju.read_labels(path)
    path.write_text("no start line")
    with pytest.raises(ValueError):
        zju.read_labels(path)


def test_decoded_map_skips_inserted_frames() -> None:
    assert zju.decoded_map(5, [0, 3]).tolist() == [1, 2, 4, 5, 6]
    assert zju.decoded_map(3, []).tolist() == [0, 1, 2]


def test_alignment_recovers_inserted_frames() -> None:
    # 60 annotator frames with blinks at 10-13, 30-33, 50-53; the video repeats frames 20 and
    # 41 (after insertion), so later blinks show up one and two frames late
    m, inserted = 60, [20, 41]
    target = np.zeros(m)
    for s in (10, 30, 50):
        target[s:s + 4] = 1
    target -= target.mean()
    dmap = zju.decoded_map(m, inserted)
    signal = np.zeros(m + 2)
    for s in (10, 30, 50):
        signal[dmap[s:s + 4]] = 5.0
    signal += np.random.default_rng(0).normal(0, 0.3, m + 2)
    change = np.full(m + 2, 0.01)
    change[inserted] = 1e-4  # repeats barely change
    assert zju.align(target, signal, zju.repeat_cost(change)) == inserted


def test_alignment_refuses_fewer_frames_than_labels() -> None:
    with pytest.raises(ValueError):
        zju.align(np.zeros(5), np.zeros(4), np.zeros(4))


@pytest.mark.dataset
def test_every_clip_is_read_with_aligned_labels(datasets: Path) -> None:
    clips = zju.load_clips(datasets)
    assert len(clips) == 80
    assert len({c.person for c in clips}) == 20
    assert sum(len(c.blinks) for c in clips) == 261  # the README's count
    assert {c.condition for c in clips} == set(zju.CONDITIONS)
    for c in clips:
        assert 29.9 < c.fps < 30.1
        assert len(c.in_blink) == c.n_frames
        for b in c.blinks:
            assert 0 <= b.start <= b.end < c.n_frames
            assert c.in_blink[b.start : b.end + 1].all()
        assert not (c.closed & ~c.in_blink).any()
