"""CASME II loader: the authors' coding sheet, the bob.db.casme2 database, frame folders."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import openpyxl
import pytest

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.data.datasets import load_samples
from lfd_tcmen.synth.render import render_dataset

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


def write_sheet(path: Path, rows: list[tuple]) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    for row in (HEADER, *rows):
        ws.append(row)
    wb.save(path)
    return path


def write_frames(folder: Path, numbers, pattern: str = "img{}.jpg") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n in numbers:
        cv2.imwrite(str(folder / pattern.format(n)), np.full((8, 8), n % 256, np.uint8))


@pytest.fixture(scope="module")
def coding_sheet(shared_data: Path) -> Path:
    return shared_data / "annotations" / "casme2" / "CASME2-coding-20190701.xlsx"


def test_real_coding_sheet_counts(coding_sheet):
    samples = load_samples("casme2", coding_sheet)
    assert len(samples) == 255
    assert len({s.subject for s in samples}) == 26
    assert Counter(s.emotion for s in samples) == {
        "others": 99,
        "disgust": 63,
        "happiness": 32,
        "surprise": 28,
        "repression": 27,
        "sadness": 4,
        "fear": 2,
    }
    first = samples[0]
    assert (first.subject, first.clip, first.onset, first.apex, first.offset) == (
        "sub01",
        "EP02_01f",
        46,
        59,
        86,
    )
    assert first.action_units == "12" and first.emotion == "happiness"
    assert first.source.endswith("CASME2-coding-20190701.xlsx, row 2")
    assert samples[-1].source.endswith(", row 256") and samples[-1].clip == "EP18_51"
    assert first.qualified_subject == "casme2/sub01"


def test_real_apex_slash_is_missing(coding_sheet):
    missing = [s for s in load_samples("casme2", coding_sheet) if s.apex is None]
    assert [(s.subject, s.clip, s.source.rsplit(", ", 1)[1]) for s in missing] == [
        ("sub04", "EP12_01f", "row 31")
    ]
    assert missing[0].apex_source == "missing" and (missing[0].onset, missing[0].offset) == (261, 321)


def test_real_five_class_protocol(coding_sheet):
    samples = load_samples("casme2", coding_sheet, protocol="casme2-5class")
    assert len(samples) == 249  # fear (2) and sadness (4) left out
    assert Counter(s.class_name for s in samples) == {
        "happiness": 32,
        "disgust": 63,
        "repression": 27,
        "surprise": 28,
        "others": 99,
    }
    assert {s.label for s in samples if s.class_name == "others"} == {4}


def test_real_bob_database(shared_data):
    samples = load_samples("casme2", shared_data / "annotations" / "casme2" / "bob_db_casme2_2.0.1.sql3")
    assert len(samples) == 257
    assert len({s.subject for s in samples}) == 26
    no_apex = sorted((s.subject, s.clip) for s in samples if s.apex is None)
    assert no_apex == [("sub04", "EP12_01f"), ("sub09", "EP02_02f"), ("sub24", "EP02_07")]  # apex -1
    first = next(s for s in samples if s.source.endswith("row 1"))
    assert (first.subject, first.clip, first.emotion, first.onset, first.apex, first.offset) == (
        "sub23",
        "EP12_02f",
        "disgust",
        46,
        84,
        130,
    )
    assert first.action_units == "4+7+10"


def test_frames_from_root_numeric_order(tmp_path):
    sheet = write_sheet(
        tmp_path / "coding.xlsx", [("01", "EP02_01f", None, 8, 10, 12, None, 12, "happiness", 1)]
    )
    write_frames(tmp_path / "raw" / "sub01" / "EP02_01f", range(6, 14))  # a frame each side of the clip
    (tmp_path / "raw" / "sub01" / "EP02_01f" / "landmarks.npy").write_bytes(b"")
    (sample,) = load_samples("casme2", sheet, root=tmp_path / "raw")
    assert sample.frame_numbers == (8, 9, 10, 11, 12)  # 10 after 9, not "img10" < "img8"
    assert [p.name for p in sample.frames] == ["img8.jpg", "img9.jpg", "img10.jpg", "img11.jpg", "img12.jpg"]
    assert sample.frame_index(10) == 2


def test_missing_clip_folder_names_path_and_row(tmp_path):
    sheet = write_sheet(
        tmp_path / "coding.xlsx",
        [
            ("01", "EP02_01f", None, 1, 2, 3, None, 12, "happiness", 1),
            ("02", "EP03_02", None, 1, 2, 3, None, 12, "disgust", 1),
        ],
    )
    write_frames(tmp_path / "raw" / "sub01" / "EP02_01f", [1, 2, 3])
    with pytest.raises(LFDError) as err:
        load_samples("casme2", sheet, root=tmp_path / "raw")
    assert err.value.path == f"{sheet}, row 3"
    assert str(tmp_path / "raw" / "sub02" / "EP03_02") in str(err.value)


def test_missing_root_folder(tmp_path):
    sheet = write_sheet(
        tmp_path / "coding.xlsx", [("01", "EP02_01f", None, 1, 2, 3, None, 12, "happiness", 1)]
    )
    with pytest.raises(LFDError, match="frames folder not found") as err:
        load_samples("casme2", sheet, root=tmp_path / "nowhere")
    assert err.value.path == str(tmp_path / "nowhere")


def test_missing_frame_names_frame_and_row(tmp_path):
    sheet = write_sheet(
        tmp_path / "coding.xlsx", [("01", "EP02_01f", None, 1, 3, 5, None, 12, "happiness", 1)]
    )
    write_frames(tmp_path / "raw" / "sub01" / "EP02_01f", [1, 2, 4, 5])
    with pytest.raises(LFDError, match=r"row 2: frame 3 of onset\.\.offset 1\.\.5 not found"):
        load_samples("casme2", sheet, root=tmp_path / "raw")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (("01", "EP01", None, "x", 2, 3, None, 1, "happiness", 1), "onset frame 'x' is not a number"),
        (("01", "EP01", None, 1, 2, None, None, 1, "happiness", 1), "offset frame is missing"),
        (("01", "EP01", None, 1, 2, 3, None, 1, None, 1), "emotion label is empty"),
        (("01", None, None, 1, 2, 3, None, 1, "happiness", 1), "filename is empty"),
    ],
)
def test_bad_cells_name_file_and_row(tmp_path, row, message):
    good = ("01", "EP00", None, 1, 2, 3, None, 1, "happiness", 1)
    sheet = write_sheet(tmp_path / "coding.xlsx", [good, row])
    with pytest.raises(LFDError, match=message) as err:
        load_samples("casme2", sheet)
    assert err.value.row == 3 and err.value.path == str(sheet)


def test_duplicate_clip_is_an_error(tmp_path):
    row = ("01", "EP02_01f", None, 1, 2, 3, None, 12, "happiness", 1)
    sheet = write_sheet(tmp_path / "coding.xlsx", [row, row])
    with pytest.raises(LFDError, match=r"row 3: sample casme2/sub01/EP02_01f already given in .*row 2"):
        load_samples("casme2", sheet)


def test_reads_the_synthetic_dataset(tmp_path):
    sheet = render_dataset(
        tmp_path / "syn", subjects=2, seed=3, clips_per_subject=2, size=64, frames_per_clip=8, progress=False
    )
    samples = load_samples(
        "casme2", sheet, root=tmp_path / "syn" / "CASME2_RAW_selected", protocol="casme2-5class"
    )
    assert len(samples) == 4 and {s.subject for s in samples} == {"sub01", "sub02"}
    for s in samples:
        assert len(s.frames) == s.offset - s.onset + 1 == 8
        assert s.onset <= s.apex <= s.offset and all(p.is_file() for p in s.frames)
