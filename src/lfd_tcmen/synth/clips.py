"""The synthetic renderer: subjects, the motion of one recording, and its frames.

A recording is what one frame folder holds: one micro-expression spanning the whole folder
(CASME II, SAMM, SMIC, DFME, MMEW clips) or several with still stretches between them (a
CAS(ME)^3 task video). Rendering one takes three steps on the recording's own generator, in
this order, so every layout draws the same clips from the same seed:

    draw_motion  -> expressions (action units, apex), habitual movements, head pose, lighting
    (the layout places the recording: its first frame number and clip names, from the same
    generator)
    write_frames -> the frames, with sensor noise and JPEG compression, and ``landmarks.npy``

How a set is built from these, and why the faces and motions look as they do, is in
``lfd_tcmen.synth.render``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.synth.face import (
    FaceIdentity,
    action_field,
    random_identity,
    render_neutral,
)

EMOTIONS = ("happiness", "disgust", "repression", "surprise")
# action-unit combinations per emotion, with their probabilities
EMOTION_ACTIONS: dict[str, tuple[tuple[str, float], ...]] = {
    "happiness": (("12", 0.35), ("6+12", 0.35), ("L12", 0.15), ("R12", 0.15)),
    "disgust": (("4", 0.15), ("4+9", 0.3), ("4+10", 0.3), ("4+7+9", 0.1), ("4+7+10", 0.15)),
    "surprise": (("1+2", 0.4), ("1+2+5", 0.3), ("L1+L2", 0.1), ("R1+R2", 0.1), ("1", 0.1)),
    # as in CASME II, some repressions share an action with another emotion (AU12, AU4)
    "repression": (
        ("14", 0.15),
        ("15", 0.15),
        ("17", 0.2),
        ("15+17", 0.2),
        ("14+17", 0.1),
        ("12+15", 0.1),
        ("4+17", 0.1),
    ),
}
HABITS = ("blink", "Ltwitch", "Rtwitch", "flick", "flare", "swallow")
CANVAS_MARGIN = 1.25  # the neutral face is drawn this much larger than a frame, room for pose


@dataclass(frozen=True)
class SubjectStyle:
    """What stays the same over a subject's clips besides the face."""

    emotion_weights: tuple[float, ...]  # skewed distribution over EMOTIONS
    expressivity: dict[str, tuple[float, float]]  # action code -> (gain, turn radians): one's own way
    side_gain: tuple[float, float]  # strength on the image-left / image-right side (asymmetry)
    habits: tuple[tuple[str, float, float], ...]  # (action code, amplitude px at 128, probability per clip)
    jitter: float  # head translation amplitude, px at 128
    flicker: float  # relative illumination flicker amplitude
    noise: float  # sensor noise standard deviation, grey levels
    jpeg_quality: int


@dataclass(frozen=True)
class Subject:
    """One synthetic subject: face, style, its emotions (one per clip) and the neutral image.

    neutral: (canvas, canvas, 3) float32 BGR in [0, 1]; landmarks: (68, 2) float64 canvas px.
    """

    identity: FaceIdentity
    style: SubjectStyle
    emotions: tuple[str, ...]
    size: int  # frame side, px
    neutral: np.ndarray
    landmarks: np.ndarray


@dataclass(frozen=True)
class Expression:
    """One micro-expression of a recording; onset, apex, offset are frame positions in it."""

    emotion: str  # one of EMOTIONS
    action_units: str  # "6+12", "L12", ...
    onset: int
    apex: int
    offset: int


@dataclass(frozen=True)
class Motion:
    """Everything that moves in one recording of T frames, drawn before a frame is rendered.

    movements: per movement (field (canvas, canvas, 2) float32 px at full strength, the same
    field at the 68 landmarks (68, 2), strength per frame (T,)); angle: (T,) degrees;
    shift: (T, 2) px; gain: (T,) illumination factor.
    """

    expressions: tuple[Expression, ...]
    movements: tuple[tuple[np.ndarray, np.ndarray, np.ndarray], ...]
    angle: np.ndarray
    scale: float
    shift: np.ndarray
    gain: np.ndarray

    @property
    def n_frames(self) -> int:
        return len(self.gain)


