"""`kiosk replay`: the prompts shown, and --video/--screens drawing what the screen showed."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest

from kiosk import cli, messages
from kiosk.config import Config
from kiosk.replay import run
from tests.conftest import ROOT

pytestmark = pytest.mark.replay

DEMO = ROOT / "kiosk/assets/demo.mp4"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("replay")
    result = run(Config(), Path("demo"), None, None, video=out / "screen.mp4",
                 screens=out / "screens")
    return result, out


def test_prompts_list_every_message_shown_by_catalogue_key(rendered) -> None:
    result, _ = rendered
    prompts = result["prompts"]
    cat = messages.load("en")
    assert all(cat.has(p["key"]) for p in prompts), prompts
    times = [p["t"] for p in prompts]
    assert times == sorted(times)
    keys = [p["key"] for p in prompts]
    assert keys[0] == "attract.prompt" and keys[-1] == "result.pass"
    assert all(a != b for a, b in zip(keys, keys[1:], strict=False))  # only changes
    # each stage change shows its stage's first message at that moment
    firsts = {"position": "position.", "liveness": "liveness.", "occlusion": "occlusion.",
              "capture": "capture.", "result": "result."}
    for stage in result["stages"][1:]:
        shown = [p for p in prompts if p["t"] == stage["t"]]
        assert shown and shown[-1]["key"].startswith(firsts[stage["stage"]]), stage


def test_video_and_screens_show_what_the_screen_showed(rendered) -> None:
    result, out = rendered
    assert result["outcome"] == "captured"
    assert result["video"] == str(out / "screen.mp4")
    video = cv2.VideoCapture(result["video"])
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == result["frames"]
    assert (video.get(cv2.CAP_PROP_FRAME_WIDTH), video.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (
        1024, 600)
    video.release()
    index = [json.loads(line) for line in (out / "screens" / "screens.jsonl").open()]
    assert all((out / "screens" / e["file"]).is_file() for e in index)
    assert index[0]["kind"] == "attract" and index[-1]["kind"] == "result"
    assert index[-1]["prompt"] == "Thank you, your selfie is saved"
    texts = {e["prompt"] for e in index}
    cat = messages.load("en")
    for key in ("attract.prompt", "position.good", "occlusion.checking", "result.pass"):
        assert cat.text(key) in texts, key


@pytest.mark.parametrize("args, message", [
    (["--video", "out.txt"], "must end in .mp4 or .avi"),
    (["--video", "no/such/folder/out.mp4"], "does not exist"),
])
def test_bad_output_paths_are_refused_before_replaying(
        args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KIOSK_CONFIG", raising=False)
    (tmp_path / "file").write_text("x")
    assert cli.main(["replay", str(DEMO), *args]) == 1
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [tmp_path / "file"]


def test_screens_folder_that_is_a_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("KIOSK_CONFIG", raising=False)
    (tmp_path / "file").write_text("x")
    assert cli.main(["replay", str(DEMO), "--screens", str(tmp_path / "file")]) == 1
    assert "is not a folder" in capsys.readouterr().err
