"""Paired comparison of two methods on the same samples: a subject-cluster bootstrap.

Under cross-subject evaluation the unit of independence is the subject, not the sample: a
subject's clips share a face, habits and recording conditions. So the interval on a difference
of pooled scores comes from resampling SUBJECTS with replacement, within each dataset (a
composite benchmark keeps its mix of datasets), and recomputing the pooled UF1 and UAR of both
methods on the same resample (paired). When a method was run with several seeds, its seeds are
resampled too (with replacement, each method's own), and its score on a resample is the mean
over the drawn seeds: seed-to-seed spread then widens the interval as it should.

    a = RunPredictions.from_rows(rows_a)          # per seed: dataset, subject, sample, label, pred
    result = paired_bootstrap(a, b, resamples=10_000, seed=0)
    result["uf1"]  # {"a", "b", "delta", "ci_low", "ci_high", "p"}

The p-value is the two-sided bootstrap one: twice the smaller share of resampled differences on
either side of 0 (capped at 1). ``holm`` adjusts a family of p-values (Holm 1979). Pooled scores
follow ``lfd_tcmen.evaluation.metrics`` exactly, including its rules for classes absent from a resample.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

METRICS = ("uf1", "uar")
# The fewest subjects whose bootstrap interval is read. For a mean over n subjects the percentile
# bootstrap acts like a normal interval with the plug-in standard error, so a nominal 95% interval
# covers about P(|t_{n-1}| < 1.96 sqrt((n-1)/n)) (normal subject effects): 60% at 2 subjects, 85%
# at 5, 89% at 8, 90% at 10, 93% at 20. Below 10 it covers under 90%: no interval and no verdict.
MIN_SUBJECTS = 10
ALPHA = 0.05  # a difference is called when its (Holm-adjusted) p is below this and its interval excludes 0


@dataclass(frozen=True)
class RunPredictions:
    """One method's predictions on N samples, for K seeds.

    samples, subjects, datasets: (N,) names; labels: (N,) int64; preds: (K, N) int64.
    """

    samples: tuple[str, ...]
    subjects: tuple[str, ...]
    datasets: tuple[str, ...]
    labels: np.ndarray
    preds: np.ndarray

    @classmethod
    def from_rows(cls, seeds: Sequence[Sequence[Mapping[str, Any]]]) -> RunPredictions:
        """From prediction rows (``dataset, subject, sample, label, pred``), one list per seed;
        every seed must hold the same samples with the same labels (any order)."""
        if not seeds or not seeds[0]:
            raise ValueError("no predictions")
        first = sorted(seeds[0], key=lambda r: str(r["sample"]))
        samples = tuple(str(r["sample"]) for r in first)
        preds = []
        for k, rows in enumerate(seeds):
            by_sample = {str(r["sample"]): r for r in rows}
            if len(by_sample) != len(rows) or set(by_sample) != set(samples):
                raise ValueError(f"seed {k} does not hold the same samples as seed 0")
            if any(int(by_sample[s]["label"]) != int(r["label"]) for s, r in zip(samples, first)):
                raise ValueError(f"seed {k} labels a sample differently from seed 0")
            preds.append([int(by_sample[s]["pred"]) for s in samples])
        return cls(
            samples=samples,
            subjects=tuple(f"{r['dataset']}/{r['subject']}" for r in first),
            datasets=tuple(str(r["dataset"]) for r in first),
            labels=np.array([int(r["label"]) for r in first], dtype=np.int64),
            preds=np.array(preds, dtype=np.int64),
        )


def pooled_scores(confusion: np.ndarray) -> dict[str, np.ndarray]:
    """UF1 and UAR of pooled confusion matrices (..., C, C), vectorised over leading axes, with
    ``metrics.scores_from_confusion``'s rules (a class absent from truth and predictions is left
    out of both averages; one never true is left out of UAR)."""
    cm = np.asarray(confusion, dtype=np.float64)
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    predicted = cm.sum(axis=-2)
    support = cm.sum(axis=-1)
    present = (support + predicted) > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(present, 2 * tp / (support + predicted), np.nan)
        recall = np.where(support > 0, tp / support, np.nan)
        return {"uf1": np.nanmean(f1, axis=-1), "uar": np.nanmean(recall, axis=-1)}


def _subject_confusions(run: RunPredictions, subjects: list[str], num_classes: int) -> np.ndarray:
    """(K, S, C*C) confusion counts per seed and subject."""
    index = np.array([subjects.index(s) for s in run.subjects])
    cells = run.labels * num_classes + run.preds  # (K, N)
    out = np.zeros((len(run.preds), len(subjects), num_classes * num_classes))
    for k in range(len(run.preds)):
        np.add.at(out[k], (index, cells[k]), 1)
    return out


def _strata(subjects: Sequence[str], datasets: Sequence[str]) -> tuple[list[str], dict[str, list[int]]]:
    """The sorted subject names and, per dataset, the indices (into them) of its subjects: what
    a resample draws from, within each dataset."""
    names = sorted(set(subjects))
    strata: dict[str, list[int]] = {}
    for subject, dataset in sorted(set(zip(subjects, datasets))):
        strata.setdefault(dataset, []).append(names.index(subject))
    return names, strata


def _subject_weights(
    datasets: dict[str, list[int]], n_subjects: int, resamples: int, rng: np.random.Generator
) -> np.ndarray:
    """(R, S) how often each subject is drawn in each resample: n_d draws within each dataset d."""
    weights = np.zeros((resamples, n_subjects))
    rows = np.arange(resamples)[:, None]
    for members in datasets.values():
        draws = rng.integers(0, len(members), size=(resamples, len(members)))
        np.add.at(weights, (rows, np.asarray(members)[draws]), 1)
    return weights


def _seed_weights(seeds: int, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """(R, K) the share of each seed in each resample's mean (one seed: all 1)."""
    if seeds == 1:
        return np.ones((resamples, 1))
    draws = rng.integers(0, seeds, size=(resamples, seeds))
    weights = np.zeros((resamples, seeds))
    np.add.at(weights, (np.arange(resamples)[:, None], draws), 1)
    return weights / seeds


