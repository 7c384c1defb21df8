"""One fair comparison: every method and ablation on the same folds, seed and features.

    bench = load_benchmark("benchmarks/megc2019.yaml")
    result = run_benchmark(bench, features, "results/megc2019", resume=True)

The YAML (``engine/benchmark_config.py``) names one data section, seed and shared training, the
methods and the ablations, each with its declared training budget. Every (method, protocol) is
a normal run folder, ``OUT/runs/<method>__<protocol>/``, resumable fold by fold and scorable
with ``lfd-tcmen score``; ``OUT/table.md``, ``OUT/bars.png`` and ``OUT/results.json`` sum them up.

Both protocols from one training: when both are asked for, each fold is trained once under the
leaky protocol with ``keep_last``; the best-on-test epoch goes to the leaky run and the last epoch
to the honest run. Evaluating the test subject after each epoch changes nothing in training, so
the honest run equals a stand-alone honest run exactly (tested), at half the cost.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from lfd_tcmen.config import PROTOCOLS, ExperimentConfig
from lfd_tcmen.data.features import FeatureSet
from lfd_tcmen.data.splits import Fold
from lfd_tcmen.engine import outputs
from lfd_tcmen.engine.benchmark_config import (
    BenchmarkConfig,
    Method,
    apply_model_defaults,
    benchmark_from_dict,
    load_benchmark,
    model_default_train,
)
from lfd_tcmen.engine.folds import fold_seed, make_folds, probed_folds, select_folds
from lfd_tcmen.engine.loso import data_fingerprint, prepare_run_dir, save_fold
from lfd_tcmen.engine.parallel import RETRIES, RaySession, describe, fetch
from lfd_tcmen.engine.summary import summarize_run
from lfd_tcmen.engine.train import train_fold
from lfd_tcmen.errors import LFDError

HONEST, LEAKY = PROTOCOLS
RUNS_DIR = "runs"
TABLE = "table.md"
BARS = "bars.png"
RESULTS = "results.json"
__all__ = [
    "BenchmarkConfig",
    "BenchmarkResult",
    "Method",
    "apply_model_defaults",
    "benchmark_from_dict",
    "load_benchmark",
    "model_default_train",
    "run_benchmark",
    "train_method_fold",
    "run_dir",
]


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


@dataclass(frozen=True)
class MethodRuns:
    """One method's training (``config``) and where each protocol's results go.

    With both protocols, ``config`` is the leaky one and trains with ``keep_last``: one training
    per fold fills both run folders.
    """

    method: str
    config: ExperimentConfig
    configs: dict[str, ExperimentConfig]
    dirs: dict[str, Path]

    @property
    def both(self) -> bool:
        return len(self.configs) == 2

    def finished(self, fold: str) -> bool:
        return all(outputs.is_finished(d, fold) for d in self.dirs.values())


def method_runs(bench: BenchmarkConfig, out: Path, method: str, protocols: Sequence[str]) -> MethodRuns:
    configs = {p: bench.experiment(method, p) for p in protocols}
    config = configs[LEAKY] if len(configs) == 2 else configs[protocols[0]]
    return MethodRuns(method, config, configs, {p: run_dir(out, method, p) for p in protocols})


def run_benchmark(
    bench: BenchmarkConfig,
    features: FeatureSet,
    out_dir: str | Path,
    *,
    methods: Sequence[str] | None = None,
    fold_names: Sequence[str] | None = None,
    protocols: Sequence[str] | None = None,
    resume: bool = False,
    workers: int = 1,
    ray_address: str | None = None,
    progress: bool = True,
    preprocess: dict[str, Any] | None = None,
    train: bool = True,
) -> BenchmarkResult:
    """Train and evaluate the chosen methods (default: all not skipped) and write the reports.

    One fold list (from the data and ``bench.seed``) serves every run. Work goes fold by fold
    (every method on one fold, then the next fold; datasets in turn, see ``interleaved``), so a
    benchmark stopped early holds the same folds for every method, and ``resume`` continues
    it. ``workers`` > 1 trains that many (method, fold) pairs at once as Ray tasks (a local Ray,
    or the cluster at ``ray_address``), with the retries of ``engine.parallel``.
    ``train=False`` only rebuilds the reports from the finished folds (of ``fold_names``).
    Writes ``OUT/table.md``, ``OUT/bars.png``, ``OUT/results.json`` and each run's reports.
    """
    out = Path(out_dir)
    protocols = tuple(protocols or bench.protocols)
    bad = [p for p in protocols if p not in PROTOCOLS]
    if bad:
        raise LFDError(f"unknown protocol(s) {', '.join(bad)}; known: {', '.join(PROTOCOLS)}")
    chosen = [bench.method(n) for n in methods] if methods else list(bench.methods)
    folds = make_folds(features, bench.experiment(chosen[0].name, protocols[0]).data, bench.seed)
    selected = select_folds(folds, fold_names)
    plans = [method_runs(bench, out, m.name, protocols) for m in bench.methods if m in chosen and not m.skip]
    for plan in plans:  # the fold list is the data's and the seed's, never a method's
        if make_folds(features, plan.config.data, plan.config.seed) != folds:
            raise LFDError(f"method {plan.method!r} would see different folds", path=bench.source)
    out.mkdir(parents=True, exist_ok=True)
    trained: dict[str, list[str]] = {plan.method: [] for plan in plans}
    failed: list[dict[str, str]] = []
    if train:
        for plan in plans:
            for protocol, d in plan.dirs.items():
                prepare_run_dir(d, plan.configs[protocol], features, resume)
        tasks = [
            (plan, fold) for fold in interleaved(selected) for plan in plans if not plan.finished(fold.name)
        ]
        for plan, fold, error in _run_tasks(
            tasks, features, folds, workers, progress, preprocess or {}, ray_address
        ):
            if error is None:
                trained[plan.method].append(fold.name)
            else:
                failed.append({"method": plan.method, "fold": fold.name, "error": error})
                tqdm.write(f"{plan.method} {fold.name} failed: {error}", file=sys.stderr)
    for plan in plans:  # a run's own reports, rebuilt where its finished folds changed
        for protocol, d in plan.dirs.items():
            done = [f.name for f in selected if outputs.is_finished(d, f.name)]
            if done and _reported_folds(d) != done:
                records = [outputs.read_fold(d, name) for name in done]
                summarize_run(d, features, plan.configs[protocol], records, folds_total=len(folds))
    names = [m.name for m in bench.methods if m in chosen]  # table in the config's order
    rows = collect_rows(bench, features, out, names, protocols, len(folds))
    write_reports(
        bench, out, rows, [f.name for f in selected], len(folds), data_fingerprint(features), protocols
    )
    return BenchmarkResult(out, rows, [f.name for f in selected], trained, failed)


def _reported_folds(run: Path) -> list[str] | None:
    """The folds the run's metrics.json was built from (None: no readable metrics.json)."""
    try:
        metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
        return [row["fold"] for row in metrics["per_fold"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def interleaved(folds: Sequence[Fold]) -> list[Fold]:
    """The folds in the order the benchmark trains them: round-robin over datasets.

    LOSO folds are named "dataset/subject"; taking one subject of each dataset in turn means a
    benchmark stopped early covers every dataset. Only the training order changes, never a result.
    """
    groups: dict[str, list[Fold]] = {}
    for fold in folds:
        groups.setdefault(fold.name.split("/", 1)[0] if "/" in fold.name else "", []).append(fold)
    order: list[Fold] = []
    for i in range(max((len(g) for g in groups.values()), default=0)):
        order += [g[i] for g in groups.values() if i < len(g)]
    return order


def _run_tasks(
    tasks: list[tuple[MethodRuns, Fold]],
    features: FeatureSet,
    folds: Sequence[Fold],
    workers: int,
    progress: bool,
    preprocess: dict[str, Any],
    ray_address: str | None = None,
) -> Iterator[tuple[MethodRuns, Fold, str | None]]:
    """Train the (method, fold) tasks in order; yields each with None or its error message.

    ``workers`` > 1: Ray tasks on the engine ``lfd-tcmen train --workers`` uses
    (``engine.parallel``): the FeatureSet goes to the object store once, a worker killed in the
    middle of a task is restarted and the task rerun, Ctrl-C cancels what runs.
    """
    bar = tqdm(total=len(tasks), desc="benchmark", unit="run-fold", disable=not progress, position=0)
    try:
        if ray_address is not None and workers <= 1:
            raise LFDError("a Ray address needs --workers 2 or more (the tasks' concurrency on the cluster)")
        if workers <= 1 or (len(tasks) <= 1 and ray_address is None):
            for plan, fold in tasks:
                bar.set_postfix(method=plan.method, fold=fold.name)
                try:
                    train_method_fold(plan, fold, folds, preprocess, features, progress)
                    error = None
                except (LFDError, RuntimeError, ValueError) as err:
                    error = describe(err)
                bar.update(1)
                yield plan, fold, error
            return
        session = RaySession(workers, ray_address)
        with session as ray:
            threads = max(plan.config.train.threads for plan, _ in tasks)
            remote = ray.remote(_train_task).options(
                num_cpus=threads, max_retries=RETRIES, retry_exceptions=False
            )
            features_ref = ray.put(features)
            jobs = [((plan, fold), (plan, fold, folds, preprocess, features_ref)) for plan, fold in tasks]
            for (plan, fold), ref in session.imap(remote, jobs):
                bar.update(1)
                bar.set_postfix(method=plan.method, fold=fold.name)
                yield plan, fold, fetch(ray, ref, RETRIES, reraise=False)[1]
    finally:
        bar.close()


def _train_task(
    plan: MethodRuns, fold: Fold, folds: Sequence[Fold], preprocess: dict[str, Any], features: FeatureSet
) -> str:
    """Inside a Ray worker: one method on one fold, at the method's thread count."""
    import torch

    torch.set_num_threads(plan.config.train.threads)
    return train_method_fold(plan, fold, folds, preprocess, features)


def train_method_fold(
    plan: MethodRuns,
    fold: Fold,
    folds: Sequence[Fold],
    preprocess: dict[str, Any],
    features: FeatureSet,
    progress: bool = False,
) -> str:
    """Train one method on one fold and write its fold folder in every protocol's run folder.

    With both protocols: ONE training under the leaky protocol with ``keep_last``; the last
    epoch goes to the honest run (with the honest config, exactly a stand-alone honest run's
    result) and the best-on-test epoch to the leaky run.
    """
    config = plan.config
    probe = fold.name in probed_folds(folds, config.train.probe_folds)
    result = train_fold(
        features,
        fold,
        config,
        fold_seed(config.seed, fold.name),
        progress=progress,
        train_codes=probe,
        keep_last=plan.both,
    )
    if plan.both:
        assert result.last is not None
        save_fold(
            plan.dirs[HONEST], result.last, features, plan.configs[HONEST], preprocess, fold, probe=probe
        )
    save_fold(plan.dirs[config.train.protocol], result, features, config, preprocess, fold, probe=probe)
    return fold.name


def count_parameters(features: FeatureSet, config: ExperimentConfig) -> int:
    """Parameters of the method's model as a LOSO fold builds it (identity head: n_subjects - 1)."""
    from lfd_tcmen.models.registry import ModelSpec, create_model

    spec = ModelSpec.from_feature_set(features, num_subjects=max(0, len(set(features.subjects)) - 1))
    model = create_model(config.model.name, spec, **dict(config.model.params))
    return sum(p.numel() for p in model.parameters())


def collect_rows(
    bench: BenchmarkConfig,
    features: FeatureSet,
    out: Path,
    names: Sequence[str],
    protocols: Sequence[str],
    folds_total: int,
) -> list[dict[str, Any]]:
    """One row per (method, protocol) run folder with metrics; one "not run" row per skipped method."""
    rows: list[dict[str, Any]] = []
    for name in names:
        m = bench.method(name)
        parameters = count_parameters(features, bench.experiment(name, protocols[0]))
        for protocol in protocols:
            config = bench.experiment(name, protocol)
            row: dict[str, Any] = {
                "method": name,
                "kind": m.kind,
                "model": m.model,
                "protocol": protocol,
                "epochs": config.train.epochs,
                "lr": config.train.lr,
                "batch_size": config.train.batch_size,
                "parameters": parameters,
                "note": m.skip or m.note,
            }
            metrics_path = run_dir(out, name, protocol) / "metrics.json"
            if m.skip:
                row["status"] = "not run"
            elif metrics_path.is_file():
                metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
                o = metrics["overall"]
                row.update(
                    uf1=o["uf1"],
                    uar=o["uar"],
                    accuracy=o["accuracy"],
                    n=o["n"],
                    folds=f"{metrics['folds_done']}/{folds_total}",
                    train_s=metrics["train_wall_s"],
                    status="done" if metrics["folds_done"] == folds_total else "partial",
                )
                row.update({f"uf1_{k}": v["uf1"] for k, v in metrics["per_dataset"].items()})
            else:
                row["status"] = "missing"
            rows.append(row)
            if m.skip:
                break
    return rows


def write_reports(
    bench: BenchmarkConfig,
    out: Path,
    rows: list[dict[str, Any]],
    folds: Sequence[str],
    folds_total: int,
    fingerprint: str,
    protocols: Sequence[str],
) -> None:
    """``table.md`` (with its notes), ``bars.png`` (UF1 and UAR of the measured rows), ``results.json``."""
    from lfd_tcmen.report.plots import plot_bars
    from lfd_tcmen.report.tables import markdown_table

    for row in rows:
        leaky = row["protocol"] == LEAKY
        row["label"] = f"{row['method']} [{'leaky' if leaky else row['protocol']}]"
    measured = [r for r in rows if "uf1" in r]
    shown = [_display(r) for r in rows]
    cols = [
        ("method", "method"),
        ("kind", "kind"),
        ("protocol_label", "protocol"),
        ("uf1", "UF1"),
        ("uar", "UAR"),
        ("accuracy", "accuracy"),
        ("folds", "folds"),
        ("epochs", "epochs"),
        ("lr", "lr"),
        ("batch_size", "batch"),
        ("parameters", "parameters"),
        ("train_s", "train time (s)"),
        ("status", "status"),
    ]
    datasets = sorted({k for r in measured for k in r if k.startswith("uf1_")})
    cols[6:6] = [(k, f"UF1 {k[4:]}") for k in datasets]
    both = HONEST in protocols and LEAKY in protocols
    notes = [
        f"Folds: the same {len(folds)} of {folds_total} folds for every row "
        f"(split {bench.data.get('split', 'loso')}, seed {bench.seed}, data fingerprint {fingerprint}).",
        "Scores are pooled over all folds' predictions (MEGC2019 UF1/UAR), not averaged per fold.",
        "honest: fixed epochs and schedule, the test subject never used before its one prediction.",
        "leaky-best-epoch (LEAKY): each fold keeps the epoch that scores best on its own test subject "
        "(the peers' practice); a selection on the test labels, so these figures are optimistic.",
    ]
    if both:
        notes.append(
            "Both protocols come from ONE training per fold and method: the leaky row keeps the best "
            "epoch, the honest row the last one (evaluating the test subject changes nothing in "
            "training), so the two rows share their training time."
        )
    if len({r["folds"] for r in measured}) > 1:
        notes.insert(
            0, "WARNING: the rows cover different numbers of folds; compare rows with equal folds only."
        )
    notes += [f"Not run: {r['method']}: {r['note']}" for r in rows if r.get("status") == "not run"]
    notes += [
        f"{r['method']}: {bench.method(r['method']).note}"
        for r in rows
        if r.get("status") != "not run" and r["protocol"] == protocols[0] and bench.method(r["method"]).note
    ]
    notes += list(bench.notes)
    text = (
        f"# Benchmark {bench.name}\n\n{markdown_table(shown, cols)}\n\n"
        + "\n".join(f"- {n}" for n in notes)
        + f"\n\nRun folders: `{RUNS_DIR}/<method>__<protocol>/` (score one with `lfd-tcmen score`).\n"
    )
    outputs.atomic_write_text(out / TABLE, text)
    if measured:
        plot_bars(
            measured, ["uf1", "uar"], out / BARS, title=f"{bench.name}: pooled UF1 / UAR", label_key="label"
        )
    outputs.write_json(
        out / RESULTS,
        {
            "name": bench.name,
            "seed": bench.seed,
            "folds": list(folds),
            "fingerprint": fingerprint,
            "rows": rows,
        },
    )


def _display(row: dict[str, Any]) -> dict[str, Any]:
    """A table row: the leaky protocol labelled, lr in short form, counts and seconds readable."""
    shown = dict(row)
    if row.get("status") == "not run":
        shown["protocol_label"] = "-"
    else:
        shown["protocol_label"] = (
            f"{row['protocol']} (LEAKY)" if row["protocol"] == LEAKY else row["protocol"]
        )
    shown["lr"] = f"{row['lr']:g}"
    shown["parameters"] = f"{row['parameters']:,}"
    if "train_s" in row:
        shown["train_s"] = f"{row['train_s']:.0f}"
    return shown
