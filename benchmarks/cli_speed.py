"""How long ``lfd-tcmen`` takes to answer, per command line: wall time of a fresh interpreter
running it, median and fastest of ``--repeats`` runs, beside Python's own start-up and a bare
``import torch``. Target: ``--help`` and ``--version`` under 0.5 s (issue 34.11); a subcommand's
own ``--help`` imports that subcommand (most import torch) and takes what that costs.

    .venv/bin/python benchmarks/cli_speed.py > results/cli_speed.txt
    .venv/bin/python benchmarks/cli_speed.py --src /tmp/old/src   # another checkout's src/, e.g.
                                                                  # `git archive <commit> src | tar -x -C /tmp/old`
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_S = 0.5
COMMANDS = (["--help"], ["--version"], ["compare", "--help"], ["train", "--help"])
RUN_CLI = "import sys; from lfd_tcmen.cli import main; sys.exit(main(sys.argv[1:]))"


def wall_times(code: str, args: list[str], src: Path, repeats: int) -> list[float]:
    """Seconds each of ``repeats`` fresh interpreters takes to run ``code`` with ``args``."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=120
        )
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"{args}: exit {done.returncode}\n{done.stderr}")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="runs per command line (default 7)")
    parser.add_argument(
        "--src",
        type=Path,
        action="append",
        help="a src/ folder to time (repeatable; default: this checkout's)",
    )
    args = parser.parse_args()
    sources = args.src or [REPO / "src"]
    print(
        f"# .venv/bin/python benchmarks/cli_speed.py --repeats {args.repeats}  ({time.strftime('%Y-%m-%d')})"
    )
    print(f"# {os.cpu_count()} cores; wall time of a fresh interpreter, seconds; target < {TARGET_S} s")
    print()
    print("| src | command | median s | fastest s | under target |")
    print("|---|---|--:|--:|---|")
    for src in sources:
        rows = [("(python, nothing imported)", "pass", [])]
        rows.append(("(import torch)", "import torch", []))
        rows += [(f"lfd-tcmen {' '.join(c)}", RUN_CLI, c) for c in COMMANDS]
        for label, code, cli_args in rows:
            times = wall_times(code, cli_args, src, args.repeats)
            median = statistics.median(times)
            under = "yes" if median < TARGET_S else "no"
            shown = src.relative_to(REPO) if src.is_relative_to(REPO) else src
            print(f"| {shown} | {label} | {median:.3f} | {min(times):.3f} | {under} |")


if __name__ == "__main__":
    main()
