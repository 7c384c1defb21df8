"""``lfd-tcmen compare RUN_A RUN_B``: is A better than B, with a paired subject-cluster bootstrap."""

from __future__ import annotations

import argparse
import json

from lfd_tcmen.cli.common import at_least_one
from lfd_tcmen.report.compare import compare_runs, format_comparison


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="compare two runs: pooled UF1/UAR, their difference with a 95%% interval and p-value",
        description=(
            "Compare two runs on the same samples: their pooled UF1 and UAR, and the difference A - B "
            "with a 95%% interval and p-value from a paired bootstrap that resamples subjects (within "
            "each dataset) and, for runs with several seeds, seeds. A run is a predictions CSV, a run "
            "folder, or a folder of seed run folders."
        ),
    )
    parser.add_argument("run_a", help="run A: predictions CSV, run folder, or folder of seed run folders")
    parser.add_argument("run_b", help="run B, the same kinds")
    parser.add_argument("--resamples", type=int, default=10_000, help="bootstrap resamples (default 10000)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    resamples = at_least_one(args.resamples, "--resamples")
    result = compare_runs(args.run_a, args.run_b, resamples=resamples, seed=args.seed)
    print(json.dumps(result, indent=2) if args.json else format_comparison(result))
    return 0