def _mismatch(a: RunPredictions, b: RunPredictions) -> str:
    """What differs between two runs' samples: counts, and the first few names."""
    only_a, only_b = sorted(set(a.samples) - set(b.samples)), sorted(set(b.samples) - set(a.samples))
    label_b = dict(zip(b.samples, b.labels.tolist()))
    relabelled = [s for s, y in zip(a.samples, a.labels.tolist()) if s in label_b and label_b[s] != y]
    parts = []
    for what, names in (
        ("only in the first run", only_a),
        ("only in the other run", only_b),
        ("labelled differently", relabelled),
    ):
        if names:
            shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
            parts.append(f"{len(names)} {what} ({shown})")
    return "; ".join(parts)


def _boot(
    runs: Sequence[RunPredictions], resamples: int, seed: int
) -> tuple[list[dict[str, tuple[float, np.ndarray]]], dict[str, Any]]:
    """Per run and metric: (the observed mean over seeds, (R,) scores on shared subject resamples)."""
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, got {resamples}")
    a = runs[0]
    for other in runs[1:]:
        if other.samples != a.samples or not np.array_equal(other.labels, a.labels):
            raise ValueError(
                f"the runs do not hold the same samples with the same labels: {_mismatch(a, other)}"
            )
    subjects, strata = _strata(a.subjects, a.datasets)
    num_classes = int(max([a.labels.max()] + [r.preds.max() for r in runs])) + 1
    rng = np.random.default_rng(seed)
    weights = _subject_weights(strata, len(subjects), resamples, rng)
    scores = []
    for run in runs:
        conf = _subject_confusions(run, subjects, num_classes)  # (K, S, C*C)
        full = pooled_scores(conf.sum(axis=1).reshape(-1, num_classes, num_classes))  # (K,)
        boot = pooled_scores((weights @ conf).reshape(len(conf), resamples, num_classes, num_classes))
        mix = _seed_weights(len(conf), resamples, rng)  # (R, K)
        scores.append({m: (float(full[m].mean()), np.einsum("rk,kr->r", mix, boot[m])) for m in METRICS})
    info = {
        "resamples": resamples,
        "seed": seed,
        "subjects": len(subjects),
        "datasets": {d: len(m) for d, m in strata.items()},
    }
    return scores, info


def score_interval(run: RunPredictions, resamples: int = 10_000, seed: int = 0) -> dict[str, Any]:
    """The pooled UF1 and UAR of one run with 95% subject-cluster bootstrap intervals (seeds
    resampled too): ``{"uf1": {"score", "ci_low", "ci_high", "half_width"}, ...}``."""
    (scores,), result = _boot([run], resamples, seed)
    for m in METRICS:
        observed, boot = scores[m]
        low, high = np.nanpercentile(boot, [2.5, 97.5])
        result[m] = {
            "score": observed,
            "ci_low": float(low),
            "ci_high": float(high),
            "half_width": float(high - low) / 2,
        }
    return result


