"""MERModel: the interface every micro-expression model in the registry implements."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any, TypeVar, get_type_hints

import torch
from torch import Tensor, nn

from lfd_tcmen.config.experiment import coerce
from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.models.losses import classification_loss, mixed_with
from lfd_tcmen.models.spec import ModelSpec

P = TypeVar("P")


class MERModel(nn.Module):
    """A model that maps (faces, flows) to emotion logits and knows its own training loss.

    Subclasses implement ``forward``; they override ``loss`` when they train with more than
    cross-entropy (LFD-TCMEN's multi-task objective).
    """

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        self.spec = spec

    def forward(self, faces: Tensor, flows: Tensor) -> dict[str, Tensor]:
        """faces: (B, F, S, S) float32 in [0, 1]; flows: (B, K, 3, R, R) float32.

        Returns at least ``"logits"``: (B, C), and ``"classifier_input"``: (B, D), the vector the
        classifier reads (what the held-out identity probe measures); models that disentangle also
        return ``"identity_code"`` and ``"motion_code"``.
        """
        raise NotImplementedError

    def loss(self, out: Mapping[str, Tensor], batch: Mapping[str, Tensor]) -> tuple[Tensor, dict[str, float]]:
        """Default objective: cross-entropy, class-weighted when ``batch["class_weights"]`` is given.

        out: ``forward``'s dict. batch: "labels" (B,) int64, optional "class_weights" (C,) float.
        Returns (total, {"cls": value}).
        """
        cls = classification_loss(
            out["logits"], batch["labels"], batch.get("class_weights"), mixed_with=mixed_with(batch)
        )
        return cls, {"cls": float(cls.detach())}

    @classmethod
    def needs_identity(cls, params: Mapping[str, Any]) -> bool:
        """Whether a model built with YAML ``params`` trains on ``batch["teacher"]``, the identity
        descriptors of ``FeatureSet.identity`` (none does by default)."""
        return False

    @torch.no_grad()
    def predict(self, faces: Tensor, flows: Tensor) -> Tensor:
        """Class probabilities (B, C) in eval mode (restores the previous mode)."""
        was_training = self.training
        self.eval()
        try:
            return torch.softmax(self.forward(faces, flows)["logits"], dim=-1)
        finally:
            self.train(was_training)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def parse_params(config_cls: type[P], params: Mapping[str, Any], model_name: str) -> P:
    """Build a frozen params dataclass from a YAML mapping; unknown keys raise ``LFDError``.

    A typo such as ``w_cylce: 0`` must fail loudly rather than silently keep the default, and a
    value of the wrong type (``identity_dim: 4.5``, ``w_orth: .nan``) as the YAML's own keys do
    (``config.coerce``), naming ``model.params.<key>``.
    """
    known = {f.name for f in fields(config_cls)}  # type: ignore[arg-type]
    unknown = sorted(set(params) - known)
    if unknown:
        raise LFDError(
            f"model {model_name!r}: unknown parameter(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    hints = get_type_hints(config_cls)
    typed = {k: coerce(f"model.params.{k}", v, hints[k]) for k, v in params.items()}
    try:
        return config_cls(**typed)
    except (TypeError, ValueError) as err:
        raise LFDError(f"model {model_name!r}: {err}") from err
