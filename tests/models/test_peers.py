"""The peer methods: shapes in both data regimes, determinism, published sizes, learnability."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.models import ModelSpec, create_model
from lfd_tcmen.models.htnet import HTNET_REGION_CENTRES, from_block_tokens, region_mosaic, to_block_tokens
from lfd_tcmen.models.layers.peer_inputs import onset_apex_flow

PEERS = ("ststnet", "off_apexnet", "htnet", "rpca")
# HTNet at its published size has ~140M parameters; behaviour tests use a narrow, shallow one.
SMALL: dict[str, dict[str, Any]] = {"htnet": {"dim": 16, "heads": 2, "block_repeats": (1, 1, 1)}}
FULL = (("onset", "apex", "offset"), ("onset:apex", "onset:mid", "mid:apex", "apex:offset"))
COMPOSITE = (("apex",), ("onset:apex",))
# Class-specific places where the synthetic "expression" happens: (row, col) of a 6x6 patch in
# the 28x28 flow (inside HTNet's eye / lip-corner areas) and of a 6x6 patch in the 32x32 apex face.
FLOW_SPOTS = ((8, 6), (8, 17), (18, 10))
FACE_SPOTS = ((6, 4), (6, 20), (20, 6))


def make_spec(
    regime: tuple[tuple[str, ...], tuple[str, ...]], flow_size: int = 28, classes: int = 3
) -> ModelSpec:
    frames, segments = regime
    return ModelSpec(classes, 4, frames, segments, face_size=32, flow_size=flow_size)


def separable_batch(spec: ModelSpec, per_class: int = 4, seed: int = 0) -> dict[str, torch.Tensor]:
    """Faces of symmetric random 'people' whose apex (and flow) carry a class-specific local change."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(3).repeat_interleave(per_class)
    b, s, r = len(labels), spec.face_size, 28
    flows = 0.1 * torch.rand(b, spec.num_segments, 3, r, r, generator=g)
    person = torch.nn.functional.interpolate(
        torch.rand(b, 1, 8, 8, generator=g), size=(s, s), mode="bilinear"
    )
    faces = (0.5 * (person + person.flip(-1))).repeat(1, spec.num_frames, 1, 1)
    apex = spec.face_frames.index("apex")
    for i, c in enumerate(labels.tolist()):
        (fr, fc), (ar, ac) = FLOW_SPOTS[c], FACE_SPOTS[c]
        flows[i, 0, :2, fr : fr + 6, fc : fc + 6] += 0.8
        faces[i, apex, ar : ar + 6, ac : ac + 6] += 0.3
    if spec.flow_size != r:
        flows = torch.nn.functional.interpolate(flows.flatten(0, 1), size=spec.flow_size, mode="bilinear")
        flows = flows.view(b, spec.num_segments, 3, spec.flow_size, spec.flow_size)
    return {"faces": faces.clamp(0, 1), "flows": flows, "labels": labels}


def build(name: str, spec: ModelSpec, seed: int = 0, **params: Any) -> Any:
    torch.manual_seed(seed)
    return create_model(name, spec, **{**SMALL.get(name, {}), **params})


@pytest.mark.parametrize("name", PEERS)
@pytest.mark.parametrize("regime,flow_size", [(FULL, 32), (COMPOSITE, 28)], ids=["full", "composite"])
def test_forward_backward_shapes(name: str, regime: Any, flow_size: int) -> None:
    spec = make_spec(regime, flow_size, classes=4)
    model = build(name, spec)
    batch = separable_batch(spec)
    out = model(batch["faces"], batch["flows"])
    assert out["logits"].shape == (12, 4)
    assert out["motion_code"].ndim == 2 and out["motion_code"].shape[0] == 12
    loss, terms = model.loss(out, {**batch, "class_weights": torch.tensor([1.0, 2.0, 1.0, 0.5])})
    assert torch.isfinite(loss) and set(terms) == {"cls"}
    loss.backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert sum(float(g.abs().sum()) for g in grads if g is not None) > 0


