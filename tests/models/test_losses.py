"""The six loss functions: known values, the cases that must give 0, and what they ignore."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from lfd_tcmen.models import losses


def test_orthogonality_is_one_for_linearly_dependent_codes():
    identity = torch.randn(16, 1, generator=torch.Generator().manual_seed(0))
    motion = 3.0 * identity + 1.0  # perfectly correlated: |r| = 1
    assert losses.orthogonality_loss(identity, motion).item() == pytest.approx(1.0, abs=1e-5)
    assert losses.orthogonality_loss(identity, -motion).item() == pytest.approx(1.0, abs=1e-5)


def test_orthogonality_is_zero_for_uncorrelated_codes_of_different_sizes():
    # Columns built to be exactly uncorrelated over the batch: +-1 patterns (Walsh functions).
    identity = torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]])  # (4, 2)
    motion = torch.tensor([[1.0], [-1.0], [-1.0], [1.0]])  # (4, 1), the product column
    assert losses.orthogonality_loss(identity, motion).item() == pytest.approx(0.0, abs=1e-6)


def test_orthogonality_mean_of_squared_correlations():
    g = torch.Generator().manual_seed(1)
    identity, motion = torch.randn(32, 3, generator=g), torch.randn(32, 5, generator=g)
    corr = torch.corrcoef(torch.cat([identity, motion], 1).T)[:3, 3:]
    assert losses.orthogonality_loss(identity, motion).item() == pytest.approx(
        corr.pow(2).mean().item(), rel=1e-4
    )


def test_orthogonality_single_sample_is_zero_and_differentiable():
    identity = torch.randn(1, 4, requires_grad=True)
    loss = losses.orthogonality_loss(identity, torch.randn(1, 4))
    loss.backward()
    assert loss.item() == 0.0 and identity.grad is not None


def test_reconstruction_is_mean_absolute_error():
    recon, target = torch.zeros(2, 1, 4, 4), torch.full((2, 1, 4, 4), 0.25)
    target[0] = 0.75
    assert losses.reconstruction_loss(recon, target).item() == pytest.approx(0.5)


@pytest.mark.parametrize(
    "code, reference, expected",
    [
        ([1.0, 2.0], [2.0, 4.0], 0.0),  # same direction, different length
        ([1.0, 0.0], [0.0, 3.0], 1.0),  # orthogonal
        ([1.0, 1.0], [-1.0, -1.0], 2.0),  # opposite
    ],
)
def test_consistency_is_cosine_distance(code, reference, expected):
    value = losses.consistency_loss(torch.tensor([code]), torch.tensor([reference]))
    assert value.item() == pytest.approx(expected, abs=1e-6)


def test_consistency_averages_over_leading_dims():
    code = torch.tensor([[[1.0, 0.0], [1.0, 0.0]]])  # (1, 2, 2)
    reference = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    assert losses.consistency_loss(code, reference).item() == pytest.approx(0.5)


def test_cycle_is_mse_with_fixed_target():
    recovered = torch.tensor([[1.0, 2.0]], requires_grad=True)
    target = torch.tensor([[0.0, 0.0]], requires_grad=True)
    loss = losses.cycle_loss(recovered, target)
    loss.backward()
    assert loss.item() == pytest.approx(2.5)
    assert recovered.grad is not None and target.grad is None


def test_identity_ignores_unknown_subjects():
    logits = torch.randn(4, 3, generator=torch.Generator().manual_seed(2))
    subjects = torch.tensor([0, -1, 2, -1])
    expected = F.cross_entropy(logits[[0, 2]], subjects[[0, 2]])
    assert losses.identity_loss(logits, subjects).item() == pytest.approx(expected.item())


def test_identity_with_no_known_subject_is_zero_not_nan():
    logits = torch.randn(3, 5, requires_grad=True)
    loss = losses.identity_loss(logits, torch.full((3,), -1))
    loss.backward()
    assert loss.item() == 0.0 and torch.isfinite(logits.grad).all()


def test_classification_uniform_logits_give_log_c():
    logits = torch.zeros(6, 3)
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    assert losses.classification_loss(logits, labels).item() == pytest.approx(math.log(3))


def test_classification_class_weights_are_a_weighted_mean():
    logits = torch.tensor([[2.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    labels = torch.tensor([0, 0, 1])
    weights = torch.tensor([1.0, 4.0])
    per_sample = F.cross_entropy(logits, labels, reduction="none")
    expected = (per_sample[0] + per_sample[1] + 4.0 * per_sample[2]) / 6.0
    assert losses.classification_loss(logits, labels, weights).item() == pytest.approx(expected.item())


def test_classification_label_smoothing_penalises_confidence():
    logits = torch.tensor([[10.0, 0.0, 0.0]])
    labels = torch.tensor([0])
    plain = losses.classification_loss(logits, labels).item()
    smooth = losses.classification_loss(logits, labels, label_smoothing=0.3).item()
    assert plain < 1e-3 and smooth > 1.0


def test_total_is_weighted_sum():
    terms = {"cls": torch.tensor(2.0), "orth": torch.tensor(0.5)}
    assert losses.total_loss(terms, {"cls": 1.0, "orth": 0.1}).item() == pytest.approx(2.05)
    with pytest.raises(ValueError):
        losses.total_loss({}, {})
