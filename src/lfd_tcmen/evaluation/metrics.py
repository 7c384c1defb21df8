"""Recognition metrics as the MEGC2019 challenge defines them: UF1, UAR, accuracy, confusion.

The protocol pools every leave-one-subject-out fold before scoring: TP, FP and FN of each class c
are summed over all test predictions of all folds, then

    F1_c = 2 TP_c / (2 TP_c + FP_c + FN_c)        UF1 = mean_c F1_c
    Acc_c = TP_c / n_c                            UAR = mean_c Acc_c   (n_c = true samples of c)

(MEGC2019 recognition challenge, "Performance Metric"). So call these functions ONCE on the
concatenated predictions of all folds (or sum per-fold confusion matrices and use
:func:`scores_from_confusion`), never average per-fold scores.

Classes that take no part (the definition's 0/0 cases), stated once for every function here:
- a class absent from both ``y_true`` and ``y_pred`` is left out of every macro average (UF1,
  UAR, macro precision): it carries no evidence either way. This is what the challenge
  organisers' reference evaluation code does (its per-class try/except skips such a class) and
  what ``sklearn.metrics.f1_score(average="macro")`` does when not given ``labels``. Consequence:
  ``num_classes`` never changes UF1/UAR, it only sizes the confusion matrix and bounds the labels.
- a class that is predicted but never true has F1 = 0 (it counts in UF1) but no recall: it is
  left out of UAR (``sklearn.metrics.balanced_accuracy_score`` does the same; the reference code
  prints ``nan`` instead).
- a class that is true but never predicted has precision 0 (it counts in macro precision).
In :func:`classification_report`, values that are undefined are ``nan``.

Labels are integer class indices in ``[0, num_classes)``; everything is plain numpy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike


def _as_labels(
    y_true: ArrayLike, y_pred: ArrayLike, num_classes: int | None
) -> tuple[np.ndarray, np.ndarray, int]:
    """Validate two label vectors; returns them as int64 arrays and the class count."""
    t = np.asarray(y_true)
    p = np.asarray(y_pred)
    if t.ndim != 1 or p.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shapes {t.shape} and {p.shape}")
    if t.shape != p.shape:
        raise ValueError(f"y_true has {t.size} labels but y_pred has {p.size}")
    if t.size == 0:
        raise ValueError("no predictions to score")
    for name, arr in (("y_true", t), ("y_pred", p)):
        if not np.issubdtype(arr.dtype, np.integer):
            if not np.all(np.equal(np.mod(arr, 1), 0)):
                raise ValueError(f"{name} holds non-integer labels")
    t = t.astype(np.int64)
    p = p.astype(np.int64)
    low = min(int(t.min()), int(p.min()))
    high = max(int(t.max()), int(p.max()))
    if low < 0:
        raise ValueError(f"negative class label {low}")
    if num_classes is None:
        num_classes = high + 1
    elif high >= num_classes:
        raise ValueError(f"class label {high} out of range for num_classes={num_classes}")
    return t, p, int(num_classes)


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, num_classes: int | None = None) -> np.ndarray:
    """Counts ``cm[i, j]`` of samples with true class i predicted as j.

    y_true, y_pred: (N,) integer class indices. Returns (C, C) int64, C = ``num_classes`` or
    ``max(label) + 1``. Summing the matrices of several folds gives the pooled matrix.
    """
    t, p, c = _as_labels(y_true, y_pred, num_classes)
    return np.bincount(t * c + p, minlength=c * c).reshape(c, c).astype(np.int64)


def _counts(cm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cm = np.asarray(cm, dtype=np.int64)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"confusion matrix must be square, got shape {cm.shape}")
    tp = np.diag(cm)
    fp = cm.sum(axis=0) - tp
    fn = cm.sum(axis=1) - tp
    return tp, fp, fn


def _per_class(cm: np.ndarray) -> dict[str, np.ndarray]:
    """Per-class precision/recall/f1 (nan where undefined), support, and which classes take part."""
    tp, fp, fn = _counts(cm)
    support = tp + fn
    predicted = tp + fp
    present = (support + predicted) > 0  # in y_true or in y_pred
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(present, 2 * tp / (2 * tp + fp + fn), np.nan)
        recall = np.where(support > 0, tp / support, np.nan)
        precision = np.where(predicted > 0, tp / predicted, np.where(present, 0.0, np.nan))
    return {"precision": precision, "recall": recall, "f1": f1, "support": support, "present": present}


def scores_from_confusion(cm: np.ndarray) -> dict[str, float | int]:
    """UF1, UAR, accuracy and sample count of a (pooled) confusion matrix (C, C).

    Returns ``{"uf1", "uar", "accuracy", "n"}`` with the conventions of the module docstring.
    """
    cm = np.asarray(cm, dtype=np.int64)
    n = int(cm.sum())
    if n == 0:
        raise ValueError("no predictions to score")
    pc = _per_class(cm)
    return {
        "uf1": float(np.mean(pc["f1"][pc["present"]])),
        "uar": float(np.mean(pc["recall"][pc["support"] > 0])),
        "accuracy": float(np.trace(cm) / n),
        "n": n,
    }


def uf1(y_true: ArrayLike, y_pred: ArrayLike, num_classes: int | None = None) -> float:
    """Unweighted (macro) F1 over classes, from TP/FP/FN pooled over all given predictions."""
    return float(scores_from_confusion(confusion_matrix(y_true, y_pred, num_classes))["uf1"])


def uar(y_true: ArrayLike, y_pred: ArrayLike, num_classes: int | None = None) -> float:
    """Unweighted average recall (balanced accuracy): mean over true classes of TP_c / n_c."""
    return float(scores_from_confusion(confusion_matrix(y_true, y_pred, num_classes))["uar"])


def accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Fraction of samples predicted correctly."""
    t, p, _ = _as_labels(y_true, y_pred, None)
    return float(np.mean(t == p))


