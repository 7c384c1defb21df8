"""MMEW loader, on coding sheets written in the documented (CASME II-like) format."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import openpyxl
import pytest

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.data.datasets import load_samples

HEADER = (
    "Subject",
    "Filename",
    "OnsetFrame",
    "ApexFrame",
    "OffsetFrame",
    "Action Units",
    "Estimated Emotion",
    "remarks",
)
ROWS = [
    ("S01", "S01-01-001", 1, 15, 40, "6+12", "happiness", None),
    ("S01", "S01-07-001", 1, 12, 30, "4", "others", None),
    ("S02", "S02-02-001", 1, 8, 20, "1+2", "surprise", "eyes"),
    ("S03", "S03-04-002", 1, 9, 25, "9", "Disgust", None),
]


def write_sheet(path: Path, rows: list[tuple]) -> Path:
    wb = openpyxl.Workbook()
    for row in (HEADER, *rows):
        wb.active.append(row)
    wb.save(path)
    return path


def test_coding_sheet_and_protocols(tmp_path):
    sheet = write_sheet(tmp_path / "MMEW_Micro_Exp.xlsx", ROWS)
    samples = load_samples("mmew", sheet, protocol="mmew-7class")
    assert [s.class_name for s in samples] == ["happiness", "others", "surprise", "disgust"]
    assert [(s.onset, s.apex, s.offset) for s in samples][0] == (1, 15, 40)
    three = load_samples("mmew", sheet, protocol="mmew-3class")
    assert Counter(s.class_name for s in three) == {"positive": 1, "surprise": 1, "negative": 1}


def test_frames_layouts(tmp_path):
    sheet = write_sheet(tmp_path / "MMEW_Micro_Exp.xlsx", ROWS[:2])
    # MEB layout Micro_Expression/<emotion>/<clip>/, with "others" filed under "repression"
    for emotion, clip, n in (("happiness", "S01-01-001", 40), ("repression", "S01-07-001", 30)):
        folder = tmp_path / "MMEW" / "Micro_Expression" / emotion / clip
        folder.mkdir(parents=True)
        for i in range(1, n + 1):
            (folder / f"{i}.jpg").write_bytes(b"x")
    samples = load_samples("mmew", sheet, root=tmp_path / "MMEW")
    assert samples[0].frame_numbers == tuple(range(1, 41))
    assert (
        samples[1].frames[0].parent.name == "S01-07-001"
        and samples[1].frames[0].parent.parent.name == "repression"
    )
    # the authors' layout <subject>/<emotion>/<clip>/
    folder = tmp_path / "official" / "S01" / "happiness" / "S01-01-001"
    folder.mkdir(parents=True)
    for i in range(1, 41):
        (folder / f"{i}.jpg").write_bytes(b"x")
    sample = load_samples("mmew", write_sheet(tmp_path / "one.xlsx", ROWS[:1]), root=tmp_path / "official")[0]
    assert sample.frames[-1] == folder / "40.jpg"


def test_missing_clip_folder(tmp_path):
    sheet = write_sheet(tmp_path / "MMEW_Micro_Exp.xlsx", ROWS[:1])
    (tmp_path / "MMEW").mkdir()
    with pytest.raises(
        LFDError, match=r"row 2: clip folder not found: .*Micro_Expression/happiness/S01-01-001"
    ):
        load_samples("mmew", sheet, root=tmp_path / "MMEW")
