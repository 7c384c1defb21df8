"""``lfd-tcmen benchmark``: every method and ablation on the same folds, both protocols, one table."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ENV_DATA = "LFD_TCMEN_DATA"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "benchmark",
        help="train and evaluate every method and ablation on the same folds (honest and leaky)",
        description=(
            "Run every method and ablation of a benchmark YAML (see benchmarks/) on one fold list, "
            "seed and feature set, under the honest protocol and the labelled leaky one, and write "
            "OUT/table.md, OUT/bars.png, OUT/results.json and one run folder per method and "
            "protocol (OUT/runs/<method>__<protocol>/). Rerun with --resume after an interruption."
        ),
    )
    parser.add_argument("--config", required=True, type=Path, help="benchmark YAML (benchmarks/*.yaml)")
    parser.add_argument("--methods", default=None, help="comma-separated method/ablation names (default all)")
    parser.add_argument("--folds", default=None, help="comma-separated fold names (default all)")
    parser.add_argument(
        "--protocols", default=None, help="comma-separated: honest,leaky-best-epoch (default: the config's)"
    )
    parser.add_argument("--out", type=Path, default=None, help="output folder (default results/<name>)")
    parser.add_argument("--data", type=Path, default=None, help="data folder (overrides data.path)")
    parser.add_argument("--resume", action="store_true", help="keep finished folds of every run folder")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="(method, fold) trainings at once, as Ray tasks (default 1: serial)",
    )
    parser.add_argument(
        "--ray-address",
        default=None,
        metavar="ADDR",
        help="run the trainings on this Ray cluster (with --workers N: N at a time) instead of a local Ray",
    )
    parser.add_argument(
        "--report-only", action="store_true", help="train nothing: rebuild the table from the finished folds"
    )
    parser.add_argument("--list", action="store_true", help="print methods, settings and fold count; exit")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)


def _names(text: str | None) -> list[str] | None:
    return [n.strip() for n in text.split(",") if n.strip()] if text else None


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from lfd_tcmen.engine.benchmark import load_benchmark, run_benchmark
    from lfd_tcmen.engine.data import load_features, preprocess_info, resolve_data_path
    from lfd_tcmen.engine.folds import make_folds, select_folds
    from lfd_tcmen.errors import LFDError

    if args.workers < 1:
        raise LFDError(f"--workers must be >= 1, got {args.workers}")
    bench = load_benchmark(args.config)
    if args.data is not None:
        bench = replace(bench, data={**bench.data, "path": str(args.data.resolve())})
    methods = _names(args.methods)
    for name in methods or []:
        bench.method(name)  # unknown names fail before any work
    protocols = _names(args.protocols)
    first = bench.experiment(bench.methods[0].name, bench.protocols[0])
    bases = [Path.cwd(), args.config.resolve().parent.parent]
    path = resolve_data_path(first.data, os.environ.get(ENV_DATA) or None, bases)
    features = load_features(first.data, path)
    folds = make_folds(features, first.data, bench.seed)
    selected = select_folds(folds, _names(args.folds))
    if args.list:
        for m in bench.methods:
            cfg = bench.experiment(m.name, bench.protocols[0])
            t = cfg.train
            what = f"skip: {m.skip}" if m.skip else f"epochs {t.epochs}, lr {t.lr:g}, batch {t.batch_size}"
            print(f"{m.name:24s} {m.kind:8s} {m.model:12s} {what}")
        print(f"{len(folds)} folds ({len(selected)} selected); protocols {', '.join(bench.protocols)}")
        return 0
    out = args.out or Path("results") / bench.name
    print(
        f"{bench.name}: {len(features)} samples, {len(set(features.subjects))} subjects ({path}); "
        f"{len(selected)}/{len(folds)} fold(s); output {out}",
        file=sys.stderr,
    )
    result = run_benchmark(
        bench,
        features,
        out,
        methods=methods,
        fold_names=_names(args.folds),
        protocols=protocols,
        resume=args.resume,
        workers=args.workers,
        ray_address=args.ray_address,
        progress=not args.no_progress,
        preprocess=preprocess_info(features, first.data),
        train=not args.report_only,
    )
    print((result.out_dir / "table.md").read_text(encoding="utf-8"))
    return 0