def macro_precision(y_true: ArrayLike, y_pred: ArrayLike, num_classes: int | None = None) -> float:
    """Mean per-class precision TP_c / (TP_c + FP_c). Not a MEGC metric: kept because some peers
    published it under the name "UAR" (STSTNet's .7605 is this quantity, see tests/test_scoring.py)."""
    pc = _per_class(confusion_matrix(y_true, y_pred, num_classes))
    return float(np.mean(pc["precision"][pc["present"]]))


def classification_report(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    num_classes: int | None = None,
    class_names: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """One row per class: ``{"class", "precision", "recall", "f1", "support"}``.

    ``class`` is the name from ``class_names`` (default: the index as a string); undefined values
    (see module docstring) are ``nan``; support is the number of true samples of the class.
    """
    cm = confusion_matrix(y_true, y_pred, num_classes)
    c = cm.shape[0]
    if class_names is not None and len(class_names) != c:
        raise ValueError(f"{len(class_names)} class names for {c} classes")
    names = list(class_names) if class_names is not None else [str(i) for i in range(c)]
    pc = _per_class(cm)
    return [
        {
            "class": names[i],
            "precision": float(pc["precision"][i]),
            "recall": float(pc["recall"][i]),
            "f1": float(pc["f1"][i]),
            "support": int(pc["support"][i]),
        }
        for i in range(c)
    ]


def summarize(y_true: ArrayLike, y_pred: ArrayLike, num_classes: int | None = None) -> dict[str, float | int]:
    """``{"uf1", "uar", "accuracy", "n"}`` of one pooled set of predictions."""
    return scores_from_confusion(confusion_matrix(y_true, y_pred, num_classes))


def score_table(
    rows: Iterable[Mapping[str, Any]], num_classes: int | None = None
) -> dict[str, dict[str, Any]]:
    """Pooled scores overall and per dataset of prediction rows.

    rows: mappings with integer ``"label"`` and ``"pred"`` and an optional ``"dataset"`` name
    (missing or ``None`` = unknown: counted in ``overall`` only). Returns
    ``{"overall": {"uf1","uar","accuracy","n"}, "per_dataset": {name: {...}}}`` with datasets in
    order of first appearance. ``num_classes`` defaults to the largest label seen + 1, for all
    groups alike.
    """
    rows = list(rows)
    labels = np.array([int(r["label"]) for r in rows], dtype=np.int64)
    preds = np.array([int(r["pred"]) for r in rows], dtype=np.int64)
    if num_classes is None and labels.size:
        num_classes = int(max(labels.max(), preds.max())) + 1
    table: dict[str, dict[str, Any]] = {"overall": summarize(labels, preds, num_classes), "per_dataset": {}}
    datasets = [r.get("dataset") for r in rows]
    for name in dict.fromkeys(d for d in datasets if d is not None):
        keep = np.array([d == name for d in datasets])
        table["per_dataset"][str(name)] = summarize(labels[keep], preds[keep], num_classes)
    return table
