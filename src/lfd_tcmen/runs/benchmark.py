"""One fair comparison: every method and ablation on the same folds, seed and features.

    bench = load_benchmark("benchmarks/megc2019.yaml")
    result = run_benchmark(bench, features, "results/megc2019", resume=True, executor=ExecutorOptions(workers=2))

The benchmark is a loop over runs: it builds each method's ``ExperimentConfig`` from the YAML
(``benchmark_config``), makes it a ``RunPlan`` with one run folder per protocol,
``OUT/runs/<method>__<protocol>/``, and hands all plans to ``run_experiments``, the function
``lfd-tcmen train`` uses, on the same executor and under the same error rule. So every row is
exactly what ``lfd-tcmen train`` gives for that method's config. ``OUT/table.md``,
``OUT/bars.png`` and ``OUT/results.json`` sum the runs up.

Both protocols from one training: a plan trains each fold once; the last epoch goes to the
honest run and the best-on-test epoch to the leaky run (``training.protocols``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lfd_tcmen.config.benchmark import BenchmarkConfig
from lfd_tcmen.config.experiment import PROTOCOLS
from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.core.locks import exclusive
from lfd_tcmen.data.features import FeatureSet
from lfd_tcmen.report.benchmark_table import RUNS_DIR, add_comparisons, collect_rows, write_reports
from lfd_tcmen.report.printout import RowProgress
from lfd_tcmen.report.summary import read_metrics
from lfd_tcmen.runs.ensemble import write_declared_ensemble
from lfd_tcmen.runs.experiment import RunOptions, RunPlan, report_run, run_experiments
from lfd_tcmen.runs.folds import make_folds, select_folds
from lfd_tcmen.runs.run_dir import count_parameters, data_fingerprint, is_finished, read_fold_info
from lfd_tcmen.runs.seeds import read_summary, seed_dir, summarize_seeds


def _scores(folder: Path, seeds: int) -> dict[str, Any] | None:
    """A run's scores for the table: its metrics.json, or with several seeds its seeds.json."""
    return read_summary(folder) if seeds > 1 else read_metrics(folder)


def run_dir(out_dir: str | Path, method: str, protocol: str) -> Path:
    """``OUT/runs/<method>__<protocol>``: a normal ``lfd-tcmen train`` run folder."""
    return Path(out_dir) / RUNS_DIR / f"{method}__{protocol}"


@dataclass
class BenchmarkResult:
    out_dir: Path
    rows: list[dict[str, Any]]
    folds: list[str]
    trained: dict[str, list[str]] = field(default_factory=dict)  # method -> folds trained now
    failed: list[dict[str, str]] = field(default_factory=list)  # {"method", "fold", "error"}


def benchmark_plans(
    bench: BenchmarkConfig, out_dir: str | Path, methods: Sequence[str] | None, protocols: Sequence[str]
) -> list[RunPlan]:
    """One ``RunPlan`` per chosen method that is not skipped and per seed, in the config's order.

    One seed: ``OUT/runs/<method>__<protocol>/`` is the run folder; several: it holds one run
    folder per seed (``seed<k>/``), the seed ensemble and ``seeds.json`` (``runs.seeds``).
    """
    chosen = set(methods) if methods else None
    plans = []
    for m in bench.methods:
        if m.skip or (chosen is not None and m.name not in chosen):
            continue
        for k in bench.seeds:
            config = bench.experiment(m.name, protocols[0], seed=k)
            dirs = {p: run_dir(out_dir, m.name, p) for p in protocols}
            if len(bench.seeds) > 1:
                dirs = {p: seed_dir(d, k) for p, d in dirs.items()}
            plans.append(RunPlan(config, dirs, m.name if len(bench.seeds) == 1 else f"{m.name} seed {k}"))
    return plans


def benchmark_progress(
    bench: BenchmarkConfig,
    out_dir: str | Path,
    fold_names: Sequence[str],
    methods: Sequence[str] | None = None,
    protocols: Sequence[str] | None = None,
) -> list[RowProgress]:
    """Each chosen method's finished trainings of ``fold_names`` (all seeds) in ``out_dir``.

    A training counts once, in its first protocol's run folder (the protocols share it). Nothing
    is verified here beyond the files being there: ``--resume`` verifies before it reuses.
    """
    protocols = tuple(protocols or bench.protocols)
    rows = []
    for m in bench.methods:
        if m.skip or (methods and m.name not in methods):
            continue
        plans = benchmark_plans(bench, out_dir, [m.name], protocols)  # one per seed
        seconds = [
            float(read_fold_info(plan.dirs[protocols[0]], fold).get("wall_s") or 0.0)
            for plan in plans
            for fold in fold_names
            if is_finished(plan.dirs[protocols[0]], fold)
        ]
        median = float(np.median(seconds)) if seconds else None
        rows.append(RowProgress(m.name, len(seconds), len(plans) * len(fold_names), median))
    return rows


