"""Mixup of the flows (train.mixup): the labels mix as the flows do; off leaves training unchanged."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.data.splits import loso_folds
from lfd_tcmen.models import losses
from lfd_tcmen.training.fold import train_fold


def test_a_mixed_batch_is_scored_against_both_labels_by_weight():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(5, 3, generator=g)
    a, b = torch.tensor([0, 1, 2, 0, 1]), torch.tensor([2, 2, 0, 1, 1])
    weights = torch.tensor([1.0, 2.0, 0.5])
    mixed = losses.classification_loss(logits, a, weights, mixed_with=(b, 0.3))
    expected = 0.3 * losses.classification_loss(logits, a, weights) + 0.7 * losses.classification_loss(
        logits, b, weights
    )
    assert torch.isclose(mixed, expected)
    batch = {"labels": a, "mix_labels": b, "mix_lambda": torch.tensor(0.3)}
    assert losses.mixed_with(batch)[1] == pytest.approx(0.3) and losses.mixed_with({"labels": a}) is None


def test_mixup_is_seeded_changes_training_and_keeps_the_test_subject_out(features, make_config):
    fold = loso_folds(features.subjects)[0]
    seen: list[np.ndarray] = []
    config = make_config(epochs=2, mixup=0.4)
    one = train_fold(features, fold, config, 3, progress=False, on_batch=seen.append)["honest"]
    two = train_fold(features, fold, config, 3, progress=False)["honest"]
    plain = train_fold(features, fold, make_config(epochs=2), 3, progress=False)["honest"]
    assert np.array_equal(one.probs, two.probs) and np.isfinite(one.probs).all()
    assert not np.array_equal(one.probs, plain.probs)
    assert not set(np.concatenate(seen).tolist()) & set(fold.test)


def test_a_negative_mixup_is_refused(make_config):
    with pytest.raises(LFDError, match="mixup"):
        make_config(mixup=-0.1)
