"""``lfd-tcmen data summary`` and ``lfd-tcmen data synth``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lfd_tcmen.cli import main


def test_summary_json_on_real_casme2(shared_data, capsys):
    sheet = shared_data / "annotations" / "casme2" / "CASME2-coding-20190701.xlsx"
    code = main(
        [
            "data",
            "summary",
            "--dataset",
            "casme2",
            "--annotations",
            str(sheet),
            "--labels",
            "casme2-5class",
            "--json",
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out.pop("corrections")["applied"] == []  # the table lists no CASME II error
    assert out == {
        "n_samples": 249,
        "n_subjects": 26,
        "class_counts": {"happiness": 32, "disgust": 63, "repression": 27, "surprise": 28, "others": 99},
    }


def test_summary_of_the_real_partial_casme2_copy_lists_every_gap(shared_data, capsys):
    """The Cropped copy lacks 3 clip folders and the last frames of 2 clips (its README): each is
    one warning line naming the clip and the sheet row, and the rest are counted (issue 32.4)."""
    sheet = shared_data / "annotations" / "casme2" / "CASME2-coding-20190701.xlsx"
    root = shared_data / "casme2_cropped"
    if not root.is_dir():
        pytest.skip(f"real CASME II frames not found at {root}")
    argv = ["data", "summary", "--dataset", "casme2", "--annotations", str(sheet), "--root", str(root)]
    assert main([*argv, "--labels", "casme2-5class", "--json"]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    gaps = [line for line in captured.err.splitlines() if line.startswith("lfd-tcmen: warning:")]
    assert len(gaps) == len(out["frames_missing"]) == 5, captured.err
    for clip, row in [("sub07/EP06_01", 62), ("sub12/EP09_02", 119), ("sub16/EP01_08", 138)]:
        assert any(f"{clip}: clip folder not found" in g and f"row {row}" in g for g in gaps), gaps
    for clip in ["sub12/EP09_06", "sub20/EP16_01"]:
        assert any(f"{clip}: 5 of" in g and "frames not found" in g for g in gaps), gaps
    assert out["n_samples"] == 244 and out["n_subjects"] == 26


def test_summary_table_on_real_composite(shared_data, capsys):
    gt = shared_data / "megc2019_composite" / "combined_3class_gt.csv"
    assert (
        main(
            [
                "data",
                "summary",
                "--dataset",
                "megc2019",
                "--annotations",
                str(gt),
                "--labels",
                "megc2019-3class",
            ]
        )
        == 0
    )
    lines = capsys.readouterr().out.splitlines()
    assert "samples:  442" in lines and "subjects: 68" in lines
    assert [line.split()[:2] for line in lines[-3:]] == [
        ["negative", "250"],
        ["positive", "109"],
        ["surprise", "83"],
    ]


def test_summary_without_protocol_counts_emotions_and_prints_warnings(shared_data, capsys):
    sheet = shared_data / "annotations" / "samm" / "SAMM_Micro_FACS_Codes_v2.xlsx"
    assert main(["data", "summary", "--dataset", "samm", "--annotations", str(sheet), "--json"]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out["n_samples"] == 159 and out["n_subjects"] == 29
    assert out["class_counts"]["anger"] == 57 and list(out["class_counts"])[0] == "anger"
    # the two apexes outside their interval are in the corrections table: reported, no warning
    assert [(c["row"], c["field"]) for c in out["corrections"]["applied"]] == [(140, "apex"), (147, "apex")]
    assert "warning" not in captured.err
    argv = ["data", "summary", "--dataset", "samm", "--annotations", str(sheet), "--no-corrections"]
    assert main(argv) == 0
    warnings = [
        line for line in capsys.readouterr().err.splitlines() if line.startswith("lfd-tcmen: warning: ")
    ]
    assert len(warnings) == 2 and "row 140" in warnings[0]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--dataset", "casme9", "--annotations", "{sheet}"], "unknown dataset 'casme9'"),
        (["--dataset", "casme2", "--annotations", "{missing}"], "annotation file not found"),
        (
            ["--dataset", "casme2", "--annotations", "{sheet}", "--labels", "nope"],
            "unknown protocol 'nope'",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, argv, message):
    sheet = tmp_path / "coding.csv"
    sheet.write_text(
        "Subject,Filename,OnsetFrame,ApexFrame,OffsetFrame,Estimated Emotion\n01,EP01,1,2,3,happiness\n"
    )
    argv = [a.format(sheet=sheet, missing=tmp_path / "missing.xlsx") for a in argv]
    assert main(["data", "summary", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("lfd-tcmen: error: ") and message in err[0]


def test_bad_row_error_names_file_and_row(tmp_path, capsys):
    sheet = tmp_path / "coding.csv"
    sheet.write_text(
        "Subject,Filename,OnsetFrame,ApexFrame,OffsetFrame,Estimated Emotion\n"
        "01,EP01,1,2,3,happiness\n01,EP02,1,2,3,joy\n"
    )
    assert (
        main(
            [
                "data",
                "summary",
                "--dataset",
                "casme2",
                "--annotations",
                str(sheet),
                "--labels",
                "casme2-5class",
            ]
        )
        == 2
    )
    assert capsys.readouterr().err.startswith(f"lfd-tcmen: error: {sheet}, row 3: emotion 'joy'")


def test_synth_passes_arguments_and_prints_the_sheet(tmp_path, capsys, monkeypatch):
    calls = []

    def fake_render(
        out, subjects=8, seed=0, clips_per_subject=12, size=128, frames_per_clip=24, progress=True
    ):
        calls.append((out, subjects, seed, clips_per_subject, size))
        return Path(out) / "CASME2-coding-synthetic.xlsx"

    monkeypatch.setattr("lfd_tcmen.cli.data.render_dataset", fake_render)
    assert (
        main(
            [
                "data",
                "synth",
                "--out",
                str(tmp_path),
                "--subjects",
                "3",
                "--seed",
                "7",
                "--clips-per-subject",
                "2",
                "--size",
                "96",
            ]
        )
        == 0
    )
    assert calls == [(tmp_path, 3, 7, 2, 96)]
    assert capsys.readouterr().out.strip() == str(tmp_path / "CASME2-coding-synthetic.xlsx")


def test_synth_then_summary_end_to_end(tmp_path, capsys):
    pytest.importorskip("lfd_tcmen.synth.render")
    assert (
        main(
            [
                "data",
                "synth",
                "--out",
                str(tmp_path / "syn"),
                "--subjects",
                "2",
                "--seed",
                "1",
                "--clips-per-subject",
                "2",
                "--size",
                "64",
            ]
        )
        == 0
    )
    sheet = capsys.readouterr().out.strip()
    assert Path(sheet).is_file()
    assert (
        main(
            [
                "data",
                "summary",
                "--dataset",
                "casme2",
                "--annotations",
                sheet,
                "--root",
                str(tmp_path / "syn" / "CASME2_RAW_selected"),
                "--labels",
                "casme2-5class",
                "--json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["n_samples"] == 4 and out["n_subjects"] == 2 and sum(out["class_counts"].values()) == 4


def test_data_needs_an_action(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["data"])
    assert exc.value.code == 2


def test_an_output_folder_that_cannot_be_written_is_one_line(tmp_path, capsys):
    """Issue 13 (noisy): NotADirectoryError / PermissionError used to end in a traceback."""
    (tmp_path / "file").write_text("x")
    assert main(["data", "synth", "--out", str(tmp_path / "file" / "synth"), "--subjects", "1"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip() and "clip/s" not in line]
    assert len(err) == 1 and err[0].startswith("lfd-tcmen: error:") and str(tmp_path / "file") in err[0]


def test_the_old_protocol_spelling_of_a_label_scheme_still_works_with_one_deprecation_line(
    shared_data, capsys
):
    """``--labels`` names the label scheme; ``--protocol casme2-5class`` (the old spelling, before
    "protocol" meant only the evaluation rule) gives the same counts and one line on stderr."""
    sheet = shared_data / "annotations" / "casme2" / "CASME2-coding-20190701.xlsx"
    argv = ["data", "summary", "--dataset", "casme2", "--annotations", str(sheet), "--json"]
    assert main([*argv, "--labels", "casme2-5class"]) == 0
    new = capsys.readouterr()
    assert main([*argv, "--protocol", "casme2-5class"]) == 0
    old = capsys.readouterr()
    assert old.out == new.out
    deprecation = [line for line in old.err.splitlines() if "deprecated" in line]
    assert deprecation == [
        "lfd-tcmen: deprecated: --protocol casme2-5class: the label scheme is now --labels casme2-5class"
    ]
