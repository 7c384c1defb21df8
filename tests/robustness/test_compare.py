"""``lfd-tcmen compare A B``: damaged predictions CSVs, run folders and seed folders."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from robustness.cases import Case, Env, Given, change_a_prediction, check, empty, not_utf8, params, truncate
from robustness.inputs import copy_tree

HEADER = "dataset,subject,sample,label,pred,fold"


def _rows(n: int = 12, shift: int = 0) -> list[str]:
    return [
        f"casme2,sub{i // 3:02d},EP{i:02d},{i % 3},{(i + shift * (i % 2)) % 3},f{i // 3}" for i in range(n)
    ]


def _run(folder: Path, rows: list[str], header: str = HEADER) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "predictions.csv").write_text("\n".join([header, *rows]) + "\n")
    return folder


def _compare(env: Env, b: Path, *names: str, extra: tuple[str, ...] = ()) -> Given:
    a = _run(env.tmp / "a", _rows())
    return Given(["compare", str(a), str(b), "--resamples", "200", *extra], names)


def _b(env: Env, rows: list[str], header: str = HEADER) -> tuple[Path, Path]:
    run = _run(env.tmp / "b", rows, header)
    return run, run / "predictions.csv"


def b_missing(env: Env) -> Given:
    return _compare(env, env.tmp / "absent", str(env.tmp / "absent"))


def b_empty(env: Env) -> Given:
    _, csv = _b(env, _rows())
    return _compare(env, empty(csv), str(csv))


def b_folder_without_predictions(env: Env) -> Given:
    folder = env.tmp / "b"
    folder.mkdir()
    return _compare(env, folder, str(folder))


def b_not_utf8(env: Env) -> Given:
    _, csv = _b(env, _rows())
    not_utf8(csv, "\n".join([HEADER, *_rows(), "casme2,sub09,caf\xe9,0,0,f9"]))
    return _compare(env, csv, str(csv))


def b_truncated(env: Env) -> Given:
    _, csv = _b(env, _rows())
    return _compare(env, truncate(csv, 0.7), str(csv))


def b_without_pred_column(env: Env) -> Given:
    _, csv = _b(env, [r.rsplit(",", 2)[0] for r in _rows()], "dataset,subject,sample,label")
    return _compare(env, csv, str(csv))


def b_duplicated_row(env: Env) -> Given:
    rows = _rows()
    _, csv = _b(env, [*rows, rows[4]])
    return _compare(env, csv, str(csv), f"row {len(rows) + 2}", f"rows 6 and {len(rows) + 2}")


def b_label_not_integer(env: Env) -> Given:
    rows = _rows()
    rows[2] = rows[2].replace(",2,", ",x,", 1)
    _, csv = _b(env, rows)
    return _compare(env, csv, str(csv), "row 4")


def b_other_samples(env: Env) -> Given:
    run, _ = _b(env, _rows(9))
    return _compare(env, run)


def b_other_labels(env: Env) -> Given:
    rows = [r.replace(",0,", ",1,", 1) if i == 3 else r for i, r in enumerate(_rows())]
    run, _ = _b(env, rows)
    return _compare(env, run)


def b_seed_damaged(env: Env) -> Given:
    seeds = env.tmp / "seeds"
    _run(seeds / "seed0", _rows())
    _run(seeds / "seed1", _rows(shift=1))
    csv = truncate(seeds / "seed1" / "predictions.csv", 0.6)
    return _compare(env, seeds, str(csv))


def one_fold_runs(env: Env) -> Given:
    """Two runs of one fold each (one test subject): a bootstrap over one subject has zero width,
    so compare gives the difference but no interval, p or verdict."""
    a = _run(env.tmp / "a", [r for r in _rows() if ",sub00," in r])
    b = _run(env.tmp / "b", [r for r in _rows(shift=1) if ",sub00," in r])
    return Given(["compare", str(a), str(b), "--resamples", "200"])


def _b_pred(pred: int) -> Callable[[Env], Given]:
    """A builder: run B's row 7 predicts ``pred`` (issue 35 item 7: a pred 7 among 3 classes was
    an 8th class; item 14: a pred -1 an IndexError traceback)."""

    def build(env: Env) -> Given:
        rows = _rows()
        rows[5] = rows[5].replace(",f1", "").rsplit(",", 1)[0] + f",{pred},f1"
        _, csv = _b(env, rows)
        return _compare(env, csv, str(csv), "row 7")

    return build


def b_seed_without_predictions(env: Env) -> Given:  # issue 35 item 7: silently dropped
    seeds = env.tmp / "seeds"
    _run(seeds / "seed0", _rows())
    _run(seeds / "seed1", _rows(shift=1))
    (seeds / "seed2").mkdir()
    return _compare(env, seeds, str(seeds / "seed2"))


def b_predictions_edited(env: Env) -> Given:  # issue 35 item 7: disagrees with its metrics.json
    run = copy_tree(env.inputs.run, env.tmp / "b")
    csv = change_a_prediction(run / "predictions.csv")
    a = copy_tree(env.inputs.run, env.tmp / "a")
    return Given(
        ["compare", str(a), str(run), "--resamples", "200"], (str(csv), "metrics.json beside it says")
    )


def b_other_classes(env: Env) -> Given:  # issue 35 item 14: 3 classes against 2 (labels 0-1 in both)
    rows = [f"casme2,sub{i // 3:02d},EP{i:02d},{i % 2},{i % 2}" for i in range(12)]
    header = "dataset,subject,sample,label,pred,p_negative,p_positive"
    a = _run(env.tmp / "a", [f"{r},.3,.3,.4" for r in rows], header + ",p_surprise")
    _, csv = _b(env, [f"{r},.5,.5" for r in rows], header)
    return Given(["compare", str(a), str(csv), "--resamples", "200"], (str(csv),))


def resamples_zero(env: Env) -> Given:
    run, _ = _b(env, _rows(shift=1))
    given = _compare(env, run)
    argv = list(given.argv)
    argv[argv.index("--resamples") + 1] = "0"
    return Given(argv)


CASES = [
    Case("missing", b_missing, 2, "no such run folder or predictions file"),
    Case("empty", b_empty, 2, "empty"),
    Case("folder-without-predictions", b_folder_without_predictions, 2, "predictions"),
    Case("not-utf8", b_not_utf8, 2, "not a text file"),
    Case("truncated-at-a-row", b_truncated, 2, "same samples"),
    Case("no-pred-column", b_without_pred_column, 2, "pred"),
    Case("duplicated-row", b_duplicated_row, 2, "listed twice"),
    Case("label-not-an-integer", b_label_not_integer, 2, "label 'x'"),
    Case("other-samples", b_other_samples, 2, "same samples"),
    Case("other-ground-truth", b_other_labels, 2, "label"),
    Case("seed-run-damaged", b_seed_damaged, 2, "missing"),
    Case("resamples-out-of-range", resamples_zero, 2, "--resamples must be >= 1, got 0"),
    Case(
        "pred-outside-classes",
        _b_pred(7),
        2,
        "pred 7 of subject sub01 is not a class index in [0, 3)",
    ),
    Case("pred-negative", _b_pred(-1), 2, "pred -1 of subject sub01 is not a class index"),
    Case("seed-folder-without-predictions", b_seed_without_predictions, 2, "holds no predictions*.csv"),
    Case("classes-differ", b_other_classes, 2, "runs of different class sets cannot be compared"),
    Case("predictions-disagree-with-metrics", b_predictions_edited, 2, "edited after the run wrote it"),
    Case("one-fold-runs", one_fold_runs, 0, "no verdict: 1 subject, fewer than the 10", level="ok"),
]


@pytest.mark.parametrize("case", params(*CASES))
def test_compare(case: Case, env: Env, capfd: pytest.CaptureFixture[str]) -> None:
    assert case.fragment in check(case, env, capfd)
