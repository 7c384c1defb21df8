"""Exports compute what the checkpoint computes; safetensors checkpoints load back."""

from __future__ import annotations

import json
import sys

import pytest
import torch

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.inference.export import (
    SUFFIXES,
    available,
    example_inputs,
    export_checkpoint,
    load_exported,
    max_difference,
    sidecar,
)
from lfd_tcmen.models import ModelSpec, create_model
from lfd_tcmen.models.checkpoint import load_checkpoint, save_checkpoint, update_checkpoint
from toys import SMALL_MODEL, make_config

SPEC = ModelSpec(
    3, 4, ("onset", "apex", "offset"), ("onset:apex", "onset:mid", "mid:apex", "apex:offset"), 16, 8
)
CLASSES = ("negative", "positive", "surprise")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """An untrained toy model whose config asks for the mirror-image average (the graph holds it)."""
    torch.manual_seed(0)
    model = create_model("lfd_tcmen", SPEC, **SMALL_MODEL)
    path = tmp_path_factory.mktemp("ckpt") / "model.pt"
    save_checkpoint(
        path, model.state_dict(), model_name="lfd_tcmen", params=SMALL_MODEL, spec=SPEC, class_names=CLASSES,
        config=make_config(tta_hflip=True).to_dict(),
        preprocess={"face_size": 16, "flow_size": 8, "flow_norm": "minmax"},
        extra={"fold": "all", "estimate": {"recorded": False, "note": "none"}},
    )  # fmt: skip
    return path


def needs(fmt: str):
    if not available(fmt):
        pytest.skip(f"the optional {fmt} package is not installed")
    if fmt == "onnx":
        pytest.importorskip("onnxruntime", reason="running the onnx export needs onnxruntime")


@pytest.mark.parametrize("fmt", ["torchscript", "exported", "onnx", "safetensors"])
def test_export_gives_the_checkpoints_probabilities(checkpoint, tmp_path, fmt):
    needs(fmt)
    out = export_checkpoint(checkpoint, fmt, tmp_path / f"model{SUFFIXES[fmt]}")
    assert max_difference(checkpoint, out, batch=3) <= 1e-5
    contract = json.loads(sidecar(out).read_text())
    assert contract["format"] == fmt and contract["test_time_mirror"] is True
    assert contract["inputs"]["faces"]["shape"] == ["batch", 3, 16, 16]
    assert contract["inputs"]["flows"]["shape"] == ["batch", 4, 3, 8, 8]
    assert contract["inputs"]["flows"]["segments"] == list(SPEC.flow_segments)
    assert contract["inputs"]["flows"]["normalisation"] == "minmax"
    assert contract["output"]["probabilities_of"] == list(CLASSES)
    assert contract["checkpoint"]["estimate"] == {"recorded": False, "note": "none"}
    if fmt == "safetensors":  # the checkpoint itself, in another file format
        again = load_checkpoint(out)
        assert again.extra == load_checkpoint(checkpoint).extra and again.spec == SPEC
        return
    exported = load_exported(out)
    assert exported.class_names == CLASSES and exported.spec == SPEC
    faces, flows = example_inputs(SPEC, batch=1, seed=5)
    with torch.no_grad():
        assert exported.run(faces, flows).shape == (1, 3)


def test_optional_format_without_its_package_is_one_clear_error(checkpoint, tmp_path, monkeypatch):
    monkeypatch.setattr("lfd_tcmen.inference.export.available", lambda fmt: fmt != "onnx")
    with pytest.raises(LFDError) as caught:
        export_checkpoint(checkpoint, "onnx", tmp_path / "model.onnx")
    assert (
        str(caught.value) == "--format onnx needs the onnx package, which is not installed: pip install onnx"
    )
    assert not (tmp_path / "model.onnx").exists()
    export_checkpoint(checkpoint, "safetensors", tmp_path / "model.safetensors")
    monkeypatch.setitem(sys.modules, "safetensors", None)  # not installed: importing it fails
    with pytest.raises(LFDError) as caught:
        load_checkpoint(tmp_path / "model.safetensors")
    assert str(caught.value) == (
        "reading .safetensors needs the safetensors package, which is not installed: "
        'pip install "lfd-tcmen[safetensors]"'
    )


def test_update_checkpoint_adds_entries_and_keeps_the_model(checkpoint, tmp_path):
    path = tmp_path / "model.pt"
    path.write_bytes(checkpoint.read_bytes())
    update_checkpoint(path, estimate={"recorded": True, "overall": {"uf1": 0.5}}, final=True)
    ckpt = load_checkpoint(path)
    assert ckpt.extra["estimate"]["overall"] == {"uf1": 0.5} and ckpt.extra["final"] is True
    before = load_checkpoint(checkpoint).model.state_dict()
    assert all(torch.equal(before[k], v) for k, v in ckpt.model.state_dict().items())


def test_a_file_without_sidecar_is_not_an_export(checkpoint):
    with pytest.raises(LFDError, match="not an lfd-tcmen export"):
        load_exported(checkpoint)
