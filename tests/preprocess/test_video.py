"""prepare-video on the real test videos: tracking, faceless frames, spotting, outputs, errors."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from lfd_tcmen.cli import main
from lfd_tcmen.preprocess.store import model_inputs, read_clip_features
from lfd_tcmen.preprocess.video import face_runs, prepare_video


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
    rc = main(["prepare-video", str(video), "--out", str(tmp_path), "--max-frames", "48", "--no-progress"])
    assert rc == 0
    clip = json.loads((tmp_path / "clip.json").read_text())
    assert clip["n_frames"] == 48 and abs(clip["fps"] - 23.976) < 0.01
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
