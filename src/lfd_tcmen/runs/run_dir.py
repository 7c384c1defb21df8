"""The run folder: its identity (config, data fingerprint, model signature) and its fold folders.

    RUN/config.yaml                      the config used
    RUN/run.json                         data fingerprint, sample count, model signature, provenance
    RUN/folds/<fold>/model.pt            checkpoint of the kept model
    RUN/folds/<fold>/predictions.csv     the fold's test predictions (none for ``split: all``)
    RUN/folds/<fold>/history.json        per-epoch history, kept epoch, probe, timing
    RUN/folds/<fold>/history.csv         the per-epoch history as a table
    RUN/folds/<fold>/arrays.npz          test indices, probabilities, identity/motion codes
    RUN/predictions.csv, metrics.json, folds.md, *.png     the reports (``report.summary``)

A fold folder is written under a temporary name and renamed when complete, so a run killed at
any moment leaves only whole folds behind; the reports are always rebuilt from the fold folders
(fresh or resumed alike), which is what makes a resumed run's numbers equal an uninterrupted one's.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from lfd_tcmen.config.experiment import ExperimentConfig, read_yaml
from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.core.files import atomic_write_text, csv_text, plain, publish, write_json
from lfd_tcmen.data.features import FeatureSet
from lfd_tcmen.data.splits import Fold
from lfd_tcmen.evaluation.records import FoldRecord
from lfd_tcmen.evaluation.scoring import read_predictions_csv
from lfd_tcmen.models import create_model_for
from lfd_tcmen.models.checkpoint import save_checkpoint
from lfd_tcmen.report.predictions import prediction_rows
from lfd_tcmen.report.provenance import now, partial_fields, provenance
from lfd_tcmen.runs.folds import fold_dirname, fold_seed
from lfd_tcmen.training.fold import FoldResult

CONFIG = "config.yaml"
RUN_INFO = "run.json"
FOLDS_DIR = "folds"
HISTORY = "history.json"
HISTORY_CSV = "history.csv"
ARRAYS = "arrays.npz"
MODEL = "model.pt"
FOLD_PREDICTIONS = "predictions.csv"


# ----------------------------------------------------------------------------- the run's identity
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


def count_parameters(config: ExperimentConfig, features: FeatureSet) -> int:
    """Parameters of the config's model as a LOSO fold builds it (identity head: n_subjects - 1)."""
    return sum(p.numel() for p in _loso_model(config, features).parameters())


def model_signature(config: ExperimentConfig, features: FeatureSet) -> str:
    """Short hash of the model's parameter names and shapes, as a LOSO fold builds it.

    Saved in run.json: resuming with a model whose architecture changed since the finished
    folds were trained (a code update) is refused instead of mixing two models' results.
    """
    shapes = sorted((k, tuple(v.shape)) for k, v in _loso_model(config, features).state_dict().items())
    return hashlib.sha256(repr(shapes).encode()).hexdigest()[:16]


def _loso_model(config: ExperimentConfig, features: FeatureSet) -> Any:
    subjects = max(0, len(set(features.subjects)) - 1)
    return create_model_for(features, config.model.name, config.model.params, subjects)


def prepare_run_dir(
    out: Path, config: ExperimentConfig, features: FeatureSet, resume: bool, started: str | None = None
) -> None:
    """Create or reopen run folder ``out`` for ``config`` on ``features``.

    A folder with finished folds needs ``resume``, and then the same config (epochs aside),
    data and model architecture; anything else is an ``LFDError`` naming what differs.
    run.json gets this call's provenance (``report.provenance``; ``started``: when the call began);
    ``finish_run_info`` completes it when the reports are written.
    """
    out.mkdir(parents=True, exist_ok=True)
    clean_partial(out)
    fingerprint = data_fingerprint(features)
    info = {
        "fingerprint": fingerprint,
        "samples": len(features),
        "model_signature": model_signature(config, features),
        "provenance": provenance(features.meta.get("path"), fingerprint, started=started),
    }
    done = finished_folds(out)
    if done and not resume:
        raise LFDError(
            f"run folder already holds {len(done)} finished fold(s); pass --resume to continue it, "
            "or choose another --out",
            path=out,
        )
    if resume:
        _check_resumable(out, config, info)
    atomic_write_text(out / CONFIG, yaml.safe_dump(config.to_dict(), sort_keys=False))
    write_json(out / RUN_INFO, info)


