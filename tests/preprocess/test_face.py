"""Face detection, landmarks and one-transform clip alignment: synthetic geometry and real video."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.preprocess.face import (
    STABLE_LANDMARKS,
    FaceNotFoundError,
    align_clip,
    apply_transform,
    detect_face,
    face_landmarks,
    shape_predictor_path,
    similarity_transform,
    template_points,
    track_faces,
)
from lfd_tcmen.preprocess.flow import compute_flow

STABLE = list(STABLE_LANDMARKS)


def similarity(angle_deg: float, scale: float, tx: float, ty: float) -> np.ndarray:
    a = np.deg2rad(angle_deg)
    return np.array(
        [[scale * np.cos(a), -scale * np.sin(a), tx], [scale * np.sin(a), scale * np.cos(a), ty]], np.float64
    )


def textured_face(size: int = 128, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.random((size // 4, size // 4)).astype(np.float32)
    img = cv2.GaussianBlur(cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC), (0, 0), 1.5)
    return ((img - img.min()) / (img.max() - img.min()) * 200 + 25).astype(np.float32)


def synthetic_clip(to_source: np.ndarray, frame_hw: tuple[int, int] = (280, 320), size: int = 128):
    """A canonical textured face placed into larger frames by ``to_source`` (crop -> frame).

    Frame 1 equals frame 0 moved 2 px right in the SOURCE frame (a real motion that alignment
    must keep). Returns (frames, landmarks (68, 2) in the source frame, canonical image).
    """
    canonical = textured_face(size)
    h, w = frame_hw
    frame0 = cv2.warpAffine(
        canonical, to_source, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT
    )
    moved = to_source.copy()
    moved[0, 2] += 2.0
    frame1 = cv2.warpAffine(canonical, moved, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    rng = np.random.default_rng(1)
    canon_marks = rng.uniform(20, 108, (68, 2))  # non-stable points: anywhere on the face
    canon_marks[STABLE] = template_points(size)
    frames = [np.clip(f, 0, 255).astype(np.uint8) for f in (frame0, frame1)]
    return frames, apply_transform(to_source, canon_marks), canonical


def test_similarity_transform_is_exact_on_exact_points() -> None:
    truth = similarity(-17.0, 1.35, 12.5, -4.0)
    src = np.random.default_rng(0).uniform(0, 100, (7, 2))
    est = similarity_transform(src, apply_transform(truth, src))
    np.testing.assert_allclose(est, truth, atol=1e-9)
    mirrored = src * [-1, 1]  # no reflection is ever produced
    assert np.linalg.det(similarity_transform(src, mirrored)[:, :2]) > 0
    with pytest.raises(LFDError, match="degenerate"):
        similarity_transform(np.ones((7, 2)), src)


def test_template_is_a_centred_upright_face() -> None:
    t = template_points(128)
    left_outer, right_outer, nose_tip = t[0], t[3], t[5]
    assert left_outer[1] == right_outer[1] == pytest.approx(0.37 * 128)
    assert (left_outer[0] + right_outer[0]) / 2 == pytest.approx(64)
    assert right_outer[0] - left_outer[0] == pytest.approx(0.4 * 128)
    assert nose_tip[1] > left_outer[1]
    np.testing.assert_allclose(template_points(64), t / 2)


@pytest.mark.parametrize("angle, scale, tx, ty", [(7.0, 1.6, 60.0, 40.0), (-12.0, 2.1, 35.5, 10.25)])
def test_align_clip_undoes_a_known_pose(angle: float, scale: float, tx: float, ty: float) -> None:
    to_source = similarity(angle, scale, tx, ty)
    frames, marks, canonical = synthetic_clip(to_source)
    aligned = align_clip(frames, marks, size=128)
    assert aligned.frames.shape == (2, 128, 128) and aligned.frames.dtype == np.uint8
    # one transform, the inverse of the pose; the stable landmarks land on the template
    np.testing.assert_allclose(aligned.transform, cv2.invertAffineTransform(to_source), atol=1e-4)
    np.testing.assert_allclose(aligned.landmarks[STABLE], template_points(128), atol=0.01)
    # the onset crop is the canonical face again (interior, interpolation error only)
    error = np.abs(aligned.frames[0].astype(np.float32) - canonical)[8:-8, 8:-8]
    assert error.mean() < 3.0
    # the real motion between frames survives: 2 px in the source is 2 / scale px in the crop
    flow = compute_flow(aligned.frames[0], aligned.frames[1])[16:-16, 16:-16].reshape(-1, 2).mean(0)
    expected = cv2.invertAffineTransform(to_source)[:, :2] @ np.array([2.0, 0.0])
    np.testing.assert_allclose(flow, expected, atol=0.1)


def test_align_clip_uses_the_onset_row_of_per_frame_landmarks() -> None:
    to_source = similarity(5.0, 1.5, 50.0, 30.0)
    frames, marks, _ = synthetic_clip(to_source)
    per_frame = np.stack([marks + 25.0, marks])  # row 0 is wrong on purpose
    aligned = align_clip(frames, per_frame, size=128, onset=1)
    np.testing.assert_allclose(aligned.transform, cv2.invertAffineTransform(to_source), atol=1e-4)
    small = align_clip(frames, marks, size=64)
    np.testing.assert_allclose(small.landmarks[STABLE], template_points(64), atol=0.01)


def test_align_clip_rejects_bad_input() -> None:
    frames, marks, _ = synthetic_clip(similarity(0, 1.5, 50, 30))
    with pytest.raises(LFDError, match="empty"):
        align_clip([], marks)
    with pytest.raises(LFDError, match="onset index 5"):
        align_clip(frames, marks, onset=5)
    with pytest.raises(LFDError, match=r"\(68, 2\)"):
        align_clip(frames, marks[:5])
    with pytest.raises(LFDError, match="3 rows for 2 frames"):
        align_clip(frames, np.stack([marks] * 3))
    with pytest.raises(LFDError, match="differ in size") as err:
        align_clip([frames[0], frames[1][:100]], marks, source="clip/dir")
    assert err.value.path == "clip/dir"


def test_shape_predictor_is_found_by_path() -> None:
    path = shape_predictor_path()
    assert path.name == "shape_predictor_68_face_landmarks.dat" and path.stat().st_size > 90_000_000


# ---------------------------------------------------------------- real video


def read_frames(path: Path, indices: list[int]) -> dict[int, np.ndarray]:
    """Decode ``path`` sequentially and keep the frames at ``indices`` (BGR)."""
    capture = cv2.VideoCapture(str(path))
    assert capture.isOpened(), f"OpenCV cannot open {path}"
    wanted, out, i = set(indices), {}, 0
    while len(out) < len(wanted):
        ok, frame = capture.read()
        if not ok:
            break
        if i in wanted:
            out[i] = frame
        i += 1
    capture.release()
    return out


@pytest.mark.parametrize(
    "name, indices",
    [("WolfgangLanger_Pexels.mp4", [0, 200, 450]), ("single_face.mp4", [0, 40, 71])],
)
def test_detects_the_face_in_real_videos(shared_data: Path, name: str, indices: list[int]) -> None:
    frames = read_frames(shared_data / "videos" / name, indices)
    assert sorted(frames) == indices
    for i, frame in frames.items():
        box = detect_face(frame)
        assert box is not None, f"{name} frame {i}: no face"
        x0, y0, x1, y1 = box
        assert 100 < x1 - x0 < 360 and 100 < y1 - y0 < 360, f"{name} frame {i}: box {box}"
        marks = face_landmarks(frame, box)
        assert marks.shape == (68, 2)
        # iBUG order: eye corners left of right, eyes above the nose tip above the chin
        assert marks[36, 0] < marks[45, 0] and marks[36, 1] < marks[30, 1] < marks[8, 1]


def test_no_face_in_the_no_face_video(shared_data: Path) -> None:
    frames = read_frames(shared_data / "videos" / "no_face.mp4", [0, 50, 90])
    assert len(frames) == 3
    for i, frame in frames.items():
        assert detect_face(frame) is None, f"no_face.mp4 frame {i}"
    with pytest.raises(FaceNotFoundError, match="no face found") as err:
        align_clip([frames[0], frames[50]], None, source="videos/no_face.mp4")
    assert err.value.path == "videos/no_face.mp4"
    assert isinstance(err.value, LFDError)


def test_haar_fallback_box_suits_the_landmark_model(shared_data: Path) -> None:
    frame = read_frames(shared_data / "videos" / "WolfgangLanger_Pexels.mp4", [0])[0]
    hog, haar = detect_face(frame, "dlib"), detect_face(frame, "haar")
    assert hog is not None and haar is not None
    gap = np.hypot(*(face_landmarks(frame, hog) - face_landmarks(frame, haar)).T)
    assert gap.mean() < 4.0  # px on a ~260 px face; measured 1.6


def test_alignment_of_a_real_face_is_pose_invariant(shared_data: Path) -> None:
    frame = read_frames(shared_data / "videos" / "WolfgangLanger_Pexels.mp4", [0])[0]
    reference = align_clip([frame], None, size=128)
    h, w = frame.shape[:2]
    pose = cv2.getRotationMatrix2D((w / 2, h / 2), 6.0, 0.9)
    pose[:, 2] += (15.0, -10.0)
    posed = cv2.warpAffine(frame, pose, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    realigned = align_clip([posed], None, size=128)
    # the same face points land within ~1 px of the same crop position despite the new pose
    gap = np.hypot(*(realigned.landmarks[STABLE] - reference.landmarks[STABLE]).T)
    assert gap.mean() < 1.0 and gap.max() < 2.0  # measured mean 0.4, max 0.75
    # and both stay near the template (this face's own proportions differ by a few px)
    assert np.hypot(*(reference.landmarks[STABLE] - template_points(128)).T).mean() < 4.0


def test_face_noface_video_decodes_and_loses_the_face(shared_data: Path) -> None:
    # HEVC: this OpenCV build decodes it (169 frames)
    frames = read_frames(shared_data / "videos" / "face_noface.mov", [0, 30, 60, 120, 150, 168])
    assert len(frames) == 6
    ordered = [frames[i] for i in sorted(frames)]
    boxes = track_faces(ordered, every=1, smooth=0)
    assert [b is not None for b in boxes] == [True, True, True, False, False, False]
    # detect every 2nd frame: gaps next to a miss stay None (never invented)
    sparse = track_faces(ordered, every=2, smooth=0)
    assert sparse[0] == boxes[0] and sparse[2] == boxes[2]
    assert sparse[1] is not None  # between two found faces: interpolated
    assert sparse[3] is None and sparse[4] is None and sparse[5] is None
