"""benchmarks/step_speed.py --profile: where a training step's time goes, by kind of operator."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_profile_splits_the_step_into_kinds_that_add_up():
    out = subprocess.run(
        [sys.executable, "benchmarks/step_speed.py", "--profile", "--steps", "1", "--top", "3"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    total = float(out.split("steps: ")[1].split(" ms")[0])
    kinds = {}
    for line in out.split("\n\n")[1].splitlines()[2:]:
        kind, ms, share = (cell.strip() for cell in line.strip("|").split("|"))
        kinds[kind] = float(ms)
    assert {"convolution backward", "convolution forward", "GroupNorm", "optimiser"} <= kinds.keys()
    assert abs(sum(kinds.values()) - total) < 0.05 * total + 0.1  # the table leaves no operator out
    calls = out.split("most expensive")[1].split("\n\n")[1].splitlines()[2:]
    assert len(calls) == 3 and all(line.count("|") == 6 for line in calls)
