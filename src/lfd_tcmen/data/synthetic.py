"""The embedded synthetic micro-expression set: CASME II's layout and coding sheet, drawn faces.

Real micro-expression datasets are licensed, so the demo and the tests run on this one. It is
built to pose the real problem, not an easy one:

- emotions are subtle (about 1-2 px at 128 x 128) local deformations where the real action
  units move (happiness AU6+AU12, disgust AU4+AU9/AU10, surprise AU1+AU2+AU5, repression
  AU14/AU15/AU17), with a smooth onset -> apex -> offset time course;
- subjects differ far more than expressions do (face shape, skin, hair, lighting), so a
  single frame says who, not what;
- identity confounds: each subject has its own skewed emotion distribution and its own
  habitual movements (blinks, a lip-corner twitch, ...) in every clip whatever the emotion,
  its own head jitter, illumination flicker, sensor noise and JPEG quality.

Every clip is drawn from its own generator seeded by (seed, subject, clip), so one seed gives
byte-identical frames and sheet, and changing one clip changes no other.
"""

from __future__ import annotations

import io
import re
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import openpyxl
from tqdm import tqdm

from lfd_tcmen.data.synthetic_face import (
    FaceIdentity,
    action_field,
    random_identity,
    render_neutral,
)
from lfd_tcmen.errors import LFDError

