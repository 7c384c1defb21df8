"""The good inputs the cases damage, made once per session, and private copies of them.

One synthetic CASME II-layout set (2 subjects x 3 clips x 8 frames), its feature store, a
train config on that store, a finished one-fold run (whose ``model.pt`` is the checkpoint
``predict`` uses), and a tiny MEGC2019 composite folder (tests/toys.py) for ``benchmark``.
A case never edits these: it damages a copy in its own folder.
"""

from __future__ import annotations

import csv
import shutil
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import openpyxl

from lfd_tcmen.cli import main
from lfd_tcmen.core.locks import LOCK_NAME
from lfd_tcmen.synth.render import render_dataset
from toys import write_composite

REPO = Path(__file__).resolve().parents[2]
SHEET_HEADER = "Subject,Filename,OnsetFrame,ApexFrame,OffsetFrame,Estimated Emotion"
PREPROCESS = "face_size: 64\nflow_method: dis\n"
TRAIN_CONFIG = """\
name: robust
seed: 1
data: {{source: store, path: {store}, face_size: 32, flow_size: 8}}
model:
  name: lfd_tcmen
  params: {{identity_dim: 8, motion_dim: 8, flow_dim: 16, face_width: 4, flow_width: 4, face_resolution: 16}}
train: {{epochs: 1, batch_size: 4, threads: 1}}
"""
FOLD = "casme2__sub01"  # the run's one finished fold


@dataclass(frozen=True)
class Inputs:
    xlsx: Path  # the synthetic coding sheet, as rendered
    rows: tuple[tuple[str, ...], ...]  # its rows: subject, filename, onset, apex, offset, emotion
    frames: Path  # CASME2_RAW_selected: sub01/EP02_01f/img121.jpg ...
    preprocess: Path  # preprocess YAML (face 64, DIS flow)
    store: Path  # the set prepared with it
    train_config: Path  # experiment YAML on the store
    run: Path  # a finished run of fold casme2/sub01
    composite: Path  # MEGC2019 composite layout, 3 CASME II subjects x 3 clips
    bench_config: Path = REPO / "benchmarks" / "synthetic_tiny.yaml"

    @property
    def checkpoint(self) -> Path:
        return self.run / "folds" / FOLD / "model.pt"

    def clip(self, row: int = 0) -> Path:
        subject, filename = self.rows[row][:2]
        return self.frames / f"sub{subject}" / filename

    def frame(self, row: int = 0, which: str = "apex") -> Path:
        """A key frame of clip ``row``: ``img<n>.jpg`` with n its onset, apex or offset."""
        number = self.rows[row][{"onset": 2, "apex": 3, "offset": 4}[which]]
        return self.clip(row) / f"img{number}.jpg"


def make_inputs(root: Path) -> Inputs:
    xlsx = render_dataset(root / "synth", subjects=2, clips_per_subject=3, frames_per_clip=8, progress=False)
    sheet = openpyxl.load_workbook(xlsx, read_only=True).active
    rows = tuple(
        tuple(str(r[i]) for i in (0, 1, 3, 4, 5, 8)) for r in sheet.iter_rows(min_row=2, values_only=True)
    )
    frames = xlsx.parent / "CASME2_RAW_selected"
    preprocess = root / "preprocess.yaml"
    preprocess.write_text(PREPROCESS)
    store = root / "store"
    argv = ["prepare", "--dataset", "casme2", "--root", str(frames), "--annotations", str(xlsx)]
    argv += ["--labels", "casme2-3class", "--out", str(store), "--config", str(preprocess), "--no-progress"]
    assert main(argv) == 0
    train_config = root / "train.yaml"
    train_config.write_text(TRAIN_CONFIG.format(store=store))
    run = root / "run"
    argv = ["train", "--config", str(train_config), "--out", str(run), "--folds", "sub01", "--no-progress"]
    assert main(argv) == 0
    composite = write_composite(root / "composite", ("sub01", "sub02", "sub03"))
    return Inputs(xlsx, rows, frames, preprocess, store, train_config, run, composite)


# ----------------------------------------------------------------------------- private copies
def copy_tree(source: Path, target: Path) -> Path:
    """A copy of a folder, without its writer lock file."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(LOCK_NAME))
    return target


def sheet_csv(path: Path, rows: list[tuple[str, ...]] | tuple[tuple[str, ...], ...]) -> Path:
    """A CASME II coding sheet as CSV (header row 1, so a sample's row number is its index + 2)."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        fh.write(SHEET_HEADER + "\n")
        csv.writer(fh, lineterminator="\n").writerows(rows)
    return path


@dataclass(frozen=True)
class Dataset:
    """A private copy of the synthetic set and of its store, for one ``prepare`` case."""

    frames: Path
    sheet: Path
    store: Path

    def argv(self, preprocess: Path, out: Path | None = None) -> list[str]:
        return [
            "prepare", "--dataset", "casme2", "--root", str(self.frames), "--annotations", str(self.sheet),
            "--labels", "casme2-3class", "--out", str(out or self.store), "--config", str(preprocess),
            "--no-progress",
        ]  # fmt: skip

    def clip(self, inputs: Inputs, row: int = 0) -> Path:
        return self.frames / inputs.clip(row).relative_to(inputs.frames)

    def frame(self, inputs: Inputs, row: int = 0, which: str = "apex") -> Path:
        return self.frames / inputs.frame(row, which).relative_to(inputs.frames)

    def entry(self, row_id: str) -> Path:
        """The store file of sample ``casme2/subNN/<clip>`` (``row_id`` "subNN__<clip>")."""
        (path,) = self.store.glob(f"casme2__{row_id}.*.npz")
        return path


def dataset_copy(inputs: Inputs, folder: Path, rows: list[tuple[str, ...]] | None = None) -> Dataset:
    """Frames, a CSV sheet (``rows``, default the synthetic ones) and the prepared store, copied:
    a ``prepare`` on it recomputes only the samples a case removes from the store."""
    folder.mkdir(parents=True, exist_ok=True)
    return Dataset(
        frames=copy_tree(inputs.frames, folder / "frames"),
        sheet=sheet_csv(folder / "sheet.csv", list(inputs.rows) if rows is None else rows),
        store=copy_tree(inputs.store, folder / "store"),
    )


def sample_key(inputs: Inputs, row: int = 0) -> str:
    """``"sub01__EP02_01f"``: how the store names clip ``row``."""
    subject, filename = inputs.rows[row][:2]
    return f"sub{subject}__{filename}"


def clip_frames(inputs: Inputs, row: int = 0) -> list[np.ndarray]:
    """Clip ``row``'s frames, grey (H, W) uint8, in frame-number order."""
    paths = sorted(inputs.clip(row).glob("img*.jpg"), key=lambda p: int(p.stem[3:]))
    return [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in paths]


def video_file(path: Path, frames: list[np.ndarray], fps: float = 25.0) -> Path:
    """Grey frames written as an MPEG-4 video at ``path``."""
    height, width = frames[0].shape
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height), False)
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path
