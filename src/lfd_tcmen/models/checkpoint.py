"""Model checkpoints: plain-typed payloads saved atomically, loaded with ``weights_only=True``.

A checkpoint carries everything prediction needs to rebuild the model and feed it the same
inputs it was trained on: model name, params, spec, class names, the experiment config and
the preprocessing description (``runs.features.preprocess_info``).

Two files hold one: ``model.pt`` (``torch.save`` of plain types) or ``model.safetensors`` (the
state_dict as safetensors, the rest as JSON in its header; needs the optional ``safetensors``
package). ``load_checkpoint`` reads both.
"""

from __future__ import annotations

import io
import json
import pickle
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from lfd_tcmen.core.errors import LFDError, missing_package
from lfd_tcmen.core.files import atomic_write_bytes, plain
from lfd_tcmen.models.base import MERModel
from lfd_tcmen.models.factory import create_model
from lfd_tcmen.models.spec import ModelSpec

REQUIRED = ("state_dict", "model_name", "params", "spec", "class_names", "config", "preprocess")
SAFETENSORS = ".safetensors"
HEADER_KEY = "lfd_tcmen_checkpoint"  # the safetensors header entry holding everything but tensors


@dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint: the model in eval mode and what it was trained on."""

    model: MERModel
    model_name: str
    params: dict[str, Any]
    spec: ModelSpec
    class_names: tuple[str, ...]
    config: dict[str, Any]
    preprocess: dict[str, Any]
    extra: dict[str, Any]


def save_checkpoint(
    path: str | Path,
    model_state: Mapping[str, torch.Tensor],
    *,
    model_name: str,
    params: Mapping[str, Any],
    spec: ModelSpec,
    class_names: tuple[str, ...] | list[str],
    config: Mapping[str, Any],
    preprocess: Mapping[str, Any],
    extra: Mapping[str, Any] | None = None,
) -> None:
    """Write the checkpoint to ``path`` atomically (a temp file in the same folder, then rename);
    identical inputs give identical bytes.

    Nine parameters, keyword-only after the weights: each is one field the file records, named as it
    is stored."""
    payload = {
        "state_dict": {k: v.detach().cpu().clone() for k, v in model_state.items()},
        "model_name": model_name,
        "params": dict(params),
        "spec": spec.to_dict(),
        "class_names": list(class_names),
        "config": dict(config),
        "preprocess": dict(preprocess),
        **dict(extra or {}),
    }
    write_payload(path, payload)


def write_payload(path: str | Path, payload: Mapping[str, Any]) -> None:
    """Write a checkpoint payload atomically: ``torch.save`` bytes, or safetensors when ``path``
    ends in ``.safetensors`` (identical payloads give identical bytes either way)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == SAFETENSORS:
        data = _safetensors_bytes(payload)
    else:
        # Serialised in memory: torch names the archive's inner folder after the file it writes,
        # so saving to the temporary name would make identical checkpoints differ byte for byte.
        buffer = io.BytesIO()
        torch.save(dict(payload), buffer)
        data = buffer.getvalue()
    atomic_write_bytes(path, data)


