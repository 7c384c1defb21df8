"""LFD-TCMEN: both input regimes, every loss term trainable, every switch removes its part."""

from __future__ import annotations

import io

import pytest
import torch

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.models import ModelSpec, create_model
from lfd_tcmen.models.lfd_tcmen import LOSS_TERMS
from lfd_toys import ALL_OFF, APEX_ONLY, FULL, TINY, build, make_batch, run


@pytest.mark.parametrize("spec", [FULL, APEX_ONLY], ids=["full_F3_K4", "apex_only_F1_K1"])
def test_forward_backward_shapes(spec):
    model = build(spec)
    batch = make_batch(spec)
    out, total, terms = run(model, batch)
    b, r = 6, TINY["face_resolution"]
    assert out["logits"].shape == (b, 3)
    assert out["identity_code"].shape == (b, 8)
    assert out["motion_code"].shape == (b, 8)
    assert out["identity_logits"].shape == (b, spec.num_subjects)
    assert out["recon_apex"].shape == (b, 1, r, r)
    assert out["flow_embedding"].shape == (b, 16)
    assert set(terms) == set(LOSS_TERMS)
    assert all(v == v and v >= 0 for v in terms.values())  # finite, not NaN
    total.backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


def test_full_regime_specific_outputs():
    out = build(FULL)(make_batch(FULL)["faces"], make_batch(FULL)["flows"])
    assert out["recon_onset"].shape == out["target_onset"].shape == (6, 1, 16, 16)
    assert out["frame_identity_codes"].shape == (6, 2, 8)  # apex and offset against the onset
    assert out["temporal_weights"].shape == (6, 3)  # over the 3 complement segments
    assert torch.allclose(out["temporal_weights"].sum(1), torch.ones(6))


def test_apex_only_regime_has_no_onset_parts():
    model = build(APEX_ONLY)
    batch = make_batch(APEX_ONLY)
    out = model(batch["faces"], batch["flows"])
    assert "recon_onset" not in out and "frame_identity_codes" not in out and "temporal_weights" not in out
    assert model.drl.motion_encoder.features[0][0].in_channels == 1  # the apex alone
    assert build(FULL).drl.motion_encoder.features[0][0].in_channels == 3  # onset, apex, apex - onset
    assert not hasattr(model.tcme, "temporal")  # K = 1: nothing to complement


def test_cycle_swaps_motion_with_the_next_sample():
    out = build(FULL)(make_batch(FULL)["faces"], make_batch(FULL)["flows"])
    assert torch.equal(out["cycle_motion_target"], torch.roll(out["motion_code"], -1, dims=0))
    assert out["cycle_identity_code"].shape == out["identity_code"].shape


@pytest.mark.parametrize("spec", [FULL, APEX_ONLY], ids=["full", "apex_only"])
@pytest.mark.parametrize(
    "term", [t for t in LOSS_TERMS if t != "adversary"]
)  # a min-max game: test_disentangle
def test_each_loss_decreases_when_optimised(term, spec):
    model = build(spec, **{**ALL_OFF, f"w_{term}": 1.0})
    assert model.active_terms == (term,)
    batch = make_batch(spec, b=8)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    values = []
    for _ in range(30):
        _, total, terms = run(model, batch)
        values.append(terms[term])
        optimiser.zero_grad()
        total.backward()
        optimiser.step()
    assert values[-1] < 0.7 * values[0], values


def test_identity_head_size_is_num_subjects():
    for n in (1, 7, 40):
        spec = ModelSpec(3, n, FULL.face_frames, FULL.flow_segments, 32, 16)
        assert build(spec).drl.identity_head.out_features == n


def test_no_training_subjects_means_no_identity_head():
    spec = ModelSpec(3, 0, FULL.face_frames, FULL.flow_segments, 32, 16)
    model = build(spec)
    assert model.drl.identity_head is None and "identity" not in model.active_terms


def param_names(model) -> set[str]:
    return {name for name, _ in model.named_parameters()}


def test_use_drl_false_removes_the_face_branch():
    model = build(use_drl=False)
    names = param_names(model)
    assert model.drl is None and not any(n.startswith("drl.") for n in names)
    assert not any("motion_projection" in n or "fusion" in n for n in names)
    out, _, terms = run(model, make_batch(FULL))
    # the subject and descriptor penalties on the classifier's input only
    assert set(terms) == {"cls", "adversary", "hsic", "teacher_hsic"}
    assert list(model.adversaries) == ["classifier_input"]
    assert "identity_code" not in out and "motion_code" not in out and "temporal_weights" in out
    assert model.num_parameters() < build().num_parameters()


def test_use_tcme_false_removes_the_flow_branch():
    model = build(use_tcme=False)
    assert model.tcme is None and not any(n.startswith("tcme.") for n in param_names(model))
    out, _, terms = run(model, make_batch(FULL))
    assert "flow_embedding" not in out and "motion_projection" not in out
    assert set(terms) == set(LOSS_TERMS)  # consistency remains: identity codes across frames
    apex_only = build(APEX_ONLY, use_tcme=False)
    assert "consistency" not in apex_only.active_terms  # nothing left to agree with


