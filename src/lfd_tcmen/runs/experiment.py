"""Cross-subject runs: every fold trained, each saved as it finishes, resumable.

    run_experiment(config, features, out_dir)                 # a fresh run
    run_experiment(config, features, out_dir, resume=True)    # keep finished folds, train the rest
    run_experiment(config, features, out_dir, executor=ExecutorOptions(workers=2))  # two folds at a time
    run_experiments(plans, features, ...)                     # several runs on one executor

A ``RunPlan`` is one training per fold whose kept models fill one run folder per protocol (the
benchmark trains once for its honest and its leaky folder). Every (plan, fold) pair is one task
on the one executor (``lfd_tcmen.parallel``: serial, a local process pool, or Ray); this
process saves each fold the moment it comes back.

Errors (the executor's one rule): an ``LFDError`` (bad input, the same for every fold) stops
the whole call, keeping every finished fold; any other exception fails that fold only: it is
reported in the run's metrics.json ("failed_folds") and on the console while the others finish;
a worker that dies is restarted and its fold rerun. Ctrl-C keeps finished folds; ``--resume``
continues.

Each fold is trained with a seed derived from the run seed and the fold's name only, and the
reports are rebuilt from the fold folders, so a run interrupted and resumed, or run in
parallel, gives exactly the numbers of one uninterrupted serial run.

Each run folder's ``run.log`` (``lfd_tcmen.core.logs``) is written here, by the process that saves the
folds: the call's settings, each fold's epochs (debug) and outcome as it comes back, warnings,
the pooled scores, or how the call stopped.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from lfd_tcmen.analysis.probe import fold_probe
from lfd_tcmen.analysis.run import analyse_run
from lfd_tcmen.config.experiment import LEAKY, NESTED, ExperimentConfig
from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.core.files import write_json
from lfd_tcmen.core.locks import exclusive
from lfd_tcmen.core.logs import run_log
from lfd_tcmen.core.progress import progress_bar
from lfd_tcmen.data.features import FeatureSet
from lfd_tcmen.data.splits import Fold
from lfd_tcmen.evaluation.scoring import metrics_disagreement, read_predictions_csv
from lfd_tcmen.parallel import SERIAL, Executor, ExecutorOptions, make_executor
from lfd_tcmen.report.html import write_run_report
from lfd_tcmen.report.provenance import now, partial_fields
from lfd_tcmen.report.summary import METRICS, read_metrics, reported_folds, summarize_run
from lfd_tcmen.report.tensorboard import require_tensorboard, write_events
from lfd_tcmen.runs import run_dir
from lfd_tcmen.runs.features import needs_identity, with_identity
from lfd_tcmen.runs.folds import fold_seed, interleaved, make_folds, probed_folds, select_folds
from lfd_tcmen.runs.run_log import log_fold, log_settings, scores_line
from lfd_tcmen.training.epoch import BatchHook
from lfd_tcmen.training.fold import FoldResult, train_fold
from lfd_tcmen.training.select import config_at, select_setting

# What a pool worker has imported before its first fold, once, in the forkserver. torch's first
# optimiser step imports torch._dynamo (~800 modules, ~0.9 s): preloaded, each worker skips it.
WORKER_PRELOAD = ("lfd_tcmen.runs.experiment", "torch._dynamo")
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunPlan:
    """One training per fold, kept under each protocol of ``dirs`` (protocol -> run folder).

    ``config``'s own ``train.protocol`` is ignored in favour of ``dirs``; each folder records the
    config with its protocol (``config_for``).
    """

    config: ExperimentConfig
    dirs: Mapping[str, Path]
    label: str = ""

    @classmethod
    def single(cls, config: ExperimentConfig, out_dir: str | Path) -> RunPlan:
        return cls(config, {config.train.protocol: Path(out_dir)}, config.name)

    @property
    def protocols(self) -> tuple[str, ...]:
        return tuple(self.dirs)

    def config_for(self, protocol: str) -> ExperimentConfig:
        return replace(self.config, train=replace(self.config.train, protocol=protocol))

    def finished(self, fold: str) -> bool:
        return all(run_dir.is_finished(d, fold) for d in self.dirs.values())


@dataclass
class RunSummary:
    """What one run folder got from a call (``metrics`` is its ``metrics.json``)."""

    out_dir: Path
    metrics: dict[str, Any]
    folds_trained: list[str] = field(default_factory=list)
    folds_kept: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    failed: list[dict[str, Any]] = field(default_factory=list)  # {"fold", "error", "traceback"}


@dataclass(frozen=True)
class RunOptions:
    """How a call runs its folds; none of these changes a result."""

    fold_names: Sequence[str] | None = None  # None: every fold
    resume: bool = False
    progress: bool = True
    executor: ExecutorOptions = SERIAL  # workers, engine ("process" or "ray"), ray_address
    on_batch: BatchHook | None = None  # runs where the fold runs (tests)
    log_to: tuple[Path, ...] = ()  # folders above the run folders whose run.log records the call too


def run_experiment(
    config: ExperimentConfig,
    features: FeatureSet,
    out_dir: str | Path,
    *,
    preprocess: dict[str, Any] | None = None,
    **options: Any,
) -> RunSummary:
    """Train the selected folds (all by default) of one run into ``out_dir`` and write its reports.

    ``options`` are ``RunOptions`` fields. Without ``resume``, a run folder that already holds
    finished folds is refused (nothing is overwritten); with it, finished folds are kept and the
    config and data must match the saved ones. ``preprocess`` goes into every checkpoint
    (``runs.features.preprocess_info``).
    """
    plan = RunPlan.single(config, out_dir)
    return run_experiments([plan], features, RunOptions(**options), preprocess)[0]


def run_experiments(
    plans: Sequence[RunPlan],
    features: FeatureSet,
    options: RunOptions | None = None,
    preprocess: dict[str, Any] | None = None,
) -> list[RunSummary]:
    """Train every plan's unfinished folds on one executor; one summary per run folder, in order.

    Each plan's folds come from its data split and seed (LOSO folds do not depend on the seed).
    Tasks go fold by fold (every plan on one fold, then the next; datasets in turn), so a call
    stopped early holds the same folds for every plan.
    """
    start = time.perf_counter()
    started = now()
    options = options or RunOptions()
    if not plans:
        raise LFDError("nothing to run: no plan")
    if any(plan.config.train.tensorboard for plan in plans):
        require_tensorboard()  # asked for but missing: one line now, not after the training
    if any(needs_identity(plan.config.model) for plan in plans):
        features = with_identity(features)  # before the workers get their copy
    folds = [make_folds(features, plan.config.data, plan.config.seed) for plan in plans]
    _refuse_untestable(plans)
    selected = [select_folds(f, options.fold_names) for f in folds]
    with ExitStack() as locks:  # one writer per run folder, held until its reports are written
        for plan in plans:
            for d in plan.dirs.values():
                locks.enter_context(exclusive(d, "run folder"))
        with _executor(plans, options) as executor:  # a pool boots while the run folders are prepared
            for plan in plans:
                for protocol, d in plan.dirs.items():
                    run_dir.prepare_run_dir(d, plan.config_for(protocol), features, options.resume, started)
            locks.enter_context(
                run_log([d for plan in plans for d in plan.dirs.values()] + list(options.log_to))
            )
            for i, plan in enumerate(plans):
                how = f"{len(selected[i])} of {len(folds[i])} folds" + (
                    ", resuming" if options.resume else ""
                )
                for protocol, d in plan.dirs.items():
                    log_settings(
                        d, plan.config_for(protocol), features, f"{how}; {options.executor.workers} worker(s)"
                    )
                    _drop_damaged(d, selected[i], features.num_classes)
            tasks = sorted(
                (position, i, fold)
                for i, plan in enumerate(plans)
                for position, fold in enumerate(interleaved(selected[i]))
                if not plan.finished(fold.name)
            )
            tasks = [(i, fold) for _, i, fold in tasks]
            trained, failed = _train(executor, plans, features, tasks, folds, options, preprocess or {})
        wall_s = time.perf_counter() - start
        summaries = []
        for i, plan in enumerate(plans):
            for protocol, d in plan.dirs.items():
                config = plan.config_for(protocol)
                metrics = report_run(
                    d, config, features, selected[i], len(folds[i]), rebuild=bool(trained[i])
                )
                metrics["failed_folds"] = [{"fold": f["fold"], "error": f["error"]} for f in failed[i]]
                if read_metrics(d) != metrics:  # an up-to-date run keeps its files untouched
                    write_json(d / METRICS, metrics)
                finish_run(d, config, selected[i], metrics)
                logger.info("%s: %s", d, scores_line(metrics), extra={"runs": (d,), "console": False})
                summaries.append(
                    RunSummary(
                        out_dir=d,
                        metrics=metrics,
                        folds_trained=[f.name for f in selected[i] if f.name in trained[i]],
                        folds_kept=[
                            f.name
                            for f in selected[i]
                            if f.name not in trained[i] and run_dir.is_finished(d, f.name)
                        ],
                        wall_s=wall_s,
                        failed=failed[i],
                    )
                )
        return summaries


def finish_run(
    out: Path, config: ExperimentConfig, selected: Sequence[Fold], metrics: dict[str, Any]
) -> None:
    """What follows a run folder's metrics: run.json completed (finish time, partial or not), the
    TensorBoard files when the config asks for them, and report.html."""
    run_dir.finish_run_info(out, int(metrics.get("folds_done", 0)), int(metrics["folds_total"]))
    if config.train.tensorboard:
        done = [f.name for f in selected if run_dir.is_finished(out, f.name)]
        write_events(out, [(name, run_dir.read_fold_info(out, name).get("history", [])) for name in done])
    write_run_report(out)


def _refuse_untestable(plans: Sequence[RunPlan]) -> None:
    """``split: all`` tests nothing, so a protocol that picks its epoch on the test subject
    cannot run on it (honest and honest-nested can)."""
    for plan in plans:
        if plan.config.data.split == "all" and LEAKY in plan.protocols:
            raise LFDError(
                f"data.split all trains on every subject and tests none: protocol {LEAKY} (which keeps "
                "the epoch that scores best on the test subject) cannot run; use honest or honest-nested"
            )


def _drop_damaged(out: Path, folds: Sequence[Fold], num_classes: int) -> None:
    """Resume keeps only verified folds: a damaged finished fold is removed (and so retrained),
    with one warning line naming it and why."""
    for fold in folds:
        if run_dir.is_finished(out, fold.name):
            reason = run_dir.damage(out, fold, num_classes)
            if reason is not None:
                where = run_dir.fold_dir(out, fold.name)
                logger.warning(
                    "lfd-tcmen: warning: %s: %s; retraining the fold", where, reason, extra={"runs": (out,)}
                )
                shutil.rmtree(where)


def _executor(plans: Sequence[RunPlan], options: RunOptions) -> Executor:
    return make_executor(
        options.executor,
        cpus_per_task=max(plan.config.train.threads for plan in plans),
        use_gpu=any(plan.config.train.device != "cpu" for plan in plans),
        preload=WORKER_PRELOAD,
    )


def _train(
    executor: Executor,
    plans: Sequence[RunPlan],
    features: FeatureSet,
    tasks: list[tuple[int, Fold]],
    folds: Sequence[Sequence[Fold]],
    options: RunOptions,
    preprocess: dict[str, Any],
) -> tuple[list[set[str]], list[list[dict[str, Any]]]]:
    """Run the (plan, fold) tasks on ``executor``; save each finished fold. Returns per plan the
    folds trained and the failures ({"fold", "error", "traceback"}).

    Seven parameters: where the tasks run, what they are (plans, data, tasks, the full fold
    lists per plan, for the probe), how (options) and what checkpoints record (preprocess).
    """
    trained: list[set[str]] = [set() for _ in plans]
    failed: list[list[dict[str, Any]]] = [[] for _ in plans]
    probed = [frozenset(probed_folds(f, plan.config.train.probe_folds)) for f, plan in zip(folds, plans)]
    serial = options.executor.serial
    jobs = [
        ((i, fold), (plans[i], fold, fold.name in probed[i], options.progress and serial, options.on_batch))
        for i, fold in tasks
    ]
    many = len(plans) > 1
    bar = progress_bar(
        total=len(tasks), desc=_bar_title(plans), unit="fold", disable=not options.progress, position=0
    )
    try:
        for outcome in executor.map(fold_task, features, jobs):
            i, fold = outcome.key
            bar.set_postfix(fold=fold.name, **({"run": plans[i].label} if many else {}))  # before the
            bar.update(1)  # line it may print: that line names the fold just done, not the one before
            if not outcome.ok:
                failed[i].append({"fold": fold.name, "error": outcome.error, "traceback": outcome.traceback})
                who = f"{plans[i].label} " if many else ""
                runs = tuple(plans[i].dirs.values())
                logger.warning("%sfold %s failed: %s", who, fold.name, outcome.error, extra={"runs": runs})
                logger.debug("%s", outcome.traceback, extra={"runs": runs})
                continue
            for protocol, result in outcome.value.items():
                config = plans[i].config_for(protocol)
                run_dir.save_fold(plans[i].dirs[protocol], result, features, config, preprocess, fold)
                log_fold(plans[i].dirs[protocol], result, features)
            trained[i].add(fold.name)
    finally:
        bar.close()
    return trained, failed


def _bar_title(plans: Sequence[RunPlan]) -> str:
    if len(plans) == 1:
        return f"{plans[0].config.name} [{', '.join(plans[0].protocols)}]"
    return f"{len(plans)} runs"


def fold_task(
    features: FeatureSet, plan: RunPlan, fold: Fold, probe: bool, progress: bool, on_batch: BatchHook | None
) -> dict[str, FoldResult]:
    """What one fold computes, wherever it runs: for honest-nested, choose the epoch (and grid
    point) on the training subjects; train once for every protocol of ``plan`` (the nested one
    apart when its chosen settings differ); probe each kept model's codes for identity (when
    ``probe``).

    Training-sample codes are dropped once probed: they are not saved.
    """
    seed = fold_seed(plan.config.seed, fold.name)
    selection = (
        select_setting(features, fold, plan.config, seed, on_batch) if NESTED in plan.protocols else None
    )
    nested_config = None if selection is None else config_at(plan.config, selection["setting"])
    # One training serves every protocol unless the chosen grid point changes the settings.
    apart = nested_config is not None and nested_config != plan.config
    shared = tuple(p for p in plan.protocols if not (apart and p == NESTED))
    results: dict[str, FoldResult] = {}
    for config, protocols in ((plan.config, shared), (nested_config, (NESTED,) if apart else ())):
        if protocols:
            results.update(
                train_fold(
                    features,
                    fold,
                    config,
                    seed,
                    protocols=protocols,
                    progress=progress,
                    on_batch=on_batch,
                    train_codes=probe,
                    chosen_epoch=int(selection["epoch"]) if selection and NESTED in protocols else None,
                )
            )
    if selection is not None:
        results[NESTED].selection = selection
    results = {p: results[p] for p in plan.protocols}
    subjects = [features.subjects[i] for i in next(iter(results.values())).train_index]
    for result in results.values():
        if probe:
            result.identity_leakage = fold_probe(result.codes, subjects, seed=seed)
        result.codes = {k: v for k, v in result.codes.items() if not k.startswith("train_")}
    return results


def _reports_whole(out: Path, metrics: dict[str, Any]) -> bool:
    """Whether the predictions file the run's metrics.json names still scores what it says; one
    warning when not (hand-edited, damaged), and the reports are rebuilt from the fold folders."""
    name = metrics.get("predictions")
    if not name:
        return True
    try:
        why = metrics_disagreement(read_predictions_csv(out / name))
    except LFDError as err:
        why = err.message
    if why is not None:
        logger.warning(
            "lfd-tcmen: warning: %s: %s; rebuilding it from the fold folders",
            out / name,
            why,
            extra={"runs": (out,)},
        )
    return why is None


def report_run(
    out: Path,
    config: ExperimentConfig,
    features: FeatureSet,
    selected: Sequence[Fold],
    folds_total: int,
    rebuild: bool = True,
) -> dict[str, Any]:
    """Run folder ``out``'s reports from its finished folds among ``selected``; returns its metrics.

    Without ``rebuild`` (nothing trained since) the reports are rebuilt only when the finished
    folds differ from those the last report was built from.
    """
    done = [f.name for f in selected if run_dir.is_finished(out, f.name)]
    if done and not rebuild and reported_folds(out) == done:
        metrics = read_metrics(out)
        if metrics is not None and _reports_whole(out, metrics):
            return metrics
    if done:
        records = [run_dir.read_fold(out, name) for name in done]
        analysis = analyse_run(records, features, config)
        return summarize_run(out, features, config, records, folds_total, analysis)
    return {  # every fold failed: nothing to score
        "protocol": config.train.protocol,
        "name": config.name,
        "model": config.model.name,
        "folds_done": 0,
        "folds_total": folds_total,
        **partial_fields(0, folds_total),
    }
