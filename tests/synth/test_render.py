"""The synthetic micro-expression set: CASME II's format, determinism, subtle motion, and the
property it exists for: the apex face alone says little about the emotion, the motion says much."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import openpyxl
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.data.datasets import load_samples
from lfd_tcmen.data.splits import loso_folds
from lfd_tcmen.synth.face import FACE_CENTER, TEMPLATE_68
from lfd_tcmen.synth.render import EMOTIONS, FRAMES_DIR, HEADER, SHEET_NAME, objective_class, render_dataset

SUBJECTS, CLIPS, FRAMES = 6, 8, 16
# landmarks no action moves (upper jaw, nose bridge top, eye corners): they carry the head pose
STABLE = [0, 1, 2, 3, 4, 12, 13, 14, 15, 16, 27, 28, 36, 39, 42, 45]
# where each action unit moves the landmarks
AU_REGION = {
    "1": range(17, 27),
    "2": range(17, 27),
    "4": range(17, 27),
    "5": range(36, 48),
    "6": range(36, 48),
    "7": range(36, 48),
    "9": range(27, 36),
    "10": range(48, 68),
    "12": range(48, 68),
    "14": range(48, 68),
    "15": range(48, 68),
    "17": [*range(5, 12), *range(55, 60), *range(65, 68)],
}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synthetic")
    render_dataset(
        out, subjects=SUBJECTS, clips_per_subject=CLIPS, frames_per_clip=FRAMES, seed=0, progress=False
    )
    return out


def read_rows(sheet: Path) -> list[tuple]:
    ws = openpyxl.load_workbook(sheet)["Sheet1"]
    return [tuple(c.value for c in row) for row in ws.iter_rows(min_row=2)]


def clip_dir(root: Path, row: tuple) -> Path:
    return root / FRAMES_DIR / f"sub{row[0]}" / row[1]


def expression_residual(landmarks: np.ndarray) -> np.ndarray:
    """(T, 68) displacement of each landmark from the onset frame once head motion is removed
    (a least-squares similarity fitted on the STABLE landmarks)."""
    ref = landmarks[0].astype(np.float64)
    out = np.empty(landmarks.shape[:2])
    for t, frame in enumerate(landmarks.astype(np.float64)):
        src, dst = frame[STABLE], ref[STABLE]
        sc, dc = src.mean(0), dst.mean(0)
        a, b = src - sc, dst - dc
        # closed-form 2-D similarity: dst ~ s R src + t, R from the complex-number fit
        z = ((a[:, 0] - 1j * a[:, 1]) * (b[:, 0] + 1j * b[:, 1])).sum() / (
            np.abs(a[:, 0] + 1j * a[:, 1]) ** 2
        ).sum()
        p = (frame - sc) @ np.array([[z.real, z.imag], [-z.imag, z.real]]) + dc
        out[t] = np.linalg.norm(p - ref, axis=1)
    return out


def au_landmarks(action_units: int | str) -> list[int]:
    codes = str(action_units).split("+")
    return sorted({i for code in codes for i in AU_REGION[code.lstrip("LR")]})


def test_sheet_is_casme2_format(dataset: Path) -> None:
    wb = openpyxl.load_workbook(dataset / SHEET_NAME)
    assert wb.sheetnames == ["Sheet1", "Sheet2", "Sheet3"]
    ws = wb["Sheet1"]
    assert tuple(c.value for c in ws[1]) == HEADER
    rows = read_rows(dataset / SHEET_NAME)
    assert len(rows) == SUBJECTS * CLIPS
    assert sorted({r[0] for r in rows}) == [f"{s:02d}" for s in range(1, SUBJECTS + 1)]
    for row in rows:
        subject, filename, empty1, onset, apex, offset, empty2, aus, emotion, klass = row
        assert isinstance(subject, str) and len(subject) == 2
        assert filename.startswith("EP") and empty1 is None and empty2 is None
        assert all(type(v) is int for v in (onset, apex, offset, klass))
        assert onset < apex < offset and offset - onset + 1 == FRAMES
        assert isinstance(aus, int) or ("+" in aus or aus[0] in "LR")  # as in CASME II: 12, "6+12", "L12"
        assert emotion in EMOTIONS
        assert klass == objective_class(str(aus))
    # every subject's clip names are unique; frequencies differ by subject (skewed, not uniform)
    assert len({(r[0], r[1]) for r in rows}) == len(rows)
    per_subject = [
        [sum(r[8] == e for r in rows if r[0] == s) for e in EMOTIONS] for s in sorted({r[0] for r in rows})
    ]
    assert len({tuple(c) for c in per_subject}) > 1
    assert all(max(c) >= 3 for c in per_subject)  # 8 clips, 4 emotions: each subject has a favourite


def test_sheet_matches_real_casme2_sheet(dataset: Path, shared_data: Path) -> None:
    real = openpyxl.load_workbook(shared_data / "annotations" / "casme2" / "CASME2-coding-20190701.xlsx")[
        "Sheet1"
    ]
    ours = openpyxl.load_workbook(dataset / SHEET_NAME)["Sheet1"]
    assert tuple(c.value for c in real[1]) == tuple(c.value for c in ours[1])
    # per column, the cell types we write are types the real sheet has (AU cells: 12 or "4+7")
    for real_col, our_col in zip(real.iter_cols(min_row=2), ours.iter_cols(min_row=2)):
        assert {c.data_type for c in our_col} <= {c.data_type for c in real_col}
    assert real["A2"].number_format == ours["A2"].number_format == "@"  # subject stored as text


def test_objective_classes_agree_with_real_sheet(shared_data: Path) -> None:
    real = openpyxl.load_workbook(shared_data / "annotations" / "casme2" / "CASME2-coding-20190701.xlsx")[
        "Sheet1"
    ]
    rows = list(real.iter_rows(min_row=2, values_only=True))
    agree = sum(objective_class(str(r[7])) == r[9] for r in rows)
    assert len(rows) == 255 and agree == 254  # the sheet itself classes "4+L10" IV and "4+10" VII


def test_frames_and_landmarks_on_disk(dataset: Path) -> None:
    for row in read_rows(dataset / SHEET_NAME):
        folder = clip_dir(dataset, row)
        onset, offset = row[3], row[5]
        names = sorted(p.name for p in folder.glob("*.jpg"))
        assert names == sorted(f"img{n}.jpg" for n in range(onset, offset + 1))
        marks = np.load(folder / "landmarks.npy")
        assert marks.shape == (FRAMES, 68, 2) and marks.dtype == np.float32
        assert (marks > 0).all() and (marks < 128).all()
    frame = cv2.imread(str(folder / f"img{onset}.jpg"))
    assert frame.shape == (128, 128, 3) and frame.dtype == np.uint8


def test_apex_displacement_is_subtle_and_timed(dataset: Path) -> None:
    """Head motion removed, the action-unit landmarks move about 1-2 px at the apex, next to
    nothing just after the onset, and the movement peaks at the annotated apex."""
    at_apex, after_onset, peak_at_apex = [], [], []
    for row in read_rows(dataset / SHEET_NAME):
        onset, apex = row[3], row[4]
        residual = expression_residual(np.load(clip_dir(dataset, row) / "landmarks.npy"))
        region = residual[:, au_landmarks(row[7])].max(axis=1)  # (T,)
        at_apex.append(region[apex - onset])
        after_onset.append(region[1])
        peak_at_apex.append(abs(int(np.argmax(region)) - (apex - onset)) <= 1)
    at_apex, after_onset = np.array(at_apex), np.array(after_onset)
    assert 1.0 <= np.median(at_apex) <= 2.2, np.median(at_apex)
    assert np.mean((at_apex > 0.5) & (at_apex < 3.5)) >= 0.9
    assert np.median(after_onset) < 0.25 * np.median(at_apex)
    assert np.mean(peak_at_apex) >= 0.75


def test_landmarks_follow_the_image(dataset: Path) -> None:
    """Optical flow measured on the frames agrees with the landmarks' onset->apex motion."""
    errors, moves = [], []
    for row in read_rows(dataset / SHEET_NAME)[:16]:
        folder = clip_dir(dataset, row)
        onset, apex = row[3], row[4]
        marks = np.load(folder / "landmarks.npy")
        first = cv2.imread(str(folder / f"img{onset}.jpg"), cv2.IMREAD_GRAYSCALE)
        peak = cv2.imread(str(folder / f"img{apex}.jpg"), cv2.IMREAD_GRAYSCALE)
        flow = cv2.calcOpticalFlowFarneback(first, peak, None, 0.5, 3, 9, 3, 5, 1.1, 0)
        for i in range(17, 68):  # inner face: brows, nose, eyes, mouth
            x, y = np.round(marks[0, i]).astype(int)
            errors.append(np.linalg.norm(flow[y, x] - (marks[apex - onset, i] - marks[0, i])))
            moves.append(np.linalg.norm(marks[apex - onset, i] - marks[0, i]))
    assert np.median(moves) > 0.3  # there is motion to check
    assert np.median(errors) < 0.3, np.median(errors)


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    def digest(root: Path) -> dict[str, str]:
        return {
            str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*"))
            if p.is_file()
        }

    kwargs = dict(clips_per_subject=2, frames_per_clip=8, size=64, progress=False)
    a = digest(render_dataset(tmp_path / "a", subjects=2, seed=3, **kwargs).parent)
    b = digest(render_dataset(tmp_path / "b", subjects=2, seed=3, **kwargs).parent)
    c = digest(render_dataset(tmp_path / "c", subjects=2, seed=4, **kwargs).parent)
    one = digest(render_dataset(tmp_path / "one", subjects=1, seed=3, **kwargs).parent)
    assert a == b
    frames = [k for k in a if k.endswith(".jpg")]
    assert len(frames) == 2 * 2 * 8
    assert not set(a.items()) & set(c.items())
    # subjects are independent: adding a second subject does not change the first
    first = {k: v for k, v in a.items() if "sub01" in k}
    assert first and first == {k: v for k, v in one.items() if "sub01" in k}


