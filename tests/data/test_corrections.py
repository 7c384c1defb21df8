"""The corrections table of known annotation errors: it parses, matches the real files, is
applied by default and reported, can be turned off, and a stale line is left out with a warning."""

from __future__ import annotations

import json
import warnings
from collections import Counter
from pathlib import Path

import openpyxl
import pytest

from lfd_tcmen.cli import main
from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.data.corrections import FIELDS, SKIP, CorrectionLog, packaged_corrections, read_corrections
from lfd_tcmen.data.datasets import load_samples
from lfd_tcmen.synth.render import render_dataset

V2 = "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx"
HEADER = "dataset,file,row,sample,field,old,new,reason\n"


def real_file(shared_data: Path, dataset: str, name: str) -> Path:
    folder = {"casme3": "casme3", "casme2": "casme2", "samm": "samm"}[dataset]
    return shared_data / "annotations" / folder / name


def test_the_packaged_table_parses():
    table = packaged_corrections()
    assert table.version == "1" and table.path.name == "corrections.csv"
    assert len(table.corrections) == 28
    assert len({(c.file, c.row) for c in table.corrections}) == 28  # one line per row
    for c in table.corrections:
        assert c.field in FIELDS and c.reason and c.old
        assert c.new == SKIP or c.new.isdigit() or (c.new == "" and c.field == "apex")
    assert Counter(c.file for c in table.corrections) == {
        V2: 4,
        "CAS(ME)3_part_A_v1.xls": 21,
        "cas(me)3_part_A_edited_htnet.csv": 1,
        "SAMM_Micro_FACS_Codes_v2.xlsx": 2,
    }


@pytest.mark.parametrize(
    ("dataset", "name"), sorted({(c.dataset, c.file) for c in packaged_corrections().corrections})
)
def test_every_line_matches_the_real_file(shared_data, dataset, name):
    """Each line's row still holds its sample and ``old`` value: all applied, none stale, and no
    generic warning is left for the file."""
    log = CorrectionLog()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_samples(dataset, real_file(shared_data, dataset, name), corrections=log)
    expected = [c for c in packaged_corrections().corrections if c.file == name]
    assert log.stale == [] and sorted(log.applied, key=lambda c: c.row) == sorted(
        expected, key=lambda c: c.row
    )


def test_applied_versus_off_on_real_casme3_v2(shared_data):
    path = real_file(shared_data, "casme3", V2)
    applied = {s.source.rsplit(" ", 1)[1]: s for s in load_samples("casme3", path)}
    off = CorrectionLog(enabled=False)
    with pytest.warns(UserWarning):
        raw = {s.source.rsplit(" ", 1)[1]: s for s in load_samples("casme3", path, corrections=off)}
    # corrected: the three rows with offset before onset are kept, the apex of row 130 is annotated
    assert len(applied) == 860 and len(raw) == 857
    assert set(applied) - set(raw) == {"751", "798", "800"}
    assert (applied["751"].onset, applied["798"].offset, applied["800"].offset) == (2647, 1845, 2403)
    assert (applied["130"].apex, applied["130"].apex_source) == (160, "annotation")
    assert (raw["130"].apex, raw["130"].apex_source) == (None, "missing")
    assert [c.row for c in off.not_applied] == [130, 751, 798, 800] and off.applied == []


def write_sheet(path: Path, rows: list[tuple]) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "label"
    for row in (("Subject", "Filename", "Onset", "Apex", "Offset", "AU", "emotion"), *rows):
        ws.append(row)
    wb.save(path)
    return path


def write_table(path: Path, lines: str, version: str = "# corrections. version: 7\n") -> Path:
    path.write_text(version + HEADER + lines, encoding="utf-8")
    return path


def test_a_stale_line_warns_once_and_is_not_applied(tmp_path):
    sheet = write_sheet(
        tmp_path / "a.xlsx",
        [("spNO.1", "a", 10, 12, 20, "4", "happy"), ("spNO.1", "b", 30, 25, 40, "4", "sad")],
    )
    table = read_corrections(
        write_table(
            tmp_path / "c.csv",
            "casme3,a.xlsx,2,spNO.1/a,offset,0,30,the authors wrote 0\n"  # the file has 20: stale
            "casme3,a.xlsx,3,spNO.1/b,apex,25,,apex before onset\n"
            "casme3,a.xlsx,3,spNO.9/b,emotion,sad,happy,another sample: stale\n",
        )
    )
    log = CorrectionLog(table=table)
    with pytest.warns(UserWarning) as record:
        samples = load_samples("casme3", sheet, corrections=log)
    messages = [str(w.message) for w in record]
    assert len(messages) == 2
    assert "row 2: correction not applied, the file has offset '20', not '0'" in messages[0]
    assert "version 7" in messages[0] and "sample spNO.1/b, not spNO.9/b" in messages[1]
    assert [(s.offset, s.apex, s.emotion) for s in samples] == [(20, 12, "happy"), (40, None, "sad")]
    assert [c.row for c in log.applied] == [3] and [c.field for c in log.stale] == ["offset", "emotion"]
    assert "stale, not applied" in log.format()