SHEET_NAME = "CASME2-coding-synthetic.xlsx"
FRAMES_DIR = "CASME2_RAW_selected"
# the header row of CASME II's own coding sheet (CASME2-coding-20190701.xlsx)
HEADER = (
    "Subject",
    "Filename",
    None,
    "OnsetFrame",
    "ApexFrame",
    "OffsetFrame",
    None,
    "Action Units",
    "Estimated Emotion",
    "Objective Classes",
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
# Objective classes of Davison et al. (2018) as CASME II's sheet assigns them (this table
# reproduces 254 of its 255 rows; the sheet classes "4+L10" IV but "4+10" VII); anything else is class VII.
OBJECTIVE_CLASSES: dict[int, tuple[frozenset[int], ...]] = {
    k: tuple(frozenset(s) for s in v)
    for k, v in {
        1: ({6}, {12}, {6, 12}, {6, 7, 12}, {7, 12}),
        2: ({1, 2}, {5}, {25}, {1, 2, 25}, {25, 26}, {5, 24}),
        3: ({23}, {4}, {4, 7}, {4, 5}, {4, 5, 7}, {17, 24}, {4, 6, 7}, {4, 38}),
        4: (
            {10},
            {9},
            {4, 9},
            {4, 40},
            {4, 5, 40},
            {4, 7, 9},
            {4, 9, 17},
            {4, 7, 10},
            {4, 5, 7, 9},
            {7, 10},
            {4, 7, 9, 10},
        ),  # the last as CASME II's sheet classes it
        5: ({1}, {15}, {1, 4}, {6, 15}, {15, 17}),
        6: ({1, 2, 4}, {20}),
    }.items()
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


def objective_class(action_units: str) -> int:
    """CASME II objective class (1-7) of an action-unit code such as "4+L10" (sides ignored)."""
    aus = frozenset(int(re.sub(r"\D", "", a)) for a in action_units.split("+"))
    for k, sets in OBJECTIVE_CLASSES.items():
        if aus in sets:
            return k
    return 7


def render_dataset(
    out: Path,
    subjects: int = 8,
    seed: int = 0,
    clips_per_subject: int = 12,
    size: int = 128,
    frames_per_clip: int = 24,
    progress: bool = True,
) -> Path:
    """Render the synthetic set under ``out`` in CASME II's layout; returns the coding sheet path.

    ``out/CASME2_RAW_selected/subNN/<clip>/img<n>.jpg`` holds the frames onset..offset and
    ``landmarks.npy`` (T, 68, 2) float32, the exact iBUG-68 landmarks (x, y px) of each frame
    in frame-number order; ``out/CASME2-coding-synthetic.xlsx`` is the coding sheet. The
    CASME II loader reads it as ``load_samples("casme2", sheet, out / "CASME2_RAW_selected")``.
    Rendering again into ``out`` replaces the frames of every clip it writes.
    """
    if not 1 <= subjects <= 99:
        raise LFDError(f"subjects must be between 1 and 99, got {subjects}")
    if clips_per_subject < 1:
        raise LFDError(f"clips_per_subject must be at least 1, got {clips_per_subject}")
    if size < 64:
        raise LFDError(f"size must be at least 64 px, got {size}")
    if frames_per_clip < 6:
        raise LFDError(f"frames_per_clip must be at least 6, got {frames_per_clip}")
    out = Path(out)
    rows = []
    emotion_order = np.random.default_rng([seed]).permutation(len(EMOTIONS))
    with tqdm(
        total=subjects * clips_per_subject,
        desc="synthetic clips",
        unit="clip",
        file=sys.stderr,
        disable=not progress,
    ) as bar:
        for s in range(subjects):
            rng = np.random.default_rng([seed, s])
            identity = random_identity(rng)
            style = _subject_style(rng, np.roll(emotion_order, s))
            emotions = _deal_emotions(rng, style.emotion_weights, clips_per_subject)
            canvas = int(round(size * CANVAS_MARGIN / 2)) * 2
            neutral, landmarks = render_neutral(identity, size, canvas)
            for c in range(clips_per_subject):
                clip_rng = np.random.default_rng([seed, s, c])
                rows.append(
                    _render_clip(
                        out,
                        s,
                        c,
                        emotions[c],
                        identity,
                        style,
                        neutral,
                        landmarks,
                        size,
                        frames_per_clip,
                        clip_rng,
                    )
                )
                bar.update()
    sheet = out / SHEET_NAME
    _write_sheet(sheet, rows)
    return sheet


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


def _render_clip(
    out: Path,
    s: int,
    c: int,
    emotion: str,
    identity: FaceIdentity,
    style: SubjectStyle,
    neutral: np.ndarray,
    landmarks: np.ndarray,
    size: int,
    n_frames: int,
    rng: np.random.Generator,
) -> tuple:
    px = size / 128.0  # amplitudes are specified at 128 x 128
    canvas = neutral.shape[0]
    unit = identity.scale * size
    t = np.arange(n_frames, dtype=np.float64)

    combos, probs = zip(*EMOTION_ACTIONS[emotion])
    aus = combos[int(rng.choice(len(combos), p=probs))]
    intensity = rng.uniform(0.8, 2.0)
    actions = []
    for code in aus.split("+"):
        gain, turn = style.expressivity[code.lstrip("LR")]
        amplitude = np.clip(intensity * gain * rng.uniform(0.85, 1.15), 0.6, 2.5) * px
        actions.append((code, float(amplitude), turn + rng.normal(0, 0.1)))
    apex_idx = int(rng.integers(max(2, round(0.2 * n_frames)), min(n_frames - 3, round(0.7 * n_frames)) + 1))
    # each movement: (field on the canvas, the field at the landmarks, strength per frame)
    field_args = (landmarks, unit, canvas, style.side_gain)
    movements = [(*action_field(actions, *field_args), _bump(t, 0, apex_idx, n_frames - 1))]
    for code, amplitude, probability in style.habits:
        if rng.random() < probability:
            peak = rng.uniform(0, n_frames - 1)
            half = rng.uniform(2, 5)
            movements.append(
                (
                    *action_field([(code, amplitude * px, 0.0)], *field_args),
                    _bump(t, peak - half, peak, peak + half),
                )
            )

    # head pose: a per-clip placement plus a small, slow per-frame jitter
    angle = rng.uniform(-2, 2) + _smooth_series(rng, t, 0.3 * style.jitter)
    scale = rng.uniform(0.97, 1.03)
    shift = rng.uniform(-2, 2, 2) * px + np.stack(
        [_smooth_series(rng, t, style.jitter * px), _smooth_series(rng, t, style.jitter * px)], axis=1
    )
    gain = rng.uniform(0.94, 1.06) * (
        1 + style.flicker * np.sin(2 * np.pi * rng.uniform(0.1, 0.4) * t + rng.uniform(0, 2 * np.pi))
    )
    gain = gain + rng.normal(0, 0.002, n_frames)

    onset = int(rng.integers(1, 200))
    clip = f"EP{int(rng.integers(1, 20)):02d}_{c + 1:02d}{'f' if rng.random() < 0.4 else ''}"
    folder = out / FRAMES_DIR / f"sub{s + 1:02d}" / clip
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("img*.jpg"):  # a previous render into the same folder
        stale.unlink()
    grid_y, grid_x = np.mgrid[0:size, 0:size].astype(np.float32)
    marks = np.empty((n_frames, 68, 2), np.float32)
    for i in range(n_frames):
        field = sum(m[0] * np.float32(m[2][i]) for m in movements)
        moved = landmarks + sum(m[1] * m[2][i] for m in movements)
        pose = cv2.getRotationMatrix2D((canvas / 2, canvas / 2), float(angle[i]), scale)
        pose[:, 2] += shift[i] - (canvas - size) / 2  # canvas -> frame
        marks[i] = moved @ pose[:, :2].T + pose[:, 2]
        frame = _warp_frame(neutral, field, pose, grid_x, grid_y)
        frame = frame * np.float32(255 * gain[i]) + np.float32(style.noise) * rng.standard_normal(
            frame.shape, dtype=np.float32
        )
        ok, jpeg = cv2.imencode(
            ".jpg",
            np.clip(frame, 0, 255).round().astype(np.uint8),
            [cv2.IMWRITE_JPEG_QUALITY, style.jpeg_quality],
        )
        if not ok:
            raise LFDError("could not encode a JPEG frame", folder)
        (folder / f"img{onset + i}.jpg").write_bytes(jpeg.tobytes())
    np.save(folder / "landmarks.npy", marks)
    au_cell: int | str = int(aus) if aus.isdigit() else aus
    return (
        f"{s + 1:02d}",
        clip,
        None,
        onset,
        onset + apex_idx,
        onset + n_frames - 1,
        None,
        au_cell,
        emotion,
        objective_class(aus),
    )


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


def _write_sheet(path: Path, rows: list[tuple]) -> None:
    """Write the coding sheet like CASME II's: "Sheet1" (+ empty Sheet2, Sheet3), text subjects.

    The .xlsx is made byte-reproducible: fixed document dates and fixed zip entry times.
    """
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(HEADER)
    for row in rows:
        ws.append(row)
        ws.cell(ws.max_row, 1).number_format = "@"
    ws.cell(1, 1).number_format = "@"
    wb.create_sheet("Sheet2")
    wb.create_sheet("Sheet3")
    buffer = io.BytesIO()
    wb.save(buffer)
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = "2019-07-01T00:00:00Z"
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*", rb"\g<1>" + stamp.encode(), data)
            dst.writestr(
                zipfile.ZipInfo(info.filename, date_time=(2019, 7, 1, 0, 0, 0)),
                data,
                compress_type=zipfile.ZIP_DEFLATED,
            )