def aligned_features(root: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Per clip: the apex face, and onset->apex optical flow with the head motion (an affine fit)
    removed; both aligned on the onset landmarks and pooled to 12 x 12."""
    size, pooled = 96, 12
    template = ((TEMPLATE_68 - FACE_CENTER) * size * 0.8 + size / 2).astype(np.float32)
    yy, xx = np.mgrid[0:size, 0:size]
    inner = np.zeros((size, size), bool)
    inner[10:86, 10:86] = True
    design = np.stack([xx[inner], yy[inner], np.ones(inner.sum())], axis=1)
    appearance, motion, labels, subjects = [], [], [], []
    for row in read_rows(root / SHEET_NAME):
        folder = clip_dir(root, row)
        onset, apex = row[3], row[4]
        marks = np.load(folder / "landmarks.npy")
        to_template, _ = cv2.estimateAffinePartial2D(marks[0], template)
        first, peak = (
            cv2.warpAffine(
                cv2.imread(str(folder / f"img{n}.jpg"), cv2.IMREAD_GRAYSCALE), to_template, (size, size)
            )
            for n in (onset, apex)
        )
        flow = cv2.calcOpticalFlowFarneback(first, peak, None, 0.5, 3, 9, 3, 5, 1.1, 0)
        for c in range(2):
            coef, *_ = np.linalg.lstsq(design, flow[..., c][inner], rcond=None)
            flow[..., c] -= coef[0] * xx + coef[1] * yy + coef[2]

        def pool(image: np.ndarray) -> np.ndarray:
            return cv2.resize(
                image.astype(np.float32), (pooled, pooled), interpolation=cv2.INTER_AREA
            ).ravel()

        appearance.append(pool(peak) / 255)
        motion.append(np.concatenate([pool(flow[..., 0]), pool(flow[..., 1])]))
        labels.append(EMOTIONS.index(row[8]))
        subjects.append(row[0])
    return np.array(appearance), np.array(motion), np.array(labels), subjects


def loso_balanced_accuracy(features: np.ndarray, labels: np.ndarray, subjects: list[str]) -> float:
    predicted = np.empty_like(labels)
    for fold in loso_folds(subjects):
        train, test = list(fold.train), list(fold.test)
        model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
        predicted[test] = model.fit(features[train], labels[train]).predict(features[test])
    return float(balanced_accuracy_score(labels, predicted))


def test_emotion_is_in_the_motion_not_the_face(dataset: Path) -> None:
    """Leave-one-subject-out, a linear classifier on the apex face is near chance (0.25) while the
    same classifier on onset->apex motion is far above it (measured at seed 0: 0.31 vs 0.92; seeds 1, 2: 0.37 vs 0.80, 0.20 vs 0.91)."""
    appearance, motion, labels, subjects = aligned_features(dataset)
    by_face = loso_balanced_accuracy(appearance, labels, subjects)
    by_motion = loso_balanced_accuracy(motion, labels, subjects)
    assert by_face < 0.42, by_face
    assert by_motion > 0.65, by_motion
    assert by_motion - by_face > 0.3


def test_readable_by_casme2_loader(dataset: Path) -> None:
    samples = load_samples("casme2", dataset / SHEET_NAME, dataset / FRAMES_DIR)
    rows = read_rows(dataset / SHEET_NAME)
    assert len(samples) == len(rows)
    first = samples[0]
    assert (first.subject, first.clip, first.emotion) == (f"sub{rows[0][0]}", rows[0][1], rows[0][8])
    assert (first.onset, first.apex, first.offset) == rows[0][3:6]
    assert len(first.frames) == FRAMES and all(p.is_file() for p in first.frames)
    assert first.frame_numbers == tuple(range(rows[0][3], rows[0][5] + 1))


@pytest.mark.parametrize(
    "kwargs", [dict(subjects=0), dict(clips_per_subject=0), dict(size=32), dict(frames_per_clip=3)]
)
def test_bad_arguments_raise(tmp_path: Path, kwargs: dict) -> None:
    with pytest.raises(LFDError):
        render_dataset(tmp_path, progress=False, **kwargs)
