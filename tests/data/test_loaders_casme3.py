"""CAS(ME)^3 loaders: Part A (v2 xlsx, v1 xls, the HTNet csv) and Part C; frame folders."""

from __future__ import annotations

import warnings
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import openpyxl
import pytest

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.data.datasets import load_samples

HEADER = ("Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Objective class", "emotion")


@pytest.fixture(scope="module")
def casme3_dir(shared_data: Path) -> Path:
    return shared_data / "annotations" / "casme3"


def write_sheet(path: Path, rows: list[tuple], header: tuple = HEADER, title: str = "label") -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    for row in (header, *rows):
        ws.append(row)
    wb.save(path)
    return path


def test_real_v2_labels(casme3_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the four bad rows are corrected, so no generic warning
        samples = load_samples("casme3", casme3_dir / "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx")
    assert len(samples) == 860
    assert len({s.subject for s in samples}) == 94
    # "Others" (3 rows) and "others" are one label
    assert Counter(s.emotion for s in samples) == {
        "disgust": 250,
        "surprise": 187,
        "others": 161,
        "fear": 86,
        "anger": 64,
        "sad": 57,
        "happy": 55,
    }
    first = samples[0]
    assert (first.subject, first.clip, first.onset, first.apex, first.offset) == (
        "spNO.1",
        "a_355",
        355,
        359,
        360,
    )
    assert first.source.endswith("JpgIndex_v2.xlsx, row 2")
    # the corrections table's four rows, with the values of the authors' CAS(ME)3_part_A_v2.xls
    corrected = {s.source.rsplit(" ", 1)[1]: (s.clip, s.onset, s.apex, s.offset) for s in samples}
    assert [corrected[row] for row in ("130", "751", "798", "800")] == [
        ("d_112", 112, 160, 358),
        ("d_2647", 2647, 2668, 2694),
        ("e_1812", 1812, 1824, 1845),
        ("e_2327", 2327, 2363, 2403),
    ]
    assert all(s.apex is not None for s in samples)


def test_real_v2_labels_without_corrections(casme3_dir):
    """The generic rule: offset before onset skips the row, an apex outside the interval is spotted."""
    with pytest.warns(UserWarning) as record:
        samples = load_samples(
            "casme3", casme3_dir / "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx", corrections=False
        )
    # rows 751, 798, 800 have offset before onset (2694 < 3647, offset 0) and are skipped
    assert len(samples) == 857
    skipped = sorted(
        str(w.message).split(": ")[0].rsplit(" ", 1)[1] for w in record if "skipped" in str(w.message)
    )
    assert skipped == ["751", "798", "800"]
    assert [s.source.rsplit(" ", 1)[1] for s in samples if s.apex is None] == ["130"]  # apex 83 < onset 112


def test_real_v2_protocols(casme3_dir):
    path = casme3_dir / "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx"
    three = load_samples("casme3", path, protocol="casme3-3class")
    assert Counter(s.class_name for s in three) == {"negative": 457, "surprise": 187, "positive": 55}
    seven = load_samples("casme3", path, protocol="casme3-7class")
    assert len(seven) == 860 and seven[0].class_name == "others" and seven[0].label == 6


def test_real_v1_files(casme3_dir):
    samples = load_samples("casme3", casme3_dir / "cas(me)3_part_A_ME_label_JpgIndex_v1.xls")
    assert len(samples) == 921 and len({s.subject for s in samples}) == 95
    # the older workbook: its "AU+Emotion" sheet has no emotion column, "Sheet1" has; only
    # "Micro-expression" rows are kept (918). The 21 rows the authors' erratum lists are in the
    # corrections table: 18 dropped, 3 corrected
    older = load_samples("casme3", casme3_dir / "CAS(ME)3_part_A_v1.xls")
    assert len(older) == 900 and all(s.apex is not None for s in older)
    assert older[0].source.endswith("CAS(ME)3_part_A_v1.xls, row 2")
    # without them, 9 rows have offset before onset (skipped) and 12 an apex outside (spotted)
    with pytest.warns(UserWarning):
        raw = load_samples("casme3", casme3_dir / "CAS(ME)3_part_A_v1.xls", corrections=False)
    assert len(raw) == 909 and sum(s.apex is None for s in raw) == 12


def test_real_htnet_csv(casme3_dir):
    samples = load_samples(
        "casme3", casme3_dir / "cas(me)3_part_A_edited_htnet.csv", protocol="casme3-3class"
    )
    assert len(samples) == 687  # the peer dropped "others"
    assert next(s for s in samples if s.source.endswith("row 102")).apex == 160  # corrected, as in v2
    with pytest.warns(UserWarning, match=r"row 102: apex 83 outside onset\.\.offset 112\.\.358"):
        load_samples("casme3", casme3_dir / "cas(me)3_part_A_edited_htnet.csv", corrections=False)
    assert Counter(s.class_name for s in samples) == {"negative": 449, "surprise": 184, "positive": 54}
    assert samples[0].source.endswith("htnet.csv, row 2") and samples[0].clip == "b_166"


def test_real_files_without_emotion_are_refused(casme3_dir):
    with pytest.raises(LFDError, match=r"missing: emotion"):
        load_samples("casme3", casme3_dir / "CAS(ME)3_part_A_v2.xls")
    with pytest.raises(LFDError, match=r"no header row"):
        load_samples("casme3", casme3_dir / "CAS(ME)3_part_A_wrongly_labeled_me_in_V1.xlsx")
    with pytest.raises(LFDError, match=r"missing: .*emotion"):
        load_samples("casme3c", casme3_dir / "CAS(ME)3_part_C.xls")


def test_real_part_c(casme3_dir):
    samples = load_samples("casme3c", casme3_dir / "CAS(ME)3_part_C_ME.xlsx")
    assert len(samples) == 165 and len({s.subject for s in samples}) == 30
    assert Counter(s.emotion for s in samples) == {
        "negative": 99,
        "surprise": 30,
        "others": 20,
        "positive": 16,
    }
    assert all(s.apex is None and s.apex_source == "missing" for s in samples)
    first = samples[0]
    assert (first.subject, first.clip, first.onset, first.offset, first.action_units) == (
        "01",
        "1",
        373,
        385,
        "R4,5",
    )
    four = load_samples("casme3c", casme3_dir / "CAS(ME)3_part_C_ME.xlsx", protocol="casme3-4class")
    assert Counter(s.class_name for s in four) == {
        "negative": 99,
        "surprise": 30,
        "others": 20,
        "positive": 16,
    }
    with pytest.raises(LFDError, match="emotion 'negative' of casme3c/01/1 is not in protocol casme3-7class"):
        load_samples("casme3c", casme3_dir / "CAS(ME)3_part_C_ME.xlsx", protocol="casme3-7class")


def test_part_a_frames(tmp_path):
    sheet = write_sheet(
        tmp_path / "a.xlsx",
        [
            ("spNO.1", "a", "355", "356", "357", "5", "II", "others"),
            ("spNO.14", "J", "20", "21", "22", "14", "VII", "Others"),
        ],
    )
    for subject, task, numbers in (("spNO.1", "a", range(300, 400)), ("spNO.14", "j", range(1, 30))):
        folder = tmp_path / "part_A" / subject / task / "color"
        folder.mkdir(parents=True)
        for n in numbers:
            (folder / f"{n}.jpg").write_bytes(b"jpg")
        (tmp_path / "part_A" / subject / task / "depth").mkdir()
    samples = load_samples("casme3", sheet, root=tmp_path)  # root holds part_A
    assert samples[0].frame_numbers == (355, 356, 357)
    assert samples[0].frames[0] == tmp_path / "part_A" / "spNO.1" / "a" / "color" / "355.jpg"
    assert samples[1].frames[-1] == tmp_path / "part_A" / "spNO.14" / "j" / "color" / "22.jpg"  # "J" row
    assert samples[1].emotion == "others"


def test_part_a_missing_task_folder(tmp_path):
    sheet = write_sheet(tmp_path / "a.xlsx", [("spNO.2", "b", "1", "2", "3", "4", "III", "disgust")])
    (tmp_path / "spNO.2").mkdir()
    with pytest.raises(LFDError, match=r"row 2: clip folder not found: .*spNO\.2/b/color"):
        load_samples("casme3", sheet, root=tmp_path)


def test_part_c_frames(tmp_path):
    sheet = write_sheet(
        tmp_path / "c.xlsx",
        [(1, 1, 373, 375, "R4,5", "negative")],
        header=("sub", "count", "onset", "offset", "au", "emotion"),
        title="mockCrimeME",
    )
    folder = tmp_path / "01" / "1" / "color"
    folder.mkdir(parents=True)
    for n in range(370, 380):
        cv2.imwrite(str(folder / f"{n}.jpg"), np.zeros((4, 4), np.uint8))
    (sample,) = load_samples("casme3c", sheet, root=tmp_path)
    assert sample.frame_numbers == (373, 374, 375) and sample.sample_id == "casme3c/01/1"