def draw_subject(rng: np.random.Generator, emotion_order: np.ndarray, size: int, n_clips: int) -> Subject:
    """Face, style and ``n_clips`` dealt emotions from the subject's generator, and its neutral image."""
    identity = random_identity(rng)
    style = _subject_style(rng, emotion_order)
    emotions = _deal_emotions(rng, style.emotion_weights, n_clips)
    canvas = int(round(size * CANVAS_MARGIN / 2)) * 2
    neutral, landmarks = render_neutral(identity, size, canvas)
    return Subject(identity, style, tuple(emotions), size, neutral, landmarks)


def draw_motion(
    rng: np.random.Generator,
    subject: Subject,
    emotions: Sequence[str],
    frames_per_clip: int,
    spaced: bool = False,
) -> Motion:
    """The motion of a recording holding one micro-expression per entry of ``emotions``.

    Unless ``spaced``, the recording is exactly one expression of ``frames_per_clip`` frames
    (onset = first frame, offset = last). With ``spaced`` (a task video), still stretches of 1 to
    ``frames_per_clip`` frames come before, between and after the expressions. Habitual
    movements (blinks, twitches) may happen in every ``frames_per_clip`` frames, expression or not.
    """
    if not spaced and len(emotions) != 1:
        raise ValueError("a recording without still stretches holds exactly one expression")
    style, size = subject.style, subject.size
    px = size / 128.0  # amplitudes are specified at 128 x 128
    canvas = subject.neutral.shape[0]
    unit = subject.identity.scale * size
    drawn = [_draw_expression(rng, e, style, px, frames_per_clip) for e in emotions]
    starts, n_frames = _place_expressions(rng, len(drawn), frames_per_clip, spaced)
    t = np.arange(n_frames, dtype=np.float64)

    # each movement: (field on the canvas, the field at the landmarks, strength per frame)
    field_args = (subject.landmarks, unit, canvas, style.side_gain)
    movements = []
    expressions = []
    for emotion, (aus, actions, apex_idx), start in zip(emotions, drawn, starts):
        end = start + frames_per_clip - 1
        movements.append((*action_field(actions, *field_args), _bump(t, start, start + apex_idx, end)))
        expressions.append(Expression(emotion, aus, start, start + apex_idx, end))
    for code, amplitude, probability in style.habits:
        for window in range(0, n_frames, frames_per_clip):
            if rng.random() < probability:
                last = min(window + frames_per_clip, n_frames) - 1
                peak = window + rng.uniform(0, last - window)
                half = rng.uniform(2, 5)
                movements.append(
                    (
                        *action_field([(code, amplitude * px, 0.0)], *field_args),
                        _bump(t, peak - half, peak, peak + half),
                    )
                )

    # head pose: a per-recording placement plus a small, slow per-frame jitter
    angle = rng.uniform(-2, 2) + _smooth_series(rng, t, 0.3 * style.jitter)
    scale = rng.uniform(0.97, 1.03)
    shift = rng.uniform(-2, 2, 2) * px + np.stack(
        [_smooth_series(rng, t, style.jitter * px), _smooth_series(rng, t, style.jitter * px)], axis=1
    )
    gain = rng.uniform(0.94, 1.06) * (
        1 + style.flicker * np.sin(2 * np.pi * rng.uniform(0.1, 0.4) * t + rng.uniform(0, 2 * np.pi))
    )
    gain = gain + rng.normal(0, 0.002, n_frames)
    return Motion(tuple(expressions), tuple(movements), angle, float(scale), shift, gain)


