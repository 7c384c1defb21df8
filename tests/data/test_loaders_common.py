"""Shared loader pieces: spreadsheet reading (tabular.py) and frame folders (loaders/common.py)."""

from __future__ import annotations

import warnings
from pathlib import Path

import openpyxl
import pytest

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.data.datasets import dataset_names, load_samples
from lfd_tcmen.data.loaders.common import check_interval, clip_frames, numbered_images
from lfd_tcmen.data.tabular import is_missing, normalise_name, parse_frame, read_table

REQUIRED = {"subject": ("Subject",), "onset": ("OnsetFrame", "Onset")}


def test_registry_knows_every_dataset():
    assert set(dataset_names()) >= {"casme2", "samm", "smic", "casme3", "casme3c", "dfme", "mmew", "megc2019"}
    with pytest.raises(LFDError, match="unknown dataset 'casme9'"):
        load_samples("casme9", __file__)


def test_normalise_name():
    assert (
        normalise_name("Onset Frame")
        == normalise_name("OnsetFrame")
        == normalise_name(" onset_frame ")
        == "onsetframe"
    )
    assert normalise_name(None) == ""


def test_header_found_below_notes_with_excel_row_numbers(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"] = "notes"
    ws["A5"] = "more notes"
    ws.append(("Subject", None, "Onset Frame"))  # row 6
    ws.append(("006", None, 10))
    ws.append(())  # a blank row in between is skipped, numbering continues
    ws.append(("007", None, "20"))
    wb.save(tmp_path / "t.xlsx")
    table = read_table(tmp_path / "t.xlsx", REQUIRED)
    assert table.header_row == 6 and table.columns == {"subject": 0, "onset": 2}
    assert [(n, table.get(c, "onset")) for n, c in table.rows] == [(7, 10), (9, "20")]
    assert table.source(9) == f"{tmp_path / 't.xlsx'}, row 9"


def test_second_sheet_and_csv(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.append(("Subject", "Offset"))
    wb.active.append(("1", 2))
    second = wb.create_sheet("labels")
    second.append(("subject", "onset"))
    second.append(("1", 5))
    wb.save(tmp_path / "t.xlsx")
    table = read_table(tmp_path / "t.xlsx", REQUIRED)
    assert table.sheet == "labels" and table.rows == [(2, ("1", 5))]
    (tmp_path / "t.csv").write_text("\ufeffSubject,Onset\r\n01,7\r\n")
    table = read_table(tmp_path / "t.csv", REQUIRED)
    assert table.rows == [(2, ("01", "7"))]


def test_errors_name_the_file(tmp_path):
    with pytest.raises(LFDError, match="annotation file not found"):
        read_table(tmp_path / "none.xlsx", REQUIRED)
    (tmp_path / "t.json").write_text("{}")
    with pytest.raises(LFDError, match="unsupported annotation file type '.json'"):
        read_table(tmp_path / "t.json", REQUIRED)
    (tmp_path / "fake.xlsx").write_text("not a workbook")
    with pytest.raises(LFDError, match="cannot read the file") as err:
        read_table(tmp_path / "fake.xlsx", REQUIRED)
    assert err.value.path == str(tmp_path / "fake.xlsx")
    openpyxl.Workbook().save(tmp_path / "empty.xlsx")
    with pytest.raises(LFDError, match="the file is empty"):
        read_table(tmp_path / "empty.xlsx", REQUIRED)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(46, 46), (46.0, 46), ("46", 46), (" 46 ", 46), ("/", None), (-1, None), (None, None), ("", None)],
)
def test_parse_frame(value, expected):
    assert parse_frame(value, "apex", "f.xlsx", 3, optional=True) == expected


def test_parse_frame_errors():
    assert is_missing("/") and is_missing(-1) and not is_missing(0)
    with pytest.raises(LFDError, match=r"f\.xlsx, row 3: onset frame '4\.5' is not a frame number"):
        parse_frame(4.5, "onset", "f.xlsx", 3)
    with pytest.raises(LFDError, match="onset frame is missing"):
        parse_frame("/", "onset", "f.xlsx", 3)


def test_numbered_images_sort_numerically(tmp_path):
    for name in ("img10.jpg", "img9.jpg", "img100.JPG", "landmarks.npy", "notes.txt", "cover.jpg"):
        (tmp_path / name).write_bytes(b"x")
    assert [n for n, _ in numbered_images(tmp_path)] == [9, 10, 100]
    frames, numbers = clip_frames(tmp_path, None, None, "src")
    assert numbers == (9, 10, 100) and frames[-1].name == "img100.JPG"


def test_clip_frames_errors(tmp_path: Path):
    with pytest.raises(LFDError, match="clip folder not found") as err:
        clip_frames(tmp_path / "missing", 1, 2, "sheet.xlsx, row 4")
    assert str(err.value).startswith("sheet.xlsx, row 4: ")
    with pytest.raises(LFDError, match="no frame images"):
        clip_frames(tmp_path, 1, 2, "src")


def test_check_interval():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_interval(1, 5, 9, "s") == (5, "annotation")
        assert check_interval(1, None, 9, "s") == (None, "missing")
        assert check_interval(1, 1, 1, "s") == (1, "annotation")
    with pytest.warns(UserWarning, match="s: apex 10 outside onset..offset 1..9"):
        assert check_interval(1, 10, 9, "s") == (None, "missing")
    with pytest.warns(UserWarning, match="offset 0 is before onset 5; sample skipped"):
        assert check_interval(5, 6, 0, "s") is None


def test_a_workbook_is_read_as_what_it_is_whatever_its_suffix(tmp_path):
    """Issue 13 (noisy): an .xlsx saved as .xls was not sniffed."""
    wb = openpyxl.Workbook()
    wb.active.append(("Subject", "Onset"))
    wb.active.append(("1", 5))
    wb.save(tmp_path / "t.xls")  # Office Open XML under an .xls name
    assert read_table(tmp_path / "t.xls", REQUIRED).rows == [(2, ("1", 5))]


def test_a_truncated_xls_is_one_error_and_nothing_on_stdout(shared_data, tmp_path, capfd):
    """Issue 13 (noisy): xlrd printed 'WARNING ***' lines on stdout, then an IndexError."""
    real = shared_data / "annotations" / "casme3" / "CAS(ME)3_part_C.xls"
    cut = tmp_path / "cut.xls"
    cut.write_bytes(real.read_bytes()[: real.stat().st_size // 2])
    with pytest.raises(LFDError, match=r"cut\.xls: cannot read the file"):
        read_table(cut, REQUIRED)
    out = capfd.readouterr()
    assert "WARNING" not in out.out and "WARNING" not in out.err
