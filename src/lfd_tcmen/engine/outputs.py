"""The run folder: per-fold results written atomically, and the run's reports built from them.

    RUN/config.yaml                      the config used
    RUN/folds/<fold>/model.pt            checkpoint of the kept model
    RUN/folds/<fold>/predictions.csv     the fold's test predictions
    RUN/folds/<fold>/history.json        per-epoch history, kept epoch, probe, timing
    RUN/folds/<fold>/arrays.npz          test indices, probabilities, identity/motion codes
    RUN/predictions.csv                  all folds (``lfd-tcmen score`` format)
    RUN/metrics.json, folds.md, confusion.png, curves.png, embedding.png

A fold folder is written under a temporary name and renamed when complete, so a run killed at
any moment leaves only whole folds behind; the reports are always rebuilt from the fold folders
(fresh or resumed alike), which is what makes a resumed run's numbers equal an uninterrupted one's.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lfd_tcmen.data.features import FeatureSet
from lfd_tcmen.engine.folds import fold_dirname
from lfd_tcmen.errors import LFDError

FOLDS_DIR = "folds"
HISTORY = "history.json"
ARRAYS = "arrays.npz"
MODEL = "model.pt"
FOLD_PREDICTIONS = "predictions.csv"


def predictions_name(protocol: str) -> str:
    """``predictions.csv`` for honest runs; the leaky protocol is named in the file name."""
    return "predictions.csv" if protocol == "honest" else f"predictions_{protocol}.csv"


def protocol_label(protocol: str) -> str:
    """Human label for titles: the leaky protocol says what it does."""
    if protocol == "honest":
        return "honest protocol"
    return f"{protocol} protocol: epoch chosen on the test subject, optimistic"


@dataclass
class FoldRecord:
    """A finished fold read back from its folder.

    test_index: (n,) int64 rows of the FeatureSet; probs: (n, C) float32;
    codes: "test_identity"/"test_motion" (n, D) when the model has them; info: history.json.
    """

    name: str
    test_index: np.ndarray
    probs: np.ndarray
    codes: dict[str, np.ndarray]
    info: dict[str, Any]

    @property
    def preds(self) -> np.ndarray:
        return self.probs.argmax(axis=1)


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


def write_fold(
    run_dir: Path,
    fold_name: str,
    *,
    info: Mapping[str, Any],
    arrays: Mapping[str, np.ndarray],
    prediction_rows: list[dict[str, Any]],
    save_model: Callable[[Path], None],
) -> Path:
    """Write a fold folder atomically; ``save_model(path)`` writes the checkpoint inside it."""
    final = fold_dir(run_dir, fold_name)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        save_model(tmp / MODEL)
        np.savez(tmp / ARRAYS, **{k: np.asarray(v) for k, v in arrays.items()})
        (tmp / FOLD_PREDICTIONS).write_text(_csv_text(prediction_rows), encoding="utf-8")
        (tmp / HISTORY).write_text(json.dumps(dict(info), indent=1), encoding="utf-8")
        if final.exists():
            shutil.rmtree(final)
        publish(tmp, final, directory=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def read_fold(run_dir: Path, fold_name: str) -> FoldRecord:
    d = fold_dir(run_dir, fold_name)
    try:
        info = json.loads((d / HISTORY).read_text(encoding="utf-8"))
        with np.load(d / ARRAYS, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError) as err:
        raise LFDError(f"unreadable fold results ({err}); delete the folder to retrain it", path=d) from err
    codes = {k: v for k, v in arrays.items() if k.startswith("test_") and k != "test_index"}
    return FoldRecord(fold_name, arrays["test_index"].astype(np.int64), arrays["probs"], codes, info)


def clean_partial(run_dir: Path) -> None:
    """Remove temporary fold folders a killed run left behind."""
    root = run_dir / FOLDS_DIR
    if root.is_dir():
        for p in root.iterdir():
            if p.is_dir() and p.name.startswith("."):
                shutil.rmtree(p, ignore_errors=True)


def prediction_rows(
    features: FeatureSet, index: Sequence[int], probs: np.ndarray, protocol: str, fold: str | None = None
) -> list[dict[str, Any]]:
    """Rows ``dataset, subject, sample, label, pred, p_<class>..., fold, protocol``.

    subject is the dataset's own subject id (``dataset`` qualifies it); probabilities keep 6 decimals.
    """
    rows = []
    for row, i in enumerate(index):
        dataset = features.datasets[i]
        subject = features.subjects[i]
        if subject.startswith(dataset + "/"):
            subject = subject[len(dataset) + 1 :]
        r: dict[str, Any] = {
            "dataset": dataset,
            "subject": subject,
            "sample": features.sample_ids[i],
            "label": int(features.labels[i]),
            "pred": int(probs[row].argmax()),
        }
        for c, name in enumerate(features.class_names):
            r[f"p_{name}"] = f"{float(probs[row, c]):.6f}"
        if fold is not None:
            r["fold"] = fold
        r["protocol"] = protocol
        rows.append(r)
    return rows


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    atomic_write_text(path, _csv_text(rows))


def _csv_text(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    if rows:
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return buf.getvalue()


def publish(tmp: str | Path, path: Path, *, directory: bool = False) -> None:
    """Move finished temporary file (or folder) ``tmp`` onto ``path`` atomically, with the
    permissions a normally created one would have (``mkstemp``/``mkdtemp`` make them private)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, (0o777 if directory else 0o666) & ~umask)
    os.replace(tmp, path)


def atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        publish(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
