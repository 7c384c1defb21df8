"""``lfd-tcmen score FILE``: UF1 / UAR / accuracy of a predictions CSV or a MEGC2019-style log."""

from __future__ import annotations

import argparse
import json
import logging

from lfd_tcmen.evaluation.scoring import score_file
from lfd_tcmen.report.tables import markdown_table

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "score",
        help="score predictions with the MEGC2019 metrics (UF1, UAR pooled over all folds)",
        description=(
            "Score a predictions CSV (columns dataset,subject,sample,label,pred), a MEGC2019 "
            "submission log ('<db> <subject>' lines, then '<video> <ground truth> <prediction>') "
            "or an STSTNet python log. The format is detected. Metrics pool all folds."
        ),
    )
    parser.add_argument("file", help="predictions CSV or log file")
    parser.add_argument("--json", action="store_true", help="print the scores as JSON")
    parser.add_argument(
        "--num-classes",
        type=int,
        default=None,
        metavar="N",
        help="number of classes; labels must lie in [0, N) (default: largest label + 1)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    table, predictions = score_file(args.file, num_classes=args.num_classes)
    for note in predictions.notes:
        logger.info(f"lfd-tcmen: note: {note}")
    if args.json:
        print(json.dumps(table, indent=2))
        return 0
    rows = [{"dataset": name, **scores} for name, scores in table["per_dataset"].items()]
    rows.append({"dataset": "overall", **table["overall"]})
    print(f"{predictions.path} ({predictions.format}): metrics pooled over all folds")
    print(
        markdown_table(
            rows,
            [("dataset", "dataset"), ("n", "n"), ("uf1", "UF1"), ("uar", "UAR"), ("accuracy", "accuracy")],
        )
    )
    return 0
