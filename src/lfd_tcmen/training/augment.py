"""Training-time augmentation of a batch: random mirror and shift, faces and flows alike, and
random re-rendering of the flow images."""

from __future__ import annotations

import numpy as np

from lfd_tcmen.config.experiment import TrainConfig
from lfd_tcmen.data.features import mirror


def augment(
    faces: np.ndarray, flows: np.ndarray, train: TrainConfig, rng: np.random.Generator, flow_normalised: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Random mirror, shift and flow re-rendering of a batch (returns new arrays).

    faces: (B, F, S, S); flows: (B, K, 3, R, R) with channels (u, v, strain). Mirroring
    negates u (1 - u when flows are min-max normalised to [0, 1]); strain and v are unchanged.
    ``train.flow_jitter`` re-renders flows (``rerender``); off, it draws nothing from ``rng``.
    """
    faces = faces.copy()
    flows = flows.copy()
    if train.hflip:
        flip = rng.random(len(faces)) < 0.5
        if flip.any():
            faces[flip], flows[flip] = mirror(faces[flip], flows[flip], flow_normalised)
    if train.shift > 0:
        size = faces.shape[-1]
        shifts = rng.integers(-train.shift, train.shift + 1, size=(len(faces), 2))
        for i, (dy, dx) in enumerate(shifts):
            faces[i] = shift(faces[i], int(dy), int(dx))
            scale = flows.shape[-1] / size
            flows[i] = shift(flows[i], round(dy * scale), round(dx * scale))
    if train.flow_jitter > 0:
        flows = rerender(flows, rng, train.flow_jitter)
    return faces, flows


MAX_GAMMA = 1.4
MIN_GAIN = 0.75


def rerender(flows: np.ndarray, rng: np.random.Generator, p: float) -> np.ndarray:
    """Each sample of min-max flows (B, K, 3, R, R) in [0, 1], with probability ``p``, drawn again
    as another pipeline might: per segment and channel a tone curve ``f ** g`` (g log-uniform in
    [1/MAX_GAMMA, MAX_GAMMA]) then a window ``a f + b`` (a in [MIN_GAIN, 1], b in [0, 1 - a]),
    so the result stays in [0, 1]. Returns a new array."""
    chosen = np.flatnonzero(rng.random(len(flows)) < p)
    out = flows.copy()
    if not len(chosen):
        return out
    shape = (len(chosen), *flows.shape[1:3], 1, 1)
    gamma = np.exp(rng.uniform(-np.log(MAX_GAMMA), np.log(MAX_GAMMA), size=shape))
    gain = rng.uniform(MIN_GAIN, 1.0, size=shape)
    offset = rng.uniform(0.0, 1.0, size=shape) * (1.0 - gain)
    drawn = gain * np.power(np.clip(flows[chosen], 0.0, 1.0), gamma) + offset
    out[chosen] = drawn.astype(flows.dtype)
    return out


def shift(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Translate the last two axes by (dy, dx) pixels, repeating the edge."""
    if dy == 0 and dx == 0:
        return image
    h, w = image.shape[-2:]
    pad = [(0, 0)] * (image.ndim - 2) + [(abs(dy), abs(dy)), (abs(dx), abs(dx))]
    padded = np.pad(image, pad, mode="edge")
    y0, x0 = abs(dy) - dy, abs(dx) - dx
    return padded[..., y0 : y0 + h, x0 : x0 + w]
