"""The paired subject-cluster bootstrap, on constructed cases whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from lfd_tcmen.evaluation.metrics import scores_from_confusion
from lfd_tcmen.evaluation.stats import (
    MIN_SUBJECTS,
    RunPredictions,
    holm,
    paired_bootstrap,
    paired_rate_bootstrap,
    pooled_scores,
    score_interval,
    too_few_subjects,
    verdict,
)


def run(labels, *seeds, subjects=None, datasets=None) -> RunPredictions:
    n = len(labels)
    subjects = subjects or [f"s{i // 5:02d}" for i in range(n)]
    datasets = datasets or ["casme2"] * n
    rows = [
        [
            {"dataset": d, "subject": s, "sample": f"x{i:03d}", "label": int(y), "pred": int(p)}
            for i, (d, s, y, p) in enumerate(zip(datasets, subjects, labels, preds))
        ]
        for preds in seeds
    ]
    return RunPredictions.from_rows(rows)


def test_pooled_scores_follow_the_metrics_module_including_absent_classes():
    rng = np.random.default_rng(0)
    for _ in range(50):
        cm = rng.integers(0, 4, size=(3, 3)) * (rng.random((3, 3)) < 0.6)
        if cm.sum() == 0:
            continue
        ours = pooled_scores(cm)
        ref = scores_from_confusion(cm)
        assert ours["uf1"] == pytest.approx(ref["uf1"]) and ours["uar"] == pytest.approx(ref["uar"])


def test_identical_runs_differ_by_exactly_nothing():
    labels = np.arange(60) % 3
    preds = (labels + (np.arange(60) % 7 == 0)) % 3
    result = paired_bootstrap(run(labels, preds), run(labels, preds), resamples=500)
    for m in ("uf1", "uar"):
        assert result[m]["delta"] == 0 and result[m]["ci_low"] == 0 == result[m]["ci_high"]
        assert result[m]["p"] == 1.0
        assert verdict(result[m], subjects=result["subjects"]) == "not distinguishable"


def test_a_perfect_method_beats_an_always_wrong_one():
    labels = np.arange(60) % 3
    result = paired_bootstrap(run(labels, labels), run(labels, (labels + 1) % 3), resamples=1000)
    assert result["uf1"]["delta"] == 1.0 and result["uf1"]["ci_low"] == 1.0
    assert result["uf1"]["p"] < 0.01 and verdict(result["uf1"], "A", "B", subjects=12) == "A better than B"


def test_no_verdict_below_the_fewest_subjects_and_none_against_the_holm_p():
    labels = np.arange(8) % 3  # two subjects of four clips
    result = paired_bootstrap(
        run(labels, labels, subjects=["s0"] * 4 + ["s1"] * 4),
        run(labels, (labels + 1) % 3, subjects=["s0"] * 4 + ["s1"] * 4),
        resamples=500,
    )
    assert result["subjects"] == 2 < MIN_SUBJECTS and result["uf1"]["ci_low"] == result["uf1"]["delta"] == 1.0
    assert verdict(result["uf1"], "A", "B", subjects=2) == (
        "no verdict: 2 subjects, fewer than the 10 a subject bootstrap needs"
    )
    assert too_few_subjects(1) == "1 subject, fewer than the 10 a subject bootstrap needs"
    assert too_few_subjects(MIN_SUBJECTS) == ""
    above = {"delta": 0.05, "ci_low": 0.01, "ci_high": 0.09, "p": 0.02}
    assert verdict(above, "B", "A", subjects=20) == "B better than A"
    assert verdict({**above, "p_holm": 0.06}, "B", "A", subjects=20) == "not distinguishable"
    assert verdict({**above, "p_holm": 0.04}, "B", "A", subjects=20) == "B better than A"


def test_a_difference_in_one_subject_of_twenty_is_not_a_finding():
    """A is right where B is wrong on one subject only: every resample has A >= B, and A = B
    exactly when that subject is not drawn, which happens with probability (19/20)^20."""
    labels = np.arange(100) % 3
    b = labels.copy()
    b[:5] = (labels[:5] + 1) % 3  # subject s00 wrong
    result = paired_bootstrap(run(labels, labels), run(labels, b), resamples=10_000, seed=1)
    assert result["subjects"] == 20 and result["uf1"]["delta"] > 0
    assert result["uf1"]["ci_low"] == 0
    assert result["uf1"]["p"] == pytest.approx(2 * (19 / 20) ** 20, abs=0.03)


def test_resamples_stay_within_each_dataset():
    """Two datasets: one where both methods are perfect, one where both are wrong on half; the
    pooled scores move with the mix, so stratification keeps the mix fixed: with A = B, still 0."""
    labels = np.arange(40) % 2
    datasets = ["casme2"] * 20 + ["samm"] * 20
    subjects = [f"s{i // 4}" for i in range(40)]
    result = paired_bootstrap(
        run(labels, labels, subjects=subjects, datasets=datasets),
        run(labels, labels, subjects=subjects, datasets=datasets),
        resamples=200,
    )
    assert result["datasets"] == {"casme2": 5, "samm": 5}


def test_seeds_are_resampled_so_seed_spread_widens_the_interval():
    labels = np.arange(90) % 3
    rng = np.random.default_rng(3)
    seeds = [np.where(rng.random(90) < 0.7, labels, (labels + 1) % 3) for _ in range(5)]
    one = paired_bootstrap(run(labels, seeds[0]), run(labels, labels), resamples=3000)
    five = paired_bootstrap(run(labels, *seeds), run(labels, labels), resamples=3000)
    assert five["seeds_a"] == 5 and five["uf1"]["ci_high"] - five["uf1"]["ci_low"] > 0
    assert five["uf1"]["a"] == pytest.approx(
        np.mean([pooled_scores(np.bincount(labels * 3 + s, minlength=9).reshape(3, 3))["uf1"] for s in seeds])
    )
    assert one["seeds_a"] == 1


def test_under_no_difference_the_interval_usually_holds_zero():
    rng = np.random.default_rng(7)
    labels = np.arange(150) % 3
    held = 0
    for _ in range(20):
        a = np.where(rng.random(150) < 0.6, labels, rng.integers(0, 3, 150))
        b = np.where(rng.random(150) < 0.6, labels, rng.integers(0, 3, 150))
        r = paired_bootstrap(run(labels, a), run(labels, b), resamples=1000, seed=int(rng.integers(1000)))
        held += r["uf1"]["ci_low"] <= 0 <= r["uf1"]["ci_high"]
    assert held >= 16  # nominal 95%: 19 of 20 expected


def test_runs_must_hold_the_same_samples():
    labels = np.arange(30) % 3
    with pytest.raises(ValueError, match="same samples"):
        paired_bootstrap(run(labels, labels), run(labels[:25], labels[:25]))


def test_holm_adjustment():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5]) == [0.5] and holm([0.6, 0.9]) == [1.0, 1.0]


def test_one_runs_interval_is_the_subject_bootstrap_of_its_score():
    labels = np.arange(60) % 3
    perfect = score_interval(run(labels, labels), resamples=500)
    assert perfect["uf1"] == {"score": 1.0, "ci_low": 1.0, "ci_high": 1.0, "half_width": 0.0}
    rng = np.random.default_rng(2)
    noisy = score_interval(
        run(labels, np.where(rng.random(60) < 0.6, labels, (labels + 1) % 3)), resamples=2000
    )
    assert noisy["uf1"]["ci_low"] < noisy["uf1"]["score"] < noisy["uf1"]["ci_high"]
    assert 0 < noisy["uf1"]["half_width"] < 0.3


# ----------------------------------------------------------------------------- rates (probe hits)
def _subjects(n_subjects: int = 20, per: int = 5) -> tuple[list[str], list[str]]:
    subjects = [f"s{i:02d}" for i in range(n_subjects) for _ in range(per)]
    return subjects, ["d0" if int(s[1:]) % 2 else "d1" for s in subjects]


def test_rates_of_identical_outcomes_differ_by_exactly_nothing():
    subjects, datasets = _subjects()
    hits = np.random.default_rng(0).integers(0, 2, size=(1, len(subjects))).astype(float)
    hits = np.repeat(hits, 3, axis=0)  # three seeds that agree (each run's seeds are drawn apart)
    r = paired_rate_bootstrap(hits, hits, subjects, datasets, resamples=500)
    assert r["delta"] == 0 and r["ci_low"] == 0 and r["ci_high"] == 0 and r["p"] == 1.0


def test_all_hits_against_all_misses_is_a_difference_of_one():
    subjects, datasets = _subjects()
    ones, zeros = np.ones((1, len(subjects))), np.zeros((2, len(subjects)))
    r = paired_rate_bootstrap(ones, zeros, subjects, datasets, resamples=500)
    assert (r["a"], r["b"], r["delta"], r["ci_low"], r["ci_high"], r["p"]) == (1.0, 0.0, 1.0, 1.0, 1.0, 0.0)


def test_uncounted_samples_are_left_out_of_the_rate():
    subjects, datasets = _subjects()
    a = np.ones((1, len(subjects)))
    a[0, ::5] = np.nan  # one sample of each subject not queried
    b = np.full((1, len(subjects)), 0.5)
    r = paired_rate_bootstrap(a, b, subjects, datasets, resamples=200)
    assert r["a"] == 1.0 and r["delta"] == 0.5 and r["ci_low"] == r["ci_high"] == 0.5


def test_a_rate_difference_in_one_subject_of_twenty_is_not_a_finding():
    subjects, datasets = _subjects()
    a = np.ones((1, len(subjects)))
    b = a.copy()
    b[0, :5] = 0.0  # subject s00 only
    r = paired_rate_bootstrap(a, b, subjects, datasets, resamples=2000)
    assert r["delta"] == pytest.approx(0.05)
    assert r["ci_low"] == 0.0 < r["ci_high"] and r["p"] > 0.05


def test_seed_spread_widens_the_rate_interval():
    subjects, datasets = _subjects()
    rng = np.random.default_rng(1)
    base = (rng.random((1, len(subjects))) < 0.6).astype(float)
    steady = np.repeat(base, 4, axis=0)
    noisy = np.concatenate([base, np.ones_like(base), base, np.zeros_like(base)])  # seeds far apart
    ref = (rng.random((1, len(subjects))) < 0.6).astype(float)
    one = paired_rate_bootstrap(steady, ref, subjects, datasets, resamples=2000)
    spread = paired_rate_bootstrap(noisy, ref, subjects, datasets, resamples=2000)
    assert spread["ci_high"] - spread["ci_low"] > one["ci_high"] - one["ci_low"]
