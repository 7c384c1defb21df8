"""``lfd-tcmen ensemble RUN RUN [RUN...] --out DIR``: finished runs averaged into one run folder
(``runs.ensemble``), which ``score`` and ``compare`` read like any other."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lfd_tcmen.runs.ensemble import write_declared_ensemble


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "ensemble",
        help="average finished runs' test probabilities into one run folder (a declared ensemble)",
        description=(
            "Average the test probabilities of finished runs on the same samples (methods, each "
            "with its seeds: a member's seeds are averaged first, then members weigh the same) "
            "into a run folder with predictions.csv and metrics.json, which score and compare read "
            "like any other run. Name the members before looking at their test scores: an "
            "ensemble picked for its LOSO score is tuned on the test subjects."
        ),
    )
    parser.add_argument(
        "runs", nargs="+", metavar="RUN", help="run folder, folder of seed run folders, or predictions CSV"
    )
    parser.add_argument("--out", required=True, type=Path, help="the ensemble's run folder")
    parser.add_argument("--json", action="store_true", help="print its metrics as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    metrics = write_declared_ensemble(args.runs, args.out)
    if args.json:
        print(json.dumps(metrics, indent=2))
        return 0
    overall = metrics["overall"]
    print(
        f"{args.out}: {len(metrics['members'])} members, {overall['n']} samples; "
        f"UF1 {overall['uf1']:.4f}, UAR {overall['uar']:.4f}, accuracy {overall['accuracy']:.4f}"
    )
    return 0