def write_frames(rng: np.random.Generator, subject: Subject, motion: Motion, paths: Sequence[Path]) -> None:
    """Render the recording's frames to ``paths`` (one per frame, all in one folder; the suffix
    picks the format: .jpg at the subject's JPEG quality, or .bmp) and ``landmarks.npy`` beside
    them: (T, 68, 2) float32, the exact iBUG-68 landmarks (x, y px) of each frame in frame order.

    Frames of a previous render in the folder (files with the same suffix) are removed first.
    """
    if len(paths) != motion.n_frames:
        raise ValueError(f"{len(paths)} frame paths for {motion.n_frames} frames")
    folder = paths[0].parent
    suffix = paths[0].suffix
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob(f"*{suffix}"):  # a previous render into the same folder
        stale.unlink()
    params = [cv2.IMWRITE_JPEG_QUALITY, subject.style.jpeg_quality] if suffix == ".jpg" else []
    size, canvas = subject.size, subject.neutral.shape[0]
    grid_y, grid_x = np.mgrid[0:size, 0:size].astype(np.float32)
    marks = np.empty((motion.n_frames, 68, 2), np.float32)
    for i, path in enumerate(paths):
        field = sum(m[0] * np.float32(m[2][i]) for m in motion.movements)
        moved = subject.landmarks + sum(m[1] * m[2][i] for m in motion.movements)
        pose = cv2.getRotationMatrix2D((canvas / 2, canvas / 2), float(motion.angle[i]), motion.scale)
        pose[:, 2] += motion.shift[i] - (canvas - size) / 2  # canvas -> frame
        marks[i] = moved @ pose[:, :2].T + pose[:, 2]
        frame = _warp_frame(subject.neutral, field, pose, grid_x, grid_y)
        frame = frame * np.float32(255 * motion.gain[i]) + np.float32(
            subject.style.noise
        ) * rng.standard_normal(frame.shape, dtype=np.float32)
        ok, encoded = cv2.imencode(suffix, np.clip(frame, 0, 255).round().astype(np.uint8), params)
        if not ok:
            raise LFDError(f"could not encode a {suffix} frame", folder)
        path.write_bytes(encoded.tobytes())
    np.save(folder / "landmarks.npy", marks)


def _subject_style(rng: np.random.Generator, emotion_order: np.ndarray) -> SubjectStyle:
    base = np.array([0.4, 0.3, 0.2, 0.1]) * rng.uniform(0.6, 1.4, 4)
    weights = np.empty(len(EMOTIONS))
    weights[emotion_order] = base / base.sum()
    chosen = rng.choice(len(HABITS), size=int(rng.integers(1, 3)), replace=False)
    habits = []
    for h in sorted(chosen):
        code = HABITS[h]
        amplitude = rng.uniform(1.5, 3.0) if code == "blink" else rng.uniform(0.8, 1.8)
        habits.append((code, float(amplitude), float(rng.uniform(0.5, 0.9))))
    codes = sorted(
        {
            code.lstrip("LR")
            for combos in EMOTION_ACTIONS.values()
            for aus, _ in combos
            for code in aus.split("+")
        }
    )
    expressivity = {code: (float(rng.uniform(0.7, 1.3)), float(rng.uniform(-0.35, 0.35))) for code in codes}
    weak = float(rng.uniform(0.6, 1.0))
    return SubjectStyle(
        emotion_weights=tuple(float(w) for w in weights),
        expressivity=expressivity,
        side_gain=(weak, 1.0) if rng.random() < 0.5 else (1.0, weak),
        habits=tuple(habits),
        jitter=float(rng.uniform(0.15, 0.8)),
        flicker=float(rng.uniform(0.003, 0.02)),
        noise=float(rng.uniform(1.5, 4.0)),
        jpeg_quality=int(rng.integers(85, 96)),
    )


def _deal_emotions(rng: np.random.Generator, weights: tuple[float, ...], n: int) -> list[str]:
    """``n`` emotions in the proportions ``weights`` (largest remainder), in random order."""
    quota = np.array(weights) * n
    counts = np.floor(quota).astype(int)
    for i in np.argsort(-(quota - counts), kind="stable")[: n - counts.sum()]:
        counts[i] += 1
    emotions = [EMOTIONS[i] for i in range(len(EMOTIONS)) for _ in range(counts[i])]
    return [emotions[i] for i in rng.permutation(n)]


