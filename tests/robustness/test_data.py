"""``lfd-tcmen data synth`` and ``data summary``: bad output folders, damaged annotation files."""

from __future__ import annotations

import shutil

import pytest

from robustness.cases import (
    Case,
    Env,
    Given,
    a_file,
    check,
    empty,
    not_utf8,
    params,
    replace_with_folder,
    truncate,
    unreadable,
)
from robustness.inputs import sheet_csv
from toys import write_composite


# ----------------------------------------------------------------------------- data synth
def _synth(out: str, *extra: str) -> list[str]:
    return ["data", "synth", "--out", out, "--subjects", "1", "--clips-per-subject", "1", *extra]


def synth_out_is_a_file(env: Env) -> Given:
    out = a_file(env)
    return Given(_synth(str(out)), (str(out),))


def synth_out_under_a_file(env: Env) -> Given:
    out = a_file(env)
    return Given(_synth(str(out / "synth")), (str(out),))


def synth_out_unreadable(env: Env) -> Given:
    parent = env.tmp / "locked"
    parent.mkdir()
    unreadable(env, parent)
    return Given(_synth(str(parent / "synth")), (str(parent),))


def synth_no_subjects(env: Env) -> Given:
    return Given(_synth(str(env.tmp / "synth"), "--subjects", "0"))


def synth_tiny_frames(env: Env) -> Given:
    return Given(_synth(str(env.tmp / "synth"), "--size", "8"))


SYNTH = [
    Case("out-is-a-file", synth_out_is_a_file, 2, "File exists"),
    Case("out-under-a-file", synth_out_under_a_file, 2, "Not a directory"),
    Case("out-unreadable", synth_out_unreadable, 2, "Permission denied", needs_permissions=True),
    Case("subjects-out-of-range", synth_no_subjects, 2, "subjects must be between 1 and 99, got 0"),
    Case("size-out-of-range", synth_tiny_frames, 2, "size must be at least 64 px, got 8"),
]


@pytest.mark.parametrize("case", params(*SYNTH))
def test_synth(case: Case, env: Env, capfd: pytest.CaptureFixture[str]) -> None:
    assert case.fragment in check(case, env, capfd)


# ----------------------------------------------------------------------------- data summary
def _summary(annotations: str, *extra: str, dataset: str = "casme2") -> list[str]:
    return ["data", "summary", "--dataset", dataset, "--annotations", annotations, *extra]


def _sheet(env: Env, rows: list[tuple[str, ...]] | None = None) -> str:
    return str(sheet_csv(env.tmp / "sheet.csv", env.inputs.rows if rows is None else rows))


def _edited(env: Env, row: int, column: int, value: str) -> list[tuple[str, ...]]:
    rows = [list(r) for r in env.inputs.rows]
    rows[row][column] = value
    return [tuple(r) for r in rows]


def summary_missing(env: Env) -> Given:
    path = env.tmp / "absent.xlsx"
    return Given(_summary(str(path)), (str(path),))


def summary_empty_csv(env: Env) -> Given:
    path = empty(env.tmp / "sheet.csv")
    return Given(_summary(str(path)), (str(path),))


def summary_empty_xlsx(env: Env) -> Given:
    path = empty(env.tmp / "sheet.xlsx")
    return Given(_summary(str(path)), (str(path),))


def summary_truncated_xlsx(env: Env) -> Given:
    path = truncate(shutil.copy(env.inputs.xlsx, env.tmp / "sheet.xlsx"))
    return Given(_summary(str(path)), (str(path),))


def summary_truncated_xls(env: Env) -> Given:  # issue 13, noisy: xlrd's WARNING lines and IndexError
    real = env.shared_data() / "annotations" / "casme3" / "CAS(ME)3_part_C.xls"
    path = truncate(shutil.copy(real, env.tmp / "cut.xls"))
    return Given(_summary(str(path), dataset="casme3"), (str(path),))


def summary_xlsx_named_xls(env: Env) -> Given:  # issue 13, noisy: read as what its bytes say
    path = shutil.copy(env.inputs.xlsx, env.tmp / "sheet.xls")
    return Given(_summary(str(path), "--json"))


def summary_folder(env: Env) -> Given:
    path = replace_with_folder(env.tmp / "sheet.csv")
    return Given(_summary(str(path)), (str(path),))


def summary_not_utf8(env: Env) -> Given:
    text = "Subject,Filename,OnsetFrame,ApexFrame,OffsetFrame,Estimated Emotion\n01,EP01,1,2,3,caf\xe9\n"
    path = not_utf8(env.tmp / "sheet.csv", text)
    return Given(_summary(str(path)), (str(path),))


def summary_no_onset_column(env: Env) -> Given:
    path = env.tmp / "sheet.csv"
    path.write_text("Subject,Filename,ApexFrame,OffsetFrame,Estimated Emotion\n01,EP01,2,3,happiness\n")
    return Given(_summary(str(path)), (str(path),))


def summary_duplicated_row(env: Env) -> Given:
    path = _sheet(env, [*env.inputs.rows, env.inputs.rows[1]])
    last = len(env.inputs.rows) + 2
    return Given(_summary(path), (path, f"row {last}", f"{path}, row 3"))


