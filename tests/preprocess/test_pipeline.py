"""Per-clip pipeline: key-frame wiring, known displacements, apex spotting, sample reading, errors."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.data.datasets import load_samples
from lfd_tcmen.data.record import Sample
from lfd_tcmen.preprocess.config import PreprocessConfig
from lfd_tcmen.preprocess.face import FaceNotFoundError, alignment_transform
from lfd_tcmen.preprocess.io import read_frame, read_frames, read_video
from lfd_tcmen.preprocess.pipeline import clip_landmarks, extract_clip_features, process_sample
from lfd_tcmen.synth.render import render_dataset

FAST = PreprocessConfig(face_size=64, flow_method="dis")  # store mechanics; TV-L1 where it matters


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> list[Sample]:
    out = tmp_path_factory.mktemp("synthetic")
    sheet = render_dataset(out, subjects=1, clips_per_subject=2, frames_per_clip=8, progress=False)
    return load_samples("casme2", sheet, root=out / "CASME2_RAW_selected", protocol="casme2-5class")


def _shifted_clip(sample: Sample, shifts_px: list[float]) -> tuple[list[np.ndarray], np.ndarray]:
    """The sample's onset frame translated right by each shift, and its (T, 68, 2) landmarks."""
    frame = read_frame(sample.frames[0])
    marks = np.load(Path(sample.frames[0]).parent / "landmarks.npy")[0]
    frames = [
        cv2.warpAffine(
            frame,
            np.float32([[1, 0, dx], [0, 1, 0]]),
            frame.shape[::-1],
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )
        for dx in shifts_px
    ]
    return frames, np.repeat(marks[None], len(frames), axis=0)


