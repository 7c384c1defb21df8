"""DFME loader, on coding sheets written in the documented format (no public label file)."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.data.datasets import load_samples

HEADER = ("Subject", "Filename", "Onset", "Apex", "Offset", "Action Units", "Emotion", "fps")
ROWS = [
    ("sub0001", "sub0001_01", 1, 30, 60, "AU12", "happiness", 500),
    ("sub0001", "sub0001_02", 1, 10, 20, "AU4+AU9", "Disgust", 500),
    ("sub0016", "sub0016_05", 5, 9, 12, "AU1+AU2", "surprise", 200),
    ("sub0016", "sub0016_06", 5, 9, 12, "AU14", "contempt", 200),
]


def write_sheet(path: Path, rows: list[tuple]) -> Path:
    wb = openpyxl.Workbook()
    for row in (HEADER, *rows):
        wb.active.append(row)
    wb.save(path)
    return path


def test_coding_sheet(tmp_path):
    samples = load_samples(
        "dfme", write_sheet(tmp_path / "DFME_data_coding.xlsx", ROWS), protocol="dfme-7class"
    )
    assert [s.sample_id for s in samples] == [
        "dfme/sub0001/sub0001_01",
        "dfme/sub0001/sub0001_02",
        "dfme/sub0016/sub0016_05",
        "dfme/sub0016/sub0016_06",
    ]
    assert [s.class_name for s in samples] == ["happiness", "disgust", "surprise", "contempt"]
    assert [s.label for s in samples] == [0, 1, 3, 6]
    assert samples[1].action_units == "AU4+AU9" and samples[2].source.endswith("DFME_data_coding.xlsx, row 4")


def test_frames_under_part_folders(tmp_path):
    sheet = write_sheet(tmp_path / "coding.xlsx", ROWS[:1] + ROWS[2:3])
    parts = {"sub0001_01": "USTC_MEv4_partA_sub0001_sub0015", "sub0016_05": "USTC_MEv4_partB_sub0016_sub0110"}
    for clip, emotion, n in (("sub0001_01", "happiness", 60), ("sub0016_05", "surprise", 12)):
        folder = tmp_path / "DFME" / parts[clip] / "micro_static_aligned_croped" / emotion / clip
        folder.mkdir(parents=True)
        for i in range(1, n + 1):
            (folder / f"{i}.jpg").write_bytes(b"x")
    samples = load_samples("dfme", sheet, root=tmp_path / "DFME")
    assert len(samples[0].frames) == 60 and samples[0].frames[0].parent.parent.name == "happiness"
    assert samples[1].frame_numbers == (5, 6, 7, 8, 9, 10, 11, 12)
    assert parts["sub0016_05"] in str(samples[1].frames[0])


def test_numeric_subject_and_unknown_emotion(tmp_path):
    sheet = write_sheet(tmp_path / "c.xlsx", [(7, "clip7", 1, 2, 3, "AU12", "joy", 200)])
    (sample,) = load_samples("dfme", sheet)
    assert sample.subject == "sub0007"
    with pytest.raises(
        LFDError, match=r"c\.xlsx, row 2: emotion 'joy' of dfme/sub0007/clip7 is not in protocol"
    ):
        load_samples("dfme", sheet, protocol="dfme-7class")


def test_missing_file(tmp_path):
    with pytest.raises(LFDError, match="annotation file not found"):
        load_samples("dfme", tmp_path / "nope.xlsx")