def summary_offset_before_onset(env: Env) -> Given:
    onset = env.inputs.rows[1][2]
    path = _sheet(env, _edited(env, 1, 4, str(int(onset) - 1)))
    return Given(_summary(path, "--labels", "casme2-3class"), (path, "row 3"))


def summary_apex_outside(env: Env) -> Given:
    offset = env.inputs.rows[1][4]
    path = _sheet(env, _edited(env, 1, 3, str(int(offset) + 5)))
    return Given(_summary(path), (path, "row 3"))


def summary_onset_not_a_number(env: Env) -> Given:
    path = _sheet(env, _edited(env, 2, 2, "12a"))
    return Given(_summary(path), (path, "row 4"))


def summary_unknown_emotion(env: Env) -> Given:
    path = _sheet(env, _edited(env, 0, 5, "joy"))
    return Given(_summary(path, "--labels", "casme2-3class"), (path, "row 2"))


def summary_missing_clip_folder(env: Env) -> Given:
    path = _sheet(env, _edited(env, 1, 1, "EP99_99"))
    folder = env.inputs.frames / f"sub{env.inputs.rows[1][0]}" / "EP99_99"
    return Given(_summary(path, "--root", str(env.inputs.frames)), (str(folder), path, "row 3"))


def summary_missing_frame(env: Env) -> Given:
    offset = int(env.inputs.rows[0][4])
    path = _sheet(env, _edited(env, 0, 4, str(offset + 3)))
    return Given(_summary(path, "--root", str(env.inputs.frames)), (str(env.inputs.clip(0)), path, "row 2"))


def summary_root_is_a_file(env: Env) -> Given:
    root = a_file(env)
    return Given(_summary(_sheet(env), "--root", str(root)), (str(root),))


def summary_composite_duplicated_row(env: Env) -> Given:  # issue 13.5
    folder = write_composite(env.tmp / "composite", ("sub01", "sub02"))
    gt = folder / "combined_3class_gt.csv"
    lines = gt.read_text().splitlines()
    gt.write_text("\n".join([*lines, lines[1]]) + "\n")
    last = len(lines) + 1
    return Given(_summary(str(gt), dataset="megc2019"), (str(gt), f"row {last}", f"rows 2 and {last}"))


def summary_composite_label_out_of_range(env: Env) -> Given:
    folder = write_composite(env.tmp / "composite", ("sub01", "sub02"))
    gt = folder / "combined_3class_gt.csv"
    lines = gt.read_text().splitlines()
    lines[2] = lines[2].rsplit(",", 1)[0] + ",7"
    gt.write_text("\n".join(lines) + "\n")
    return Given(_summary(str(gt), dataset="megc2019"), (str(gt), "row 3"))


def summary_unreadable(env: Env) -> Given:
    path = unreadable(env, sheet_csv(env.tmp / "sheet.csv", env.inputs.rows))
    return Given(_summary(str(path)), (str(path),))


SUMMARY = [
    Case("missing", summary_missing, 2, "annotation file not found"),
    Case("empty-csv", summary_empty_csv, 2, "empty"),
    Case("empty-xlsx", summary_empty_xlsx, 2, "empty"),
    Case("truncated-xlsx", summary_truncated_xlsx, 2, "cannot read"),
    Case("truncated-xls", summary_truncated_xls, 2, "cannot read the file"),
    Case("xlsx-named-xls", summary_xlsx_named_xls, 0, '"n_samples": 6', level="ok"),
    Case("folder-not-file", summary_folder, 2, "annotation file not found"),
    Case("not-utf8", summary_not_utf8, 2, "cannot read the file"),
    Case("no-onset-column", summary_no_onset_column, 2, "missing: onset"),
    Case("duplicated-row", summary_duplicated_row, 2, "already given"),
    Case("offset-before-onset", summary_offset_before_onset, 0, "sample skipped"),
    Case("apex-outside-interval", summary_apex_outside, 0, "apex treated as missing"),
    Case("onset-not-a-number", summary_onset_not_a_number, 2, "onset"),
    Case("emotion-outside-protocol", summary_unknown_emotion, 2, "emotion 'joy'"),
    Case("missing-clip-folder", summary_missing_clip_folder, 0, "clip folder not found"),  # issue 32.4
    Case("missing-frame", summary_missing_frame, 0, "frames not found"),  # listed, the rest counted
    Case("root-is-a-file", summary_root_is_a_file, 2, "frames folder not found"),
    Case("composite-duplicated-row", summary_composite_duplicated_row, 2, "listed twice"),
    Case("composite-label-out-of-range", summary_composite_label_out_of_range, 2, "label"),
    Case("unreadable", summary_unreadable, 2, "Permission denied", needs_permissions=True),
]


@pytest.mark.parametrize("case", params(*SUMMARY))
def test_summary(case: Case, env: Env, capfd: pytest.CaptureFixture[str]) -> None:
    assert case.fragment in check(case, env, capfd)
