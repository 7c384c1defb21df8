"""Identity out of the motion path: gradient reversal, HSIC, subject-balanced batches, motion
from flow, a constant consistency target."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lfd_tcmen.config.experiment import TrainConfig
from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.models import create_model, losses
from lfd_tcmen.models.layers import GradientReversal
from lfd_tcmen.training.sampler import epoch_batches, pk_batches
from lfd_toys import ALL_OFF, APEX_ONLY, FULL, TINY, make_batch, run


def test_gradient_reversal_is_the_identity_forward_and_flips_the_gradient():
    x = torch.randn(4, 3, requires_grad=True)
    y = GradientReversal(scale=0.5)(x)
    assert torch.equal(y, x)
    weights = torch.randn(4, 3)
    (y * weights).sum().backward()
    assert torch.equal(x.grad, -0.5 * weights)


def test_hsic_is_near_zero_for_independent_and_large_for_dependent_codes():
    g = torch.Generator().manual_seed(0)
    subjects = torch.arange(64) % 8
    independent = torch.randn(64, 16, generator=g)
    dependent = torch.randn(8, 16, generator=g)[subjects] + 0.1 * torch.randn(64, 16, generator=g)
    low = float(losses.hsic_loss(independent, subjects))
    high = float(losses.hsic_loss(dependent, subjects))
    assert abs(low) < 0.05 and high > 0.5, (low, high)


def test_hsic_leaves_out_unknown_subjects_and_needs_two_subjects():
    g = torch.Generator().manual_seed(1)
    code = torch.randn(6, 4, generator=g, requires_grad=True)
    assert float(losses.hsic_loss(code, torch.tensor([0, 0, 0, -1, -1, -1])).detach()) == 0.0
    assert float(losses.hsic_loss(code, torch.arange(6)).detach()) == 0.0  # nobody seen twice
    known = torch.tensor([0, 0, 1, 1, -1, -1])
    value = losses.hsic_loss(code, known)
    assert torch.isclose(value, losses.hsic_loss(code[:4], known[:4]))
    value.backward()
    assert code.grad[4:].abs().sum() == 0 and code.grad[:4].abs().sum() > 0


@pytest.mark.parametrize("spec", [FULL, APEX_ONLY], ids=["full", "apex_only"])
def test_the_adversary_learns_the_subject_and_reverses_its_gradient_into_the_encoders(spec):
    torch.manual_seed(0)
    model = create_model("lfd_tcmen", spec, **{**TINY, **ALL_OFF, "w_cls": 1.0, "w_adversary": 1.0})
    batch = make_batch(spec, b=12)
    out = model(batch["faces"], batch["flows"])
    code = out["classifier_input"]
    code.retain_grad()
    adversary = model._loss_adversary(out, batch)
    adversary.backward()
    # what reaches the code is minus what the head's loss asks for
    direct = code.detach().requires_grad_()
    head_only = losses.adversary_loss(model.adversaries["classifier_input"][1:](direct), batch["subjects"])
    (grad,) = torch.autograd.grad(0.5 * head_only, direct)  # two heads, averaged
    assert torch.allclose(code.grad, -grad, atol=1e-6)
    # trained alone against frozen encoders, the heads find the subjects
    for p in model.parameters():
        p.requires_grad_(False)
    heads = [p for p in model.adversaries.parameters()]
    for p in heads:
        p.requires_grad_(True)
    optimiser = torch.optim.Adam(heads, lr=1e-2)
    values = []
    for _ in range(40):
        out = model(batch["faces"], batch["flows"])
        loss = model._loss_adversary(out, batch)
        values.append(float(loss.detach()))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    assert values[-1] < 0.5 * values[0]


@pytest.mark.parametrize("spec", [FULL, APEX_ONLY], ids=["full", "apex_only"])
def test_motion_from_flow_reads_the_flow_never_the_appearance_alone(spec):
    torch.manual_seed(0)
    model = create_model("lfd_tcmen", spec, **{**TINY, "motion_from": "flow"})
    model.eval()
    batch = make_batch(spec)
    code = model(batch["faces"], batch["flows"])["motion_code"]
    other_flow = model(batch["faces"], batch["flows"].flip(0))["motion_code"]
    assert not torch.allclose(code, other_flow)
    if spec is APEX_ONLY:  # no onset: the faces do not enter the motion code at all
        assert torch.equal(model(batch["faces"].flip(0), batch["flows"])["motion_code"], code)
    else:  # with an onset: flow and apex - onset, so the same face twice carries no motion
        still = batch["faces"].clone()
        still[:, 0] = still[:, 1]
        moved = still.clone()
        moved[:, 1] += 0.1
        assert not torch.allclose(
            model(still, batch["flows"])["motion_code"], model(moved, batch["flows"])["motion_code"]
        )
    model.train()
    _, total, terms = run(model, batch)
    assert "cycle" in terms and torch.isfinite(total)
    out = model(batch["faces"], batch["flows"])
    assert "cycle_motion_code" not in out  # a drawn face has no flow: identity half only


def test_a_detached_consistency_target_sends_no_gradient_to_the_flow_encoder():
    def flow_grad(detach: bool) -> float:
        torch.manual_seed(0)
        model = create_model(
            "lfd_tcmen", APEX_ONLY, **{**TINY, **ALL_OFF, "w_consistency": 1.0, "detach_consistency": detach}
        )
        _, total, _ = run(model, make_batch(APEX_ONLY))
        total.backward()
        return sum(
            float(p.grad.abs().sum()) for p in model.tcme.flow_encoder.parameters() if p.grad is not None
        )

    assert flow_grad(False) > 0 and flow_grad(True) == 0


def test_defaults_build_no_adversary():
    model = create_model("lfd_tcmen", FULL)
    assert not hasattr(model, "adversaries") and "adversary" not in model.active_terms


def test_bad_motion_source_is_an_error():
    with pytest.raises(LFDError, match="motion_from"):
        create_model("lfd_tcmen", FULL, motion_from="pixels")


def test_pk_batches_hold_p_subjects_of_at_most_k_samples_and_every_sample_once():
    rng = np.random.default_rng(0)
    subjects = np.repeat(np.arange(12), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 2, 3])
    index = np.arange(100, 100 + len(subjects))
    out = pk_batches(index, subjects, p=4, k=3, rng=rng)
    flat = np.concatenate(out)
    assert sorted(flat.tolist()) == index.tolist()
    subject_of = dict(zip(index.tolist(), subjects.tolist()))
    for batch in out:
        names, counts = np.unique([subject_of[i] for i in batch.tolist()], return_counts=True)
        assert len(names) <= 4 and counts.max() <= 3
    assert all(len({subject_of[i] for i in b.tolist()}) == 4 for b in out[: len(out) // 2])
    assert min(len(b) for b in out) >= 2
    assert [b.tolist() for b in out] == [
        b.tolist() for b in pk_batches(index, subjects, 4, 3, np.random.default_rng(0))
    ]


def test_the_random_sampler_is_the_seeded_permutation_cut_into_batches():
    index = np.arange(20)
    train = TrainConfig(batch_size=8)
    out = epoch_batches(index, index % 4, train, np.random.default_rng(3))
    order = np.random.default_rng(3).permutation(index)
    assert np.array_equal(np.concatenate(out), order) and [len(b) for b in out] == [7, 7, 6]


def test_a_pk_sampler_needs_room_for_two_samples_per_subject():
    with pytest.raises(ValueError, match="pk_subjects"):
        TrainConfig(sampler="pk", batch_size=8, pk_subjects=8)
