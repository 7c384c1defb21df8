"""``lfd-tcmen benchmark``: every method and ablation on the same folds, both protocols, one table."""

from __future__ import annotations

import argparse
import logging
from dataclasses import replace
from pathlib import Path

from lfd_tcmen.cli.common import (
    add_set_option,
    add_worker_options,
    at_least_one,
    check_worker_options,
    config_file,
    executor_options,
    features_for,
    names,
    seed_list,
)
from lfd_tcmen.config.benchmark import BenchmarkConfig, load_benchmark
from lfd_tcmen.config.experiment import DataConfig
from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.preprocess.prepare import DatasetFiles, prepare_store
from lfd_tcmen.report.benchmark_table import RUNS_DIR, rewrite_pages
from lfd_tcmen.report.html import REPORT
from lfd_tcmen.report.printout import format_benchmark_list
from lfd_tcmen.runs.benchmark import benchmark_progress, run_benchmark
from lfd_tcmen.runs.features import preprocess_info
from lfd_tcmen.runs.folds import make_folds, select_folds

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "benchmark",
        help="train and evaluate every method and ablation on the same folds (honest and leaky)",
        description=(
            "Run every method and ablation of a benchmark YAML (see benchmarks/) on one fold list, "
            "seed and feature set, under the honest protocol and the labelled leaky one, and write "
            "OUT/table.md, OUT/bars.png, OUT/results.json and one run folder per method and "
            "protocol (OUT/runs/<method>__<protocol>/). Rerun with --resume after an interruption. "
            "With --root and --annotations it first prepares the feature store from the dataset's "
            "raw frames (resumable), so one command goes from frames to the table."
        ),
    )
    parser.add_argument(
        "--config",
        required=True,
        type=Path,
        help="benchmark YAML, or the name of one the package ships (e.g. megc2019: the repository's benchmarks/)",
    )
    parser.add_argument("--methods", default=None, help="comma-separated method/ablation names (default all)")
    parser.add_argument("--folds", default=None, help="comma-separated fold names (default all)")
    parser.add_argument(
        "--protocols", default=None, help="comma-separated: honest,leaky-best-epoch (default: the config's)"
    )
    parser.add_argument(
        "--seeds",
        default=None,
        metavar="K,K,...",
        help="run every method with each of these seeds (default: the config's)",
    )
    parser.add_argument(
        "--resamples",
        type=int,
        default=10_000,
        help="bootstrap resamples for the comparison with the reference",
    )
    parser.add_argument("--out", type=Path, default=None, help="output folder (default results/<name>)")
    parser.add_argument("--data", type=Path, default=None, help="data folder (overrides data.path)")
    add_set_option(parser, " over every method's settings")
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        help="the dataset's raw frames: prepare (or complete) the feature store at data.path first, "
        "as the config's prepare section says (with --annotations)",
    )
    parser.add_argument(
        "--annotations",
        type=Path,
        nargs="+",
        default=None,
        metavar="FILE",
        help="with --root: the dataset's annotation file(s) (DFME: one per part)",
    )
    parser.add_argument("--resume", action="store_true", help="keep finished folds of every run folder")
    add_worker_options(parser, "(method, fold) trainings")
    parser.add_argument(
        "--report-only", action="store_true", help="train nothing: rebuild the table from the finished folds"
    )
    parser.add_argument(
        "--pages-only",
        action="store_true",
        help="read nothing but OUT/results.json: redraw OUT/bars.png and OUT/report.html from it (no "
        "data, no run folders; table.md and results.json unchanged)",
    )
    parser.add_argument(
        "--list",
        action="store_true",
        help="print methods, settings and fold count; with OUT there, each row's finished trainings "
        "and the time left, estimated from its finished folds (on --workers workers); exit",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    args.config = config_file(args.config, "benchmark_configs")
    bench = load_benchmark(args.config)
    if args.data is not None:
        bench = replace(bench, data={**bench.data, "path": str(args.data.resolve())})
    if (args.root is None) != (args.annotations is None):
        raise LFDError("give both --root and --annotations (to prepare the feature store), or neither")
    if args.seeds is not None:
        bench = replace(bench, seeds=seed_list(args.seeds))
    if args.overrides:
        bench = bench.with_overrides(args.overrides)
    at_least_one(args.resamples, "--resamples")
    if args.pages_only:
        page = rewrite_pages(bench, args.out or Path("results") / bench.name)
        logger.info(f"report: {page}")
        return 0
    methods = names(args.methods, "--methods")
    for name in methods or []:
        bench.method(name)  # unknown names fail before any work
    protocols = names(args.protocols, "--protocols")
    first = bench.experiment(bench.methods[0].name, bench.protocols[0])
    check_worker_options(args, first.train.threads)
    if args.root is not None:
        _prepare(bench, first.data, args)
    features, path = features_for(first.data, args.config)
    folds = make_folds(features, first.data, bench.seed)
    fold_names = names(args.folds, "--folds")
    selected = select_folds(folds, fold_names)
    out = args.out or Path("results") / bench.name
    if args.list:
        _list(bench, out, methods, protocols, [f.name for f in selected], args.workers)
        print(
            f"{len(folds)} folds ({len(selected)} selected); protocols {', '.join(bench.protocols)}; "
            f"seeds {', '.join(map(str, bench.seeds))}"
        )
        return 0
    out = args.out or Path("results") / bench.name
    logger.info(
        f"{bench.name}: {len(features)} samples, {len(set(features.subjects))} subjects ({path}); "
        f"{len(selected)}/{len(folds)} fold(s); output {out}"
    )
    result = run_benchmark(
        bench,
        features,
        out,
        methods=methods,
        protocols=protocols,
        preprocess=preprocess_info(features, first.data),
        train=not args.report_only,
        resamples=args.resamples,
        fold_names=fold_names,
        resume=args.resume,
        executor=executor_options(args),
        progress=not args.no_progress,
    )
    print((result.out_dir / "table.md").read_text(encoding="utf-8"))
    logger.info(f"report: {result.out_dir / REPORT}")  # stdout is the table alone
    return 0


def _list(
    bench: BenchmarkConfig,
    out: Path,
    methods: list[str] | None,
    protocols: list[str] | None,
    fold_names: list[str],
    workers: int,
) -> None:
    """``--list``: the methods, and with OUT there each row's finished trainings and the time left."""
    progress = {}
    if (out / RUNS_DIR).is_dir():
        progress = {r.method: r for r in benchmark_progress(bench, out, fold_names, methods, protocols)}
    text = format_benchmark_list(bench, methods, progress, out, workers)
    if text:
        print(text)


def _prepare(bench: BenchmarkConfig, data: DataConfig, args: argparse.Namespace) -> None:
    """Prepare (or complete: it resumes) the benchmark's feature store from raw frames."""
    if bench.prepare is None:
        raise LFDError(
            "this benchmark has no prepare section: it cannot make its data from raw frames", args.config
        )
    if data.source != "store":
        raise LFDError(f"prepare needs data.source store, not {data.source!r}", args.config)
    if data.path is None:
        raise LFDError("data.path is required: where to put the feature store", args.config)
    p = bench.prepare
    out = Path(data.path).expanduser()  # relative: from the working folder, where it is then found
    logger.info(f"{bench.name}: preparing {p.dataset} ({p.protocol}) from {args.root} into {out}")
    files = DatasetFiles(p.dataset, tuple(args.annotations), args.root, p.protocol)
    prepare_store(files, out, p.preprocess, executor=executor_options(args), progress=not args.no_progress)
