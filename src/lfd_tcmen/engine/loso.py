"""Cross-subject runs: every fold trained, each saved as it finishes, resumable.

    run_experiment(config, features, out_dir)          # a fresh run
    run_experiment(config, features, out_dir, resume=True)   # keep finished folds, train the rest
    run_experiment(config, features, out_dir, workers=2)     # two folds at a time, on Ray

Folds run one after another, or as Ray tasks (``engine.parallel``); either way this process
saves each fold the moment it comes back, and a fold that fails is reported in metrics.json
("failed_folds") while the others finish.

Each fold is trained with a seed derived from the run seed and the fold's name only, and the
reports are rebuilt from the fold folders, so a run interrupted and resumed gives exactly the
numbers of one uninterrupted run.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import yaml
from tqdm.auto import tqdm

from lfd_tcmen.config import ExperimentConfig
from lfd_tcmen.data.features import FeatureSet
from lfd_tcmen.data.splits import Fold
from lfd_tcmen.engine import outputs
from lfd_tcmen.engine.checkpoint import save_checkpoint
from lfd_tcmen.engine.folds import fold_seed, make_folds, probed_folds, select_folds
from lfd_tcmen.engine.parallel import make_executor
from lfd_tcmen.engine.summary import METRICS, fold_probe, summarize_run
from lfd_tcmen.engine.train import BatchHook, FoldResult, train_fold
from lfd_tcmen.errors import LFDError

CONFIG = "config.yaml"
RUN_INFO = "run.json"


@dataclass
class RunSummary:
    """What a call to ``run_experiment`` did and the run's metrics (``metrics.json`` content)."""

    out_dir: Path
    metrics: dict[str, Any]
    folds_trained: list[str] = field(default_factory=list)
    folds_kept: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    failed: list[dict[str, Any]] = field(default_factory=list)  # {"fold", "error", "traceback"}


def data_fingerprint(features: FeatureSet) -> str:
    """Short hash of what the folds depend on: sample ids, subjects, labels and array shapes."""
    h = hashlib.sha256()
    for part in (features.sample_ids, features.subjects, features.labels.tolist(), features.class_names):
        h.update(json.dumps(list(part)).encode())
    h.update(
        repr(
            (features.faces.shape, features.flows.shape, features.face_frames, features.flow_segments)
        ).encode()
    )
    return h.hexdigest()[:16]