def paired_bootstrap(
    a: RunPredictions, b: RunPredictions, resamples: int = 10_000, seed: int = 0
) -> dict[str, Any]:
    """ΔUF1 and ΔUAR of ``a`` minus ``b`` with 95% intervals and p-values (module docstring).

    Both must hold the same samples with the same labels. Deterministic for a given ``seed``.
    """
    (scores_a, scores_b), result = _boot([a, b], resamples, seed)
    result.update(seeds_a=len(a.preds), seeds_b=len(b.preds))
    for m in METRICS:
        (obs_a, boot_a), (obs_b, boot_b) = scores_a[m], scores_b[m]
        result[m] = _difference(obs_a, obs_b, boot_a - boot_b)
    return result


def _difference(a: float, b: float, delta: np.ndarray) -> dict[str, float]:
    """Observed ``a - b`` with the 95% percentile interval and the two-sided bootstrap p-value of
    its resampled values ``delta`` (R,)."""
    low, high = np.nanpercentile(delta, [2.5, 97.5])
    return {
        "a": a,
        "b": b,
        "delta": a - b,
        "ci_low": float(low),
        "ci_high": float(high),
        "p": float(min(1.0, 2 * min(np.mean(delta <= 0), np.mean(delta >= 0)))),
    }


def paired_rate_bootstrap(
    a: np.ndarray,
    b: np.ndarray,
    subjects: Sequence[str],
    datasets: Sequence[str],
    resamples: int = 10_000,
    seed: int = 0,
) -> dict[str, float]:
    """The difference of two per-sample rates (e.g. same-subject retrieval hits), ``a`` minus
    ``b``, with a 95% paired subject-cluster bootstrap interval and p-value.

    a: (Ka, N), b: (Kb, N): per seed and sample 1/0 outcomes (or any values), NaN where a sample
    does not count; a run's rate is the mean over its counted samples, averaged over seeds.
    Subjects are resampled within each dataset and seeds with replacement, as for UF1 (module
    docstring). Returns ``{"a", "b", "delta", "ci_low", "ci_high", "p"}``.
    """
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, got {resamples}")
    names, strata = _strata(subjects, datasets)
    index = np.array([names.index(s) for s in subjects])
    rng = np.random.default_rng(seed)
    weights = _subject_weights(strata, len(names), resamples, rng)  # (R, S)
    observed, boot = [], []
    for values in (np.atleast_2d(a), np.atleast_2d(b)):
        if values.shape[1] != len(subjects):
            raise ValueError(f"{values.shape[1]} samples but {len(subjects)} subjects")
        counted = ~np.isnan(values)
        sums = np.zeros((len(values), len(names)))
        counts = np.zeros((len(values), len(names)))
        for k in range(len(values)):
            np.add.at(sums[k], index[counted[k]], values[k][counted[k]])
            np.add.at(counts[k], index[counted[k]], 1)
        observed.append(float(np.mean(sums.sum(axis=1) / counts.sum(axis=1))))
        with np.errstate(divide="ignore", invalid="ignore"):
            rates = (weights @ sums.T) / (weights @ counts.T)  # (R, K)
        mix = _seed_weights(len(values), resamples, rng)  # (R, K)
        boot.append(np.einsum("rk,rk->r", mix, rates))
    return _difference(observed[0], observed[1], boot[0] - boot[1])


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values, in the input order (step-down, monotone, capped at 1)."""
    order = np.argsort(pvalues, kind="stable")
    m = len(pvalues)
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * float(pvalues[i])))
        adjusted[i] = running
    return adjusted.tolist()


def too_few_subjects(subjects: int) -> str:
    """Why a subject bootstrap over ``subjects`` subjects is not read ("" when it is): MIN_SUBJECTS."""
    if subjects >= MIN_SUBJECTS:
        return ""
    return f"{subjects} subject{'' if subjects == 1 else 's'}, fewer than the {MIN_SUBJECTS} a subject bootstrap needs"


def verdict(result: Mapping[str, float], name_a: str = "a", name_b: str = "b", *, subjects: int) -> str:
    """Prose for one metric's difference ``name_a - name_b``: "better"/"worse" only when its 95%
    interval excludes 0 and its p (``p_holm`` where given: several runs against one) is below
    ALPHA; no verdict at all with fewer than MIN_SUBJECTS subjects."""
    few = too_few_subjects(subjects)
    if few:
        return f"no verdict: {few}"
    called = result.get("p_holm", result["p"]) < ALPHA
    if called and result["ci_low"] > 0:
        return f"{name_a} better than {name_b}"
    if called and result["ci_high"] < 0:
        return f"{name_a} worse than {name_b}"
    return "not distinguishable"
