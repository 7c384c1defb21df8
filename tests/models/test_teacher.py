"""The identity teacher: dlib descriptors pull the identity code and are kept out of the motion path."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from lfd_tcmen.config.experiment import ExperimentConfig
from lfd_tcmen.models import create_model, losses
from lfd_tcmen.models.factory import model_class
from lfd_tcmen.runs import features as run_features
from lfd_tcmen.runs.experiment import run_experiment
from lfd_toys import FULL, build, make_batch, run
from toys import make_config, make_features


def test_independence_is_zero_for_unrelated_codes_and_high_for_a_copy():
    g = torch.Generator().manual_seed(0)
    reference = torch.randn(64, 16, generator=g)
    unrelated = torch.randn(64, 8, generator=g)
    copy = reference[:, :8] * 3.0 + 1.0
    low = float(losses.independence_loss(unrelated, reference))
    high = float(losses.independence_loss(copy, reference))
    assert 0.0 <= low < 0.1 < 0.5 < high <= 1.0 + 1e-6
    assert float(losses.independence_loss(unrelated[:3], reference[:3])) == 0.0  # too few samples


def test_independence_moves_the_code_not_the_reference():
    reference = torch.randn(16, 6, requires_grad=True)
    code = (reference[:, :4].detach() + 0.1 * torch.randn(16, 4)).requires_grad_()
    losses.independence_loss(code, reference).backward()
    assert code.grad is not None and code.grad.abs().sum() > 0 and reference.grad is None


def test_the_teacher_terms_train_and_vanish_without_descriptors():
    model = build(FULL)
    batch = make_batch(FULL)
    out, total, terms = run(model, batch)
    assert out["teacher_prediction"].shape == (6, 128)
    assert terms["teacher"] > 0 and terms["teacher_hsic"] >= 0  # an untrained code: independent or near
    total.backward()
    assert model.teacher_head.weight.grad.abs().sum() > 0
    _, without = model.loss(out, {k: v for k, v in batch.items() if k != "teacher"})
    assert without["teacher"] == 0.0 and without["teacher_hsic"] == 0.0


def test_optimising_the_teacher_points_the_identity_code_at_the_descriptor():
    model = build(
        FULL,
        **{
            f"w_{t}": 0.0
            for t in (
                "orth",
                "recon",
                "consistency",
                "cycle",
                "identity",
                "adversary",
                "hsic",
                "teacher_hsic",
            )
        },
    )
    batch = make_batch(FULL)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = None
    for _ in range(60):
        out, total, terms = run(model, batch)
        first = first if first is not None else terms["teacher"]
        opt.zero_grad()
        total.backward()
        opt.step()
    assert terms["teacher"] < 0.5 * first


def test_only_a_model_with_a_teacher_weight_asks_for_descriptors():
    lfd = model_class("lfd_tcmen")
    assert lfd.needs_identity({"w_teacher": 0.1}) and lfd.needs_identity({"w_teacher_hsic": 1})
    assert not lfd.needs_identity({}) and not lfd.needs_identity({"w_teacher": 0.0})
    assert not model_class("off_apexnet").needs_identity({})


def test_a_run_with_a_teacher_attaches_descriptors_of_the_reference_face(monkeypatch, tmp_path):
    seen = []

    def fake(faces, folder=None):  # dlib on toy noise says nothing; the plumbing is what is tested
        seen.append(faces.copy())
        return np.repeat(faces.reshape(len(faces), -1)[:, :1], 128, axis=1).astype(np.float32)

    monkeypatch.setattr(run_features, "cached_identity_descriptors", fake)
    features = make_features()
    base = make_config(epochs=1)
    params = {**base.model.params, "w_teacher": 0.5, "w_teacher_hsic": 0.5}
    config = ExperimentConfig.from_dict({**base.to_dict(), "model": {"name": "lfd_tcmen", "params": params}})
    run_experiment(config, features, tmp_path / "run", progress=False)
    assert len(seen) == 1 and np.array_equal(seen[0], features.faces[:, features.face_frames.index("onset")])
    fold = next((tmp_path / "run" / "folds").iterdir())
    header, first = (fold / "history.csv").read_text().splitlines()[:2]
    row = dict(zip(header.split(","), first.split(",")))
    assert float(row["teacher"]) > 0 and "teacher_hsic" in row
    assert features.identity is None  # the caller's FeatureSet is left as it was
    assert dataclasses.replace(features).identity is None


def test_descriptors_follow_a_subset():
    features = dataclasses.replace(make_features(), identity=None)
    with_id = dataclasses.replace(
        features, identity=np.arange(len(features) * 128, dtype=np.float32).reshape(-1, 128)
    )
    part = with_id.subset([3, 1])
    assert np.array_equal(part.identity, with_id.identity[[3, 1]])
    with pytest.raises(ValueError, match="identity has"):
        dataclasses.replace(features, identity=np.zeros((2, 128), np.float32))


def test_a_teacher_head_is_built_only_when_asked():
    assert not hasattr(create_model("lfd_tcmen", FULL), "teacher_head")
