"""``lfd-tcmen evaluate``: score a trained checkpoint (or a run's) on another dataset's prepared store."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from lfd_tcmen.inference.cross_dataset import (
    default_out,
    evaluate_checkpoints,
    find_checkpoints,
    write_evaluation,
)
from lfd_tcmen.report.tables import markdown_table

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="score a trained model on another dataset's prepared feature store (cross-dataset)",
        description=(
            "Score a checkpoint on a feature store written by `lfd-tcmen prepare` (e.g. a model "
            "trained on the MEGC2019 composite with data.split: all, scored on CAS(ME)^3 prepared "
            "with casme3-3class). The store's clips are fed to the model as its training features "
            "were (sizes, flow normalisation, face frames and flow segments from the checkpoint); "
            "classes are matched by name. CHECKPOINT is a model.pt, a run folder (its "
            "folds/all/model.pt) or a multi-seed run folder (each seed<k>/folds/all/model.pt: the "
            "seed ensemble, probabilities averaged). Writes predictions.csv (readable by "
            "`lfd-tcmen score`) and metrics.json; prints UF1, UAR and accuracy overall and per dataset."
        ),
    )
    parser.add_argument(
        "checkpoint", type=Path, help="model.pt, or a run folder trained with data.split: all"
    )
    parser.add_argument(
        "--store", required=True, type=Path, help="feature store folder written by `lfd-tcmen prepare`"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="where predictions.csv and metrics.json go (default RUN/evaluate/<store folder name>)",
    )
    parser.add_argument("--json", action="store_true", help="print metrics.json's content as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    checkpoints = find_checkpoints(args.checkpoint)
    evaluation = evaluate_checkpoints(checkpoints, args.store)
    out = write_evaluation(evaluation, args.out or default_out(args.checkpoint, args.store))
    for note in evaluation.notes:
        logger.info(f"lfd-tcmen: note: {note}")
    if args.json:
        print(json.dumps({**evaluation.to_dict(), "out": str(out)}, indent=2))
        return 0
    scores = evaluation.scores
    rows = [{"dataset": name, **s} for name, s in scores["per_dataset"].items()]
    rows.append({"dataset": "overall", **scores["overall"]})
    models = (
        f"{len(checkpoints)} checkpoints (seed ensemble)" if len(checkpoints) > 1 else str(checkpoints[0])
    )
    print(
        f"{models} on {args.store} ({evaluation.store_protocol or 'store'}): metrics pooled over all samples"
    )
    print(
        markdown_table(
            rows,
            [("dataset", "dataset"), ("n", "n"), ("uf1", "UF1"), ("uar", "UAR"), ("accuracy", "accuracy")],
        )
    )
    print(f"predictions and metrics in {out}")
    return 0
