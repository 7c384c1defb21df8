"""LFD-TCMEN on other flow encoders (``backbone``) and the cheap DRL (``drl_every``)."""

from __future__ import annotations

import io

import pytest
import torch

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.models import ModelSpec, create_model
from lfd_tcmen.models.layers.flow_backbones import BACKBONES, flow_backbone
from lfd_tcmen.models.layers.peer_streams import FlowComponentStream
from lfd_tcmen.models.off_apexnet import OffApexNet
from lfd_toys import APEX_ONLY, FULL, TINY, build, make_batch, run


@pytest.mark.parametrize("name", BACKBONES)
@pytest.mark.parametrize("size", [16, 28, 40])
def test_every_backbone_maps_a_flow_image_to_a_code(name, size):
    encoder = flow_backbone(name, (4, 8, 16), 12)
    out = encoder(torch.randn(5, 3, size, size))
    assert out.shape == (5, 12)
    out.sum().backward()
    assert all(p.grad is not None for p in encoder.parameters())


@pytest.mark.parametrize("name", BACKBONES)
@pytest.mark.parametrize("spec", [FULL, APEX_ONLY], ids=["full", "apex_only"])
def test_lfd_tcmen_trains_on_every_backbone(name, spec):
    model = build(spec, backbone=name)
    out, total, terms = run(model, make_batch(spec))
    assert out["logits"].shape == (6, 3)
    assert "recon" in terms and "cycle" in terms
    total.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_the_off_apexnet_backbone_is_the_peers_own_streams():
    spec = ModelSpec(3, 5, ("apex",), ("onset:apex",), 32, 28)
    model = create_model("lfd_tcmen", spec, backbone="off_apexnet")
    peer = create_model("off_apexnet", spec)
    assert isinstance(peer, OffApexNet)
    encoder = model.tcme.flow_encoder
    assert isinstance(encoder.u_stream, FlowComponentStream)
    peer_shapes = {
        k: v.shape for k, v in peer.state_dict().items() if k.startswith(("u_stream", "v_stream", "fc"))
    }
    ours = {k: v.shape for k, v in encoder.state_dict().items() if k in peer_shapes}
    assert ours == peer_shapes


def test_an_unknown_backbone_is_an_error():
    with pytest.raises(LFDError, match="backbone must be one of"):
        build(backbone="vgg")
    with pytest.raises(LFDError, match="drl_every must be >= 1"):
        build(drl_every=0)


def test_drl_every_draws_faces_on_every_kth_training_step_only():
    model = build(APEX_ONLY, drl_every=3).train()
    batch = make_batch(APEX_ONLY)
    drawn = []
    for _ in range(7):
        out, _, terms = run(model, batch)
        drawn.append("recon_apex" in out)
        assert ("recon" in terms) == drawn[-1] and ("cycle" in terms) == drawn[-1]
        assert {"cls", "orth", "identity"} <= set(terms)  # the encoders' terms every step
    assert drawn == [True, False, False, True, False, False, True]
    model.eval()
    with torch.no_grad():
        assert "recon_apex" in model(batch["faces"], batch["flows"])  # evaluation always draws


def test_a_drawing_step_weighs_the_decoders_terms_k_times():
    batch = make_batch(FULL)
    every = build(FULL, drl_every=4).train()
    plain = build(FULL).train()
    out_e, total_e, terms_e = run(every, batch)
    out_p, total_p, terms_p = run(plain, batch)
    assert terms_e == pytest.approx(terms_p)
    extra = 3 * (every.params.w_recon * terms_e["recon"] + every.params.w_cycle * terms_e["cycle"])
    assert float(total_e.detach()) == pytest.approx(float(total_p.detach()) + extra, rel=1e-5)


def test_the_step_counter_travels_with_the_checkpoint():
    model = build(APEX_ONLY, drl_every=2).train()
    batch = make_batch(APEX_ONLY)
    run(model, batch)  # step 0 draws; the next one will not
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    restored = build(APEX_ONLY, drl_every=2).train()
    restored.load_state_dict(torch.load(buffer, weights_only=True))
    assert "recon_apex" not in run(restored, batch)[0]
    assert "recon_apex" in run(restored, batch)[0]


def test_drl_every_one_adds_no_buffer():
    assert "drl_steps" not in build(**TINY).state_dict()