def _draw_expression(
    rng: np.random.Generator, emotion: str, style: SubjectStyle, px: float, n_frames: int
) -> tuple[str, list[tuple[str, float, float]], int]:
    """(action-unit code, actions (code, amplitude px, turn radians), apex position) of one
    expression of ``n_frames`` frames, in the subject's own way."""
    combos, probs = zip(*EMOTION_ACTIONS[emotion])
    aus = combos[int(rng.choice(len(combos), p=probs))]
    intensity = rng.uniform(0.8, 2.0)
    actions = []
    for code in aus.split("+"):
        gain, turn = style.expressivity[code.lstrip("LR")]
        amplitude = np.clip(intensity * gain * rng.uniform(0.85, 1.15), 0.6, 2.5) * px
        actions.append((code, float(amplitude), turn + rng.normal(0, 0.1)))
    apex_idx = int(rng.integers(max(2, round(0.2 * n_frames)), min(n_frames - 3, round(0.7 * n_frames)) + 1))
    return aus, actions, apex_idx


def _place_expressions(
    rng: np.random.Generator, count: int, frames_per_clip: int, spaced: bool
) -> tuple[list[int], int]:
    """First frame of each of ``count`` expressions, and the recording's length."""
    if not spaced:
        return [0], frames_per_clip
    still = rng.integers(1, frames_per_clip + 1, count + 1)  # before, between and after
    starts = [int(still[: k + 1].sum()) + k * frames_per_clip for k in range(count)]
    return starts, int(still.sum()) + count * frames_per_clip


def _bump(t: np.ndarray, start: float, peak: float, end: float) -> np.ndarray:
    """Smooth rise from 0 at ``start`` to 1 at ``peak`` and fall back to 0 at ``end`` (raised cosine)."""
    rise = np.clip((t - start) / max(peak - start, 1e-6), 0, 1)
    fall = np.clip((t - peak) / max(end - peak, 1e-6), 0, 1)
    return np.where(t <= peak, 0.5 - 0.5 * np.cos(np.pi * rise), 0.5 + 0.5 * np.cos(np.pi * fall))


def _smooth_series(rng: np.random.Generator, t: np.ndarray, amplitude: float) -> np.ndarray:
    """A slow random wobble over frames ``t`` (three sinusoids), peak magnitude about ``amplitude``."""
    freq = rng.uniform(0.01, 0.12, 3)
    phase = rng.uniform(0, 2 * np.pi, 3)
    weight = rng.uniform(0.3, 1.0, 3)
    series = (weight[:, None] * np.sin(2 * np.pi * freq[:, None] * t + phase[:, None])).sum(0)
    return amplitude * series / weight.sum()


def _warp_frame(
    neutral: np.ndarray, field: np.ndarray, pose: np.ndarray, grid_x: np.ndarray, grid_y: np.ndarray
) -> np.ndarray:
    """The frame seen through ``pose`` (2, 3) canvas -> frame after moving canvas points y to
    y + field(y); field (canvas, canvas, 2) float32 px. Returns (S, S, 3) float32 in [0, 1]."""
    inverse = cv2.invertAffineTransform(pose).astype(np.float32)
    map_x = inverse[0, 0] * grid_x + inverse[0, 1] * grid_y + inverse[0, 2]
    map_y = inverse[1, 0] * grid_x + inverse[1, 1] * grid_y + inverse[1, 2]
    # invert x = y + d(y) by fixed-point iteration: y = x - d(x - d(x))
    src_x, src_y = map_x, map_y
    for _ in range(2):
        d = cv2.remap(field, src_x, src_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        src_x, src_y = map_x - d[..., 0], map_y - d[..., 1]
    return cv2.remap(neutral, src_x, src_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
