"""Model checkpoints: plain-typed payloads saved atomically, loaded with ``weights_only=True``.

A checkpoint carries everything prediction needs to rebuild the model and feed it the same
inputs it was trained on: model name, params, spec, class names, the experiment config and
the preprocessing description (``runs.features.preprocess_info``).
"""

from __future__ import annotations

import io
import os
import pickle
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from lfd_tcmen.errors import LFDError
from lfd_tcmen.files import publish
from lfd_tcmen.models.base import MERModel
from lfd_tcmen.models.factory import create_model
from lfd_tcmen.models.spec import ModelSpec

REQUIRED = ("state_dict", "model_name", "params", "spec", "class_names", "config", "preprocess")


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
    identical inputs give identical bytes."""
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
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Serialised in memory: torch names the archive's inner folder after the file it writes, so
    # saving to the temporary name would make identical checkpoints differ byte for byte.
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(buffer.getvalue())
        publish(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Load and rebuild the model (eval mode); unreadable or incomplete files raise ``LFDError``."""
    path = Path(path)
    if not path.exists():
        raise LFDError("checkpoint not found", path=path)
    if not path.is_file():
        raise LFDError("checkpoint is not a file (a folder?); give RUN/folds/<fold>/model.pt", path=path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:  # torch's message suggests weights_only=False: never for a user
        raise LFDError(
            "not a readable lfd-tcmen checkpoint (holds objects other than plain tensors and values)",
            path=path,
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError, KeyError, IndexError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise LFDError(
            f"not a readable lfd-tcmen checkpoint ({type(err).__name__}: {first})", path=path
        ) from None
    if not isinstance(payload, dict):
        raise LFDError("not an lfd-tcmen checkpoint (expected a dict)", path=path)
    missing = [k for k in REQUIRED if k not in payload]
    if missing:
        raise LFDError(f"not an lfd-tcmen checkpoint: missing {', '.join(missing)}", path=path)
    try:
        spec = ModelSpec.from_dict(payload["spec"])
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
