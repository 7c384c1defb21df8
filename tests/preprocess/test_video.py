"""prepare-video on the real test videos: tracking, faceless frames, spotting, outputs, errors."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import cv2
import numpy as np
import pytest

import lfd_tcmen.preprocess.video as video_module
from lfd_tcmen.cli import main
from lfd_tcmen.preprocess.clip_file import read_clip_features
from lfd_tcmen.preprocess.inputs import model_inputs
from lfd_tcmen.preprocess.keyframes import MACRO_MOTION_PX, STILL_MOTION_PX
from lfd_tcmen.preprocess.video import (
    MACRO,
    MICRO,
    STILL,
    face_runs,
    motion_outcome,
    outcome_line,
    prepare_video,
    steady_boxes,
    track_video_faces,
)
from still_videos import looped_video, still_video


def _video(shared_data: Path, name: str) -> Path:
    path = shared_data / "videos" / name
    if not path.is_file():
        pytest.skip(f"test video {path} not found")
    return path


def _check_outputs(out: Path, clip: dict) -> None:
    assert json.loads((out / "clip.json").read_text()) == clip
    on, ap, off = clip["onset"], clip["apex"], clip["offset"]
    assert on < ap < off and off - on >= 2
    assert {on, ap, off} <= set(clip["face_frames"])  # the interval lies on frames with a face
    crops = sorted((out / "faces").glob("frame_*.png"))
    assert [p.name for p in crops] == [f"frame_{i:06d}.png" for i in range(on, off + 1)]
    face = cv2.imread(str(crops[0]), cv2.IMREAD_GRAYSCALE)
    assert face.shape == (128, 128) and face.std() > 10  # a real crop, not a flat border
    arrays, meta = read_clip_features(out / "features.npz")
    assert arrays["faces"].shape == (3, 128, 128) and arrays["flows"].shape == (4, 3, 128, 128)
    assert (meta["onset"], meta["apex"], meta["offset"], meta["apex_source"]) == (on, ap, off, "spotted")
    np.testing.assert_array_equal(arrays["faces"][0], face)  # the stored onset face is the first crop
    faces, flows = model_inputs(arrays)
    assert faces.shape == (3, 64, 64) and flows.shape == (4, 3, 28, 28)


def test_single_face_video(shared_data: Path, tmp_path: Path) -> None:
    clip = prepare_video(_video(shared_data, "single_face.mp4"), tmp_path, progress=False)
    assert (clip["n_frames"], clip["fps"]) == (72, 30.0)
    assert clip["face_frames"] == list(range(72)) and clip["n_face_frames"] == 72
    _check_outputs(tmp_path, clip)


def test_face_leaving_the_frame(shared_data: Path, tmp_path: Path) -> None:
    # HEVC: OpenCV's bundled FFmpeg decodes it; the face is gone from frame 72 on
    clip = prepare_video(_video(shared_data, "face_noface.mov"), tmp_path, max_frames=90, progress=False)
    assert clip["n_frames"] == 90
    assert clip["face_frames"] == list(range(72))
    assert clip["offset"] <= 71
    _check_outputs(tmp_path, clip)


def test_cli_on_real_video(shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    video = _video(shared_data, "WolfgangLanger_Pexels.mp4")
    argv = ["prepare-video", str(video), "--out", str(tmp_path), "--max-frames", "48", "--no-progress"]
    # its first two seconds move more than any real micro-expression (a macro movement, the gate's
    # outcome: test_a_macro_movement_writes_no_features); the outputs are checked here, so no ceiling
    rc = main([*argv, "--max-motion", "inf"])
    assert rc == 0
    clip = json.loads((tmp_path / "clip.json").read_text())
    assert (
        clip["n_frames"] == 48 and abs(clip["fps"] - 23.976) < 0.01 and clip["outcome"] == "micro-expression"
    )
    assert clip["face_frames"] == list(range(48))
    assert f"spotted at frames {clip['onset']}..{clip['offset']}" in capsys.readouterr().out
    _check_outputs(tmp_path, clip)


def test_cli_no_face(shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    video = _video(shared_data, "no_face.mp4")
    rc = main(
        ["prepare-video", str(video), "--out", str(tmp_path / "out"), "--max-frames", "24", "--no-progress"]
    )
    assert rc != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"lfd-tcmen: error: {video}: no face found in any of the 24 frames read"]
    assert not (tmp_path / "out" / "clip.json").exists()


def test_cli_unreadable_video(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake = tmp_path / "fake.mp4"
    fake.write_bytes(b"\x00" * 1000)
    rc = main(["prepare-video", str(fake), "--out", str(tmp_path / "out"), "--no-progress"])
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"lfd-tcmen: error: {fake}: ")


def test_face_runs_drop_flashes() -> None:
    box = (0, 0, 1, 1)
    boxes = [box, None, box, box, box, None, box, box, None, box, box, box, box]
    assert face_runs(boxes, 3) == [(2, 4), (9, 12)]
    assert face_runs(boxes, 1) == [(0, 0), (2, 4), (6, 7), (9, 12)]
    assert face_runs([None, None], 1) == []


def test_still_face_video_writes_no_features(shared_data: Path, tmp_path: Path, capsys) -> None:
    still = still_video(shared_data, tmp_path / "still.mp4")
    out = tmp_path / "out"
    moving = prepare_video(_video(shared_data, "single_face.mp4"), out, progress=False)
    assert moving["micro_expression"] and (out / "features.npz").is_file()
    rc = main(["prepare-video", str(still), "--out", str(out), "--no-progress"])
    assert rc == 0
    clip = json.loads((out / "clip.json").read_text())
    assert clip["micro_expression"] is False and clip["peak_motion"] < clip["min_motion"] == STILL_MOTION_PX
    assert clip["features"] is None and clip["faces"] is None
    # the earlier run's outputs are gone: nothing of another video is left to be read as this one's
    assert not (out / "features.npz").exists() and not list((out / "faces").glob("*.png"))
    assert "no micro-expression found" in capsys.readouterr().out
    assert moving["peak_motion"] > STILL_MOTION_PX  # the real, moving face is above it


def test_the_outcome_of_a_peak_between_the_floor_and_the_ceiling() -> None:
    assert motion_outcome(1.49, 1.5, 9.0) == STILL and motion_outcome(1.5, 1.5, 9.0) == MICRO
    assert motion_outcome(8.99, 1.5, 9.0) == MICRO and motion_outcome(9.0, 1.5, 9.0) == MACRO
    clip = {"onset": 3, "offset": 9, "peak_motion": 12.07, "min_motion": 1.5, "max_motion": 9.0}
    assert outcome_line({**clip, "outcome": MACRO}).startswith("no micro-expression: the motion is too large")
    assert outcome_line({**clip, "peak_motion": 0.4, "outcome": STILL}) == (
        "no micro-expression found: the most likely interval (frames 3..9) moves 0.40 px at its peak, "
        "below the 1.50 px of a still face (--min-motion)"
    )


def test_a_macro_movement_writes_no_features(shared_data: Path, tmp_path: Path, capsys) -> None:
    """A hand passing over the face (WolfgangLanger_Pexels.mp4) peaks far above MACRO_MOTION_PX."""
    video = _video(shared_data, "WolfgangLanger_Pexels.mp4")
    assert main(["prepare-video", str(video), "--out", str(tmp_path), "--no-progress"]) == 0
    clip = json.loads((tmp_path / "clip.json").read_text())
    assert clip["outcome"] == MACRO and clip["micro_expression"] is False
    assert clip["peak_motion"] >= clip["max_motion"] == MACRO_MOTION_PX and clip["features"] is None
    assert not (tmp_path / "features.npz").exists()
    assert "no micro-expression: the motion is too large for one" in capsys.readouterr().out


def test_steady_boxes_remove_short_jumps_and_follow_slow_motion() -> None:
    a, b = (10, 10, 50, 50), (20, 25, 70, 75)
    flips = [a] * 5 + [b] + [a] * 5 + [b, b] + [a] * 5
    assert steady_boxes(flips, 3) == [a] * len(flips)
    drift = [(i, i, 40 + i, 40 + i) for i in range(10)]
    assert steady_boxes(drift, 2)[2:-2] == drift[2:-2]


def test_streamed_tracking_detects_keys_and_run_edges(monkeypatch: pytest.MonkeyPatch) -> None:
    """Frames carry their index; the fake detector finds a face on frames 3-9 and 14-16 only."""
    seen: list[int] = []

    def detect(frame: np.ndarray, detector: str = "dlib"):
        i = int(frame[0, 0])
        seen.append(i)
        return (i, 0, i + 10, 10) if 3 <= i <= 9 or 14 <= i <= 16 else None

    monkeypatch.setattr(video_module.face, "detect_face", detect)
    frames = (np.full((32, 32), i, np.uint8) for i in range(18))
    boxes = track_video_faces(frames, "dlib", every=2)
    assert [i for i, b in enumerate(boxes) if b is not None] == [3, 4, 5, 6, 7, 8, 9, 14, 15, 16]
    assert sorted(seen) == [0, 2, 3, 4, 6, 8, 9, 10, 12, 13, 14, 16, 17]  # keys, the last, run edges
    assert boxes[5] == (6, 0, 16, 10)  # between the smoothed keys 4 (5, ...) and 6 (6, ...)


def test_memory_does_not_grow_with_video_length(shared_data: Path, tmp_path: Path) -> None:
    """A real clip looped 4x and 16x (480 and 1920 frames): peak traced memory about the same.
    Reading the whole 1920-frame video into memory would add ~46 MB (176 x 144 per frame)."""
    peaks = []
    for loops in (4, 16):
        video = looped_video(shared_data, tmp_path / f"loop{loops}.mp4", loops)
        tracemalloc.start()
        clip = prepare_video(video, tmp_path / f"out{loops}", progress=False, detect_max_side=160)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert clip["n_frames"] == 120 * loops
    assert peaks[1] - peaks[0] < 4 * 2**20, [p / 2**20 for p in peaks]