def test_temporal_complement_off_uses_segment_zero_only():
    model = build(use_temporal_complement=False)
    names = param_names(model)
    assert not any("temporal" in n or "segment_embedding" in n for n in names)
    batch = make_batch(FULL)
    out = model(batch["faces"], batch["flows"])
    assert "temporal_weights" not in out
    # The complement segments are really ignored: changing them changes nothing.
    model.eval()
    changed = batch["flows"].clone()
    changed[:, 1:] = torch.rand_like(changed[:, 1:])
    with torch.no_grad():
        a = model(batch["faces"], batch["flows"])["logits"]
        b = model(batch["faces"], changed)["logits"]
    assert torch.equal(a, b)


def test_both_branches_off_is_an_error():
    with pytest.raises(LFDError, match="nothing left"):
        build(use_drl=False, use_tcme=False)


@pytest.mark.parametrize("term", LOSS_TERMS)
def test_zero_weight_removes_the_term(term):
    model = build(**{f"w_{term}": 0.0})
    _, total, terms = run(model, make_batch(FULL))
    assert term not in terms and set(terms) == set(LOSS_TERMS) - {term}
    weights = model.loss_weights()
    assert total.item() == pytest.approx(sum(weights[t] * v for t, v in terms.items()), rel=1e-5)


def test_zero_weights_remove_their_modules_and_outputs():
    no_decoder = build(w_recon=0.0, w_cycle=0.0)
    assert no_decoder.drl.decoder is None
    assert not any("decoder" in n for n in param_names(no_decoder))
    out = no_decoder(make_batch(FULL)["faces"], make_batch(FULL)["flows"])
    assert not any(k.startswith(("recon_", "cycle_")) for k in out)
    assert build(w_identity=0.0).drl.identity_head is None
    assert not hasattr(build(w_teacher=0.0), "teacher_head")
    out = build(w_consistency=0.0)(make_batch(FULL)["faces"], make_batch(FULL)["flows"])
    assert "frame_identity_codes" not in out


def test_all_weights_zero_is_an_error():
    with pytest.raises(LFDError, match="nothing to train"):
        build(**ALL_OFF)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"w_cylce": 0.0}, "unknown parameter"),
        ({"w_orth": -1.0}, "w_orth must be >= 0"),
        ({"dropout": 1.5}, "dropout"),
    ],
)
def test_bad_params_raise_lfd_error(params, message):
    with pytest.raises(LFDError, match=message):
        build(**params)


def test_face_frames_without_apex_is_an_error():
    spec = ModelSpec(3, 2, ("onset", "offset"), ("onset:apex",), 32, 16)
    with pytest.raises(LFDError, match="apex"):
        build(spec)


def test_wrong_input_shapes_are_rejected():
    model = build(FULL)
    batch = make_batch(APEX_ONLY)
    with pytest.raises(ValueError, match="faces must be"):
        model(batch["faces"], make_batch(FULL)["flows"])
    with pytest.raises(ValueError, match="flows must be"):
        model(make_batch(FULL)["faces"], batch["flows"])


def test_same_seed_same_outputs_and_updates():
    def one_step(seed):
        model = build(seed=seed, dropout=0.3)
        batch = make_batch(FULL)
        torch.manual_seed(seed)
        _, total, _ = run(model, batch)
        total.backward()
        torch.optim.SGD(model.parameters(), lr=0.1).step()
        model.eval()
        with torch.no_grad():
            return model(batch["faces"], batch["flows"])["logits"]

    assert torch.equal(one_step(0), one_step(0))
    assert not torch.equal(one_step(0), one_step(1))


def test_state_dict_round_trip_with_weights_only_load():
    model = build().eval()
    buffer = io.BytesIO()
    torch.save({"state_dict": model.state_dict(), "spec": FULL.to_dict(), "params": TINY}, buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)
    restored = create_model("lfd_tcmen", ModelSpec.from_dict(saved["spec"]), **saved["params"]).eval()
    restored.load_state_dict(saved["state_dict"])
    batch = make_batch(FULL)
    with torch.no_grad():
        assert torch.equal(
            model(batch["faces"], batch["flows"])["logits"],
            restored(batch["faces"], batch["flows"])["logits"],
        )


def test_default_size_is_modest():
    spec = ModelSpec(3, 67, ("apex",), ("onset:apex",), 64, 28)
    n = create_model("lfd_tcmen", spec).num_parameters()
    assert 100_000 <= n <= 500_000, n


def test_loss_without_subjects_treats_all_as_unseen():
    model = build()
    batch = make_batch(FULL)
    out = model(batch["faces"], batch["flows"])
    _, terms = model.loss(out, {k: v for k, v in batch.items() if k != "subjects"})
    assert terms["identity"] == 0.0
    _, with_subjects = model.loss(out, batch)
    assert with_subjects["identity"] > 0.0
