"""Optical flow between aligned faces, optical strain, and the per-segment flow features.

Dual TV-L1 (Zach et al. 2007, as OpenCV's ``cv2.optflow``) is the field's standard flow for
micro-expressions (STSTNet, Off-ApexNet, HTNet all use it); Farneback and DIS are faster options.
Optical strain is the magnitude of the infinitesimal strain tensor of the flow field, as
STSTNet / Off-ApexNet define it:

    e_xx = du/dx,  e_yy = dv/dy,  e_xy = e_yx = (du/dy + dv/dx) / 2
    |e|  = sqrt(e_xx^2 + e_yy^2 + e_xy^2 + e_yx^2)

A flow is ``(H, W, 2)`` float32 in pixels, channel 0 = u (x, to the right), channel 1 = v (y,
down), such that ``nxt(x + u, y + v) ~= prev(x, y)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import cv2
import numpy as np

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.preprocess.config import FLOW_METHODS, PreprocessConfig, parse_segment

# One solver object per parameter set, image size and process: creating a TV-L1 object is cheap,
# but reusing it keeps the allocation of its pyramids out of the per-pair cost. The size is part
# of the key because OpenCV's solver keeps state from a small image (its pyramid cut to fit, as
# far as we can tell): a 128 x 128 pair after a 28 x 28 one came out up to 0.6 px different
# (after 64 x 64 or larger ones it did not; tests/preprocess/test_flow.py).
_TVL1_CACHE: dict[tuple[float | int, ...], cv2.optflow.DualTVL1OpticalFlow] = {}
_DIS_CACHE: dict[int, cv2.DISOpticalFlow] = {}


def _as_uint8(image: np.ndarray) -> np.ndarray:
    """Grey uint8 view of ``image``: uint8 passes through, floats in [0, 1] are scaled by 255,
    other floats are taken as already in [0, 255]."""
    if image.ndim != 2:
        raise LFDError(f"optical flow needs grey (H, W) images, got shape {image.shape}")
    if image.dtype == np.uint8:
        return image
    img = image.astype(np.float32)
    if img.size and float(img.max()) <= 1.0:
        img = img * 255.0
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def _tvl1(config: PreprocessConfig, shape: tuple[int, int]) -> cv2.optflow.DualTVL1OpticalFlow:
    key = (
        *shape,
        config.tvl1_tau,
        config.tvl1_lambda,
        config.tvl1_theta,
        config.tvl1_scales,
        config.tvl1_warps,
        config.tvl1_epsilon,
        config.tvl1_inner_iterations,
        config.tvl1_outer_iterations,
    )
    solver = _TVL1_CACHE.get(key)
    if solver is None:
        solver = cv2.optflow.DualTVL1OpticalFlow_create(
            tau=config.tvl1_tau,
            lambda_=config.tvl1_lambda,
            theta=config.tvl1_theta,
            nscales=config.tvl1_scales,
            warps=config.tvl1_warps,
            epsilon=config.tvl1_epsilon,
            innnerIterations=config.tvl1_inner_iterations,  # sic: OpenCV's spelling
            outerIterations=config.tvl1_outer_iterations,
            scaleStep=0.5,
            gamma=0.0,
            medianFiltering=5,
            useInitialFlow=False,
        )
        _TVL1_CACHE[key] = solver
    return solver


def _dis() -> cv2.DISOpticalFlow:
    solver = _DIS_CACHE.get(0)
    if solver is None:
        solver = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        _DIS_CACHE[0] = solver
    return solver


def compute_flow(
    prev: np.ndarray,
    nxt: np.ndarray,
    method: str = "tvl1",
    config: PreprocessConfig | None = None,
) -> np.ndarray:
    """Dense optical flow from ``prev`` to ``nxt``.

    prev, nxt: (H, W) grey images, uint8 (floats in [0, 1] are scaled to 0..255).
    method: "tvl1" | "farneback" | "dis"; ``config`` supplies the TV-L1 parameters
        (defaults of PreprocessConfig when None).
    Returns (H, W, 2) float32 pixels: (u, v) displacement of each ``prev`` pixel.
    """
    if method not in FLOW_METHODS:
        raise LFDError(f"unknown flow method {method!r}; choose one of {list(FLOW_METHODS)}")
    a, b = _as_uint8(prev), _as_uint8(nxt)
    if a.shape != b.shape:
        raise LFDError(f"flow frames differ in shape: {a.shape} vs {b.shape}")
    if method == "tvl1":
        flow = _tvl1(config or PreprocessConfig(), a.shape).calc(a, b, None)
    elif method == "farneback":
        flow = cv2.calcOpticalFlowFarneback(
            a, b, None, pyr_scale=0.5, levels=3, winsize=15, iterations=3, poly_n=5, poly_sigma=1.2, flags=0
        )
    else:
        flow = _dis().calc(a, b, None)
    return np.ascontiguousarray(flow, dtype=np.float32)


def optical_strain(flow: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    """Magnitude of the optical strain tensor of ``flow``.

    flow: (H, W, 2) float32 pixels. sigma: Gaussian pre-smoothing of u and v (pixels; 0 = none),
        which tames the derivative of TV-L1's staircase-like output.
    Returns (H, W) float32, dimensionless (pixels per pixel): 0 for a pure translation, ``a``
    for a uniform one-axis stretch ``u = a * x``.
    """
    if flow.ndim != 3 or flow.shape[2] != 2:
        raise LFDError(f"optical strain needs an (H, W, 2) flow, got shape {flow.shape}")
    u = flow[..., 0].astype(np.float32)
    v = flow[..., 1].astype(np.float32)
    if sigma > 0:
        u = cv2.GaussianBlur(u, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
        v = cv2.GaussianBlur(v, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    # central differences inside, one-sided at the border (exact for linear fields)
    du_dy, du_dx = np.gradient(u)
    dv_dy, dv_dx = np.gradient(v)
    e_xy = 0.5 * (du_dy + dv_dx)
    return np.sqrt(du_dx**2 + dv_dy**2 + 2.0 * e_xy**2).astype(np.float32)


def flow_features(flow: np.ndarray, strain_sigma: float = 1.0) -> np.ndarray:
    """(H, W, 2) flow -> (3, H, W) float32 channels (u, v, optical strain), raw pixels."""
    strain = optical_strain(flow, sigma=strain_sigma)
    return np.stack([flow[..., 0], flow[..., 1], strain]).astype(np.float32)


def key_frame_indices(onset: int, apex: int, offset: int) -> dict[str, int]:
    """The named key frames a segment may refer to; ``mid`` is half way from onset to apex."""
    return {"onset": onset, "mid": (onset + apex) // 2, "apex": apex, "offset": offset}


def segment_flows(
    frames: np.ndarray | Sequence[np.ndarray],
    key_indices: Mapping[str, int],
    segments: Sequence[str],
    method: str = "tvl1",
    config: PreprocessConfig | None = None,
) -> np.ndarray:
    """Flow features for each ``"from:to"`` segment over the clip's key frames.

    frames: (T, S, S) aligned grey faces. key_indices: positions in ``frames`` of "onset",
        "apex", "offset" (and optionally "mid"; derived as half way onset->apex when absent).
    Returns (K, 3, S, S) float32: per segment (u, v, strain) in raw pixels, in ``segments`` order.
    """
    keys = dict(key_indices)
    if "mid" not in keys and "onset" in keys and "apex" in keys:
        keys["mid"] = (keys["onset"] + keys["apex"]) // 2
    n = len(frames)
    sigma = (config or PreprocessConfig()).strain_sigma
    out = []
    for seg in segments:
        start, end = parse_segment(seg)
        for name in (start, end):
            if name not in keys:
                raise LFDError(f"segment {seg!r} needs key frame {name!r}, have {sorted(keys)}")
            if not 0 <= keys[name] < n:
                raise LFDError(f"key frame {name}={keys[name]} is outside the clip's {n} frames")
        flow = compute_flow(frames[keys[start]], frames[keys[end]], method=method, config=config)
        out.append(flow_features(flow, strain_sigma=sigma))
    return np.stack(out).astype(np.float32)


def export_uvs28(features: np.ndarray, size: int = 28) -> np.ndarray:
    """Peers' flow-image format: (3, H, W) (u, v, strain) -> (3, size, size) float32 in [0, 1].

    Area-resized, then min-max normalised per channel (a constant channel becomes 0), as the
    MEGC2019 composite's ``flow_uvos_28`` images were made.
    """
    if features.ndim != 3 or features.shape[0] != 3:
        raise LFDError(f"export_uvs28 needs (3, H, W) features, got shape {features.shape}")
    out = np.empty((3, size, size), dtype=np.float32)
    for c in range(3):
        small = cv2.resize(features[c].astype(np.float32), (size, size), interpolation=cv2.INTER_AREA)
        lo, hi = float(small.min()), float(small.max())
        out[c] = (small - lo) / (hi - lo) if hi > lo else 0.0
    return out
