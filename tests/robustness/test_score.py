"""``lfd-tcmen score FILE``: a predictions CSV or a MEGC2019 log, damaged every way a file can be."""

from __future__ import annotations

import pytest

from robustness.cases import Case, Env, Given, check, empty, not_utf8, params, replace_with_folder, unreadable

HEADER = "dataset,subject,sample,label,pred,p_negative,p_positive,p_surprise"
ROWS = [
    "casme2,sub01,EP01,0,0,.8,.1,.1",
    "casme2,sub01,EP02,1,1,.1,.8,.1",
    "casme2,sub02,EP03,2,2,.1,.1,.8",
    "casme2,sub02,EP04,1,0,.5,.4,.1",
]
LOG = ["casme2 sub01", "EP01 0 0", "EP02 1 1", "samm 006", "006_1_2 2 2"]


def _csv(env: Env, rows: list[str], header: str = HEADER, name: str = "pred.csv") -> Given:
    path = env.tmp / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return Given(["score", str(path)], (str(path),))


def _log(env: Env, lines: list[str]) -> Given:
    path = env.tmp / "log.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Given(["score", str(path)], (str(path),))


def _with_row(given: Given, row: int) -> Given:
    return Given(given.argv, (*given.names, f"row {row}"))


def missing(env: Env) -> Given:
    return Given(["score", str(env.tmp / "absent.csv")], (str(env.tmp / "absent.csv"),))


def zero_bytes(env: Env) -> Given:
    path = empty(env.tmp / "pred.csv")
    return Given(["score", str(path)], (str(path),))


def truncated_mid_row(env: Env) -> Given:
    given = _csv(env, [*ROWS[:3], "casme2,sub02,EP0"])
    return _with_row(given, 5)


def a_folder(env: Env) -> Given:
    path = replace_with_folder(env.tmp / "pred.csv")
    return Given(["score", str(path)], (str(path),))


def latin1(env: Env) -> Given:
    path = not_utf8(env.tmp / "pred.csv", "\n".join([HEADER, *ROWS, "casme2,sub03,caf\xe9,0,0,.8,.1,.1"]))
    return Given(["score", str(path)], (str(path),))


def no_pred_column(env: Env) -> Given:
    return _csv(env, [",".join(r.split(",")[:4]) for r in ROWS], "dataset,subject,sample,label")


def duplicated_row(env: Env) -> Given:  # issue 13.3
    return _with_row(_csv(env, [*ROWS, ROWS[1]]), 6)


def label_outside_classes(env: Env) -> Given:  # issue 13.4: three p_<class> columns, label 7
    return _with_row(_csv(env, [*ROWS[:3], "casme2,sub02,EP04,7,0,.5,.4,.1"]), 5)


def pred_outside_log_labels(env: Env) -> Given:  # issue 13.4: labels 0..2, prediction 9
    return _with_row(_log(env, [*LOG[:2], "EP02 1 9", *LOG[3:]]), 3)


def non_integer_label(env: Env) -> Given:
    return _with_row(_csv(env, [*ROWS[:2], "casme2,sub02,EP03,x,2,.1,.1,.8"]), 4)


def log_line_without_prediction(env: Env) -> Given:  # issue 13.2: not a "<db> <subject>" header
    return _with_row(_log(env, [*LOG[:2], "EP19_05f 0", *LOG[2:]]), 3)


def log_only_line_without_prediction(env: Env) -> Given:  # issue 13, noisy: name the row
    return _with_row(_log(env, ["casme2 sub01", "EP19_05f 0"]), 2)


def log_duplicated_line(env: Env) -> Given:  # issue 13.3 in the log format
    return _with_row(_log(env, [*LOG[:3], "EP02 1 1", *LOG[3:]]), 4)


def sample_with_unquoted_comma(env: Env) -> Given:  # issue 35 item 7: "EP04,1" shifts the columns
    return _with_row(_csv(env, [*ROWS[:3], "casme2,sub02,EP04,1,1,0,.5,.4,.1"]), 5)


def pred_column_twice(env: Env) -> Given:  # issue 35 item 7: the last 'pred' would win
    given = _csv(env, [r + ",0" for r in ROWS], HEADER + ",pred")
    return _with_row(given, 1)


def no_classes(env: Env) -> Given:
    given = _csv(env, ROWS)
    return Given([*given.argv, "--num-classes", "0"])


def unreadable_file(env: Env) -> Given:
    given = _csv(env, ROWS)
    unreadable(env, env.tmp / "pred.csv")
    return given


CASES = [
    Case("missing", missing, 2, "file not found"),
    Case("empty", zero_bytes, 2, "empty prediction file"),
    Case("truncated-mid-row", truncated_mid_row, 2, "missing label"),
    Case("folder-not-file", a_folder, 2, "Is a directory"),
    Case("not-utf8", latin1, 2, "not a text file"),
    Case("no-pred-column", no_pred_column, 2, "pred"),
    Case("duplicated-row", duplicated_row, 2, "listed twice (rows 3 and 6)"),
    Case("label-out-of-range", label_outside_classes, 2, "label 7"),
    Case("log-pred-out-of-range", pred_outside_log_labels, 2, "pred 9"),
    Case("non-integer-label", non_integer_label, 2, "label 'x'"),
    Case("log-line-without-prediction", log_line_without_prediction, 2, "no prediction"),
    Case("log-only-line-without-prediction", log_only_line_without_prediction, 2, "no prediction"),
    Case("log-duplicated-line", log_duplicated_line, 2, "listed twice"),
    Case("num-classes-out-of-range", no_classes, 2, "number of classes must be positive, got 0"),
    Case("sample-with-unquoted-comma", sample_with_unquoted_comma, 2, "9 fields where the header has 8"),
    Case("pred-column-twice", pred_column_twice, 2, "'pred' (columns 5, 9) more than once"),
    Case("unreadable", unreadable_file, 2, "Permission denied", needs_permissions=True),
]


@pytest.mark.parametrize("case", params(*CASES))
def test_score(case: Case, env: Env, capfd: pytest.CaptureFixture[str]) -> None:
    assert case.fragment in check(case, env, capfd)
