"""``lfd-tcmen compare RUN_A RUN_B [RUN...]``: runs side by side, each run minus the first with a
paired subject-cluster bootstrap (``report.compare.compare_many``)."""

from __future__ import annotations

import argparse
import json

from lfd_tcmen.cli.common import at_least_one
from lfd_tcmen.evaluation.stats import ALPHA, MIN_SUBJECTS
from lfd_tcmen.report.compare import compare_many, format_many


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="compare runs: pooled UF1/UAR with intervals, per dataset and class, and their differences",
        description=(
            "Compare runs on the same samples: their pooled UF1 and UAR with 95% intervals, per "
            "dataset and per class, and each run minus the first (B - A, C - A, ...) with a 95% "
            "interval and p-value from a paired bootstrap that resamples subjects (within each "
            "dataset) and, for runs with several seeds, seeds; with three runs or more the p-values "
            "are also Holm-adjusted. A difference is called better or worse only when its interval "
            f"excludes 0 and its (Holm-adjusted) p is below {ALPHA}; with fewer than {MIN_SUBJECTS} "
            "subjects no interval or verdict is given. A run is a predictions CSV, a run folder, a "
            "folder of seed run folders, or a MEGC2019 log (a peer's published predictions, paired "
            "with a composite run by sample name)."
        ),
    )
    parser.add_argument(
        "run_a",
        help="run A: predictions CSV, run folder, folder of seed run folders, or MEGC2019 log",
    )
    parser.add_argument("run_b", help="run B, the same kinds")
    parser.add_argument("more", nargs="*", metavar="RUN", help="more runs, each minus A like B")
    parser.add_argument("--resamples", type=int, default=10_000, help="bootstrap resamples (default 10000)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    resamples = at_least_one(args.resamples, "--resamples")
    result = compare_many([args.run_a, args.run_b, *args.more], resamples=resamples, seed=args.seed)
    print(json.dumps(result, indent=2) if args.json else format_many(result))
    return 0
