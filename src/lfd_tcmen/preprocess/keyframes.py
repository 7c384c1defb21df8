"""Key-frame spotting: the apex of an annotated clip, and the most likely micro-expression
interval of a raw video.

Apex (``spot_apex``): local motion (dense Farneback flow minus its best-fit affine field, i.e.
what is left once head translation, rotation and scale are removed, per block of a 16 x 16 grid)
of every frame against BOTH ends of the interval, inside the inner face only. The apex is the
frame most unlike the onset and the offset at once: the contrast

    c(t) = m(onset, t) + m(t, offset) - m(onset, offset)

pooled over the most-moving blocks and smoothed (a running median that takes out blinks and
twitches, then a Gaussian), peaks there. Slow
drift that goes on through the clip (a head that keeps turning, an expression that has not
faded by the annotated offset) adds to the first two terms what the third takes away, so it
does not push the apex to the end. On real CASME II clips (results/apex_spotting.txt) two
things broke the former rule, motion against the onset fitted with a triangle that falls back to
0 at the offset: (1) tight face crops leave the aligned face's border as replicated pixel
streaks, where Farneback's flow runs to tens of pixels (hence the inner-face mask), and (2)
motion against the onset keeps growing after the annotated apex in most clips (it peaked on
average 10 frames late), which the contrast cancels. Frames are gain-normalised first, so
illumination flicker is not motion.

Interval (``spot_interval``): a cheap contrast score over the whole video finds the window,
then local motion against the window's first frame refines apex, onset and offset inside it
(each candidate apex scored by a matched triangle 0 -> 1 -> 0, pooled over the best-matching
blocks: in a raw video the face does return to rest). The contrast for frame t against the
frames k before and after it,

    s(t) = d(t, t-k) + d(t, t+k) - d(t-k, t+k),

(``d`` a block-wise mean absolute difference of blurred faces) peaks where the face departs
from, and returns to, its state within half a window, and cancels slow steady head drift: the
idea of Moilanen et al. (2014) and Li et al. (2018) with a cheap feature.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter1d, median_filter

from lfd_tcmen.core.errors import LFDError

_FLOW_SIZE = 128  # local motion is measured at 128 x 128 ...
_FLOW_GRID = 16  # ... in a 16 x 16 grid of 8 px blocks ...
_FLOW_TOP = 8  # ... pooled over the 8 best-matching blocks (a brow, a lip corner)
# The inner face of the canonical crop (preprocess.face puts the brows at ~26% and the chin at
# ~92% of S): x0, x1, y0, y1 as fractions of S. Outside it lie hair, background and, for tight
# crops, the replicated border.
INNER_FACE = (0.2, 0.8, 0.2, 0.9)
_APEX_TOP = 64  # the apex contrast is pooled over the 64 most-moving blocks of the inner face
# ... then smoothed: a running median over 1/3 of the interval (a blink or twitch shorter than
# half of that is taken out whole), then a Gaussian of sigma 1/24 of the interval.
_APEX_MEDIAN, _APEX_SIGMA = 1 / 3, 1 / 24
_DIFF_SIZE = 64  # the interval contrast works at 64 x 64 ...
_DIFF_GRID = 8  # ... in an 8 x 8 grid, pooled over the 8 most-changing blocks
_DIFF_TOP = 8
# Below this peak local motion (px at 128 x 128) a spotted interval is taken for a still face:
# derived from still clips made of real faces by benchmarks/still_motion.py (the threshold
# rule and its figures: results/still_motion.txt).
STILL_MOTION_PX = 1.5
# Above this peak a spotted interval is no micro-expression but a macro movement or an occlusion
# (a hand passing over the face, a turn of the head): the next whole pixel above the largest peak
# of the 250 real CASME II micro-expressions here (8.83 px, median 1.25), by
# benchmarks/micro_motion.py (results/micro_motion.txt); real videos' moving segments reach 12.5 px.
MACRO_MOTION_PX = 9.0


def _check(frames: Sequence[np.ndarray] | np.ndarray) -> None:
    for frame in frames:
        if frame.ndim != 2:
            raise LFDError(
                f"key-frame spotting needs grey (T, S, S) faces, got a frame of shape {frame.shape}"
            )


def _gain_normalised(frames: Sequence[np.ndarray] | np.ndarray, size: int) -> np.ndarray:
    """(T, H, W) -> (T, size, size) float32, each frame scaled to the first frame's mean."""
    out = np.empty((len(frames), size, size), dtype=np.float32)
    for i, frame in enumerate(frames):
        img = frame.astype(np.float32)
        if img.shape != (size, size):
            img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
        out[i] = img
    means = out.mean(axis=(1, 2), keepdims=True)
    return out * (means[0] / np.maximum(means, 1e-6))


def _blocks(values: np.ndarray, grid: int) -> np.ndarray:
    """(..., S, S) -> (..., grid * grid) block means."""
    s = values.shape[-1]
    cell = s // grid
    v = values[..., : grid * cell, : grid * cell]
    shape = v.shape[:-2] + (grid, cell, grid, cell)
    return v.reshape(shape).mean(axis=(-3, -1)).reshape(v.shape[:-2] + (grid * grid,))


