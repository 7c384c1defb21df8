"""Identity-leakage probe: how well a linear classifier recovers the subject from a code.

A motion code free of identity should let a linear probe do no better than chance at naming the
subject; an identity code should let it do well. Used on the codes a trained model produces for
held-out samples (or for all samples of a fold's training set).
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence

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