def finish_run_info(out: Path, folds_done: int, folds_total: int) -> dict[str, Any]:
    """Complete run.json once the reports are written: the finish time, the folds the reports
    cover and, for an incomplete run, ``partial: true`` with "k of N folds". Returns it."""
    path = out / RUN_INFO
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        info = {}
    info.pop("partial", None)
    info.pop("scope", None)
    if isinstance(info.get("provenance"), dict):
        info["provenance"]["finished"] = now()
    info.update(folds_done=folds_done, folds_total=folds_total, **partial_fields(folds_done, folds_total))
    write_json(path, info)
    return info


def _check_resumable(out: Path, config: ExperimentConfig, info: dict[str, Any]) -> None:
    """Refuse to resume ``out`` with another config, other data or a changed model."""
    saved = out / CONFIG
    if not saved.is_file():
        return
    old = _with_defaults(read_yaml(saved, "the run's saved config"))
    new = config.to_dict()
    if old != new:
        diff = _diff_keys(old, new)
        raise LFDError(
            f"cannot resume: config differs from the run's saved config ({', '.join(diff)})", path=saved
        )
    info_path = out / RUN_INFO
    if not info_path.is_file():
        return
    try:
        old_info = json.loads(info_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:  # ValueError: bad JSON or bytes that are not UTF-8
        raise LFDError(
            f"cannot resume: {RUN_INFO} is unreadable ({type(err).__name__}); it records the data the "
            "finished folds were trained on",
            path=info_path,
        ) from None
    if old_info.get("fingerprint") != info["fingerprint"]:
        raise LFDError("cannot resume: the data differ from the data this run was trained on", path=out)
    old_signature = old_info.get("model_signature")
    if old_signature is not None and old_signature != info["model_signature"]:
        raise LFDError(
            f"cannot resume: model {config.model.name!r} is not the one this run's folds were trained "
            "with (its parameters changed, e.g. after an update); start a fresh run in another --out",
            path=out,
        )


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


# ----------------------------------------------------------------------------- fold folders
def fold_dir(run_dir: Path, fold_name: str) -> Path:
    return run_dir / FOLDS_DIR / fold_dirname(fold_name)


def is_finished(run_dir: Path, fold_name: str) -> bool:
    d = fold_dir(run_dir, fold_name)
    return (d / HISTORY).is_file() and (d / ARRAYS).is_file()


def finished_folds(run_dir: Path) -> list[str]:
    """Folder names of the finished folds in ``run_dir`` (temporary leftovers excluded)."""
    root = run_dir / FOLDS_DIR
    if not root.is_dir():
        return []
    return sorted(
        p.name
        for p in root.iterdir()
        if p.is_dir() and not p.name.startswith(".") and (p / HISTORY).is_file()
    )


def damage(run_dir: Path, fold: Fold, num_classes: int) -> str | None:
    """Why finished fold ``fold`` of ``run_dir`` cannot be kept on resume; None when it can.

    Every file is checked: history.json parses and names the fold; arrays.npz loads and holds
    the fold's own test samples with finite (n, C) probabilities; predictions.csv parses with one
    row per test sample (a fold that tests nothing, ``split: all``, has none); model.pt is a
    complete archive (every member's CRC).
    """
    d = fold_dir(run_dir, fold.name)
    reading = HISTORY  # the file being read, named when it cannot be
    try:
        info = json.loads((d / HISTORY).read_text(encoding="utf-8"))
        reading = ARRAYS
        with np.load(d / ARRAYS, allow_pickle=False) as z:
            test_index, probs = z["test_index"], z["probs"]
        reading = FOLD_PREDICTIONS
        rows = read_predictions_csv(d / FOLD_PREDICTIONS).rows if fold.test else []
        reading = MODEL
        with zipfile.ZipFile(d / MODEL) as archive:
            bad_member = archive.testzip()
    except LFDError as err:
        return f"{Path(err.path).name}: {err.message}" if err.path else err.message
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        return f"{reading} unreadable ({type(err).__name__}: {err})"
    if not isinstance(info, dict) or info.get("fold") != fold.name:
        return f"{HISTORY} does not describe fold {fold.name}"
    if sorted(np.asarray(test_index).tolist()) != sorted(fold.test):
        return f"{ARRAYS} holds other test samples than the fold's"
    if probs.shape != (len(test_index), num_classes) or not np.isfinite(probs).all():
        return f"{ARRAYS} probabilities are not finite ({len(test_index)}, {num_classes})"
    if len(rows) != len(test_index):
        return f"{FOLD_PREDICTIONS} has {len(rows)} rows for {len(test_index)} test samples"
    if bad_member is not None:
        return f"{MODEL} is damaged (member {bad_member})"
    return None


def clean_partial(run_dir: Path) -> None:
    """Remove temporary fold folders a killed run left behind."""
    root = run_dir / FOLDS_DIR
    if root.is_dir():
        for p in root.iterdir():
            if p.is_dir() and p.name.startswith("."):
                shutil.rmtree(p, ignore_errors=True)


def save_fold(
    run_dir: Path,
    result: FoldResult,
    features: FeatureSet,
    config: ExperimentConfig,
    preprocess: dict[str, Any],
    fold: Fold,
) -> Path:
    """Write one finished fold's folder atomically (a temporary folder, then a rename).

    Six parameters: the folder, what the fold produced, and what its files must record (the
    data, the config of this run folder's protocol, the preprocessing for prediction, the fold).
    """
    protocol = config.train.protocol
    final = fold_dir(run_dir, fold.name)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        save_checkpoint(
            tmp / MODEL,
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
        arrays = {"test_index": result.test_index, "probs": result.probs}
        arrays.update({k: v for k, v in result.codes.items() if k.startswith("test_")})
        np.savez(tmp / ARRAYS, **{k: np.asarray(v) for k, v in arrays.items()})
        if len(result.test_index):  # split "all" tests nothing: no predictions to write
            rows = prediction_rows(features, result.test_index, result.probs, protocol)
            (tmp / FOLD_PREDICTIONS).write_text(csv_text(rows), encoding="utf-8")
        info = _fold_info(result, features, config, fold)
        (tmp / HISTORY).write_text(json.dumps(plain(info), indent=1), encoding="utf-8")
        (tmp / HISTORY_CSV).write_text(csv_text(history_rows(result.history)), encoding="utf-8")
        if final.exists():
            shutil.rmtree(final)
        publish(tmp, final, directory=True)
    except OSError as err:  # a full disk mid-write names no file: name the fold's folder
        if err.filename is not None and not str(err.filename).startswith(str(tmp)):
            raise
        raise OSError(err.errno, err.strerror or str(err), str(final)) from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def _fold_info(
    result: FoldResult, features: FeatureSet, config: ExperimentConfig, fold: Fold
) -> dict[str, Any]:
    """history.json: what the fold was, what it kept, its probe and its per-epoch history."""
    return {
        "fold": fold.name,
        "protocol": config.train.protocol,
        "epoch": result.epoch,
        "epochs": config.train.epochs,
        "seed": fold_seed(config.seed, fold.name),
        "n_train": len(result.train_index),
        "n_test": len(result.test_index),
        "train_subjects": result.train_subjects,
        "test_subjects": list(fold.test_subjects),
        "test_samples": [features.sample_ids[i] for i in result.test_index],
        "wall_s": round(result.wall_s, 3),
        "identity_leakage": result.identity_leakage,
        **({"selection": result.selection} if result.selection else {}),
        "history": result.history,
    }


def history_rows(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """history.json's per-epoch rows with one header for all: every key any row has, in order of
    first appearance (a term logged only some epochs is blank in the others)."""
    keys = list(dict.fromkeys(k for row in history for k in row))
    return [{k: plain(row.get(k, "")) for k in keys} for row in history]


def read_fold_info(run_dir: Path, fold_name: str) -> dict[str, Any]:
    """A finished fold's history.json; an unreadable one raises ``LFDError``."""
    path = fold_dir(run_dir, fold_name) / HISTORY
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise LFDError(
            f"unreadable fold history ({err}); delete the folder to retrain it", path=path
        ) from err


def read_fold(run_dir: Path, fold_name: str) -> FoldRecord:
    """A finished fold folder, read back for the reports; unreadable files raise ``LFDError``."""
    d = fold_dir(run_dir, fold_name)
    try:
        info = json.loads((d / HISTORY).read_text(encoding="utf-8"))
        with np.load(d / ARRAYS, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError) as err:
        raise LFDError(f"unreadable fold results ({err}); delete the folder to retrain it", path=d) from err
    codes = {k: v for k, v in arrays.items() if k.startswith("test_") and k != "test_index"}
    return FoldRecord(
        fold_name, arrays["test_index"].astype(np.int64), arrays["probs"], codes, info, d / MODEL
    )