def local_motion(
    frames: Sequence[np.ndarray] | np.ndarray, reference: int = 0, inner_face: bool = False
) -> np.ndarray:
    """Per-block magnitude of each frame's local motion against frame ``reference``.

    frames: (T, S, S) aligned grey faces. Returns (T, 256) float32 pixels (at 128 x 128): the
    Farneback flow reference -> t minus its least-squares affine part, averaged per 8 px block.
    inner_face: fit the affine part on ``INNER_FACE`` alone and leave the blocks outside it 0.
    """
    _check(frames)
    faces = np.clip(_gain_normalised(frames, _FLOW_SIZE), 0, 255).astype(np.uint8)
    yy, xx = np.mgrid[0:_FLOW_SIZE, 0:_FLOW_SIZE].astype(np.float32)
    inside = np.ones((_FLOW_SIZE, _FLOW_SIZE), dtype=bool)
    if inner_face:
        x0, x1, y0, y1 = (v * _FLOW_SIZE for v in INNER_FACE)
        inside = (xx >= x0) & (xx < x1) & (yy >= y0) & (yy < y1)
    design = np.stack([xx[inside], yy[inside], np.ones(int(inside.sum()), np.float32)], axis=1)
    pinv = np.linalg.pinv(design).astype(np.float32)  # (3, N): affine fit = design @ (pinv @ flow)
    out = np.zeros((len(faces), _FLOW_GRID * _FLOW_GRID), dtype=np.float32)
    magnitude = np.zeros((_FLOW_SIZE, _FLOW_SIZE), dtype=np.float32)
    for t in range(len(faces)):
        if t == reference:
            continue
        flow = cv2.calcOpticalFlowFarneback(
            faces[reference],
            faces[t],
            None,
            pyr_scale=0.5,
            levels=3,
            winsize=11,
            iterations=2,
            poly_n=5,
            poly_sigma=1.1,
            flags=0,
        )[inside]
        residual = flow - design @ (pinv @ flow)
        magnitude[inside] = np.hypot(residual[:, 0], residual[:, 1])
        out[t] = _blocks(magnitude, _FLOW_GRID)
    return out


