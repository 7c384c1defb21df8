"""A command stopped from outside (issue 35 item 14): Ctrl-C and SIGTERM.

What the user sees is one line saying the command stopped and, only where it helps, how to go
on: ``train`` and ``benchmark`` resume with ``--resume``, ``prepare`` by running it again (it has
no such option), and a command that keeps nothing (``score``) says nothing about resuming.
SIGTERM unwinds like Ctrl-C, so a worker pool shuts down cleanly: no raw "leaked semaphore"
warning from multiprocessing's resource tracker, exit status 143.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import pytest

from lfd_tcmen.cli import main
from lfd_tcmen.synth.render import render_dataset


def _interrupted(argv: list[str], target: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """``main(argv)`` with ``target`` (the command's library call) raising KeyboardInterrupt."""
    with mock.patch(target, side_effect=KeyboardInterrupt):
        code = main(argv)
    return code, capsys.readouterr().err


def test_interrupted_score_says_nothing_about_resuming(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _interrupted(["score", str(tmp_path / "p.csv")], "lfd_tcmen.cli.score.score_file", capsys)
    assert code == 130
    assert err.strip() == "lfd-tcmen: interrupted"


def test_interrupted_prepare_says_rerun_without_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "prepare",
        "--dataset",
        "casme2",
        "--root",
        str(tmp_path),
        "--annotations",
        str(tmp_path / "a.csv"),
    ]
    argv += ["--labels", "casme2-3class", "--out", str(tmp_path / "store")]
    code, err = _interrupted(argv, "lfd_tcmen.cli.prepare.prepare_store", capsys)
    assert code == 130
    assert (
        err.strip() == "lfd-tcmen: interrupted; finished samples are kept, rerun the same command to continue"
    )
    assert "--resume" not in err


def test_sigterm_stops_a_pool_cleanly(tmp_path: Path) -> None:
    """``prepare --workers 2`` sent SIGTERM once it has written a sample: exit 143, one line."""
    xlsx = render_dataset(
        tmp_path / "synth", subjects=4, clips_per_subject=6, frames_per_clip=8, progress=False
    )
    store = tmp_path / "store"
    argv = [sys.executable, "-m", "lfd_tcmen", "prepare", "--dataset", "casme2"]
    argv += ["--root", str(xlsx.parent / "CASME2_RAW_selected"), "--annotations", str(xlsx)]
    argv += ["--labels", "casme2-3class", "--out", str(store), "--workers", "2", "--no-progress"]
    with (tmp_path / "stderr.txt").open("w") as err_file:
        proc = subprocess.Popen(argv, stderr=err_file, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while not list(store.glob("*.npz")) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if proc.poll() is not None:
            pytest.fail(f"prepare ended (exit {proc.returncode}) before it could be stopped")
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    time.sleep(2)  # the resource tracker, a process of its own, warns as it exits
    err = (tmp_path / "stderr.txt").read_text()
    assert code == 143, err
    assert "leaked semaphore" not in err and "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines == [
        "lfd-tcmen: terminated; finished samples are kept, rerun the same command to continue"
    ], err
