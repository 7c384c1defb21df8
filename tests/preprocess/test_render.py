"""render: composite: frames squeezed, not aligned, as the MEGC2019 composite's flow images were made."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.data.composite import GT_FILE, read_composite_index, read_flow
from lfd_tcmen.data.datasets import load_samples
from lfd_tcmen.data.loaders.common import deferred_frame_errors
from lfd_tcmen.preprocess.config import PreprocessConfig
from lfd_tcmen.preprocess.face import squeeze_clip
from lfd_tcmen.preprocess.pipeline import extract_clip_features
from lfd_tcmen.preprocess.store import prepare_dataset
from lfd_tcmen.preprocess.uvs28_pngs import export_uvs28_pngs
from lfd_tcmen.preprocess.video import prepare_video

COMPOSITE = PreprocessConfig(face_size=64, segments=("onset:apex",), render="composite")


def _texture(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A face-less, smoothly textured grey frame (TV-L1 needs texture, not a face)."""
    noise = np.random.default_rng(seed).random((height, width)).astype(np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), 3.0)
    smooth = (smooth - smooth.min()) / (smooth.max() - smooth.min())
    return np.rint(smooth * 255).astype(np.uint8)


def _shift(frame: np.ndarray, dx: float, dy: float) -> np.ndarray:
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(frame, m, frame.shape[::-1], flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def test_default_render_keeps_existing_store_names() -> None:
    # the digest of the shipped defaults before `render` existed: stores made then keep their files
    assert PreprocessConfig().digest() == "de2b0b7a73"
    assert "render" not in PreprocessConfig().to_dict()
    assert PreprocessConfig.from_dict({"render": "aligned"}) == PreprocessConfig()


def test_composite_render_is_its_own_store() -> None:
    cfg = PreprocessConfig(render="composite")
    assert cfg.to_dict()["render"] == "composite"
    assert cfg.digest() != PreprocessConfig().digest()
    assert PreprocessConfig.from_dict(cfg.to_dict()) == cfg


def test_bad_render_names_the_key() -> None:
    with pytest.raises(
        LFDError, match="render must be one of \\['aligned', 'composite', 'framed'\\], got 'squash'"
    ):
        PreprocessConfig.from_dict({"render": "squash"}, source="prep.yaml")


def test_squeeze_clip_area_resizes_without_keeping_aspect() -> None:
    frame = _texture(96, 48)
    out = squeeze_clip([frame, cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)], 32)
    assert out.shape == (2, 32, 32) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[0], cv2.resize(frame, (32, 32), interpolation=cv2.INTER_AREA))
    np.testing.assert_array_equal(out[0], out[1])
    with pytest.raises(LFDError, match="differ in size"):
        squeeze_clip([frame, frame[:-1]], 32, source="clip")
    with pytest.raises(LFDError, match="empty"):
        squeeze_clip([], 32)


def test_composite_flow_is_in_squeezed_pixels_and_needs_no_face() -> None:
    # a 128 x 192 (w x h) frame squeezed to 64 x 64: x scales by 1/2, y by 1/3
    onset = _texture(192, 128)
    apex = _shift(onset, 2.0, 3.0)
    feats = extract_clip_features([onset, apex], 0, 1, 1, COMPOSITE)
    assert feats.flows.shape == (1, 3, 64, 64)
    np.testing.assert_array_equal(feats.faces[0], cv2.resize(onset, (64, 64), interpolation=cv2.INTER_AREA))
    centre = feats.flows[0, :2, 16:48, 16:48].reshape(2, -1)
    np.testing.assert_allclose(np.median(centre, axis=1), [1.0, 1.0], atol=0.1)
    # the shipped render looks for a face and finds none in a texture
    with pytest.raises(LFDError, match="no face"):
        extract_clip_features([onset, apex], 0, 1, 1, replace(COMPOSITE, render="aligned"))


def test_prepare_video_refuses_the_composite_render(tmp_path: Path) -> None:
    with pytest.raises(LFDError, match="render: composite takes frames that are already face crops"):
        prepare_video(tmp_path / "clip.mp4", tmp_path / "out", PreprocessConfig(render="composite"))


def test_prepare_reproduces_the_composite_images(tmp_path: Path, shared_data: Path) -> None:
    """Three real CASME II clips through prepare and --export-uvs28, against the composite's PNGs."""
    composite = {e.sample_id: e for e in read_composite_index(shared_data / "megc2019_composite" / GT_FILE)}
    with deferred_frame_errors():
        samples = load_samples(
            "casme2",
            shared_data / "annotations/casme2/CASME2-coding-20190701.xlsx",
            shared_data / "casme2_cropped",
        )
    picked = [s for s in samples if s.sample_id in composite][:3]
    config = PreprocessConfig(segments=("onset:apex",), render="composite")
    report = prepare_dataset(picked, config, tmp_path / "store", progress=False)
    assert report.prepared == 3, report
    written = export_uvs28_pngs(tmp_path / "store", tmp_path / "uvs28")
    assert len(written) == 3
    for sample in picked:
        entry = composite[sample.sample_id]
        ours = read_flow(tmp_path / "uvs28" / f"{sample.subject}_{sample.clip} .png", 28)
        theirs = read_flow(entry.flow, 28)  # the same name in the composite's folder
        assert entry.flow.name == f"{sample.subject}_{sample.clip} .png"
        r = [np.corrcoef(ours[c].ravel(), theirs[c].ravel())[0, 1] for c in range(2)]
        # the shipped (aligned) render agrees at r ~ .3-.4 (benchmarks/flow_agreement.py)
        assert min(r) > 0.7, f"{sample.sample_id}: r(u, v) = {r}"