def run_experiment(
    config: ExperimentConfig,
    features: FeatureSet,
    out_dir: str | Path,
    *,
    fold_names: Sequence[str] | None = None,
    resume: bool = False,
    progress: bool = True,
    preprocess: dict[str, Any] | None = None,
    on_batch: BatchHook | None = None,
    workers: int = 1,
    ray_address: str | None = None,
) -> RunSummary:
    """Train the selected folds (all by default) into ``out_dir`` and write the run's reports.

    Without ``resume``, a run folder that already holds finished folds is refused (nothing is
    overwritten); with it, finished folds are kept and the config and data must match the
    saved ones. ``preprocess`` goes into every checkpoint (see ``engine.data.preprocess_info``).
    ``workers`` > 1 trains that many folds at once as Ray tasks (a private local Ray, or the
    cluster at ``ray_address``) with the same results; ``on_batch`` then runs in the workers.
    A fold that raises is listed in ``RunSummary.failed`` and metrics.json; an ``LFDError``
    or Ctrl-C stops the run, keeping every finished fold.
    """
    start = time.perf_counter()
    out = Path(out_dir)
    folds = make_folds(features, config.data, config.seed)
    selected = select_folds(folds, fold_names)
    probed = probed_folds(folds, config.train.probe_folds)
    executor = make_executor(
        workers, ray_address, threads=config.train.threads, use_gpu=config.train.device != "cpu"
    )
    prepare_run_dir(out, config, features, resume)

    kept = [f.name for f in selected if resume and outputs.is_finished(out, f.name)]
    todo = [f for f in selected if f.name not in kept]
    work = partial(
        _fold_work,
        config=config,
        probed=frozenset(probed),
        progress=progress and workers == 1,
        on_batch=on_batch,
    )
    done: set[str] = set()
    failed: list[dict[str, Any]] = []
    bar = tqdm(
        total=len(selected),
        initial=len(kept),
        desc=f"{config.name} [{config.train.protocol}]",
        unit="fold",
        disable=not progress,
        position=0,
    )
    try:
        with executor:
            for outcome in executor.map(work, features, todo):
                bar.update(1)
                bar.set_postfix(fold=outcome.fold.name)
                if not outcome.ok:
                    failed.append(
                        {"fold": outcome.fold.name, "error": outcome.error, "traceback": outcome.traceback}
                    )
                    tqdm.write(f"fold {outcome.fold.name} failed: {outcome.error}", file=sys.stderr)
                    continue
                result, leakage = outcome.value
                save_fold(
                    out,
                    result,
                    features,
                    config,
                    preprocess or {},
                    outcome.fold,
                    probe=False,
                    leakage=leakage,
                )
                done.add(outcome.fold.name)
    finally:
        bar.close()

    trained = [f.name for f in todo if f.name in done]
    records = [outputs.read_fold(out, f.name) for f in selected if f.name in done or f.name in kept]
    if records:
        metrics = summarize_run(out, features, config, records, folds_total=len(folds))
    else:  # every fold failed: nothing to score
        metrics = {
            "protocol": config.train.protocol,
            "name": config.name,
            "model": config.model.name,
            "folds_done": 0,
            "folds_total": len(folds),
        }
    metrics["failed_folds"] = [{"fold": f["fold"], "error": f["error"]} for f in failed]
    outputs.write_json(out / METRICS, metrics)
    return RunSummary(out, metrics, trained, kept, time.perf_counter() - start, failed)


def _fold_work(
    features: FeatureSet,
    fold: Fold,
    *,
    config: ExperimentConfig,
    probed: frozenset[str],
    progress: bool,
    on_batch: BatchHook | None,
) -> tuple[FoldResult, dict[str, Any] | None]:
    """What one fold computes, wherever it runs: train it, then probe its codes for identity.

    Returns the result (training-sample codes dropped once probed: they are not saved) and
    the probe (None for folds not probed, or models without codes).
    """
    seed = fold_seed(config.seed, fold.name)
    probe = fold.name in probed
    result = train_fold(features, fold, config, seed, progress=progress, on_batch=on_batch, train_codes=probe)
    leakage = fold_probe(result, features, seed=seed) if probe else None
    result.codes = {k: v for k, v in result.codes.items() if not k.startswith("train_")}
    return result, leakage


def model_signature(config: ExperimentConfig, features: FeatureSet) -> str:
    """Short hash of the model's parameter names and shapes, as a LOSO fold builds it.

    Saved in run.json: resuming with a model whose architecture changed since the finished
    folds were trained (a code update) is refused instead of mixing two models' results.
    """
    from lfd_tcmen.models.registry import ModelSpec, create_model

    spec = ModelSpec.from_feature_set(features, num_subjects=max(0, len(set(features.subjects)) - 1))
    model = create_model(config.model.name, spec, **dict(config.model.params))
    shapes = sorted((k, tuple(v.shape)) for k, v in model.state_dict().items())
    return hashlib.sha256(repr(shapes).encode()).hexdigest()[:16]