def ensemble_rows(
    bench: BenchmarkConfig, out: Path, names: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """One row per (declared ensemble, protocol) whose members are all among ``names``: the
    ensemble written to ``OUT/runs/<name>__<protocol>/`` (``runs.ensemble``) from its members'
    run folders once every member has a measured row, else a "missing" row saying what lacks."""
    found: list[dict[str, Any]] = []
    for ensemble in bench.ensembles:
        if not set(ensemble.members) <= set(names):
            continue
        for protocol in dict.fromkeys(r["protocol"] for r in rows):
            members = [
                r
                for r in rows
                if r["method"] in ensemble.members and r["protocol"] == protocol and not r.get("variant")
            ]
            row: dict[str, Any] = {
                "method": ensemble.name,
                "kind": "ensemble",
                "model": " + ".join(ensemble.members),
                "protocol": protocol,
                "note": ensemble.note,
            }
            lacking = [
                m for m in ensemble.members if not any(r["method"] == m and "uf1" in r for r in members)
            ]
            if lacking:
                found.append({**row, "status": "missing", "note": f"no finished run of {', '.join(lacking)}"})
                continue
            folders = [run_dir(out, m, protocol) for m in ensemble.members]
            metrics = write_declared_ensemble(
                folders, run_dir(out, ensemble.name, protocol), f"{bench.name}-{ensemble.name}"
            )
            o = metrics["overall"]
            folds = {r["folds"] for r in members}
            row.update(
                uf1=o["uf1"],
                uar=o["uar"],
                accuracy=o["accuracy"],
                n=o["n"],
                folds=min(folds, key=lambda f: int(str(f).split("/")[0])),  # the fewest folds done
                seeds=sum(m["seeds"] for m in metrics["members"]),
                status="done" if all(r.get("status") == "done" for r in members) else "partial",
            )
            if len(metrics["per_dataset"]) > 1:  # as the method rows: per dataset where there are several
                row.update({f"uf1_{k}": v["uf1"] for k, v in metrics["per_dataset"].items()})
            found.append(row)
    return found


def run_benchmark(
    bench: BenchmarkConfig,
    features: FeatureSet,
    out_dir: str | Path,
    *,
    methods: Sequence[str] | None = None,
    protocols: Sequence[str] | None = None,
    preprocess: dict[str, Any] | None = None,
    train: bool = True,
    resamples: int = 10_000,
    **run_options: Any,
) -> BenchmarkResult:
    """Train and evaluate the chosen methods (default: all not skipped) and write the reports.

    ``run_options`` are ``RunOptions`` fields, as for ``run_experiment`` (fold_names, resume,
    executor, progress). ``train=False`` only rebuilds the reports from the
    finished folds (of ``fold_names``). With several seeds each row shows the mean and sd over
    seeds, and a seed-ensemble row follows it. With a ``reference`` method in the config, every
    row shows its difference from the reference with a paired bootstrap interval (``resamples``).
    Writes ``OUT/table.md``, ``OUT/bars.png``, ``OUT/results.json``, each run's reports and logs,
    and ``OUT/run.log`` (every run's lines).

    Nine parameters: what runs (config, data, folder), which part (methods, protocols, train), what
    it records (preprocess, resamples), and ``RunOptions`` fields, each one a ``benchmark`` option.
    """
    out = Path(out_dir)
    options = RunOptions(**run_options, log_to=(out,))  # OUT/run.log: every run's lines
    protocols = tuple(protocols or bench.protocols)
    bad = [p for p in protocols if p not in PROTOCOLS]
    if bad:
        raise LFDError(f"unknown protocol(s) {', '.join(bad)}; known: {', '.join(PROTOCOLS)}")
    for name in methods or []:
        bench.method(name)  # an unknown name is an error before any work
    plans = benchmark_plans(bench, out, methods, protocols)
    folds = make_folds(features, bench.experiment(bench.methods[0].name, protocols[0]).data, bench.seed)
    selected = select_folds(folds, options.fold_names)
    with exclusive(out, "benchmark folder"):  # one benchmark writes OUT at a time
        out.mkdir(parents=True, exist_ok=True)
        trained: dict[str, list[str]] = {plan.label: [] for plan in plans}
        failed: list[dict[str, str]] = []
        if train and plans:
            summaries = iter(run_experiments(plans, features, options, preprocess))
            for plan in plans:
                first, *_ = [next(summaries) for _ in plan.protocols]  # one per run folder, same folds
                trained[plan.label] = first.folds_trained
                failed += [
                    {"method": plan.label, "fold": f["fold"], "error": f["error"]} for f in first.failed
                ]
        else:
            for plan in plans:
                for protocol, d in plan.dirs.items():
                    if d.is_dir():
                        report_run(
                            d, plan.config_for(protocol), features, selected, len(folds), rebuild=False
                        )
        names = [m.name for m in bench.methods if not methods or m.name in methods]  # the config's order
        if len(bench.seeds) > 1:
            for name in names:
                for protocol in protocols:
                    if not bench.method(name).skip and run_dir(out, name, protocol).is_dir():
                        config = bench.experiment(name, protocol)
                        summarize_seeds(run_dir(out, name, protocol), bench.seeds, config, features, selected)
        rows = collect_rows(
            bench,
            names,
            protocols,
            metrics_of=lambda method, protocol: _scores(run_dir(out, method, protocol), len(bench.seeds)),
            parameters_of=lambda method: count_parameters(bench.experiment(method, protocols[0]), features),
            folds_total=len(folds),
        )
        rows += ensemble_rows(bench, out, names, rows)
        add_comparisons(rows, bench, lambda method, protocol: run_dir(out, method, protocol), resamples)
        fold_names = [f.name for f in selected]
        write_reports(bench, out, rows, fold_names, len(folds), data_fingerprint(features), protocols)
        return BenchmarkResult(out, rows, fold_names, trained, failed)
