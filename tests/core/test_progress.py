"""Progress: tqdm on a terminal, plain periodic lines in a log."""

from __future__ import annotations

import io

from lfd_tcmen.core.progress import PlainProgress, progress_bar


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_log_gets_a_line_each_tenth_and_no_carriage_returns():
    log = io.StringIO()
    bar = progress_bar(range(50), desc="prepare", unit="clip", stream=log)
    assert isinstance(bar, PlainProgress)
    assert list(bar) == list(range(50))
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue() and len(lines) == 10
    assert lines[0].startswith("prepare: 5/50 clips (10%)") and lines[-1].startswith(
        "prepare: 50/50 clips (100%)"
    )


def test_time_lines_a_closing_line_and_quiet_inner_bars():
    log, clock = io.StringIO(), Clock()
    bar = PlainProgress(total=1000, desc="folds", unit="fold", stream=log, clock=clock)
    bar.update(1)
    clock.now = 31
    bar.set_postfix(fold="casme2/sub01")
    bar.update(1)
    clock.now = 40
    bar.update(1)
    bar.close()
    bar.close()
    assert log.getvalue().splitlines() == [
        "folds: 2/1000 folds (0%), 31 s, fold=casme2/sub01",
        "folds: 3/1000 folds (0%), 40 s, fold=casme2/sub01",  # the closing line
    ]
    inner = io.StringIO()
    with PlainProgress(range(10), total=10, leave=False, stream=inner) as epochs:
        list(epochs)
    assert inner.getvalue() == ""  # an inner bar (leave=False) prints only the 30 s lines
    quiet = io.StringIO()
    list(progress_bar(range(5), disable=True, stream=quiet))
    assert quiet.getvalue() == ""


def test_units_are_plural_but_for_one():
    log = io.StringIO()
    with PlainProgress(desc="track faces", unit="frame", stream=log) as bar:
        bar.update(472)
    with PlainProgress(total=1, desc="folds", unit="fold", stream=log) as bar:
        bar.update(1)
    with PlainProgress(desc="track faces", unit="frame", stream=log) as bar:
        bar.update(1)
    assert [line.rsplit(",", 1)[0] for line in log.getvalue().splitlines()] == [
        "track faces: 472 frames",
        "folds: 1/1 fold (100%)",
        "track faces: 1 frame",
    ]
