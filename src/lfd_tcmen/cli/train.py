"""``lfd-tcmen train``: cross-subject training and evaluation from a YAML config (resumable)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lfd_tcmen.cli.common import add_worker_options, check_worker_options, features_for, names
from lfd_tcmen.config import PROTOCOLS, load_config
from lfd_tcmen.errors import LFDError
from lfd_tcmen.models import model_default_train, model_names
from lfd_tcmen.runs.experiment import run_experiment
from lfd_tcmen.runs.features import preprocess_info
from lfd_tcmen.runs.folds import make_folds, select_folds


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
    parser.add_argument("--config", required=True, type=Path, help="experiment YAML (see configs/)")
    parser.add_argument(
        "--out", type=Path, default=None, help="run folder (default runs/<name>[-<protocol>])"
    )
    parser.add_argument("--folds", default=None, help="comma-separated fold names to run (default all)")
    parser.add_argument("--resume", action="store_true", help="keep the run folder's finished folds")
    parser.add_argument("--seed", type=int, default=None, help="override the config's seed")
    parser.add_argument("--epochs", type=int, default=None, help="override train.epochs")
    parser.add_argument(
        "--protocol",
        choices=PROTOCOLS,
        default=None,
        help="honest (default): fixed epochs, test subject unseen; leaky-best-epoch: the peers' "
        "practice of keeping each fold's best epoch on its test subject (labelled in every output)",
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
    add_worker_options(parser, "folds")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config).override(seed=args.seed, protocol=args.protocol, model=args.model)
    if args.model is not None and args.model not in model_names():
        raise LFDError(f"unknown model {args.model!r}; known: {', '.join(model_names())}")
    if args.model_defaults:
        config = config.with_train(**model_default_train(config.model.name))
    config = config.override(epochs=args.epochs)
    check_worker_options(args, config.train.threads)
    features, path = features_for(config.data, args.config)
    folds = make_folds(features, config.data, config.seed)
    if args.list_folds:
        for fold in folds:
            print(fold.name)
        return 0
    fold_names = names(args.folds, "--folds")
    selected = select_folds(folds, fold_names)  # bad names fail before any work
    out = args.out or Path("runs") / (
        config.name if config.train.protocol == "honest" else f"{config.name}-{config.train.protocol}"
    )
    print(
        f"{config.name}: {config.model.name} on {len(features)} samples, {len(set(features.subjects))} subjects "
        f"({path}); {len(selected)} fold(s); protocol {config.train.protocol}; run folder {out}"
        + (f"; {args.workers} workers" if args.workers > 1 else ""),
        file=sys.stderr,
    )
    summary = run_experiment(
        config,
        features,
        out,
        preprocess=preprocess_info(features, config.data),
        fold_names=fold_names,
        resume=args.resume,
        progress=not args.no_progress,
        workers=args.workers,
        engine=args.engine,
        ray_address=args.ray_address,
    )
    if summary.metrics.get("folds_done"):
        print(format_summary(summary.metrics, summary.out_dir, summary.wall_s, len(summary.folds_kept)))
    if summary.failed:
        for failure in summary.failed:
            print(f"lfd-tcmen: fold {failure['fold']} failed: {failure['error']}", file=sys.stderr)
        failed = ", ".join(f["fold"] for f in summary.failed)
        print(
            f"lfd-tcmen: {len(summary.failed)} fold(s) failed ({failed}); the others are saved in "
            f"{summary.out_dir}; rerun with --resume to retry the failed ones",
            file=sys.stderr,
        )
        return 1
    return 0


def format_summary(metrics: dict, out_dir: Path, wall_s: float, kept: int = 0) -> str:
    """The final print-out: pooled scores, protocol, identity leakage, where the files are."""
    o = metrics["overall"]
    lines = [
        f"protocol: {metrics['protocol']}"
        + ("  (LEAKY: epoch chosen on the test subject)" if metrics["protocol"] != "honest" else ""),
        f"folds: {metrics['folds_done']}/{metrics['folds_total']}"
        + (f" ({kept} kept from before)" if kept else ""),
        f"UF1 {o['uf1']:.4f}  UAR {o['uar']:.4f}  accuracy {o['accuracy']:.4f}  n {o['n']}",
    ]
    for name, d in metrics.get("per_dataset", {}).items():
        if len(metrics["per_dataset"]) > 1:
            lines.append(
                f"  {name}: UF1 {d['uf1']:.4f}  UAR {d['uar']:.4f}  accuracy {d['accuracy']:.4f}  n {d['n']}"
            )
    leak = metrics.get("identity_leakage", {})
    if leak.get("available"):
        codes = ", ".join(
            f"{name} code {leak[name]['accuracy']:.3f}" for name in ("motion", "identity") if name in leak
        )
        chance = next(leak[name]["chance"] for name in ("motion", "identity") if name in leak)
        lines.append(
            f"identity leakage (subject from code, linear probe on training samples, mean of {leak['folds']} "
            f"folds): {codes}, chance {chance:.3f}"
        )
    else:
        lines.append(f"identity leakage: not measured ({leak.get('reason', 'no codes')})")
    lines.append(f"wall time {wall_s:.1f} s (training time of all folds {metrics['train_wall_s']:.1f} s)")
    lines.append(f"results in {out_dir}")
    return "\n".join(lines)
