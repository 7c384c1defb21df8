"""Seeded initialisation by submodule name: switching a module off leaves the others' weights alone.

``initialise(model, seed)`` re-draws every parameter of ``model``: each submodule that owns
parameters is reset with a generator seeded by (``seed``, its qualified name). So two models
built from the same seed start from bit-identical weights in every submodule they share (same
name, same shape), whatever else either of them contains or the order modules were created in.
An ablation that removes the decoder or the identity head leaves the encoders and classifier
exactly as the full model starts them (docs/design.md, "Initialisation").

A submodule resets its own parameters (not its children's) with ``reset_parameters``, as
torch's layers do; a custom module that owns a parameter directly implements
``reset_own_parameters`` instead (a ``reset_parameters`` that also reset its children would
draw them from the wrong generator).
"""

from __future__ import annotations

import hashlib

import torch
from torch import nn

from lfd_tcmen.core.errors import LFDError


def submodule_seed(seed: int, name: str) -> int:
    """The seed of submodule ``name`` (its qualified name, "" for the root) under run seed ``seed``."""
    digest = hashlib.sha256(f"init:{seed}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & 0x7FFF_FFFF_FFFF_FFFF


def initialise(model: nn.Module, seed: int) -> None:
    """Re-draw every parameter of ``model`` from per-submodule generators (module docstring).

    The global torch RNG is left as it was. A submodule owning a parameter without a way to
    reset it raises ``LFDError`` (a model bug: its weights would silently keep the global draw).
    """
    for name, module in model.named_modules():
        if not any(True for _ in module.parameters(recurse=False)):
            continue
        reset = getattr(module, "reset_own_parameters", None) or getattr(module, "reset_parameters", None)
        if reset is None:
            raise LFDError(
                f"{type(module).__name__} {name or '(root)'!r} owns parameters but has no "
                "reset_parameters / reset_own_parameters: it cannot be initialised by name"
            )
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(submodule_seed(seed, name))
            with torch.no_grad():
                reset()
