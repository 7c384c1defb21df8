"""``lfd-tcmen score``: JSON and table output, and one-line errors."""

from __future__ import annotations

import json

import pytest

from lfd_tcmen.cli import main

CSV = (
    "dataset,subject,sample,label,pred\n"
    "casme2,sub01,EP1,0,0\n"
    "casme2,sub01,EP2,1,0\n"
    "smic,s01,s01_po_01,1,1\n"
    "smic,s01,s01_sur_01,2,2\n"
)


def test_score_json_has_exactly_the_agreed_keys(tmp_path, capsys):
    path = tmp_path / "pred.csv"
    path.write_text(CSV)
    assert main(["score", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"overall", "per_dataset"}
    assert set(out["overall"]) == {"uf1", "uar", "accuracy", "n"}
    assert list(out["per_dataset"]) == ["casme2", "smic"]
    assert all(set(v) == {"uf1", "uar", "accuracy", "n"} for v in out["per_dataset"].values())
    # overall: t [0,1,1,2] p [0,0,1,2] -> F1 2/3, 2/3, 1
    assert out["overall"]["uf1"] == pytest.approx(7 / 9)
    assert out["overall"]["n"] == 4
    assert out["per_dataset"]["smic"] == {"uf1": 1.0, "uar": 1.0, "accuracy": 1.0, "n": 2}


def test_score_table_output(tmp_path, capsys):
    path = tmp_path / "pred.csv"
    path.write_text(CSV)
    assert main(["score", str(path)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "(csv)" in lines[0]
    assert lines[1].split("|")[1:-1] == [" dataset ", "   n ", "    UF1 ", "    UAR ", " accuracy "]
    assert lines[-1].replace(" ", "") == "|overall|4|0.7778|0.8333|0.7500|"


def test_score_errors_are_one_line_with_file_and_row(tmp_path, capsys):
    path = tmp_path / "pred.csv"
    path.write_text(CSV + "smic,s01,s01_ne_01,0,\n")
    assert main(["score", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"lfd-tcmen: error: {path}, row 6: missing pred"
    path.write_text(CSV)
    assert main(["score", str(path), "--num-classes", "2"]) == 2
    assert f"{path}, row 5: label 2 of subject s01" in capsys.readouterr().err


def test_score_real_peer_log(shared_data, capsys):
    assert main(["score", str(shared_data / "peer_logs" / "STSTNet_logfile.txt"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert round(out["overall"]["uf1"], 4) == 0.7353
    assert main(["score", str(shared_data / "peer_logs" / "STSTNet_python_logfile.txt")]) == 0
    captured = capsys.readouterr()
    assert "note: the log names no datasets" in captured.err
    assert "| overall |" in captured.out
