"""SAMM loader: header on row 14 under notes, capitalised emotions, subject/clip frame folders."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import openpyxl
import pytest

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.data.datasets import load_samples

HEADER = (
    "Subject",
    "Filename",
    "Inducement Code",
    "Onset Frame",
    "Apex Frame",
    "Offset Frame",
    "Duration",
    "Micro",
    "Action Units",
    "Estimated Emotion",
    "Objective Classes",
    "Notes",
)


@pytest.fixture(scope="module")
def facs_codes(shared_data: Path) -> Path:
    return shared_data / "annotations" / "samm" / "SAMM_Micro_FACS_Codes_v2.xlsx"


def write_sheet(path: Path, rows: list[tuple], notes: int = 12) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "MICRO_ONLY"
    ws.append(("SAMM Dataset - Master FACS Codes",))
    for _ in range(notes):
        ws.append(("a note",) if _ % 3 == 0 else ())
    ws.append(HEADER)
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def test_real_counts(facs_codes):
    samples = load_samples("samm", facs_codes)
    assert len(samples) == 159
    assert len({s.subject for s in samples}) == 29
    assert Counter(s.emotion for s in samples) == {
        "anger": 57,
        "other": 26,
        "happiness": 26,
        "surprise": 15,
        "contempt": 12,
        "disgust": 9,
        "fear": 8,
        "sadness": 6,
    }
    first = samples[0]
    assert first.source.endswith("SAMM_Micro_FACS_Codes_v2.xlsx, row 15")  # header is row 14
    assert (first.subject, first.clip, first.onset, first.apex, first.offset, first.action_units) == (
        "006",
        "006_1_2",
        5562,
        5588,
        5632,
        "4+7",
    )
    assert first.qualified_subject == "samm/006"


def test_real_apex_outside_interval_becomes_missing(facs_codes):
    # apex 1143 after offset 1134; apex 1930 before onset 4896: the corrections table leaves
    # both unannotated (spotted); without it the generic rule does the same, with a warning
    samples = load_samples("samm", facs_codes)
    rows = sorted(s.source.rsplit(" ", 1)[1] for s in samples if s.apex is None)
    assert rows == ["140", "147"]
    with pytest.warns(UserWarning) as record:
        raw = load_samples("samm", facs_codes, corrections=False)
    assert sorted(s.source.rsplit(" ", 1)[1] for s in raw if s.apex is None) == ["140", "147"]
    assert sorted(re.search(r"row (\d+):", str(w.message)).group(1) for w in record) == ["140", "147"]


def test_real_protocols(facs_codes):
    five = load_samples("samm", facs_codes, protocol="samm-5class")
    assert len(five) == 136 and len({s.subject for s in five}) == 27
    assert Counter(s.class_name for s in five) == {
        "anger": 57,
        "happiness": 26,
        "other": 26,
        "surprise": 15,
        "contempt": 12,
    }
    three = load_samples("samm", facs_codes, protocol="samm-3class")
    # the MEGC2019 challenge's SAMM column: 92 / 26 / 15, 28 subjects
    assert Counter(s.class_name for s in three) == {"negative": 92, "positive": 26, "surprise": 15}
    assert len({s.subject for s in three}) == 28


def test_frames_layout(tmp_path):
    sheet = write_sheet(
        tmp_path / "samm.xlsx",
        [("006", "006_1_2", 1, 5562, 5563, 5564, 3, "Micro - 1/2", "4+7", "Anger", 3, None)],
    )
    folder = tmp_path / "SAMM" / "006" / "006_1_2"
    folder.mkdir(parents=True)
    for n in range(5560, 5566):
        cv2.imwrite(str(folder / f"006_{n:05d}.jpg"), np.zeros((8, 8), np.uint8))
    (sample,) = load_samples("samm", sheet, root=tmp_path / "SAMM")
    assert sample.frame_numbers == (5562, 5563, 5564)
    assert [p.name for p in sample.frames] == ["006_05562.jpg", "006_05563.jpg", "006_05564.jpg"]


def test_integer_subject_is_zero_padded(tmp_path):
    sheet = write_sheet(
        tmp_path / "samm.xlsx", [(6, "006_1_2", 1, 10, 11, 12, 3, "Micro", 4, "Other", 7, None)]
    )
    (sample,) = load_samples("samm", sheet)
    assert sample.subject == "006" and sample.emotion == "other"


def test_header_missing_column(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.append(("Subject", "Filename", "Onset Frame", "Offset Frame"))  # no emotion column
    wb.active.append(("006", "006_1_2", 1, 2))
    wb.save(tmp_path / "bad.xlsx")
    with pytest.raises(LFDError, match=r"missing: emotion \(Estimated Emotion/"):
        load_samples("samm", tmp_path / "bad.xlsx")


def test_header_without_rows(tmp_path):
    sheet = write_sheet(tmp_path / "samm.xlsx", [])
    with pytest.raises(LFDError, match="no annotation rows below the header") as err:
        load_samples("samm", sheet)
    assert err.value.row == 14
