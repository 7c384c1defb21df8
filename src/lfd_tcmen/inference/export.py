"""Export a checkpoint for deployment: TorchScript, torch.export (.pt2), ONNX or safetensors.

    export_checkpoint("RUN/folds/all/model.pt", "torchscript", "model.ts")  # + model.ts.json
    model = load_exported("model.ts")     # what predict needs, the exported graph inside

The exported graph is ``Predictor``: (faces, flows) tensors -> class probabilities, with the
mirror-image average when the checkpoint was trained with ``train.tta_hflip``. Everything before
it (face alignment, key frames, optical flow, ``preprocess.inputs.model_inputs``, and the
"no micro-expression found" gate on a still video) stays in Python; the sidecar ``FILE.json``
says what the graph eats (``input_contract``) and carries the checkpoint's metadata, so
``lfd-tcmen predict --checkpoint FILE`` runs an export exactly as it runs the checkpoint.
safetensors is not a graph but the checkpoint itself in another file format
(``models.checkpoint``): ``load_checkpoint`` reads it.
"""

from __future__ import annotations

import importlib.util
import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from lfd_tcmen.core.errors import LFDError, missing_package
from lfd_tcmen.core.files import atomic_write_bytes, plain, read_json, write_json
from lfd_tcmen.inference.vet import vet_exported, vet_torchscript
from lfd_tcmen.models.checkpoint import REQUIRED, Checkpoint, load_checkpoint, read_payload, write_payload
from lfd_tcmen.models.spec import ModelSpec
from lfd_tcmen.preprocess.keyframes import STILL_MOTION_PX
from lfd_tcmen.version import __version__

GRAPHS = ("torchscript", "exported", "onnx")  # formats holding a graph, run by ``ExportedModel``
FORMATS = (*GRAPHS, "safetensors")
SUFFIXES = {"torchscript": ".ts", "exported": ".pt2", "onnx": ".onnx", "safetensors": ".safetensors"}
OPTIONAL = {"onnx": "onnx", "safetensors": "safetensors"}  # format -> the package it needs
INSTALL = {"onnx": "onnx", "safetensors": '"lfd-tcmen[safetensors]"'}  # ... and what installs it
FLOW_CHANNELS = ("u", "v", "optical strain")


class Predictor(nn.Module):
    """The deployed computation: faces (B, F, S, S) float32 in [0, 1] and flows (B, K, 3, R, R)
    float32 -> class probabilities (B, C). With ``tta_hflip`` the mean of the sample's and its
    mirror image's probabilities (faces mirrored; flows mirrored with u -> 1 - u when min-max
    normalised, -u otherwise), as ``training.augment.mirror`` mirrors them."""

    def __init__(self, model: nn.Module, tta_hflip: bool = False, flow_normalised: bool = True) -> None:
        super().__init__()
        self.model = model.eval()
        self.tta_hflip = tta_hflip
        self.flow_normalised = flow_normalised

    @classmethod
    def for_checkpoint(cls, ckpt: Checkpoint) -> Predictor:
        return cls(ckpt.model, _tta_hflip(ckpt.config), bool(ckpt.preprocess.get("flow_normalised", True)))

    def forward(self, faces: Tensor, flows: Tensor) -> Tensor:
        probs = torch.softmax(self.model(faces, flows)["logits"], dim=-1)
        if not self.tta_hflip:
            return probs
        u = flows[:, :, :1].flip(-1)
        u = 1.0 - u if self.flow_normalised else -u
        mirrored = torch.cat([u, flows[:, :, 1:].flip(-1)], dim=2)
        other = torch.softmax(self.model(faces.flip(-1), mirrored)["logits"], dim=-1)
        return torch.stack([probs, other]).mean(dim=0)


@dataclass(frozen=True)
class ExportedModel:
    """A loaded export: the checkpoint's metadata (as ``Checkpoint`` names it) and ``run``, the
    exported graph: (faces, flows) tensors -> probabilities (B, C)."""

    path: Path
    format: str
    run: Callable[[Tensor, Tensor], Tensor]
    model_name: str
    spec: ModelSpec
    class_names: tuple[str, ...]
    config: dict[str, Any]
    preprocess: dict[str, Any]
    extra: dict[str, Any]


def sidecar(path: str | Path) -> Path:
    """The JSON beside an exported file: ``FILE.json``."""
    return Path(f"{path}.json")


def is_export(path: str | Path) -> bool:
    """True when ``path`` is a graph export (its sidecar names a graph format)."""
    meta = read_json(sidecar(path))
    return bool(meta) and meta.get("format") in GRAPHS


def available(fmt: str) -> bool:
    """Whether the optional package ``fmt`` needs (onnx, safetensors) is installed."""
    return fmt not in OPTIONAL or importlib.util.find_spec(OPTIONAL[fmt]) is not None


