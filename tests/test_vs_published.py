"""benchmarks/vs_published.sh: finished composite runs paired with STSTNet's published log."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from toys import write_composite_run

REPO = Path(__file__).resolve().parents[1]


def _script(runs: Path, shared_data: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "RUNS": str(runs), "LFD_TCMEN_DATA": str(shared_data)}
    return subprocess.run(
        ["bash", "benchmarks/vs_published.sh"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )


def test_finished_runs_against_the_published_log(tmp_path, shared_data):
    write_composite_run(tmp_path / "lfd_tcmen__honest" / "seed0", shared_data, lambda e: e.label)
    write_composite_run(tmp_path / "lfd_tcmen__honest" / "seed1", shared_data, lambda e: (e.label + 1) % 3)
    write_composite_run(tmp_path / "ststnet_paper__honest" / "seed0", shared_data, lambda e: e.label)
    done = _script(tmp_path, shared_data)
    assert done.returncode == 0, done.stderr
    assert "left out (no predictions yet): " in done.stderr and "lfd_tcmen__honest/ensemble" in done.stderr
    out = done.stdout
    assert "lfd_tcmen__honest: seed0 seed1" in out and "ststnet_paper__honest: seed0" in out
    assert re.search(r"\| A: \S+/STSTNet_logfile.txt +\| +1 \| 0.7353 ", out)  # A: the published predictions
    assert re.search(r"\| C - A \| UF1 \| \+0.2647 +\|", out)  # the perfect run minus the log: 1 - .7353


def test_no_finished_run_is_one_line(tmp_path, shared_data):
    done = _script(tmp_path, shared_data)
    assert done.returncode == 1 and "no finished run under" in done.stderr.splitlines()[-1]