def _median_uv(flow: np.ndarray) -> np.ndarray:
    """Median (u, v) over the central half of a (3, S, S) segment (borders replicate)."""
    s = flow.shape[-1]
    c = slice(s // 4, 3 * s // 4)
    return np.median(flow[:2, c, c].reshape(2, -1), axis=1)


def test_segments_recover_known_translations(synthetic: list[Sample]) -> None:
    # frames 0..4 move 0, 1, 2, 1, 0 px right: apex 2, mid = (0 + 2) // 2 = 1, offset 4
    frames, marks = _shifted_clip(synthetic[0], [0.0, 1.0, 2.0, 1.0, 0.0])
    config = PreprocessConfig(face_size=64)  # the real TV-L1
    feats = extract_clip_features(frames, 0, 2, 4, config, landmarks=marks)
    assert feats.faces.shape == (3, 64, 64) and feats.faces.dtype == np.uint8
    assert feats.flows.shape == (4, 3, 64, 64) and feats.flows.dtype == np.float32
    assert (feats.apex_idx, feats.apex_source) == (2, "annotation")
    # a source shift of (1, 0) px becomes linear @ (1, 0) in the aligned crop
    unit = alignment_transform(marks[0], 64)[:, :2] @ np.array([1.0, 0.0])
    expected = {"onset:apex": 2 * unit, "onset:mid": unit, "mid:apex": unit, "apex:offset": -2 * unit}
    for k, segment in enumerate(config.segments):
        np.testing.assert_allclose(_median_uv(feats.flows[k]), expected[segment], atol=0.1, err_msg=segment)
    # a pure translation has no strain
    assert float(np.median(feats.flows[0, 2])) < 0.05
    # faces are the aligned onset, apex, offset: onset and offset frames are identical here
    np.testing.assert_array_equal(feats.faces[0], feats.faces[2])
    assert np.abs(feats.faces[0].astype(int) - feats.faces[1]).mean() > 1


def test_missing_apex_is_spotted(synthetic: list[Sample]) -> None:
    frames, marks = _shifted_clip(synthetic[0], [0.0, 0.5, 1.5, 3.0, 1.5, 0.5, 0.0])
    feats = extract_clip_features(frames, 0, None, 6, FAST, landmarks=marks)
    assert (feats.apex_idx, feats.apex_source) == (3, "spotted")


def test_window_indices_are_clip_positions(synthetic: list[Sample]) -> None:
    frames, marks = _shifted_clip(synthetic[0], [5.0, 0.0, 0.5, 2.0, 0.5, 0.0, 7.0])
    feats = extract_clip_features(frames, 1, 3, 5, FAST, landmarks=marks)
    assert (feats.onset_idx, feats.apex_idx, feats.offset_idx) == (1, 3, 5)
    # frames 0 and 6 lie outside onset..offset and must not enter any flow
    whole = extract_clip_features(frames[1:6], 0, 2, 4, FAST, landmarks=marks[1:6])
    np.testing.assert_array_equal(feats.flows, whole.flows)
    np.testing.assert_array_equal(feats.faces, whole.faces)


def test_bad_key_frames_raise(synthetic: list[Sample]) -> None:
    frames, marks = _shifted_clip(synthetic[0], [0.0, 1.0, 0.0])
    with pytest.raises(LFDError, match="outside onset..offset"):
        extract_clip_features(frames, 1, 0, 2, FAST, landmarks=marks)
    with pytest.raises(LFDError, match="bad key frames"):
        extract_clip_features(frames, 0, None, 3, FAST, landmarks=marks)


def test_process_sample_maps_frame_numbers(synthetic: list[Sample]) -> None:
    sample = synthetic[0]
    feats = process_sample(sample, FAST)
    assert sample.frame_numbers[feats.onset_idx] == sample.onset
    assert sample.frame_numbers[feats.apex_idx] == sample.apex
    assert sample.frame_numbers[feats.offset_idx] == sample.offset
    assert feats.apex_source == "annotation"
    # no apex in the annotation: it is spotted, inside the interval
    spotted = process_sample(replace(sample, apex=None, apex_source="missing"), FAST)
    assert spotted.apex_source == "spotted"
    assert feats.onset_idx <= spotted.apex_idx <= feats.offset_idx


def test_landmark_file_versus_detection(synthetic: list[Sample]) -> None:
    sample = synthetic[1]
    with_file = process_sample(sample, FAST)
    detected = process_sample(sample, replace(FAST, landmarks="detect"))
    # both align the same face: the crops agree closely, but not exactly (detected landmarks)
    diff = np.abs(with_file.faces.astype(float) - detected.faces).mean()
    assert 0 < diff < 12
    marks = clip_landmarks(sample, FAST)
    assert marks is not None and marks.shape == (len(sample.frames), 68, 2)
    assert clip_landmarks(sample, replace(FAST, landmarks="detect")) is None


def test_landmark_rows_follow_folder_frame_numbers(synthetic: list[Sample]) -> None:
    sample = synthetic[0]
    full = clip_landmarks(sample, FAST)
    assert full is not None
    inner = replace(sample, frames=sample.frames[2:5], frame_numbers=sample.frame_numbers[2:5])
    np.testing.assert_array_equal(clip_landmarks(inner, FAST), full[2:5])


def test_landmarks_file_required(tmp_path: Path, synthetic: list[Sample]) -> None:
    folder = tmp_path / "clip"
    folder.mkdir()
    frames = []
    for path in synthetic[0].frames[:3]:
        (folder / path.name).write_bytes(path.read_bytes())
        frames.append(folder / path.name)
    sample = replace(synthetic[0], frames=tuple(frames), frame_numbers=synthetic[0].frame_numbers[:3])
    with pytest.raises(LFDError, match="landmarks file not found") as err:
        clip_landmarks(sample, replace(FAST, landmarks="file"))
    assert err.value.path == str(folder / "landmarks.npy")
    np.save(folder / "landmarks.npy", np.zeros((5, 68, 2), np.float32))
    with pytest.raises(LFDError, match="5 rows"):
        clip_landmarks(sample, FAST)


def test_no_face_names_the_clip(tmp_path: Path, synthetic: list[Sample]) -> None:
    folder = tmp_path / "blank"
    folder.mkdir()
    paths = []
    for i in range(4):
        path = folder / f"img{i}.jpg"
        cv2.imwrite(str(path), np.full((96, 96), 128, np.uint8))
        paths.append(path)
    sample = replace(synthetic[0], frames=tuple(paths), frame_numbers=(0, 1, 2, 3), onset=0, apex=2, offset=3)
    with pytest.raises(FaceNotFoundError) as err:
        process_sample(sample, FAST)
    assert err.value.path == str(folder)


def test_frame_errors_name_the_file(tmp_path: Path, synthetic: list[Sample]) -> None:
    good = synthetic[0].frames[0]
    with pytest.raises(LFDError, match="frame not found") as err:
        read_frame(tmp_path / "img1.jpg")
    assert err.value.path == str(tmp_path / "img1.jpg")
    truncated = tmp_path / "img2.jpg"
    truncated.write_bytes(good.read_bytes()[:-200])
    with pytest.raises(LFDError, match="truncated JPEG") as err:
        read_frame(truncated)
    assert err.value.path == str(truncated)
    garbage = tmp_path / "img3.png"
    garbage.write_bytes(b"not an image at all")
    with pytest.raises(LFDError, match="cannot be decoded"):
        read_frame(garbage)
    small = tmp_path / "img4.png"
    cv2.imwrite(str(small), np.zeros((10, 12), np.uint8))
    with pytest.raises(LFDError, match="differs") as err:
        read_frames([good, small])
    assert err.value.path == str(small)
    assert read_frame(good).dtype == np.uint8 and read_frame(good).ndim == 2


def test_unreadable_video(tmp_path: Path) -> None:
    with pytest.raises(LFDError, match="video not found"):
        read_video(tmp_path / "missing.mp4")
    fake = tmp_path / "fake.mp4"
    fake.write_text("this is not a video\n")
    with pytest.raises(LFDError) as err:
        read_video(fake)
    assert err.value.path == str(fake)
