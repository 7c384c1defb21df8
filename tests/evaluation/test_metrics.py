"""MEGC2019 metrics against hand-computed values and scikit-learn."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn import metrics as skm

from lfd_tcmen.evaluation.metrics import (
    accuracy,
    classification_report,
    confusion_matrix,
    macro_precision,
    score_table,
    scores_from_confusion,
    summarize,
    uar,
    uf1,
)

# hand example: cm rows (true) = [2 1 0], [0 1 1], [0 0 1]
Y_TRUE = [0, 0, 0, 1, 1, 2]
Y_PRED = [0, 0, 1, 1, 2, 2]


def test_confusion_matrix_hand_example():
    cm = confusion_matrix(Y_TRUE, Y_PRED)
    assert cm.tolist() == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    assert cm.dtype == np.int64
    assert confusion_matrix(Y_TRUE, Y_PRED, num_classes=4).shape == (4, 4)


def test_scores_hand_example():
    # F1 = 4/5, 2/4, 2/3 -> UF1 = 59/90; recall = 2/3, 1/2, 1 -> UAR = 13/18; precision 1, 1/2, 1/2
    assert uf1(Y_TRUE, Y_PRED) == pytest.approx(59 / 90)
    assert uar(Y_TRUE, Y_PRED) == pytest.approx(13 / 18)
    assert accuracy(Y_TRUE, Y_PRED) == pytest.approx(4 / 6)
    assert macro_precision(Y_TRUE, Y_PRED) == pytest.approx(2 / 3)
    assert summarize(Y_TRUE, Y_PRED) == pytest.approx(
        {"uf1": 59 / 90, "uar": 13 / 18, "accuracy": 4 / 6, "n": 6}
    )


def test_metrics_pool_folds_instead_of_averaging_them():
    fold_a = ([0, 0], [0, 0])
    fold_b = ([1, 1, 0], [1, 0, 0])
    pooled_true = fold_a[0] + fold_b[0]
    pooled_pred = fold_a[1] + fold_b[1]
    # pooled cm [[3,0],[1,1]]: F1 = 6/7 and 2/3
    assert uf1(pooled_true, pooled_pred) == pytest.approx(16 / 21)
    summed = confusion_matrix(*fold_a, num_classes=2) + confusion_matrix(*fold_b, num_classes=2)
    assert scores_from_confusion(summed)["uf1"] == pytest.approx(16 / 21)
    per_fold_mean = (uf1(*fold_a) + uf1(*fold_b)) / 2
    assert abs(per_fold_mean - 16 / 21) > 0.05


def test_class_absent_from_both_is_left_out():
    t, p = [0, 0, 2], [0, 2, 2]  # class 1 never occurs: F1 over {0, 2} = 2/3 and 2/3
    assert uf1(t, p, num_classes=3) == pytest.approx(2 / 3)
    assert uf1(t, p, num_classes=7) == pytest.approx(2 / 3)
    assert uar(t, p, num_classes=3) == pytest.approx((1 / 2 + 1) / 2)
    assert skm.f1_score(t, p, average="macro") == pytest.approx(2 / 3)  # same convention as sklearn
    report = classification_report(t, p, num_classes=3)
    assert report[1]["support"] == 0
    assert all(math.isnan(report[1][k]) for k in ("precision", "recall", "f1"))


def test_class_predicted_but_never_true():
    t, p = [0, 0, 0, 2], [0, 1, 0, 2]
    # UF1 counts class 1 with F1 = 0: (4/5 + 0 + 1) / 3; UAR only over true classes 0 and 2
    assert uf1(t, p) == pytest.approx(0.6)
    assert uar(t, p) == pytest.approx((2 / 3 + 1) / 2)
    with pytest.warns(UserWarning):
        assert skm.balanced_accuracy_score(t, p) == pytest.approx(5 / 6)
    assert math.isnan(classification_report(t, p)[1]["recall"])


@pytest.mark.parametrize("seed", range(6))
def test_against_sklearn_single_fold(seed):
    rng = np.random.default_rng(seed)
    n, c = int(rng.integers(8, 60)), int(rng.integers(2, 6))
    t = rng.integers(0, c, n)
    p = np.where(rng.random(n) < 0.5, t, rng.integers(0, c, n))
    assert uf1(t, p, c) == pytest.approx(skm.f1_score(t, p, average="macro"))
    assert accuracy(t, p) == pytest.approx(skm.accuracy_score(t, p))
    assert confusion_matrix(t, p, c).tolist() == skm.confusion_matrix(t, p, labels=list(range(c))).tolist()
    if set(p) <= set(t):  # sklearn warns and differs only when a class is predicted but never true
        assert uar(t, p, c) == pytest.approx(skm.balanced_accuracy_score(t, p))
        assert macro_precision(t, p, c) == pytest.approx(
            skm.precision_score(t, p, average="macro", zero_division=0)
        )
    prec, rec, f1, support = skm.precision_recall_fscore_support(t, p, labels=list(range(c)), zero_division=0)
    for i, row in enumerate(classification_report(t, p, c)):
        assert row["support"] == support[i]
        if support[i]:
            assert (row["precision"], row["recall"], row["f1"]) == pytest.approx((prec[i], rec[i], f1[i]))


def test_classification_report_names_and_validation():
    report = classification_report(Y_TRUE, Y_PRED, class_names=["negative", "positive", "surprise"])
    assert [r["class"] for r in report] == ["negative", "positive", "surprise"]
    assert report[0] == pytest.approx(
        {"class": "negative", "precision": 1.0, "recall": 2 / 3, "f1": 0.8, "support": 3}
    )
    with pytest.raises(ValueError, match="class names"):
        classification_report(Y_TRUE, Y_PRED, class_names=["a", "b"])


@pytest.mark.parametrize(
    ("t", "p", "c", "message"),
    [
        ([], [], None, "no predictions"),
        ([0, 1], [0], None, "has 2 labels"),
        ([0, 3], [0, 1], 3, "out of range"),
        ([0, -1], [0, 1], None, "negative"),
        ([0.5, 1], [0, 1], None, "non-integer"),
    ],
)
def test_bad_labels_raise(t, p, c, message):
    with pytest.raises(ValueError, match=message):
        uf1(t, p, c)


def test_score_table_overall_and_per_dataset():
    rows = [
        {"dataset": "casme2", "label": 0, "pred": 0},
        {"dataset": "smic", "label": 1, "pred": 0},
        {"dataset": "casme2", "label": 1, "pred": 1},
        {"dataset": "smic", "label": 0, "pred": 0},
        {"dataset": None, "label": 2, "pred": 2},
        {"label": 2, "pred": 1},
    ]
    table = score_table(rows)
    assert set(table) == {"overall", "per_dataset"}
    assert list(table["per_dataset"]) == ["casme2", "smic"]
    assert table["overall"]["n"] == 6
    assert table["overall"] == pytest.approx(summarize([0, 1, 1, 0, 2, 2], [0, 0, 1, 0, 2, 1]))
    assert table["per_dataset"]["casme2"] == {"uf1": 1.0, "uar": 1.0, "accuracy": 1.0, "n": 2}
    smic = table["per_dataset"]["smic"]  # t [1,0] p [0,0]: F1 2/3 and 0
    assert (smic["uf1"], smic["uar"], smic["accuracy"], smic["n"]) == pytest.approx((1 / 3, 1 / 2, 1 / 2, 2))
