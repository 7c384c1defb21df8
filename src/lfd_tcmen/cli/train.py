"""``lfd-tcmen train``: cross-subject training and evaluation from a YAML config (resumable)."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from lfd_tcmen.cli.common import (
    add_set_option,
    add_worker_options,
    check_worker_options,
    config_file,
    executor_options,
    features_for,
    names,
    seed_list,
)
from lfd_tcmen.config.experiment import PROTOCOLS, load_config
from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.core.files import json_text
from lfd_tcmen.models import model_default_train, model_names
from lfd_tcmen.models.factory import check_grid_models, check_model_config
from lfd_tcmen.report.html import REPORT
from lfd_tcmen.report.printout import format_run, format_seeds
from lfd_tcmen.runs.experiment import RunSummary, run_experiment
from lfd_tcmen.runs.features import preprocess_info
from lfd_tcmen.runs.final import final_config, final_models, read_estimate, record_estimate
from lfd_tcmen.runs.folds import make_folds, select_folds
from lfd_tcmen.runs.seeds import run_seeds

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="leave-one-subject-out training and evaluation (honest by default; resumable)",
        description=(
            "Train one model per fold (leave-one-subject-out unless the config says otherwise) and "
            "write predictions, metrics.json, tables and figures to the run folder. Under the honest "
            "protocol (default) nothing about a fold's test subject influences its training. A fold's "
            "results are saved as soon as it finishes: rerun with --resume after an interruption."
        ),
    )
    parser.add_argument(
        "--config",
        required=True,
        type=Path,
        help="experiment YAML, or the name of one the package ships (e.g. synthetic; lfd-tcmen config list)",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="run folder (default runs/<name>[-<protocol>])"
    )
    parser.add_argument("--folds", default=None, help="comma-separated fold names to run (default all)")
    parser.add_argument("--resume", action="store_true", help="keep the run folder's finished folds")
    seed = parser.add_mutually_exclusive_group()
    seed.add_argument("--seed", type=int, default=None, help="override the config's seed")
    seed.add_argument(
        "--seeds",
        default=None,
        metavar="K,K,...",
        help="train with each of these seeds (every seed and fold one task) into OUT/seed<k>/, then "
        "the seed ensemble (OUT/ensemble/) and mean and sd over seeds (OUT/seeds.json)",
    )
    parser.add_argument("--epochs", type=int, default=None, help="override train.epochs")
    add_set_option(parser)
    parser.add_argument(
        "--protocol",
        choices=PROTOCOLS,
        default=None,
        help="honest (default): fixed epochs, test subject unseen; honest-nested: the stopping epoch "
        "chosen by cross-validation over each fold's training subjects (train.select_k folds), test "
        "subject unseen; leaky-best-epoch: the peers' practice of keeping each fold's best epoch on "
        "its test subject (labelled in every output)",
    )
    parser.add_argument("--model", default=None, help="override model.name (drops the config's model.params)")
    parser.add_argument(
        "--model-defaults",
        action="store_true",
        help="train with the model's published settings: epochs, lr and batch size from its class's "
        "default_train (the paper's; docs/peers.md), then --epochs if given",
    )
    parser.add_argument(
        "--list-folds", action="store_true", help="print the fold names, one per line, and exit"
    )
    parser.add_argument(
        "--final",
        action="store_true",
        help="train the model to deploy: the config on every subject (data.split all), into "
        "OUT/folds/all/model.pt (default OUT runs/<name>-final)",
    )
    parser.add_argument(
        "--estimate",
        type=Path,
        default=None,
        metavar="RUN",
        help="with --final: the finished LOSO/k-fold run folder of the same config whose scores the "
        "final model records as its honest estimate (shown by predict)",
    )
    add_worker_options(parser, "folds")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object on stdout (run folder, metrics or per-seed scores, failures) "
        "instead of the text summary",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    args.config = config_file(args.config)
    config = load_config(args.config, args.overrides).override(
        seed=args.seed, protocol=args.protocol, model=args.model
    )
    if args.model is not None and args.model not in model_names():
        raise LFDError(f"unknown model {args.model!r}; known: {', '.join(model_names())}")
    if args.model_defaults:
        config = config.with_train(**model_default_train(config.model.name))
    config = config.override(epochs=args.epochs)
    if args.estimate is not None and not args.final:
        raise LFDError("--estimate goes with --final")
    estimate = None
    if args.final:  # the config on every subject; its honest estimate is checked before training
        estimate = read_estimate(args.estimate, config) if args.estimate is not None else None
        config = final_config(config)
    check_worker_options(args, config.train.threads)
    seeds = None if args.seeds is None else seed_list(args.seeds)
    features, path = features_for(config.data, args.config)
    check_model_config(features, config.model.name, config.model.params, args.config)
    check_grid_models(features, config.model.name, config.model.params, config.train.select_grid, args.config)
    folds = make_folds(features, config.data, config.seed)
    if args.list_folds:
        print(json.dumps([f.name for f in folds]) if args.json else "\n".join(f.name for f in folds))
        return 0
    fold_names = names(args.folds, "--folds")
    selected = select_folds(folds, fold_names)  # bad names fail before any work
    out = args.out or Path("runs") / (
        config.name if config.train.protocol == "honest" else f"{config.name}-{config.train.protocol}"
    )
    if args.final and args.out is None:
        out = out.with_name(f"{out.name}-final")
    logger.info(
        f"{config.name}: {config.model.name} on {len(features)} samples, {len(set(features.subjects))} subjects "
        f"({path}); {len(selected)} fold(s); protocol {config.train.protocol}; run folder {out}"
        + (f"; {args.workers} workers" if args.workers > 1 else "")
    )
    options = dict(
        fold_names=fold_names,
        resume=args.resume,
        progress=not args.no_progress,
        executor=executor_options(args),
    )
    preprocess = preprocess_info(features, config.data)
    if seeds is not None:
        summaries, over_seeds = run_seeds(config, features, out, seeds, preprocess=preprocess, **options)
        if args.final:
            _record(final_models(out, seeds), estimate)
        print(json_text({"out": out, **over_seeds}).rstrip() if args.json else format_seeds(over_seeds, out))
        return _report_failures([f for s in summaries for f in s.failed], out)
    summary = run_experiment(config, features, out, preprocess=preprocess, **options)
    if args.final:
        _record(final_models(out), estimate)
    if args.json:
        print(json_text(summary_json(summary)).rstrip())
    elif summary.metrics.get("folds_done"):
        print(format_run(summary.metrics, summary.out_dir, summary.wall_s, len(summary.folds_kept)))
        print(f"report: {summary.out_dir / REPORT}")
    return _report_failures(summary.failed, summary.out_dir)


def _record(models: list[Path], estimate: dict | None) -> None:
    """Write the honest estimate (or that there is none) into the final model(s); say which."""
    record_estimate(models, estimate)
    if estimate is None:
        logger.warning(
            "lfd-tcmen: warning: no honest estimate recorded in the final model; train the same config "
            "with LOSO first and pass its run folder as --estimate RUN"
        )
    else:
        logger.info(f"final model(s) {', '.join(map(str, models))} carry the estimate of {estimate['run']}")


def summary_json(summary: RunSummary) -> dict:
    """What ``train --json`` prints: where the run is, its metrics, what was kept and what failed."""
    return {
        "out": summary.out_dir,
        "wall_s": summary.wall_s,
        "folds_trained": sorted(summary.folds_trained),
        "folds_kept": sorted(summary.folds_kept),
        "failed": [{"fold": f["fold"], "error": f["error"]} for f in summary.failed],
        "metrics": summary.metrics,
    }


def _report_failures(failed: list[dict], out_dir: Path) -> int:
    """One line per failed fold and a closing line; exit status 1 when any failed."""
    if not failed:
        return 0
    for failure in failed:
        logger.error(f"lfd-tcmen: fold {failure['fold']} failed: {failure['error']}")
    logger.error(
        f"lfd-tcmen: {len(failed)} fold(s) failed ({', '.join(f['fold'] for f in failed)}); the others are "
        f"saved in {out_dir}; rerun with --resume to retry the failed ones"
    )
    return 1
