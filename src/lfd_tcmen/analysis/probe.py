"""Identity-leakage probe: how well a linear classifier recovers the subject from a code.

A motion code free of identity should let a linear probe do no better than chance at naming the
subject; an identity code should let it do well. Used on the codes a trained model produces for
held-out samples (or for all samples of a fold's training set).
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits


def identity_leakage_probe(
    codes: np.ndarray, subjects: Sequence[str], seed: int = 0, folds: int = 5
) -> dict[str, float | int]:
    """Cross-validated accuracy of a standardised logistic regression at predicting the subject.

    codes: (N, D) float, one code per sample; subjects: N subject names. Subjects with a single
    sample cannot be recognised from another sample and are left out. The rest are split by
    stratified K-fold over samples (K = min(folds, largest subject's sample count), shuffled with
    ``seed``); every sample is predicted once, by the model trained on the other folds.
    Deterministic for a given seed.

    Returns ``{"accuracy", "chance", "n_subjects", "n_samples"}``: pooled out-of-fold accuracy,
    the majority-subject rate (what always guessing the most frequent subject scores), and how
    many subjects/samples took part. With fewer than 2 usable subjects accuracy and chance are nan.
    """
    # deferred: scikit-learn takes a second to import and only the probe needs it
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.asarray(codes, dtype=np.float64)
    x = x.reshape(len(x), -1)
    if len(x) != len(subjects):
        raise ValueError(f"{len(x)} codes but {len(subjects)} subjects")
    counts = Counter(str(s) for s in subjects)
    keep = np.array([counts[str(s)] >= 2 for s in subjects], dtype=bool)
    y_names = np.array([str(s) for s in subjects])[keep]
    x = x[keep]
    used = sorted(set(y_names))
    if len(used) < 2:
        return {
            "accuracy": float("nan"),
            "chance": float("nan"),
            "n_subjects": len(used),
            "n_samples": int(keep.sum()),
        }
    y = np.searchsorted(used, y_names)
    k = max(2, min(folds, max(counts[s] for s in used)))
    cv = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.filterwarnings("ignore", message="The least populated class")
        pred = cross_val_predict(model, x, y, cv=cv)
    return {
        "accuracy": float(np.mean(pred == y)),
        "chance": float(np.bincount(y).max() / len(y)),
        "n_subjects": len(used),
        "n_samples": int(len(y)),
    }


CODE_NAMES = ("motion", "identity")


def fold_probe(
    codes: dict[str, np.ndarray], subjects: Sequence[str], seed: int
) -> dict[str, dict[str, float | int]] | None:
    """The identity-leakage probe of one fold, on its TRAINING samples' codes.

    codes: "train_motion" / "train_identity" (n_train, D), whichever the model has; subjects:
    the n_train samples' subjects. Returns ``{"motion": probe, "identity": probe}`` for the codes
    present (None: the model has no codes). A disentangled model recovers the subject from the
    identity code, not from the motion code.
    """
    names = [name for name in CODE_NAMES if f"train_{name}" in codes]
    if not names:
        return None
    return {name: identity_leakage_probe(codes[f"train_{name}"], subjects, seed=seed) for name in names}


def heldout_identity(codes: np.ndarray, subjects: Sequence[str]) -> dict[str, float | int]:
    """How much a code says about WHO a held-out sample is: same-subject retrieval and verification.

    codes: (N, D) codes of held-out samples (each from a model that never saw its subject, pooled
    over folds); subjects: N names. Codes are standardised per dimension over the pool and compared
    by cosine similarity. Returns:
    - "retrieval": the share of samples whose nearest other sample is of the same subject (only
      samples whose subject has another sample are queried), with "retrieval_chance", the share a
      random neighbour would give;
    - "auc": verification ROC AUC over all pairs (same subject = positive, score = similarity),
      0.5 for a code that carries no identity;
    - "n_samples", "n_subjects".
    """
    similarity, same = _similarity(codes, subjects)
    hits = _hits(similarity, same)
    query = ~np.isnan(hits)
    others = same.sum(axis=1) - 1  # other samples of the same subject (the diagonal counted out)
    upper = np.triu_indices(len(hits), k=1)
    return {
        "retrieval": float(np.mean(hits[query])) if query.any() else float("nan"),
        "retrieval_chance": float(np.mean(others[query] / (len(hits) - 1))) if query.any() else float("nan"),
        "auc": _auc(similarity[upper], same[upper]),
        "n_samples": int(len(hits)),
        "n_subjects": int(len(set(subjects))),
    }


def same_subject_hits(codes: np.ndarray, subjects: Sequence[str]) -> np.ndarray:
    """Per sample, 1.0 when its nearest other sample (``heldout_identity``'s similarity) is of
    the same subject, else 0.0; NaN for a sample whose subject has no other sample (not queried).
    The mean over the queried samples is ``heldout_identity``'s "retrieval"."""
    return _hits(*_similarity(codes, subjects))


def _similarity(codes: np.ndarray, subjects: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(N, N) cosine similarity of the codes standardised per dimension (diagonal -inf) and the
    (N, N) same-subject mask."""
    x = np.asarray(codes, dtype=np.float64).reshape(len(codes), -1)
    names = np.array([str(s) for s in subjects])
    if len(x) != len(names):
        raise ValueError(f"{len(x)} codes but {len(names)} subjects")
    x = (x - x.mean(axis=0)) / np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
    x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    similarity = x @ x.T
    np.fill_diagonal(similarity, -np.inf)
    return similarity, names[:, None] == names[None, :]


def _hits(similarity: np.ndarray, same: np.ndarray) -> np.ndarray:
    nearest = similarity.argmax(axis=1)
    hits = same[np.arange(len(same)), nearest].astype(np.float64)
    hits[same.sum(axis=1) <= 1] = np.nan  # only itself: nobody to retrieve
    return hits


def _auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """ROC AUC by the rank-sum (Mann-Whitney) formula, ties counted half."""
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="stable")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_scores)) + 1]
    ends = np.r_[starts[1:], len(scores)]
    for start, end in zip(starts, ends):  # average ranks of ties
        ranks[order[start:end]] = (start + end + 1) / 2
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def mean_leakage(probes: Sequence[dict[str, Any] | None]) -> dict[str, Any]:
    """Average the per-fold probes: {"motion": {...}, "identity": {...}, "folds": n}."""
    done = [p for p in probes if p]
    if not done:
        return {
            "available": False,
            "reason": "no probed fold: train.probe_folds is 0 (off), left these folds out, or the model "
            "returns no identity/motion codes",
        }
    out: dict[str, Any] = {
        "available": True,
        "folds": len(done),
        "split": "each fold's training samples",
        "what": "a linear probe's cross-validated accuracy at naming the subject from codes of the fold's "
        "OWN TRAINING samples; it saturates (nearly any face-derived vector names a training "
        "subject), so it cannot rank models: see "
        "identity_heldout",
    }
    for name in CODE_NAMES:
        if not all(name in p for p in done):
            continue
        keys = [k for k, v in done[0][name].items() if isinstance(v, int | float) and not isinstance(v, bool)]
        out[name] = {k: float(np.mean([p[name][k] for p in done])) for k in keys}
    return out