def test_skip_drops_the_row_and_a_value_replaces_the_cell(tmp_path):
    sheet = write_sheet(
        tmp_path / "a.xlsx",
        [("spNO.1", "a", 10, 12, 0, "4", "happy"), ("spNO.1", "b", 50, 25, 40, "4", "sad")],
    )
    table = read_corrections(
        write_table(
            tmp_path / "c.csv",
            "casme3,a.xlsx,2,spNO.1/a,offset,0,20,the other file gives 20\n"
            'casme3,a.xlsx,3,spNO.1/b,onset,50,skip,"listed as wrong, no value"\n',
        )
    )
    log = CorrectionLog(table=table)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (sample,) = load_samples("casme3", sheet, corrections=log)
    assert (sample.clip, sample.onset, sample.apex, sample.offset) == ("a_10", 10, 12, 20)
    assert log.rows_touched() == 2
    assert "row 3 (spNO.1/b): onset 50 -> row dropped (listed as wrong, no value)" in log.format()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (HEADER, "no '# ... version: N' line"),
        ("# version: 1\n" + HEADER + "casme3,a.xlsx,2,s/a,frame,1,2,why\n", "row 3: unknown field 'frame'"),
        ("# version: 1\n" + HEADER + "casme3,a.xlsx,2,s/a,onset,1,,why\n", "row 3: an empty 'new' is only"),
        ("# version: 1\n" + HEADER + "casme3,a.xlsx,two,s/a,onset,1,2,why\n", "row 3: bad correction line"),
    ],
)
def test_a_bad_table_is_one_error_naming_the_line(tmp_path, text, message):
    path = tmp_path / "c.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LFDError, match=message):
        read_corrections(path)


def test_data_summary_reports_the_corrections(shared_data, capsys):
    argv = [
        "data",
        "summary",
        "--dataset",
        "casme3",
        "--annotations",
        str(real_file(shared_data, "casme3", V2)),
    ]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "samples:  860" in captured.out and "warning" not in captured.err
    assert f"annotation corrections (table version 1): 4 applied, 4 row(s) of {V2}" in captured.out
    assert "row 751 (spNO.216/d): onset 3647 -> 2647 (onset 3647 lies after apex 2668" in captured.out
    assert main([*argv, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)["corrections"]
    assert report["version"] == "1" and report["enabled"] and report["rows_touched"] == 4
    assert [(c["row"], c["field"], c["old"], c["new"]) for c in report["applied"]] == [
        (130, "apex", "83", "160"),
        (751, "onset", "3647", "2647"),
        (798, "offset", "0", "1845"),
        (800, "offset", "0", "2403"),
    ]
    assert main([*argv, "--no-corrections"]) == 0
    captured = capsys.readouterr()
    assert "samples:  857" in captured.out
    assert "annotation corrections (table version 1): off; 4 known error(s)" in captured.out
    assert captured.err.count("lfd-tcmen: warning: ") == 4


def test_prepare_records_the_corrections_in_the_manifest(tmp_path, capsys):
    sheet = render_dataset(
        tmp_path / "syn", subjects=1, clips_per_subject=1, frames_per_clip=6, size=64, progress=False
    )
    config = tmp_path / "pre.yaml"
    config.write_text("face_size: 64\nflow_method: dis\n")
    argv = [
        "prepare", "--dataset", "casme2", "--root", str(tmp_path / "syn" / "CASME2_RAW_selected"),
        "--annotations", str(sheet), "--labels", "casme2-5class", "--config", str(config), "--no-progress",
    ]  # fmt: skip
    assert main([*argv, "--out", str(tmp_path / "on")]) == 0
    assert "annotation corrections" not in capsys.readouterr().out  # none listed for this file
    manifest = json.loads((tmp_path / "on" / "manifest.json").read_text())
    assert manifest["annotation_corrections"] == {"version": "1", "enabled": True, "applied": []}
    assert main([*argv, "--out", str(tmp_path / "off"), "--no-corrections"]) == 0
    assert "annotation corrections (table version 1): off" in capsys.readouterr().out
    manifest = json.loads((tmp_path / "off" / "manifest.json").read_text())
    assert manifest["annotation_corrections"]["enabled"] is False
