"""The MEGC2019 composite benchmark (SMIC-HS + CASME II + SAMM, 3 classes, 442 samples, 68 subjects).

Folder layout (as the HTNet / MEGC2019 repositories ship it):
- ``combined_3class_gt.csv``: the official ground truth, no header, rows
  ``dataset, subject, clip, label`` with label 0 negative, 1 positive, 2 surprise;
- ``flow_uvos_28/<subject>_<clip> .png`` (note the space): 28x28 RGB onset->apex TV-L1 flow,
  min-max normalised per channel; R = u, G = v, B = optical strain;
- ``apex_face_224/<subject>_<clip>.jpg``: the aligned 224x224 apex face.

File names do not always follow the ground truth spelling (``s04_s04_sur_02 .png`` but
``s04_s4_sur_02.jpg``; SAMM subject "6" but files ``006_006_1_2``), so files are matched on a
normalised key: lower case, tokens split on "_" and spaces, leading zeros of every number
dropped. A sample with no file, or with two candidate files, raises ``LFDError``.

Subjects are qualified and written the way the per-dataset loaders write them ("casme2/sub01",
"samm/006", "smic/s1"; ``lfd_tcmen.data.subjects``), so LOSO folds agree whichever way the data
was read.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.core.images import decode_image
from lfd_tcmen.core.progress import progress_bar
from lfd_tcmen.data.features import FeatureSet
from lfd_tcmen.data.subjects import canonical_subject, qualified_subject, sample_id

GT_FILE = "combined_3class_gt.csv"
FLOW_DIR = "flow_uvos_28"
FACE_DIR = "apex_face_224"
CLASS_NAMES = ("negative", "positive", "surprise")
PROTOCOL = "megc2019-3class"


@dataclass(frozen=True)
class CompositeEntry:
    """One ground-truth row with the files it was matched to."""

    dataset: str  # "casme2" | "samm" | "smic"
    subject: str  # canonical, as the dataset's loader writes it ("006", "s1", "sub01")
    gt_subject: str  # as written in the ground truth ("6", "s01", "sub01")
    clip: str
    label: int
    flow: Path
    face: Path
    source: str  # "combined_3class_gt.csv, row N"

    @property
    def sample_id(self) -> str:
        return sample_id(self.dataset, self.subject, self.clip)


def name_key(text: str) -> tuple[str, ...]:
    """Normalised file-name key: ``"s04_s04_sur_02 "`` and ``"s04_s4_sur_02"`` -> ("s4","s4","sur","2")."""
    tokens = [t for t in re.split(r"[\s_]+", text.strip().lower()) if t]
    return tuple(re.sub(r"\d+", lambda m: str(int(m.group())), t) for t in tokens)


def read_composite_index(gt_file: str | Path, root: str | Path | None = None) -> list[CompositeEntry]:
    """Ground-truth rows matched to their flow and apex-face files (under ``root``, default the csv's folder).

    Raises ``LFDError`` naming file and row for a malformed row, an unknown label, a sample listed
    twice, or a sample whose flow or face image cannot be matched (missing or ambiguous).
    """
    gt_file = Path(gt_file)
    root = gt_file.parent if root is None else Path(root)
    if not gt_file.is_file():
        raise LFDError("MEGC2019 ground truth file not found", gt_file)
    flows = _index(root / FLOW_DIR, ".png")
    faces = _index(root / FACE_DIR, ".jpg")
    entries: list[CompositeEntry] = []
    first_row: dict[tuple[str, ...], int] = {}
    try:
        text = gt_file.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise LFDError(f"cannot read the ground truth: not UTF-8 text (byte {err.start})", gt_file) from None
    with io.StringIO(text, newline="") as fh:
        for row, cells in enumerate(csv.reader(fh), start=1):
            cells = [c.strip() for c in cells]
            if not any(cells):
                continue
            if len(cells) != 4:
                raise LFDError(
                    f"expected 4 columns (dataset, subject, clip, label), got {len(cells)}", gt_file, row
                )
            dataset, gt_subject, clip, label_text = cells
            if label_text not in ("0", "1", "2"):
                raise LFDError(f"unknown label {label_text!r} (expected 0, 1 or 2)", gt_file, row)
            dataset = dataset.lower()
            stem = f"{gt_subject}_{clip}"
            key = (dataset, *name_key(stem))
            if key in first_row:
                raise LFDError(
                    f"sample {dataset} {gt_subject} {clip} is listed twice (rows {first_row[key]} and {row}); "
                    "it would be trained and scored twice",
                    gt_file,
                    row,
                )
            first_row[key] = row
            entries.append(
                CompositeEntry(
                    dataset=dataset,
                    subject=canonical_subject(dataset, gt_subject),
                    gt_subject=gt_subject,
                    clip=clip,
                    label=int(label_text),
                    flow=_match(flows, root / FLOW_DIR / f"{stem} .png", stem, gt_file, row),
                    face=_match(faces, root / FACE_DIR / f"{stem}.jpg", stem, gt_file, row),
                    source=f"{gt_file}, row {row}",
                )
            )
    if not entries:
        raise LFDError("the ground truth file has no rows", gt_file)
    return entries


def _index(folder: Path, suffix: str) -> dict[tuple[str, ...], list[Path]]:
    if not folder.is_dir():
        raise LFDError("folder not found", folder)
    index: dict[tuple[str, ...], list[Path]] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() == suffix:
            index.setdefault(name_key(path.stem), []).append(path)
    return index


def _match(
    index: dict[tuple[str, ...], list[Path]], expected: Path, stem: str, gt_file: Path, row: int
) -> Path:
    if expected.is_file():
        return expected
    found = index.get(name_key(stem), [])
    if len(found) == 1:
        return found[0]
    if not found:
        raise LFDError(
            f"no file matches this sample: {expected} (nor any name equal after normalising)", gt_file, row
        )
    raise LFDError(f"ambiguous files for this sample: {', '.join(p.name for p in found)}", gt_file, row)


def _read_image(path: Path, flags: int) -> np.ndarray:
    """One of the composite's images, decoded; a file the decoder cannot read, or one it reads
    past damage in (libpng's or libjpeg's stderr lines, which name no file), is an LFDError
    naming it."""
    try:
        image, messages = decode_image(path, flags)
    except OSError as err:
        raise LFDError(f"cannot read image: {err.strerror or err}", path) from None
    if image is None or messages:
        detail = f" ({messages[0].strip()})" if messages else ""
        raise LFDError(f"cannot read image{detail}", path)
    return image


def read_face(path: Path, size: int) -> np.ndarray:
    """Apex face image -> (size, size) float32 grey in [0, 1]."""
    image = _read_image(path, cv2.IMREAD_GRAYSCALE)
    if image.shape != (size, size):
        interp = cv2.INTER_AREA if image.shape[0] > size else cv2.INTER_LINEAR
        image = cv2.resize(image, (size, size), interpolation=interp)
    return image.astype(np.float32) / 255.0


def read_flow(path: Path, size: int) -> np.ndarray:
    """Flow PNG (R=u, G=v, B=strain, 0..255) -> (3, size, size) float32 in [0, 1]."""
    image = _read_image(path, cv2.IMREAD_COLOR)
    rgb = image[:, :, ::-1].astype(np.float32) / 255.0  # OpenCV reads BGR
    if rgb.shape[:2] != (size, size):
        interp = cv2.INTER_AREA if rgb.shape[0] > size else cv2.INTER_LINEAR
        rgb = cv2.resize(rgb, (size, size), interpolation=interp)
    return np.ascontiguousarray(rgb.transpose(2, 0, 1))


def load_composite(
    root: str | Path, face_size: int = 64, flow_size: int = 28, progress: bool = False
) -> FeatureSet:
    """The MEGC2019 composite as a FeatureSet.

    faces: (N, 1, face_size, face_size) float32 [0, 1], the grey apex face (face_frames ("apex",)).
    flows: (N, 1, 3, flow_size, flow_size) float32 [0, 1], channels u, v, strain of onset->apex
        (flow_segments ("onset:apex",)), min-max normalised as stored.
    labels: 0 negative, 1 positive, 2 surprise (protocol "megc2019-3class").
    """
    root = Path(root)
    entries = read_composite_index(root / GT_FILE, root)
    n = len(entries)
    faces = np.empty((n, 1, face_size, face_size), dtype=np.float32)
    flows = np.empty((n, 1, 3, flow_size, flow_size), dtype=np.float32)
    for i, entry in enumerate(progress_bar(entries, desc="composite", disable=not progress)):
        faces[i, 0] = read_face(entry.face, face_size)
        flows[i, 0] = read_flow(entry.flow, flow_size)
    return FeatureSet(
        sample_ids=[e.sample_id for e in entries],
        datasets=[e.dataset for e in entries],
        subjects=[qualified_subject(e.dataset, e.subject) for e in entries],
        labels=np.array([e.label for e in entries], dtype=np.int64),
        class_names=CLASS_NAMES,
        faces=faces,
        face_frames=("apex",),
        flows=flows,
        flow_segments=("onset:apex",),
        protocol=PROTOCOL,
        flow_normalised=True,
        meta={"source": str(root), "flow_channels": ("u", "v", "strain")},
    )
