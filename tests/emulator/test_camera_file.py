"""FileCamera on generated videos and image directories: pacing, simulated time, loop, damage."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.config import parse
from kiosk.errors import CameraError, InputError
from kiosk.hardware.camera import FileCamera, FileSourceError, open_camera

pytestmark = pytest.mark.emulator

W, H = 64, 48


def level(i: int) -> int:
    return 10 + 8 * i  # frame i is a flat image of this grey level (robust to compression)


def write_video(path: Path, n: int, fps: float, fourcc: str = "MJPG") -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (W, H))
    assert writer.isOpened()
    for i in range(n):
        writer.write(np.full((H, W, 3), level(i), np.uint8))
    writer.release()
    return path


def write_images(folder: Path, n: int) -> Path:
    folder.mkdir()
    for i in reversed(range(n)):  # written out of order: the camera must sort by name
        image = np.zeros((H, W, 3), np.uint8)
        image[..., 0] = level(i)  # red channel in RGB terms
        cv2.imwrite(str(folder / f"f{i:03d}.png"), image[..., ::-1])
    return folder


def frame_no(frame) -> int:
    return round((float(frame.image.mean(axis=(0, 1)).max()) - 10) / 8)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def video(tmp_path: Path) -> Path:
    return write_video(tmp_path / "clip.avi", 20, 10.0)


def test_simulated_time_gives_every_frame_with_t_from_index(video: Path) -> None:
    cam = FileCamera(video, clock=FakeClock(), realtime=False, loop=False)
    assert cam.fps == pytest.approx(10.0)
    frames = list(cam)
    assert [f.index for f in frames] == list(range(20))
    assert [f.t for f in frames] == pytest.approx([i / 10 for i in range(20)])
    assert [frame_no(f) for f in frames] == list(range(20))
    assert frames[0].image.dtype == np.uint8 and frames[0].image.shape == (H, W, 3)
    assert cam.finished and cam.read() is None
    cam.close()


def test_realtime_returns_only_the_newest_due_frame_and_counts_drops(video: Path) -> None:
    clock = FakeClock()
    cam = FileCamera(video, clock=clock, realtime=True, loop=False)
    cam.start()
    first = cam.read()
    assert first is not None and first.index == 0 and first.t == pytest.approx(100.0)
    assert cam.read() is None  # frame 1 is not due before 0.1 s
    clock.now += 0.35  # frames 1, 2 fell behind; 3 is the newest due
    f = cam.read()
    assert f is not None and f.index == 3 and frame_no(f) == 3
    assert f.t == pytest.approx(100.3)
    assert cam.dropped == 2
    assert cam.read() is None
    clock.now += 10  # far past the end, no loop
    assert cam.read() is None and cam.finished
    assert np.array_equal(cam.still(), f.image)


def test_loop_restarts_and_keeps_the_index_and_time_running(video: Path) -> None:
    cam = FileCamera(video, clock=FakeClock(), realtime=False, loop=True)
    frames = [cam.read() for _ in range(45)]
    assert all(f is not None for f in frames)
    assert [frame_no(f) for f in frames] == [i % 20 for i in range(45)]
    assert frames[-1].index == 44 and frames[-1].t == pytest.approx(4.4)
    assert not cam.finished


def test_realtime_loop_skips_across_the_end(video: Path) -> None:
    clock = FakeClock()
    cam = FileCamera(video, clock=clock, realtime=True, loop=True)
    cam.start()
    clock.now += 2.55  # due frame 25 = source frame 5 of the second pass
    f = cam.read()
    assert f is not None and f.index == 25 and frame_no(f) == 5
    assert cam.dropped == 25


def test_directory_sorted_by_name_at_given_fps(tmp_path: Path) -> None:
    folder = write_images(tmp_path / "frames", 6)
    cam = FileCamera(folder, clock=FakeClock(), realtime=False, loop=False, fps=5)
    frames = list(cam)
    assert [frame_no(f) for f in frames] == list(range(6))
    assert frames[0].image[0, 0, 0] == level(0) and frames[0].image[0, 0, 2] == 0  # RGB order
    assert [f.t for f in frames] == pytest.approx([i / 5 for i in range(6)])


def test_directory_default_fps_is_15(tmp_path: Path) -> None:
    cam = FileCamera(write_images(tmp_path / "frames", 2), clock=FakeClock(), realtime=False)
    assert cam.fps == 15.0


@pytest.mark.parametrize(("fraction", "message"), [
    (0.3, "cannot open video"),  # the header/index is cut: the container does not open
    (0.8, "ends at frame .* of 20"),  # frames are missing: found when the stream stops early
])
def test_truncated_video_is_a_clear_input_error(video: Path, tmp_path: Path, fraction: float,
                                                message: str) -> None:
    data = video.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(InputError, match=message):
        list(FileCamera(cut, clock=FakeClock(), realtime=False))


def test_truncated_mp4_cannot_be_opened(tmp_path: Path) -> None:
    video = write_video(tmp_path / "clip.mp4", 10, 10.0, fourcc="mp4v")
    video.write_bytes(video.read_bytes()[: video.stat().st_size // 2])
    with pytest.raises(InputError, match="cannot open video"):
        FileCamera(video, clock=FakeClock(), realtime=False)


def test_unreadable_image_in_directory(tmp_path: Path) -> None:
    folder = write_images(tmp_path / "frames", 3)
    (folder / "f001.png").write_bytes(b"not a png")
    cam = FileCamera(folder, clock=FakeClock(), realtime=False)
    assert cam.read() is not None
    with pytest.raises(InputError, match="f001.png: not a readable image"):
        cam.read()


def test_empty_or_missing_sources(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no image files"):
        FileCamera(tmp_path / "empty", clock=FakeClock())
    with pytest.raises(InputError, match="no such video file"):
        FileCamera(tmp_path / "missing.mp4", clock=FakeClock())


def test_source_errors_are_camera_errors_for_the_daemon(tmp_path: Path) -> None:
    assert issubclass(FileSourceError, CameraError) and issubclass(FileSourceError, InputError)
    cfg = parse({"camera": {"source": str(tmp_path / "nothing-here")}})
    with pytest.raises(CameraError, match="neither picamera2, webcam, demo"):
        open_camera(cfg, FakeClock())


def test_open_camera_builds_a_file_camera(video: Path) -> None:
    cfg = parse({"camera": {"source": str(video), "loop": False}})
    cam = open_camera(cfg, FakeClock(), realtime=False)
    assert isinstance(cam, FileCamera) and not cam.loop and cam.fps == pytest.approx(10)


def test_open_camera_demo_resolves_to_the_bundled_clip() -> None:
    cam = open_camera(parse({}), FakeClock(), realtime=False)
    assert isinstance(cam, FileCamera)
    frame = cam.read()
    assert frame is not None and frame.image.ndim == 3
    cam.close()
