"""Apex and interval spotting on clips with a known onset -> apex -> offset time course."""

from __future__ import annotations

import tempfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.preprocess.keyframes import local_motion, spot_apex, spot_interval

SIZE = 128


def smoothstep(u: np.ndarray) -> np.ndarray:
    u = np.clip(u, 0.0, 1.0)
    return u * u * (3 - 2 * u)


def time_course(n: int, onset: int, apex: int, offset: int, residual: float = 0.2) -> np.ndarray:
    """0 until onset, smooth rise to 1 at apex, smooth fall to ``residual`` at offset (and after)."""
    t = np.arange(n, dtype=np.float64)
    rise = smoothstep((t - onset) / max(apex - onset, 1))
    fall = 1 - (1 - residual) * smoothstep((t - apex) / max(offset - apex, 1))
    return np.where(t <= apex, rise, fall)


def make_clip(
    rng: np.random.Generator,
    strength: np.ndarray,
    amplitude: float,
    noise: float = 2.0,
    drift: float = 0.0,
    flicker: float = 0.0,
    distractor: tuple[int, float] | None = None,
) -> np.ndarray:
    """(T, 128, 128) uint8 textured 'face' whose local region moves by ``amplitude * strength[t]`` px.

    The movement is a smooth Gaussian-weighted warp (sigma 8-14 px) at a random place and
    direction; ``drift`` px/frame moves the whole face; ``flicker`` is a relative sinusoidal
    illumination change; ``distractor`` = (frame, amplitude) adds a brief (~5 frame) twitch
    elsewhere, like a blink.
    """
    small = rng.random((SIZE // 4 + 10, SIZE // 4 + 10)).astype(np.float32)
    base = cv2.GaussianBlur(
        cv2.resize(small, (SIZE + 40, SIZE + 40), interpolation=cv2.INTER_CUBIC), (0, 0), 1.2
    )
    base = (base - base.min()) / (base.max() - base.min()) * 160 + 40
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)

    def region() -> tuple[np.ndarray, float]:
        cx, cy = rng.uniform(30, 98, 2)
        sigma = rng.uniform(8, 14)
        return np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sigma**2)), rng.uniform(0, 2 * np.pi)

    (weight, angle) = region()
    twitch = region() if distractor else None
    n = len(strength)
    phase = rng.uniform(0, 2 * np.pi)
    frames = []
    for t in range(n):
        ex = amplitude * strength[t] * np.cos(angle) * weight + drift * t
        ey = amplitude * strength[t] * np.sin(angle) * weight
        if twitch is not None and distractor is not None:
            pulse = np.exp(-0.5 * ((t - distractor[0]) / 1.2) ** 2) * distractor[1]
            ex = ex + pulse * np.cos(twitch[1]) * twitch[0]
            ey = ey + pulse * np.sin(twitch[1]) * twitch[0]
        frame = cv2.remap(
            base, (xx + 20 - ex).astype(np.float32), (yy + 20 - ey).astype(np.float32), cv2.INTER_CUBIC
        )
        frame = frame * (1 + flicker * np.sin(0.7 * t + phase)) + rng.normal(0, noise, frame.shape)
        frames.append(np.clip(frame, 0, 255).astype(np.uint8))
    return np.stack(frames)