def prepare_run_dir(out: Path, config: ExperimentConfig, features: FeatureSet, resume: bool) -> None:
    """Create or reopen run folder ``out`` for ``config`` on ``features``.

    A folder with finished folds needs ``resume``, and then the same config (epochs aside),
    data and model architecture; anything else is an ``LFDError`` naming what differs.
    """
    out.mkdir(parents=True, exist_ok=True)
    outputs.clean_partial(out)
    info = {
        "fingerprint": data_fingerprint(features),
        "samples": len(features),
        "model_signature": model_signature(config, features),
    }
    done = outputs.finished_folds(out)
    saved = out / CONFIG
    if done and not resume:
        raise LFDError(
            f"run folder already holds {len(done)} finished fold(s); pass --resume to continue it, "
            "or choose another --out",
            path=out,
        )
    if resume and saved.is_file():
        old = _with_defaults(yaml.safe_load(saved.read_text(encoding="utf-8")) or {})
        new = config.to_dict()
        if old != new:
            diff = _diff_keys(old, new)
            raise LFDError(
                f"cannot resume: config differs from the run's saved config ({', '.join(diff)})", path=saved
            )
        info_path = out / RUN_INFO
        if info_path.is_file():
            old_info = json.loads(info_path.read_text(encoding="utf-8"))
            if old_info.get("fingerprint") != info["fingerprint"]:
                raise LFDError(
                    "cannot resume: the data differ from the data this run was trained on", path=out
                )
            old_signature = old_info.get("model_signature")
            if old_signature is not None and old_signature != info["model_signature"]:
                raise LFDError(
                    f"cannot resume: model {config.model.name!r} is not the one this run's folds were trained "
                    "with (its parameters changed, e.g. after an update); start a fresh run in another --out",
                    path=out,
                )
    outputs.atomic_write_text(saved, yaml.safe_dump(config.to_dict(), sort_keys=False))
    outputs.write_json(out / RUN_INFO, info)


def _with_defaults(saved: dict[str, Any]) -> dict[str, Any]:
    """A saved config with keys added to the config since it was written set to their defaults
    (each new key's default is the behaviour from before it existed, e.g. ``train.device``)."""
    try:
        return ExperimentConfig.from_dict(saved).to_dict()
    except LFDError:  # not a config this version reads: compare as saved
        return saved


def _diff_keys(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        keys = sorted(set(old) | set(new))
        return [d for k in keys for d in _diff_keys(old.get(k), new.get(k), f"{prefix}{k}.")]
    return [prefix.rstrip(".")] if old != new else []


def save_fold(
    out: Path,
    result: FoldResult,
    features: FeatureSet,
    config: ExperimentConfig,
    preprocess: dict[str, Any],
    fold: Fold,
    probe: bool = True,
    *,
    leakage: dict[str, Any] | None = None,
) -> None:
    """Write one finished fold's folder (atomically). ``leakage``: its probe, when computed
    already (by ``_fold_work``); else it is computed here when ``probe``."""
    protocol = config.train.protocol
    if leakage is None and probe:
        leakage = fold_probe(result, features, seed=fold_seed(config.seed, fold.name))
    info = {
        "fold": fold.name,
        "protocol": protocol,
        "epoch": result.epoch,
        "epochs": config.train.epochs,
        "seed": fold_seed(config.seed, fold.name),
        "n_train": len(result.train_index),
        "n_test": len(result.test_index),
        "train_subjects": result.train_subjects,
        "test_subjects": list(fold.test_subjects),
        "test_samples": [features.sample_ids[i] for i in result.test_index],
        "wall_s": round(result.wall_s, 3),
        "identity_leakage": leakage,
        "history": result.history,
    }
    arrays = {"test_index": result.test_index, "probs": result.probs}
    arrays.update({k: v for k, v in result.codes.items() if k.startswith("test_")})

    def save_model(path: Path) -> None:
        save_checkpoint(
            path,
            result.state_dict,
            model_name=config.model.name,
            params=config.model.params,
            spec=result.spec,
            class_names=features.class_names,
            config=config.to_dict(),
            preprocess=preprocess,
            extra={
                "fold": fold.name,
                "protocol": protocol,
                "epoch": result.epoch,
                "train_subjects": result.train_subjects,
            },
        )

    rows = outputs.prediction_rows(features, result.test_index, result.probs, protocol)
    outputs.write_fold(out, fold.name, info=info, arrays=arrays, prediction_rows=rows, save_model=save_model)


def list_folds(config: ExperimentConfig, features: FeatureSet) -> list[Fold]:
    """The run's folds in order (``lfd-tcmen train --list-folds``)."""
    return make_folds(features, config.data, config.seed)