@pytest.mark.parametrize("name", PEERS)
def test_same_seed_same_model_and_outputs(name: str) -> None:
    spec = make_spec(FULL)
    batch = separable_batch(spec)
    a, b = build(name, spec, seed=3).eval(), build(name, spec, seed=3).eval()
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    with torch.no_grad():
        first = a(batch["faces"], batch["flows"])["logits"]
        again = a(batch["faces"], batch["flows"])["logits"]  # rpca: second pass comes from its cache
        other = b(batch["faces"], batch["flows"])["logits"]
    assert torch.equal(first, again) and torch.equal(first, other)
    c = build(name, spec, seed=4)
    assert any(not torch.equal(pa, pc) for pa, pc in zip(a.parameters(), c.parameters()))


def htnet_parameter_count(
    classes: int, dim: int = 256, heads: int = 3, repeats: tuple[int, ...] = (2, 2, 10)
) -> int:
    """Parameters of the authors' NesT-style HTNet (Model.py), counted layer by layer."""
    levels, patch, mlp = len(repeats), 7, 4
    seq_len = (28 // patch // 2 ** (levels - 1)) ** 2
    total = 3 * patch * patch * dim + dim  # 1x1 patch-embedding conv
    for i, depth in enumerate(repeats):
        d, h = dim * 2**i, heads * 2**i
        inner = d // h * h
        block = 2 * d + 3 * d * inner + inner * d + d  # norm, qkv (no bias), out projection
        block += 2 * d + d * mlp * d + mlp * d + mlp * d * d + d  # norm, two-layer MLP
        total += seq_len + depth * block  # + scalar position embeddings
        if i < levels - 1:
            total += 9 * d * 2 * d + 2 * d + 2 * 2 * d  # 3x3 aggregation conv, its LayerNorm
    last = dim * 2 ** (levels - 1)
    return total + 2 * last + last * classes + classes  # head LayerNorm and linear


def test_published_parameter_counts() -> None:
    spec = make_spec(COMPOSITE, classes=3)
    # STSTNet: convs 3/5/8 x (3*3*3 + 1) = 448, BatchNorm 2 * 16 = 32, FC 400 * 3 + 3 = 1203.
    assert build("ststnet", spec).num_parameters() == 1683
    # OFF-ApexNet: per stream 6*(25+1) + 16*(6*25+1) = 2572; FC 1568->1024->1024->3.
    assert (
        build("off_apexnet", spec).num_parameters()
        == 2 * 2572 + 1568 * 1024 + 1024 + 1024 * 1024 + 1024 + 3075
    )
    assert build("off_apexnet", spec).num_parameters() == 2_664_475
    with torch.device("meta"):  # ~140M parameters: count them without allocating
        htnet = create_model("htnet", spec)
    assert htnet.num_parameters() == htnet_parameter_count(3) == 139_582_982
    assert build("htnet", spec).num_parameters() == htnet_parameter_count(
        3, dim=16, heads=2, repeats=(1, 1, 1)
    )


@pytest.mark.parametrize("name", PEERS)
def test_default_train_settings(name: str) -> None:
    model = build(name, make_spec(COMPOSITE))
    settings = type(model).default_train
    assert set(settings) == {"epochs", "lr", "batch_size", "optimizer"}
    assert settings["optimizer"] == "adam" and settings["epochs"] > 0 and settings["batch_size"] > 0
    if name in ("ststnet", "htnet"):  # the authors' released training scripts
        assert (settings["epochs"], settings["lr"], settings["batch_size"]) == (800, 5e-5, 256)


@pytest.mark.parametrize("name", PEERS)
@pytest.mark.parametrize("regime", [FULL, COMPOSITE], ids=["full", "composite"])
def test_fits_a_separable_batch(name: str, regime: Any) -> None:
    spec = make_spec(regime)
    model = build(name, spec)
    batch = separable_batch(spec)
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    accuracy = 0.0
    for step in range(1, 61):
        model.train()
        loss, _ = model.loss(model(batch["faces"], batch["flows"]), batch)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if step % 10 == 0:
            pred = model.predict(batch["faces"], batch["flows"]).argmax(1)
            accuracy = float((pred == batch["labels"]).float().mean())
            if accuracy == 1.0:
                break
    assert accuracy == 1.0


def test_unknown_parameter_is_a_clear_error() -> None:
    with pytest.raises(LFDError, match="droput"):
        create_model("ststnet", make_spec(COMPOSITE), droput=0.1)
    with pytest.raises(LFDError, match="block_repeats"):
        create_model("htnet", make_spec(COMPOSITE), block_repeats=(2, 2))


def test_onset_apex_flow_resamples_to_the_peer_size() -> None:
    flows = torch.rand(2, 4, 3, 28, 28)
    assert torch.equal(onset_apex_flow(flows), flows[:, 0])
    constant = torch.full((2, 1, 3, 56, 56), 0.25)
    resized = onset_apex_flow(constant)
    assert resized.shape == (2, 3, 28, 28)
    torch.testing.assert_close(resized, torch.full_like(resized, 0.25))
    with pytest.raises(ValueError):
        onset_apex_flow(torch.rand(2, 3, 28, 28))


def test_htnet_tiles_the_four_facial_areas() -> None:
    image = torch.arange(28 * 28, dtype=torch.float32).view(1, 1, 28, 28)
    mosaic = region_mosaic(image, HTNET_REGION_CENTRES)
    # left eye at (x, y) = (9, 11), right eye (21, 10), lip corners (10, 21) and (20, 21) after
    # rounding down and clamping to [7, 21]; rows are y, columns x.
    assert torch.equal(mosaic[..., :14, :14], image[..., 4:18, 2:16])
    assert torch.equal(mosaic[..., :14, 14:], image[..., 3:17, 14:28])
    assert torch.equal(mosaic[..., 14:, :14], image[..., 14:28, 3:17])
    assert torch.equal(mosaic[..., 14:, 14:], image[..., 14:28, 13:27])


def test_htnet_block_tokens_round_trip() -> None:
    x = torch.randn(2, 5, 8, 8)
    tokens = to_block_tokens(x, 2)  # 2x2 blocks of 4x4 positions
    assert tokens.shape == (8, 16, 5)
    torch.testing.assert_close(tokens[1], x[0, :, :4, 4:].flatten(1).T)  # block (0, 1) of sample 0
    assert torch.equal(from_block_tokens(tokens, 2, 4, 4), x)


@pytest.mark.parametrize("regime", [FULL, COMPOSITE], ids=["full", "composite"])
def test_rpca_sparse_part_holds_the_expression(regime: Any) -> None:
    spec = make_spec(regime)
    model = build("rpca", spec)
    batch = separable_batch(spec)
    low, sparse = model.decompose(batch["faces"])
    assert sparse.shape == (12, max(spec.num_frames, 2), 32, 32) and low.shape == sparse.shape
    apex = spec.face_frames.index("apex")
    for i, c in enumerate(batch["labels"].tolist()):
        r, col = FACE_SPOTS[c]
        energy = sparse[i, apex].pow(2)
        assert energy[r : r + 6, col : col + 6].sum() > 0.9 * energy.sum()
    torch.testing.assert_close(low + sparse, _rpca_columns(batch["faces"], spec), rtol=0, atol=1e-4)
    out = model(batch["faces"], batch["flows"])
    assert out["identity_code"].shape == (12, 64)


def test_rpca_can_also_read_the_flow() -> None:
    spec = make_spec(FULL, flow_size=32)
    batch = separable_batch(spec)
    plain, with_flow = build("rpca", spec), build("rpca", spec, use_flow=True)
    assert with_flow.input_norm.num_features == plain.input_norm.num_features + 3 == 6
    assert with_flow(batch["faces"], batch["flows"])["logits"].shape == (12, 3)


def _rpca_columns(faces: torch.Tensor, spec: ModelSpec) -> torch.Tensor:
    """What the rpca model decomposes, in image orientation: the frames, or apex and its mirror."""
    return faces if spec.num_frames > 1 else torch.cat([faces, faces], dim=1)