@pytest.mark.parametrize("seed", range(10))
def test_spot_apex_within_three_frames(seed: int) -> None:
    """Within 3 frames, not 2: the running median over a third of the interval, which real
    clips need (results/apex_spotting.txt), flattens an apex that lies a few frames before the
    offset and moves it by up to 3 frames (seeds 1, 7, 8 here)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 40))
    onset, offset = int(rng.integers(0, 3)), n - 1 - int(rng.integers(0, 3))
    apex = int(rng.integers(onset + 3, offset - 3))
    clip = make_clip(
        rng, time_course(n, onset, apex, offset), amplitude=rng.uniform(0.8, 1.5), drift=[0.0, 0.02][seed % 2]
    )
    spotted = spot_apex(clip, onset, offset)
    assert onset <= spotted <= offset
    assert abs(spotted - apex) <= 3, f"true apex {apex}, spotted {spotted}"


@pytest.mark.parametrize("seed", range(4))
def test_spot_apex_ignores_a_brief_larger_twitch_and_flicker(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    n, onset, offset = 30, 0, 29
    apex = int(rng.integers(8, 14)) if seed % 2 else int(rng.integers(16, 22))
    twitch_at = 25 if apex < 15 else 5  # far from the apex
    clip = make_clip(
        rng, time_course(n, onset, apex, offset), amplitude=1.0, flicker=0.02, distractor=(twitch_at, 2.0)
    )
    assert abs(spot_apex(clip, onset, offset) - apex) <= 2


def test_local_motion_sees_the_region_not_the_head() -> None:
    rng = np.random.default_rng(7)
    strength = np.array([0.0, 1.0])
    still = make_clip(rng, strength, amplitude=0.0, drift=1.5, noise=0.0)  # the whole face moves 1.5 px
    moving = make_clip(np.random.default_rng(7), strength, amplitude=1.5, noise=0.0)
    assert local_motion(still)[1].max() < 0.15  # global motion removed
    assert local_motion(moving)[1].max() > 0.8  # the local warp stays
    assert np.all(local_motion(moving)[0] == 0)


def test_spot_apex_edge_cases() -> None:
    clip = np.zeros((6, 32, 32), np.uint8)
    assert spot_apex(clip, 3, 3) == 3
    assert spot_apex(clip, 2, 3) == 2
    assert spot_apex(clip, 1, 3) == 2
    for onset, offset in [(4, 2), (-1, 3), (0, 6)]:
        with pytest.raises(LFDError, match="cannot spot an apex"):
            spot_apex(clip, onset, offset)
    with pytest.raises(LFDError, match="grey"):
        spot_apex(np.zeros((6, 32, 32, 3), np.uint8), 0, 5)


@pytest.mark.parametrize("seed", range(5))
def test_spot_interval_in_a_video(seed: int) -> None:
    rng = np.random.default_rng(200 + seed)
    fps, n = 30.0, 120
    onset = int(rng.integers(15, 95))
    apex = onset + int(rng.integers(3, 8))
    offset = apex + int(rng.integers(4, 8))
    video = make_clip(
        rng,
        time_course(n, onset, apex, offset, residual=0.0),
        amplitude=rng.uniform(0.8, 1.5),
        drift=[0.0, 0.01][seed % 2],
    )
    found = spot_interval(video, fps)
    assert abs(found[1] - apex) <= 2, f"true {(onset, apex, offset)}, found {found}"
    assert abs(found[0] - onset) <= 3 and abs(found[2] - offset) <= 3, (
        f"true {(onset, apex, offset)}, found {found}"
    )
    assert found[0] < found[1] < found[2]


def test_spot_interval_rejects_bad_input() -> None:
    with pytest.raises(LFDError, match="need >= 3"):
        spot_interval(np.zeros((2, 32, 32), np.uint8), 30)
    with pytest.raises(LFDError, match="fps"):
        spot_interval(np.zeros((10, 32, 32), np.uint8), 0)
    short = spot_interval(np.zeros((5, 32, 32), np.uint8), 200)  # window longer than the video
    assert 0 <= short[0] <= short[1] <= short[2] <= 4


def test_spot_apex_on_the_synthetic_dataset() -> None:
    """The embedded synthetic set adds blinks, twitches, head jitter and flicker as distractors."""
    synthetic = pytest.importorskip("lfd_tcmen.synth.render")
    openpyxl = pytest.importorskip("openpyxl")
    from lfd_tcmen.preprocess.face import align_clip

    errors = []
    with tempfile.TemporaryDirectory() as tmp:
        sheet = synthetic.render_dataset(Path(tmp), subjects=2, clips_per_subject=6, seed=3, progress=False)
        rows = list(openpyxl.load_workbook(sheet)["Sheet1"].iter_rows(values_only=True))[1:]
        for subject, clip_name, _, onset, apex, offset, *_ in rows:
            folder = Path(tmp) / "CASME2_RAW_selected" / f"sub{subject}" / clip_name
            numbers = list(range(onset, offset + 1))
            frames = [cv2.imread(str(folder / f"img{k}.jpg"), cv2.IMREAD_GRAYSCALE) for k in numbers]
            aligned = align_clip(frames, np.load(folder / "landmarks.npy"), size=SIZE)
            errors.append(abs(spot_apex(aligned.frames, 0, len(frames) - 1) - numbers.index(apex)))
    errors_arr = np.array(errors)
    # chance (a uniform guess) is within 2 frames ~20% of the time; measured here 11/12 within 2
    assert np.median(errors_arr) <= 1 and (errors_arr <= 2).mean() >= 0.6, errors
