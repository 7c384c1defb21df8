"""render: framed: one affine from the onset's 68 landmarks onto the composite's framing."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.preprocess.config import PreprocessConfig
from lfd_tcmen.preprocess.face import (
    FRAMING_TEMPLATE,
    affine_transform,
    align_clip,
    apply_transform,
    detect_face,
    face_landmarks,
    framing_transform,
)
from lfd_tcmen.preprocess.pipeline import extract_clip_features

SIZE = 64
# a pose the template does not have: about 2x larger, rotated, sheared and moved (no similarity)
KNOWN = np.array([[1.9, 0.3, 40.0], [-0.5, 2.4, 25.0]])


def _frame(seed: int = 0, size: int = 256) -> np.ndarray:
    """A face-less, smoothly textured grey frame, size x size."""
    noise = np.random.default_rng(seed).random((size, size)).astype(np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), 3.0)
    return np.rint(255 * (smooth - smooth.min()) / (smooth.max() - smooth.min())).astype(np.uint8)


def _posed_landmarks() -> np.ndarray:
    """Landmarks a face in ``KNOWN``'s pose shows: the template at SIZE moved into the frame."""
    return FRAMING_TEMPLATE * SIZE @ KNOWN[:, :2].T + KNOWN[:, 2]


def test_framed_is_its_own_store_and_the_default_keeps_its_digest() -> None:
    assert PreprocessConfig().digest() == "de2b0b7a73"  # the stores made before render existed
    cfg = PreprocessConfig(render="framed")
    assert cfg.to_dict()["render"] == "framed" and cfg.digest() != PreprocessConfig().digest()
    assert PreprocessConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(LFDError, match="render must be one of .*'framed'.*got 'frame'"):
        PreprocessConfig.from_dict({"render": "frame"}, source="prep.yaml")


def test_template_is_the_composite_framing() -> None:
    # 68 points, a face filling the squeezed Cropped frame: eyes above the mouth, nose between
    assert FRAMING_TEMPLATE.shape == (68, 2) and np.isfinite(FRAMING_TEMPLATE).all()
    eyes, nose_tip, mouth = FRAMING_TEMPLATE[36:48, 1].mean(), FRAMING_TEMPLATE[30], FRAMING_TEMPLATE[48:68]
    assert 0.2 < eyes < nose_tip[1] < mouth[:, 1].min() < 0.85
    assert abs(nose_tip[0] - 0.5) < 0.03 and np.ptp(FRAMING_TEMPLATE[:, 0]) > 0.9


def test_framing_transform_undoes_a_known_affine() -> None:
    # the landmarks of a face posed by KNOWN map back onto the template: the inverse of KNOWN
    transform = framing_transform(_posed_landmarks(), SIZE)
    inverse = cv2.invertAffineTransform(KNOWN)
    np.testing.assert_allclose(transform, inverse, atol=1e-9)
    # with 1 px of landmark noise the 68 points still place the face within a fraction of a pixel
    noisy = _posed_landmarks() + np.random.default_rng(0).normal(0.0, 1.0, (68, 2))
    placed = apply_transform(framing_transform(noisy, SIZE), _posed_landmarks())
    assert np.abs(placed - FRAMING_TEMPLATE * SIZE).max() < 0.5


def test_align_clip_framed_warps_every_frame_with_the_onsets_affine() -> None:
    # frames made by warping a texture with KNOWN come back as the texture itself
    texture = _frame(0, SIZE)
    posed = cv2.warpAffine(texture, KNOWN, (256, 256), flags=cv2.INTER_LINEAR)
    moved = cv2.warpAffine(texture, np.float32([[1, 0, 1.5], [0, 1, 0]]), (SIZE, SIZE))
    posed_moved = cv2.warpAffine(moved, KNOWN, (256, 256), flags=cv2.INTER_LINEAR)
    clip = align_clip([posed, posed_moved], _posed_landmarks(), size=SIZE, render="framed")
    np.testing.assert_allclose(clip.landmarks, FRAMING_TEMPLATE * SIZE, atol=1e-3)
    inner = (slice(4, SIZE - 4),) * 2
    for got, want in zip(clip.frames, (texture, moved)):
        assert np.abs(got[inner].astype(int) - want[inner]).mean() < 3
    # aligned (the default) is another transform: a similarity onto its own template
    assert not np.allclose(align_clip([posed], _posed_landmarks(), size=SIZE).transform, clip.transform)


