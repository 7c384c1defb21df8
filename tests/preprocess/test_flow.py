"""Optical flow, optical strain and segment features against known displacements."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import pytest

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.preprocess.config import PreprocessConfig
from lfd_tcmen.preprocess.flow import (
    compute_flow,
    export_uvs28,
    flow_features,
    key_frame_indices,
    optical_strain,
    segment_flows,
)

SIZE = 128
INNER = np.s_[16:-16, 16:-16]  # the textured interior, away from the borders
Field = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def texture(seed: int = 0, size: int = SIZE) -> np.ndarray:
    """Smooth random texture, float32 grey levels 25..225 (features ~4 px wide)."""
    rng = np.random.default_rng(seed)
    small = rng.random((size // 4, size // 4)).astype(np.float32)
    img = cv2.GaussianBlur(cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC), (0, 0), 1.2)
    return (img - img.min()) / (img.max() - img.min()) * 200 + 25


def warp(img: np.ndarray, field: Field) -> tuple[np.ndarray, np.ndarray]:
    """Move ``img`` by the displacement ``field``; returns (moved uint8, true flow (H, W, 2)).

    The moved image is b(y) = img(y - e(y)); the true forward flow f solves x + f(x) = y with
    y = x + e(y) (fixed-point iteration), so that b(x + f(x)) = img(x) exactly.
    """
    h, w = img.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ex, ey = field(xx, yy)
    moved = cv2.remap(img, xx - ex, yy - ey, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    px, py = xx.copy(), yy.copy()
    for _ in range(30):
        fx, fy = field(px, py)
        px, py = xx + fx, yy + fy
    truth = np.dstack([px - xx, py - yy]).astype(np.float32)
    return np.clip(np.rint(moved), 0, 255).astype(np.uint8), truth


def shift(dx: float, dy: float) -> Field:
    return lambda x, y: (np.full_like(x, dx), np.full_like(y, dy))


def bump(amp_x: float, amp_y: float, cx: float = 70, cy: float = 60, sigma: float = 14) -> Field:
    def field(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        g = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma**2)).astype(np.float32)
        return amp_x * g, amp_y * g

    return field


def endpoint_error(flow: np.ndarray, truth: np.ndarray) -> np.ndarray:
    return np.hypot(*(flow - truth).transpose(2, 0, 1))[INNER]


@pytest.mark.parametrize("dx, dy", [(0.35, 0.2), (1.3, -0.7), (2.0, 1.5)])
def test_tvl1_recovers_a_translation(dx: float, dy: float) -> None:
    a = texture()
    b, truth = warp(a, shift(dx, dy))
    flow = compute_flow(a.astype(np.uint8), b, "tvl1")
    assert flow.shape == (SIZE, SIZE, 2) and flow.dtype == np.float32
    epe = endpoint_error(flow, truth)
    # measured with the default (speed-tuned) parameters: mean ~0.02 px, p95 ~0.04 px
    assert epe.mean() < 0.1
    assert np.percentile(epe, 95) < 0.2


def test_tvl1_recovers_a_local_warp() -> None:
    a = texture(1)
    b, truth = warp(a, bump(1.5, -1.0))
    epe = endpoint_error(compute_flow(a.astype(np.uint8), b, "tvl1"), truth)
    assert epe.mean() < 0.1  # measured ~0.02
    assert np.percentile(epe, 95) < 0.2  # measured ~0.07
    # the moving region really moved in the estimate, the rest did not
    flow = compute_flow(a.astype(np.uint8), b, "tvl1")
    assert abs(flow[60, 70, 0] - 1.5) < 0.2 and abs(flow[60, 70, 1] + 1.0) < 0.2
    assert np.abs(flow[100:112, 10:22]).max() < 0.1


@pytest.mark.parametrize("method", ["farneback", "dis"])
def test_fast_methods_recover_a_translation(method: str) -> None:
    a = texture(2)
    b, truth = warp(a, shift(1.3, -0.7))
    assert endpoint_error(compute_flow(a.astype(np.uint8), b, method), truth).mean() < 0.2


def test_float_frames_in_unit_range_match_uint8() -> None:
    a = texture(3).astype(np.uint8)
    b, _ = warp(a.astype(np.float32), shift(1.0, 0.5))
    f8 = compute_flow(a, b)
    ff = compute_flow(a.astype(np.float32) / 255.0, b.astype(np.float32) / 255.0)
    np.testing.assert_allclose(f8, ff, atol=1e-4)


def test_strain_of_analytic_fields() -> None:
    yy, xx = np.mgrid[0:64, 0:64].astype(np.float32)
    constant = np.dstack([np.full_like(xx, 1.7), np.full_like(xx, -0.4)])
    assert np.abs(optical_strain(constant)).max() < 1e-6
    stretch = np.dstack([0.03 * xx, np.zeros_like(xx)])  # e_xx = 0.03
    np.testing.assert_allclose(optical_strain(stretch)[8:-8, 8:-8], 0.03, atol=1e-5)
    np.testing.assert_allclose(optical_strain(stretch, sigma=0)[8:-8, 8:-8], 0.03, atol=1e-5)
    shear = np.dstack([0.04 * yy, np.zeros_like(xx)])  # e_xy = e_yx = 0.02 -> |e| = 0.02 * sqrt(2)
    np.testing.assert_allclose(optical_strain(shear)[8:-8, 8:-8], 0.02 * np.sqrt(2), atol=1e-5)
    rotation = np.dstack([-0.01 * yy, 0.01 * xx])  # rigid rotation: no strain
    assert np.abs(optical_strain(rotation)[8:-8, 8:-8]).max() < 1e-5


def test_strain_of_estimated_flow() -> None:
    a = texture(4)
    moved, _ = warp(a, shift(1.2, -0.6))
    assert np.median(optical_strain(compute_flow(a.astype(np.uint8), moved))[INNER]) < 0.01
    stretched, _ = warp(a, lambda x, y: (0.02 * (x - 64), np.zeros_like(y)))
    strain = optical_strain(compute_flow(a.astype(np.uint8), stretched))[INNER]
    assert abs(np.median(strain) - 0.02) < 0.004  # measured 0.0206


def test_flow_features_channels() -> None:
    yy, xx = np.mgrid[0:32, 0:32].astype(np.float32)
    flow = np.dstack([0.05 * xx, np.full_like(xx, 0.5)])
    feats = flow_features(flow)
    assert feats.shape == (3, 32, 32) and feats.dtype == np.float32
    np.testing.assert_array_equal(feats[0], flow[..., 0])
    np.testing.assert_array_equal(feats[1], flow[..., 1])
    np.testing.assert_allclose(feats[2][6:-6, 6:-6], 0.05, atol=1e-5)


def test_segment_flows_follow_the_key_frames() -> None:
    # frame i is the texture moved i * 0.5 px to the right: an integer shift at twice the size,
    # area-downsampled (sub-pixel interpolation would add its own phase-dependent bias)
    big = texture(5, 2 * (SIZE + 40))
    frames = np.stack(
        [
            cv2.resize(
                big[40 : 40 + 2 * SIZE, 40 - i : 40 - i + 2 * SIZE],
                (SIZE, SIZE),
                interpolation=cv2.INTER_AREA,
            )
            for i in range(7)
        ]
    ).astype(np.uint8)
    keys = key_frame_indices(onset=0, apex=4, offset=6)
    assert keys == {"onset": 0, "mid": 2, "apex": 4, "offset": 6}
    segments = ("onset:apex", "onset:mid", "mid:apex", "apex:offset")
    feats = segment_flows(frames, {"onset": 0, "apex": 4, "offset": 6}, segments)  # mid derived
    assert feats.shape == (4, 3, SIZE, SIZE) and feats.dtype == np.float32
    mean_u = feats[:, 0][:, 16:-16, 16:-16].mean(axis=(1, 2))
    np.testing.assert_allclose(mean_u, [2.0, 1.0, 1.0, 1.0], atol=0.05)  # measured within 0.015
    assert np.abs(feats[:, 1][:, 16:-16, 16:-16]).mean() < 0.05
    # segments are computed in the order asked
    swapped = segment_flows(frames, keys, ("onset:apex", "apex:offset"))
    np.testing.assert_allclose(swapped[1], feats[3], atol=1e-6)


def test_segment_flows_reject_bad_keys() -> None:
    frames = np.zeros((5, 32, 32), np.uint8)
    with pytest.raises(LFDError, match="needs key frame 'offset'"):
        segment_flows(frames, {"onset": 0, "apex": 2}, ("onset:apex", "apex:offset"))
    with pytest.raises(LFDError, match="outside the clip"):
        segment_flows(frames, {"onset": 0, "apex": 9, "offset": 4}, ("onset:apex",))


def test_compute_flow_rejects_bad_input() -> None:
    a = np.zeros((32, 32), np.uint8)
    with pytest.raises(LFDError, match="unknown flow method"):
        compute_flow(a, a, "lucas-kanade")
    with pytest.raises(LFDError, match="differ in shape"):
        compute_flow(a, np.zeros((32, 30), np.uint8))
    with pytest.raises(LFDError, match="grey"):
        compute_flow(np.zeros((32, 32, 3), np.uint8), a)


def test_tvl1_parameters_come_from_the_config() -> None:
    a = texture(6)
    b, truth = warp(a, shift(1.3, -0.7))
    coarse = PreprocessConfig(tvl1_scales=1, tvl1_warps=1, tvl1_inner_iterations=1, tvl1_outer_iterations=1)
    fine = compute_flow(a.astype(np.uint8), b, "tvl1", PreprocessConfig())
    rough = compute_flow(a.astype(np.uint8), b, "tvl1", coarse)
    assert endpoint_error(rough, truth).mean() > 3 * endpoint_error(fine, truth).mean()


def test_tvl1_after_a_smaller_image_is_unchanged() -> None:
    # OpenCV's solver keeps state from a small image: one solver shared across sizes gave a
    # 128 x 128 pair a different flow after a 28 x 28 one
    config = PreprocessConfig(tvl1_tau=0.24)  # a solver of its own in this process
    a = texture(7)
    b, _ = warp(a, shift(1.3, -0.7))
    first = compute_flow(a.astype(np.uint8), b, "tvl1", config)
    small = cv2.resize(a, (28, 28), interpolation=cv2.INTER_AREA)
    compute_flow(small, cv2.resize(b, (28, 28), interpolation=cv2.INTER_AREA), "tvl1", config)
    np.testing.assert_array_equal(compute_flow(a.astype(np.uint8), b, "tvl1", config), first)


def test_export_uvs28() -> None:
    yy, xx = np.mgrid[0:128, 0:128].astype(np.float32)
    feats = np.stack([xx - 40.0, np.full_like(xx, 3.0), (yy / 10.0) ** 2])
    out = export_uvs28(feats)
    assert out.shape == (3, 28, 28) and out.dtype == np.float32
    for c in (0, 2):
        assert out[c].min() == pytest.approx(0.0) and out[c].max() == pytest.approx(1.0)
    assert np.all(out[1] == 0.0)  # a constant channel carries no information
    assert np.all(np.diff(out[0], axis=1) > 0)  # a ramp stays a ramp
    assert np.all(np.diff(out[2], axis=0) > 0)
    with pytest.raises(LFDError):
        export_uvs28(np.zeros((2, 28, 28), np.float32))


def test_tvl1_on_noisy_frames() -> None:
    """Sensor noise (sigma 2.5 grey levels) on both frames: the speed-tuned defaults stay accurate."""
    rng = np.random.default_rng(8)
    a = texture(8)
    b, truth = warp(a, bump(1.2, -0.8, cx=60, cy=70, sigma=12))
    noisy_a = np.clip(a + rng.normal(0, 2.5, a.shape), 0, 255).astype(np.uint8)
    noisy_b = np.clip(b + rng.normal(0, 2.5, b.shape), 0, 255).astype(np.uint8)
    epe = endpoint_error(compute_flow(noisy_a, noisy_b, "tvl1"), truth)
    assert epe.mean() < 0.1 and np.percentile(epe, 95) < 0.2  # measured 0.038 and 0.094