def read_payload(path: str | Path) -> dict[str, Any]:
    """The raw payload of the checkpoint at ``path`` (``.pt`` or ``.safetensors``), unchecked."""
    path = Path(path)
    if not path.exists():
        raise LFDError("checkpoint not found", path=path)
    if not path.is_file():
        raise LFDError("checkpoint is not a file (a folder?); give RUN/folds/<fold>/model.pt", path=path)
    if path.suffix == SAFETENSORS:
        return _read_safetensors(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:  # torch's message suggests weights_only=False: never for a user
        raise LFDError(
            "not a readable lfd-tcmen checkpoint (holds objects other than plain tensors and values)",
            path=path,
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError, KeyError, IndexError) as err:
        raise LFDError(f"not a readable lfd-tcmen checkpoint ({_first_line(err)})", path=path) from None
    if not isinstance(payload, dict):
        raise LFDError("not an lfd-tcmen checkpoint (expected a dict)", path=path)
    return payload


def update_checkpoint(path: str | Path, **entries: Any) -> None:
    """Add or replace top-level ``entries`` (plain values, e.g. ``estimate``) of a checkpoint."""
    payload = read_payload(path)
    payload.update(plain(entries))
    write_payload(path, payload)


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Load (``.pt`` or ``.safetensors``) and rebuild the model (eval mode); unreadable or
    incomplete files raise ``LFDError``."""
    path = Path(path)
    payload = read_payload(path)
    missing = [k for k in REQUIRED if k not in payload]
    if missing:
        raise LFDError(f"not an lfd-tcmen checkpoint: missing {', '.join(missing)}", path=path)
    try:
        spec = ModelSpec.from_dict(payload["spec"])
        problem = contract_problem(spec, payload["class_names"], payload["preprocess"])
        if problem is not None:
            raise LFDError(problem)
        model = create_model(payload["model_name"], spec, **payload["params"])
        model.load_state_dict(payload["state_dict"])
    except LFDError as err:
        raise LFDError(err.message, path=path) from err
    except (RuntimeError, TypeError, ValueError, KeyError) as err:
        lines = [line.strip() for line in str(err).strip().splitlines() if line.strip()]
        # load_state_dict's first line only says "Error(s) in loading state_dict": name the key
        first = lines[1] if len(lines) > 1 and lines[0].startswith("Error(s) in loading") else lines[0]
        raise LFDError(
            f"checkpoint does not match model {payload['model_name']!r}: {first}", path=path
        ) from err
    model.eval()
    return Checkpoint(
        model=model,
        model_name=payload["model_name"],
        params=dict(payload["params"]),
        spec=spec,
        class_names=tuple(payload["class_names"]),
        config=dict(payload["config"]),
        preprocess=dict(payload["preprocess"]),
        extra={k: v for k, v in payload.items() if k not in REQUIRED},
    )


def contract_problem(spec: ModelSpec, class_names: Any, preprocess: Any) -> str | None:
    """Why a checkpoint's (or an export sidecar's) class names or preprocessing disagree with its
    model's spec, the contract ``predict`` feeds it by; None when they agree. A face size of 32
    for a 64-px model, or 2 class names for 3 outputs, would predict anyway or fail mid-way."""
    if not isinstance(class_names, list | tuple) or not all(isinstance(n, str) for n in class_names):
        return f"class_names is not a list of names: {class_names!r}"
    if len(class_names) != spec.num_classes:
        return (
            f"{len(class_names)} class names ({', '.join(class_names)}) for a model of {spec.num_classes} "
            "classes: the file was edited or mixes two models"
        )
    if not isinstance(preprocess, Mapping):
        return f"preprocess is not a mapping: {preprocess!r}"
    for key in ("face_size", "flow_size"):
        if key in preprocess and preprocess[key] != getattr(spec, key):
            return (
                f"its preprocessing makes {key} {preprocess[key]!r} but its model takes {getattr(spec, key)}: "
                "the file was edited or mixes two models"
            )
    return None


def _first_line(err: BaseException) -> str:
    first = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}: {first}" if first else type(err).__name__


def _safetensors_bytes(payload: Mapping[str, Any]) -> bytes:
    try:
        from safetensors.torch import save  # optional dependency: only for .safetensors files
    except ImportError:
        raise missing_package("writing .safetensors", "safetensors", '"lfd-tcmen[safetensors]"') from None
    meta = {k: v for k, v in payload.items() if k != "state_dict"}
    tensors = {k: v.detach().cpu().contiguous() for k, v in payload["state_dict"].items()}
    return save(tensors, metadata={HEADER_KEY: json.dumps(plain(meta), sort_keys=True)})


def _read_safetensors(path: Path) -> dict[str, Any]:
    try:
        from safetensors import SafetensorError  # optional dependency: only for .safetensors files
        from safetensors.torch import load  # optional dependency, as above
    except ImportError:
        raise missing_package("reading .safetensors", "safetensors", '"lfd-tcmen[safetensors]"') from None
    data = path.read_bytes()
    try:
        state_dict = load(data)
        # the header: 8 bytes of length, then JSON whose "__metadata__" holds our entry
        header = json.loads(data[8 : 8 + int.from_bytes(data[:8], "little")])
        payload = json.loads(header["__metadata__"][HEADER_KEY])
    except (SafetensorError, ValueError, KeyError, TypeError) as err:
        raise LFDError(
            f"not a readable lfd-tcmen safetensors checkpoint ({_first_line(err)})", path=path
        ) from None
    if not isinstance(payload, dict):
        raise LFDError("not an lfd-tcmen checkpoint (expected a dict)", path=path)
    return {**payload, "state_dict": state_dict}