def apex_contrast(frames: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
    """c(t) of the module doc for an interval ``frames`` (onset first, offset last): (T,) float64
    pixels, pooled over the ``_APEX_TOP`` most-moving inner-face blocks, not yet smoothed."""
    from_onset = local_motion(frames, 0, inner_face=True)
    to_offset = local_motion(frames, len(frames) - 1, inner_face=True)
    contrast = from_onset + to_offset - from_onset[-1]
    return np.sort(contrast, axis=1)[:, -_APEX_TOP:].mean(axis=1).astype(np.float64)


def _triangles(n: int) -> np.ndarray:
    """(n - 2, n) unit-norm triangles: row j rises 0 -> 1 from frame 0 to j + 1, falls to 0 at n - 1."""
    t = np.arange(n, dtype=np.float64)
    apex = np.arange(1, n - 1, dtype=np.float64)[:, None]
    tri = np.where(t <= apex, t / apex, (n - 1 - t) / (n - 1 - apex))
    return tri / np.linalg.norm(tri, axis=1, keepdims=True)


def _matched_apex(motion: np.ndarray, top: int) -> tuple[int, np.ndarray]:
    """Best triangle apex for (T, B) block curves; returns (index, the chosen blocks)."""
    scores = _triangles(len(motion)) @ motion  # (T - 2, B)
    k = min(top, motion.shape[1])
    best = np.argsort(scores, axis=1)[:, -k:]
    pooled = np.take_along_axis(scores, best, axis=1).mean(axis=1)
    j = int(np.argmax(pooled))
    return j + 1, best[j]


def spot_apex(frames: Sequence[np.ndarray] | np.ndarray, onset: int, offset: int) -> int:
    """Index of the apex frame between ``onset`` and ``offset``: the frame most unlike both
    (``apex_contrast``, smoothed: a running median over 1/3 of the interval, then a Gaussian).

    frames: (T, S, S) aligned grey faces (the canonical crop of ``preprocess.face``, whose inner
    face alone is looked at); onset, offset: indices into ``frames``.
    Returns an index into ``frames`` (not a dataset frame number).
    """
    n = len(frames)
    if not 0 <= onset <= offset < n:
        raise LFDError(f"cannot spot an apex: need 0 <= onset ({onset}) <= offset ({offset}) < {n} frames")
    if offset - onset < 2:
        return onset + (offset - onset) // 2
    n = offset - onset + 1
    curve = median_filter(
        apex_contrast(frames[onset : offset + 1]), round(_APEX_MEDIAN * n) | 1, mode="nearest"
    )
    curve = gaussian_filter1d(curve, _APEX_SIGMA * n, mode="nearest")
    if np.ptp(curve) <= 1e-6:  # no motion at all: nothing to prefer over the middle
        return onset + (offset - onset) // 2
    return onset + int(np.argmax(curve))


class Interval(NamedTuple):
    """A spotted micro-expression: frame indices and the evidence for it.

    peak_motion: the local motion at the apex against the window's first frame, in pixels at
    128 x 128, averaged over the best-matching blocks (``local_motion``): what a still face
    (codec and sensor noise only) keeps low and an expression raises.
    """

    onset: int
    apex: int
    offset: int
    peak_motion: float


def contrast_half_window(n: int, fps: float, window_s: float = 0.5) -> int:
    """k of the contrast score: half the longest expected expression in frames, at most (n-1)//2."""
    return max(1, min(int(round(window_s * fps / 2)), (n - 1) // 2))


def contrast_curve(frames: Iterable[np.ndarray], k: int) -> np.ndarray:
    """s(t) of the module doc for t in [k, T - k), pooled over the most-changing blocks.

    Streams: holds 2k + 1 faces at a time, so a video of any length fits in memory. Frames are
    gain-normalised to the first frame's mean and blurred first.
    """
    window: deque[np.ndarray] = deque(maxlen=2 * k + 1)
    reference = 0.0
    scores: list[float] = []
    for i, frame in enumerate(frames):
        _check([frame])
        face = frame.astype(np.float32)
        if face.shape != (_DIFF_SIZE, _DIFF_SIZE):
            face = cv2.resize(face, (_DIFF_SIZE, _DIFF_SIZE), interpolation=cv2.INTER_AREA)
        mean = float(face.mean())
        if i == 0:
            reference = mean
        face = cv2.GaussianBlur(face * np.float32(reference / max(mean, 1e-6)), (0, 0), 1.0)
        window.append(face)
        if len(window) == window.maxlen:
            before, now, after = window[0], window[k], window[-1]
            blocks = (
                _blocks(np.abs(now - before), _DIFF_GRID)
                + _blocks(np.abs(now - after), _DIFF_GRID)
                - _blocks(np.abs(after - before), _DIFF_GRID)
            )
            scores.append(float(np.sort(blocks)[-_DIFF_TOP:].mean()))
    return np.asarray(scores, dtype=np.float64)


def _smooth(curve: np.ndarray, width: int) -> np.ndarray:
    if width <= 1 or len(curve) < 3:
        return curve
    padded = np.pad(curve, (width // 2, width - 1 - width // 2), mode="edge")
    return np.convolve(padded, np.ones(width) / width, mode="valid")


def spot_window(score: np.ndarray, k: int, fps: float) -> tuple[int, int]:
    """(start, end) frame indices of the window centred on the highest (smoothed) contrast."""
    if len(score) == 0:
        raise LFDError(f"cannot spot a micro-expression: fewer than {2 * k + 1} frames")
    centre = k + int(np.argmax(_smooth(score, max(1, int(round(fps / 30))) | 1)))
    return centre - k, centre + k


def refine_interval(window: Sequence[np.ndarray] | np.ndarray, rise: float = 0.2) -> Interval:
    """(onset, apex, offset) inside one window of faces (indices into ``window``): the apex is the
    matched-filter apex of local motion against the window's first frame; onset and offset are
    where the motion of the best blocks falls below ``rise`` of its value at the apex."""
    motion = local_motion(window)
    apex, region = _matched_apex(motion, _FLOW_TOP)
    curve = _smooth(motion[:, region].mean(axis=1), 3)
    peak = float(curve[apex])
    end = len(window) - 1
    if peak <= 0:
        return Interval(0, apex, end, max(peak, 0.0))
    low = curve <= rise * peak
    before = np.nonzero(low[:apex])[0]
    after = np.nonzero(low[apex + 1 :])[0]
    onset = int(before[-1]) if len(before) else 0
    offset = apex + 1 + int(after[0]) if len(after) else end
    return Interval(onset, apex, offset, peak)


def spot_interval(
    frames: Sequence[np.ndarray] | np.ndarray, fps: float, window_s: float = 0.5, rise: float = 0.2
) -> Interval:
    """Most likely micro-expression in a raw aligned face video, with its peak motion.

    frames: (T, S, S) aligned grey faces; fps: frame rate; window_s: the longest micro-expression
    expected (0.5 s). The frame with the highest contrast against the frames half a window before
    and after it (module doc) centres the window; ``refine_interval`` finds onset, apex and
    offset inside it. Videos too long for memory go through the same three steps with frames
    streamed (``preprocess.video``).
    """
    n = len(frames)
    if n < 3:
        raise LFDError(f"cannot spot a micro-expression in {n} frames (need >= 3)")
    if not fps > 0:
        raise LFDError(f"fps must be > 0, got {fps}")
    _check(frames)
    k = contrast_half_window(n, fps, window_s)
    start, end = spot_window(contrast_curve(frames, k), k, fps)
    found = refine_interval(frames[start : end + 1], rise)
    return found._replace(onset=start + found.onset, apex=start + found.apex, offset=start + found.offset)