def test_framed_flow_is_in_framed_pixels() -> None:
    # a 2 px shift in the texture's own pixels is 2 px in the framed face (KNOWN is undone)
    texture = _frame(1, SIZE)
    apex = cv2.warpAffine(
        texture, np.float32([[1, 0, 2.0], [0, 1, 0]]), (SIZE, SIZE), borderMode=cv2.BORDER_REFLECT
    )
    frames = [cv2.warpAffine(f, KNOWN, (256, 256), flags=cv2.INTER_LINEAR) for f in (texture, apex)]
    config = PreprocessConfig(face_size=SIZE, segments=("onset:apex",), render="framed")
    marks = np.stack([_posed_landmarks()] * 2).astype(np.float32)
    feats = extract_clip_features(frames, 0, 1, 1, config, landmarks=marks)
    centre = feats.flows[0, :2, 16:48, 16:48].reshape(2, -1)
    np.testing.assert_allclose(np.median(centre, axis=1), [2.0, 0.0], atol=0.15)


def test_degenerate_landmarks_and_unknown_renders_are_refused() -> None:
    line = np.stack([np.arange(68.0), 2 * np.arange(68.0)], axis=1)
    with pytest.raises(LFDError, match="degenerate"):
        framing_transform(line, SIZE)
    with pytest.raises(LFDError, match="degenerate"):
        affine_transform(line[:2], line[:2])
    with pytest.raises(LFDError, match="68, 2"):
        framing_transform(line[:5], SIZE)
    with pytest.raises(LFDError, match="cannot align to render 'composite'"):
        align_clip([_frame()], _posed_landmarks(), size=SIZE, render="composite", source="clip")


def test_framed_real_cropped_frames_look_like_their_squeeze(shared_data) -> None:
    """On CASME II's Cropped frames, the framed face is close to the composite's squeezed one
    (a whole face aligned onto where faces lie there); the default aligned crop is not."""
    from lfd_tcmen.preprocess.face import squeeze_clip
    from lfd_tcmen.preprocess.io import read_frames

    clips = sorted((shared_data / "casme2_cropped").glob("sub0[1-3]/EP*"))[:3]
    for clip in clips:
        (frame,) = read_frames([sorted(clip.glob("reg_img*.jpg"))[0]])
        squeezed = squeeze_clip([frame], 128)[0].astype(float)
        framed = align_clip([frame], None, size=128, render="framed").frames[0].astype(float)
        aligned = align_clip([frame], None, size=128).frames[0].astype(float)
        r_framed, r_aligned = (np.corrcoef(squeezed.ravel(), f.ravel())[0, 1] for f in (framed, aligned))
        assert r_framed > 0.7 and r_framed > r_aligned + 0.2, (clip, r_framed, r_aligned)


def test_prepare_video_frames_a_real_video(shared_data, tmp_path) -> None:
    """prepare-video takes render: framed (composite it refuses): the onset face lands on the
    template, every crop S x S, the setting recorded in clip.json."""
    from lfd_tcmen.preprocess.video import prepare_video

    config = PreprocessConfig(segments=("onset:apex",), render="framed")
    clip = prepare_video(shared_data / "videos" / "single_face.mp4", tmp_path, config, progress=False)
    assert clip["micro_expression"] and clip["preprocess"]["render"] == "framed"
    onset = cv2.imread(str(tmp_path / "faces" / f"frame_{clip['onset']:06d}.png"), cv2.IMREAD_GRAYSCALE)
    assert onset.shape == (128, 128)
    # the landmarks found again on the framed onset lie where CASME II's lie in their Cropped
    # frames, within those clips' own spread (a point's sd .017 of the side: ~3 px apart at 128);
    # the default aligned crop puts them far from there
    aligned = align_clip([onset], None, size=128).frames[0]
    off = [
        np.linalg.norm(face_landmarks(f, detect_face(f)) - FRAMING_TEMPLATE * 128, axis=1).mean()
        for f in (onset, aligned)
    ]
    assert off[0] < 5.0 and off[1] > 2 * off[0], off