def example_inputs(spec: ModelSpec, batch: int = 2, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Random model inputs of ``spec``'s shapes, in the value ranges the model sees."""
    g = torch.Generator().manual_seed(seed)
    faces = torch.rand((batch, spec.num_frames, spec.face_size, spec.face_size), generator=g)
    flows = torch.rand((batch, spec.num_segments, 3, spec.flow_size, spec.flow_size), generator=g)
    return faces, flows


def export_checkpoint(checkpoint: str | Path, fmt: str, out: str | Path) -> Path:
    """Write ``checkpoint`` as ``fmt`` to ``out`` and its input contract to ``out``.json."""
    if fmt not in FORMATS:
        raise LFDError(f"unknown export format {fmt!r}; known: {', '.join(FORMATS)}")
    if not available(fmt):
        raise missing_package(f"--format {fmt}", OPTIONAL[fmt], INSTALL[fmt])
    out = Path(out)
    for target in (out, sidecar(out)):  # the export would overwrite the model it is made from
        if _same_file(target, Path(checkpoint)):
            raise LFDError(
                "the export would overwrite the checkpoint it is made from; choose another --out",
                path=target,
            )
    ckpt = load_checkpoint(checkpoint)
    batch = None
    if fmt == "safetensors":
        write_payload(out, read_payload(checkpoint))
    else:
        batch = _write_graph(Predictor.for_checkpoint(ckpt), ckpt.spec, fmt, out)
    write_json(sidecar(out), input_contract(ckpt, fmt, out.name, batch))
    return out


def _same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name one file (through links and relative paths alike)."""
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False


def _write_graph(predictor: Predictor, spec: ModelSpec, fmt: str, out: Path) -> int | None:
    """Write the graph to ``out`` atomically (serialised in memory, then ``files.atomic_write_bytes``:
    a full disk or a read-only folder is one ``OSError`` naming ``out``, never a C++ stack or a
    truncated file); returns the fixed batch size it takes (None: any)."""
    buffer = io.BytesIO()
    batch = _serialise_graph(predictor, spec, fmt, buffer)
    atomic_write_bytes(out, buffer.getvalue())
    return batch


def _serialise_graph(predictor: Predictor, spec: ModelSpec, fmt: str, out: io.BytesIO) -> int | None:
    """The graph's bytes into ``out``; returns the fixed batch size it takes (None: any)."""
    example = example_inputs(spec)
    with torch.no_grad():
        if fmt == "torchscript":
            with warnings.catch_warnings():
                # the shape checks the trace freezes are the contract's fixed sizes (all but batch);
                # torch deprecates TorchScript (docs/design.md, Deployment: prefer "exported")
                warnings.simplefilter("ignore", torch.jit.TracerWarning)
                warnings.simplefilter("ignore", DeprecationWarning)
                torch.jit.save(torch.jit.trace(predictor, example), out)
        elif fmt == "exported":
            batch = torch.export.Dim("batch", min=1, max=4096)
            try:
                program = torch.export.export(predictor, example, dynamic_shapes=({0: batch}, {0: batch}))
            except torch._dynamo.exc.UserError:
                # The model's forward ties a shape to the batch size (its loss branches split a
                # concatenated batch): export it for one clip at a time, as predict feeds it.
                program = torch.export.export(predictor, example_inputs(spec, batch=1))
                torch.export.save(program, out)
                return 1
            torch.export.save(program, out)
        else:
            torch.onnx.export(
                predictor,
                example,
                out,
                input_names=["faces", "flows"],
                output_names=["probabilities"],
                dynamic_axes={"faces": {0: "batch"}, "flows": {0: "batch"}, "probabilities": {0: "batch"}},
            )
    return None


def input_contract(ckpt: Checkpoint, fmt: str, file: str, batch: int | None = None) -> dict[str, Any]:
    """What the exported graph eats and returns, and the checkpoint it came from (the sidecar).

    ``batch``: the batch size the graph is fixed to (None: any); the shapes' "batch" stands for it.
    """
    spec, pre = ckpt.spec, ckpt.preprocess
    flow_norm = str(pre.get("flow_norm", "minmax"))
    return plain(
        {
            "format": fmt,
            "file": file,
            "lfd_tcmen_version": __version__,
            "batch": "any" if batch is None else batch,
            "inputs": {
                "faces": {
                    "shape": ["batch", spec.num_frames, spec.face_size, spec.face_size],
                    "dtype": "float32",
                    "frames": list(spec.face_frames),
                    "values": "aligned grey faces (aligned on the onset frame), area-resized, / 255: [0, 1]",
                },
                "flows": {
                    "shape": ["batch", spec.num_segments, 3, spec.flow_size, spec.flow_size],
                    "dtype": "float32",
                    "segments": list(spec.flow_segments),
                    "channels": list(FLOW_CHANNELS),
                    "normalisation": flow_norm,
                    "values": "each segment's channels area-resized, then min-max normalised to [0, 1]"
                    if flow_norm == "minmax"
                    else "each segment's channels area-resized, pixels of the stored face size",
                },
            },
            "output": {"shape": ["batch", spec.num_classes], "probabilities_of": list(ckpt.class_names)},
            "test_time_mirror": _tta_hflip(ckpt.config),
            "preprocessing": (
                "in Python, not in the graph: lfd_tcmen.preprocess (face alignment, key frames, optical "
                "flow and strain), then preprocess.inputs.model_inputs(clip, face_size, flow_size, "
                "flow_norm) and the face frames and flow segments above, by name; "
                "`lfd-tcmen predict --checkpoint FILE` does all of it"
            ),
            "no_micro_expression": (
                "a video whose spotted interval moves less than min_motion px at its peak shows no "
                "micro-expression and the graph is not called (predict's --min-motion)"
            ),
            "min_motion_px": STILL_MOTION_PX,
            "checkpoint": {
                "model_name": ckpt.model_name,
                "params": ckpt.params,
                "spec": spec.to_dict(),
                "class_names": list(ckpt.class_names),
                "config": ckpt.config,
                "preprocess": pre,
                **ckpt.extra,
            },
        }
    )


def load_exported(path: str | Path) -> ExportedModel:
    """Load a graph export and its sidecar; a missing or foreign file raises ``LFDError``."""
    path = Path(path)
    meta = read_json(sidecar(path))
    if not meta or meta.get("format") not in GRAPHS or not isinstance(meta.get("checkpoint"), dict):
        raise LFDError(
            f"not an lfd-tcmen export: {sidecar(path)} is missing or names no graph format", path=path
        )
    if not path.is_file():
        raise LFDError("exported model not found", path=path)
    info = meta["checkpoint"]
    missing = [k for k in REQUIRED if k != "state_dict" and k not in info]
    if missing:
        raise LFDError(f"export sidecar lacks {', '.join(missing)}", path=sidecar(path))
    return ExportedModel(
        path=path,
        format=meta["format"],
        run=_batched(_graph_runner(path, meta["format"]), meta.get("batch")),
        model_name=info["model_name"],
        spec=ModelSpec.from_dict(info["spec"]),
        class_names=tuple(info["class_names"]),
        config=dict(info["config"]),
        preprocess=dict(info["preprocess"]),
        extra={k: v for k, v in info.items() if k not in REQUIRED},
    )


def _graph_runner(path: Path, fmt: str) -> Callable[[Tensor, Tensor], Tensor]:
    """The graph of ``path``, loaded only once ``inference.vet`` found nothing in it that would
    run code (a file a user was sent)."""
    try:
        if fmt == "torchscript":
            vet_torchscript(path)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # as when writing it
                return torch.jit.load(str(path), map_location="cpu")
        if fmt == "exported":
            vet_exported(path)
            with path.open("rb") as fh:  # a file object: torch warns about a name not ending .pt2
                return torch.export.load(fh).module()
        return _onnx_runner(path)
    except LFDError:
        raise
    except (RuntimeError, OSError, ValueError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise LFDError(f"cannot load the {fmt} export ({first})", path=path) from None


def _batched(run: Callable[[Tensor, Tensor], Tensor], batch: Any) -> Callable[[Tensor, Tensor], Tensor]:
    """``run`` for any batch size: a graph fixed to one clip is called clip by clip."""
    if batch != 1:
        return run
    return lambda faces, flows: torch.cat(
        [run(faces[i : i + 1], flows[i : i + 1]) for i in range(len(faces))]
    )


def _onnx_runner(path: Path) -> Callable[[Tensor, Tensor], Tensor]:
    try:
        import onnxruntime  # optional dependency: only to run .onnx exports
    except ImportError:
        raise missing_package("running an onnx export", "onnxruntime", "onnxruntime") from None
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def run(faces: Tensor, flows: Tensor) -> Tensor:
        (probs,) = session.run(None, {"faces": faces.numpy(), "flows": flows.numpy()})
        return torch.from_numpy(np.asarray(probs))

    return run


def max_difference(checkpoint: str | Path, exported: str | Path, batch: int = 3, seed: int = 1) -> float:
    """Largest |difference| between the export's and the checkpoint's probabilities on random
    inputs (a batch size other than the one traced with)."""
    ckpt = load_checkpoint(checkpoint)
    faces, flows = example_inputs(ckpt.spec, batch=batch, seed=seed)
    with torch.no_grad():
        want = Predictor.for_checkpoint(ckpt)(faces, flows)
        if is_export(exported):
            got = load_exported(exported).run(faces, flows)
        else:  # safetensors: the checkpoint itself
            got = Predictor.for_checkpoint(load_checkpoint(exported))(faces, flows)
    return float((got - want).abs().max())


def _tta_hflip(config: dict[str, Any]) -> bool:
    return bool(config.get("train", {}).get("tta_hflip"))


def describe(path: str | Path) -> str:
    """One line naming the export and its input shapes (for the CLI)."""
    meta = read_json(sidecar(path)) or {}
    inputs = meta.get("inputs", {})
    shapes = ", ".join(f"{k} {tuple(v['shape'])}" for k, v in inputs.items())
    return f"{path} ({meta.get('format')}); inputs {shapes}; input contract in {sidecar(path)}"
