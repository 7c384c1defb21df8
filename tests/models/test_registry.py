"""The model registry and factory, ModelSpec, and the MERModel contract, tested for every registered model."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.data.features import FeatureSet
from lfd_tcmen.models import (
    MERModel,
    ModelSpec,
    create_model,
    create_model_for,
    model_class,
    model_default_train,
    model_names,
    register_model,
)
from lfd_tcmen.models.htnet import HTNet
from lfd_tcmen.models.registry import MODELS

SPECS = {
    "full": ModelSpec(
        3, 4, ("onset", "apex", "offset"), ("onset:apex", "onset:mid", "mid:apex", "apex:offset"), 32, 16
    ),
    "apex_only": ModelSpec(3, 4, ("apex",), ("onset:apex",), 32, 16),
}


def make_batch(spec: ModelSpec, b: int = 4) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {
        "faces": torch.rand(b, spec.num_frames, spec.face_size, spec.face_size, generator=g),
        "flows": torch.rand(b, spec.num_segments, 3, spec.flow_size, spec.flow_size, generator=g),
        "labels": torch.tensor([0, 1, 2, 0])[:b],
        "subjects": torch.tensor([0, 1, -1, 3])[:b],
        "class_weights": torch.tensor([1.0, 2.0, 0.5]),
    }


def test_lfd_tcmen_is_registered():
    assert "lfd_tcmen" in model_names()
    assert model_names() == sorted(model_names())


@pytest.mark.parametrize("regime", sorted(SPECS))
@pytest.mark.parametrize("name", model_names())
def test_every_model_honours_the_contract(name, regime):
    spec = SPECS[regime]
    torch.manual_seed(0)
    model = create_model(name, spec)
    assert isinstance(model, MERModel) and model.spec == spec
    batch = make_batch(spec)
    out = model(batch["faces"], batch["flows"])
    assert out["logits"].shape == (4, spec.num_classes)
    total, terms = model.loss(out, batch)
    assert total.ndim == 0 and torch.isfinite(total)
    assert terms and all(isinstance(v, float) for v in terms.values())
    total.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())

    model.train()
    probs = model.predict(batch["faces"], batch["flows"])
    assert probs.shape == (4, spec.num_classes)
    assert torch.allclose(probs.sum(1), torch.ones(4), atol=1e-5)
    assert model.training  # predict restores the mode it found


@pytest.mark.parametrize("name", model_names())
def test_every_model_is_deterministic_by_seed(name):
    spec = SPECS["full"]
    batch = make_batch(spec)

    def logits(seed: int) -> torch.Tensor:
        torch.manual_seed(seed)
        return create_model(name, spec).predict(batch["faces"], batch["flows"])

    assert torch.equal(logits(0), logits(0))


def test_unknown_model_is_an_lfd_error():
    with pytest.raises(LFDError, match="unknown model 'nope'.*lfd_tcmen"):
        create_model("nope", SPECS["full"])


def test_registering_a_name_twice_fails():
    with pytest.raises(ValueError, match="registered twice"):
        register_model("lfd_tcmen")(lambda spec, **params: None)


class _Linear(MERModel):
    """A minimal peer: logits from the mean apex intensity (uses the default loss)."""

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        self.fc = nn.Linear(1, spec.num_classes)

    def forward(self, faces, flows):
        return {"logits": self.fc(faces.mean(dim=(1, 2, 3)).unsqueeze(1))}


@pytest.fixture
def scratch_registry(monkeypatch):
    """Models registered in the test are forgotten after it (the real ones stay registered)."""
    monkeypatch.setattr(MODELS, "_entries", dict(MODELS._entries))


def test_register_and_build_a_new_model(scratch_registry):
    register_model("_test_linear")(_Linear)
    assert "_test_linear" in model_names()
    assert model_class("_test_linear") is _Linear
    model = create_model("_test_linear", SPECS["apex_only"])
    assert isinstance(model, _Linear)


def test_model_class_is_the_registered_class():
    assert model_class("htnet") is HTNet
    with pytest.raises(LFDError, match="unknown model 'nope'"):
        model_class("nope")


def test_model_default_train_is_the_class_attribute():
    assert model_default_train("ststnet") == {"epochs": 800, "lr": 5e-5, "batch_size": 256}
    assert model_default_train("off_apexnet") == {"epochs": 3000, "lr": 1e-4, "batch_size": 256}
    # registered as its class like every model (issue 36), with our recipe as its defaults
    assert model_default_train("lfd_tcmen") == {"epochs": 30, "lr": 1e-3, "batch_size": 32}
    with pytest.raises(LFDError, match="unknown model 'nope'"):
        model_default_train("nope")


def test_a_model_without_default_train_says_so(scratch_registry):
    register_model("_test_plain")(_Linear)
    with pytest.raises(LFDError, match="declares no default_train"):
        model_default_train("_test_plain")


def test_every_registered_model_is_a_class():
    from lfd_tcmen.models.factory import model_class, model_names

    for name in model_names():
        assert isinstance(model_class(name), type), name


def test_model_default_train_needs_adam(scratch_registry):
    class _Sgd(_Linear):
        default_train = {"epochs": 5, "lr": 0.1, "batch_size": 8, "optimizer": "SGD"}

    register_model("_test_sgd")(_Sgd)
    with pytest.raises(LFDError, match="trains with 'sgd'; the engine trains with Adam only"):
        model_default_train("_test_sgd")


def test_default_loss_is_class_weighted_cross_entropy():
    spec = SPECS["apex_only"]
    torch.manual_seed(0)
    model = _Linear(spec)
    batch = make_batch(spec)
    out = model(batch["faces"], batch["flows"])
    total, terms = model.loss(out, batch)
    expected = F.cross_entropy(out["logits"], batch["labels"], weight=batch["class_weights"])
    assert total.item() == pytest.approx(expected.item()) and terms == {"cls": pytest.approx(expected.item())}
    unweighted, _ = model.loss(out, {k: v for k, v in batch.items() if k != "class_weights"})
    assert unweighted.item() == pytest.approx(F.cross_entropy(out["logits"], batch["labels"]).item())
    assert unweighted.item() != pytest.approx(total.item())


def test_base_forward_is_abstract():
    with pytest.raises(NotImplementedError):
        MERModel(SPECS["full"])(torch.zeros(1, 3, 4, 4), torch.zeros(1, 4, 3, 4, 4))


def test_spec_round_trips_through_plain_types():
    spec = SPECS["full"]
    d = spec.to_dict()
    assert d["face_frames"] == ["onset", "apex", "offset"] and isinstance(d["num_classes"], int)
    buffer = io.BytesIO()
    torch.save({"spec": d}, buffer)
    buffer.seek(0)
    assert ModelSpec.from_dict(torch.load(buffer, weights_only=True)["spec"]) == spec
    assert ModelSpec(**d) == spec  # lists are turned back into tuples
    assert spec.num_frames == 3 and spec.num_segments == 4


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(num_classes=0), "num_classes"),
        (dict(num_subjects=-1), "num_subjects"),
        (dict(face_frames=()), "must not be empty"),
    ],
)
def test_spec_rejects_impossible_values(kwargs, message):
    base = SPECS["full"].to_dict()
    with pytest.raises(ValueError, match=message):
        ModelSpec(**{**base, **kwargs})


def apex_only_features(n: int = 2) -> FeatureSet:
    return FeatureSet(
        sample_ids=[f"s{i}" for i in range(n)],
        datasets=["x"] * n,
        subjects=[f"x/{i}" for i in range(n)],
        labels=np.arange(n) % 3,
        class_names=("negative", "positive", "surprise"),
        faces=np.zeros((n, 1, 64, 64), np.float32),
        face_frames=("apex",),
        flows=np.zeros((n, 1, 3, 28, 28), np.float32),
        flow_segments=("onset:apex",),
    )


def test_create_model_for_takes_the_spec_from_the_features():
    model = create_model_for(apex_only_features(), "ststnet", {}, num_subjects=5)
    assert model.spec == ModelSpec(3, 5, ("apex",), ("onset:apex",), 64, 28)
    with pytest.raises(LFDError, match="unknown parameter"):
        create_model_for(apex_only_features(), "lfd_tcmen", {"w_cylce": 0.0}, num_subjects=5)


def test_spec_from_feature_set():
    spec = ModelSpec.from_feature_set(apex_only_features(), num_subjects=1)
    assert spec == ModelSpec(3, 1, ("apex",), ("onset:apex",), 64, 28)
