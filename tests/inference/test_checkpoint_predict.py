"""Checkpoints round-trip with weights_only=True; prediction feeds the model its training regime."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.data.splits import loso_folds
from lfd_tcmen.inference.predict import predict_clip_features, select_regime
from lfd_tcmen.models import ModelSpec, create_model
from lfd_tcmen.models.checkpoint import load_checkpoint, save_checkpoint
from lfd_tcmen.training.fold import train_fold


@pytest.fixture
def trained(features, make_config, tmp_path):
    config = make_config(epochs=1)
    result = train_fold(features, loso_folds(features.subjects)[0], config, seed=0, progress=False)["honest"]
    path = tmp_path / "model.pt"
    save_fold_checkpoint(path, result, features, config)
    return path, result


def save_fold_checkpoint(path, result, features, config) -> None:
    """The toy fold's checkpoint, as the tests here write it."""
    save_checkpoint(
        path,
        result.state_dict,
        model_name="lfd_tcmen",
        params=config.model.params,
        spec=result.spec,
        class_names=features.class_names,
        config=config.to_dict(),
        preprocess={"face_size": 16, "flow_size": 8, "flow_norm": "minmax", "pipeline": None},
        extra={"fold": "toy/s0"},
    )


def test_checkpoint_round_trip_gives_the_same_predictions(trained, features):
    path, result = trained
    ckpt = load_checkpoint(path)
    assert ckpt.spec == result.spec and ckpt.class_names == features.class_names
    assert ckpt.extra == {"fold": "toy/s0"} and not ckpt.model.training
    idx = list(result.test_index)
    probs = ckpt.model.predict(torch.from_numpy(features.faces[idx]), torch.from_numpy(features.flows[idx]))
    np.testing.assert_allclose(probs.numpy(), result.probs, atol=1e-6)
    torch.load(path, weights_only=True)  # plain types only


def test_identical_checkpoints_are_identical_bytes(trained, features, make_config, tmp_path):
    """Issue 13 (noisy): the archive's inner folder used to take the random temporary file name."""
    path, result = trained
    other = tmp_path / "elsewhere" / "model.pt"
    save_fold_checkpoint(other, result, features, make_config(epochs=1))
    assert other.read_bytes() == path.read_bytes()


def test_unreadable_or_foreign_checkpoints_raise_lfd_error(tmp_path):
    with pytest.raises(LFDError, match="checkpoint not found"):
        load_checkpoint(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(LFDError, match="not a readable lfd-tcmen checkpoint"):
        load_checkpoint(junk)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(2)}, foreign)
    with pytest.raises(LFDError, match="missing state_dict"):
        load_checkpoint(foreign)
    text = tmp_path / "notes.pt"
    text.write_text("epoch 3: loss 0.5\n" * 20)  # used to be 'KeyError: 101'
    with pytest.raises(LFDError, match="not a readable lfd-tcmen checkpoint"):
        load_checkpoint(text)
    pickled = tmp_path / "pickled.pt"
    torch.save({"state_dict": {}, "thing": Path("x")}, pickled)  # not loadable with weights_only
    with pytest.raises(LFDError) as info:
        load_checkpoint(pickled)
    assert "weights_only" not in str(info.value) and len(str(info.value).splitlines()) == 1


def test_a_state_dict_of_another_shape_names_the_key_and_shapes(trained, tmp_path):
    path, _ = trained
    payload = torch.load(path, weights_only=True)
    key = next(k for k, v in payload["state_dict"].items() if v.ndim == 2)
    payload["state_dict"][key] = torch.zeros(3, 3)
    torch.save(payload, tmp_path / "bent.pt")
    with pytest.raises(LFDError, match=rf"size mismatch for {key}: .*torch.Size\(\[3, 3\]\)"):
        load_checkpoint(tmp_path / "bent.pt")


def test_apex_only_checkpoint_gets_apex_face_and_onset_apex_flow_from_a_full_clip(tmp_path):
    spec = ModelSpec(3, 0, ("apex",), ("onset:apex",), 16, 8)
    model = create_model(
        "lfd_tcmen", spec, identity_dim=8, motion_dim=8, flow_dim=16, face_width=4, flow_width=4
    )
    path = tmp_path / "apex.pt"
    save_checkpoint(
        path, model.state_dict(), model_name="lfd_tcmen",
        params={"identity_dim": 8, "motion_dim": 8, "flow_dim": 16, "face_width": 4, "flow_width": 4},
        spec=spec, class_names=("negative", "positive", "surprise"), config={},
        preprocess={"face_size": 16, "flow_size": 8, "flow_norm": "minmax", "pipeline": None},
    )  # fmt: skip
    ckpt = load_checkpoint(path)
    faces = np.stack([np.full((16, 16), v, np.float32) for v in (0.1, 0.5, 0.9)])  # onset, apex, offset
    flows = np.stack([np.full((3, 8, 8), v, np.float32) for v in (1.0, 2.0, 3.0, 4.0)])
    segments = ("onset:mid", "onset:apex", "mid:apex", "apex:offset")
    f, g = select_regime(faces, flows, ("onset", "apex", "offset"), segments, ckpt)
    assert f.shape == (1, 16, 16) and np.all(f == 0.5)
    assert g.shape == (1, 3, 8, 8) and np.all(g == 2.0)

    rng = np.random.default_rng(0)
    clip = {
        "faces": rng.integers(0, 256, (3, 16, 16), dtype=np.uint8),
        "flows": rng.normal(size=(4, 3, 16, 16)).astype(np.float32),
        "segments": list(segments),
    }
    pred = predict_clip_features(ckpt, clip, {"onset": 0, "apex": 5, "offset": 9})
    assert pred.regime == {"face_frames": ["apex"], "flow_segments": ["onset:apex"]}
    assert sum(pred.probabilities.values()) == pytest.approx(1.0)
    assert pred.class_name == max(pred.probabilities, key=pred.probabilities.get)
    assert pred.notes and "apex" in pred.notes[0]
    from lfd_tcmen.preprocess.inputs import model_inputs

    fi, gi = model_inputs(clip, 16, 8, "minmax")  # the training transform; apex = face 1, onset:apex = flow 1
    expected = ckpt.model.predict(torch.from_numpy(fi[None, [1]]), torch.from_numpy(gi[None, [1]]))[0]
    np.testing.assert_allclose(list(pred.probabilities.values()), expected.numpy(), atol=1e-6)

    with pytest.raises(LFDError, match="onset:apex"):
        select_regime(faces, flows[:1], ("onset", "apex", "offset"), ("onset:mid",), ckpt)
