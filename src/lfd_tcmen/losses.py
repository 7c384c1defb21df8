"""The six losses of LFD-TCMEN's multi-task objective, each a small pure function of tensors.

Which tensors each loss compares (and why) is the model's business (``models/lfd_tcmen.py``);
the formulas are written out in ``docs/design.md``. Every function returns a scalar tensor and
is differentiable in all its tensor arguments except where a target is documented as fixed.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "classification_loss",
    "consistency_loss",
    "cycle_loss",
    "identity_loss",
    "orthogonality_loss",
    "reconstruction_loss",
]


def classification_loss(
    logits: Tensor, labels: Tensor, class_weights: Tensor | None = None, label_smoothing: float = 0.0
) -> Tensor:
    """Cross-entropy of emotion logits.

    logits: (B, C); labels: (B,) int64 in [0, C); class_weights: (C,) or None — with weights
    the mean is the weighted mean (PyTorch's convention), so a balanced batch under weights 1/n_c
    and an unweighted batch give comparable magnitudes.
    """
    return F.cross_entropy(logits, labels, weight=class_weights, label_smoothing=label_smoothing)


def orthogonality_loss(identity_code: Tensor, motion_code: Tensor, eps: float = 1e-6) -> Tensor:
    """Mean squared cross-correlation between identity and motion code dimensions over the batch.

    identity_code: (B, Di); motion_code: (B, Dm). Each dimension is centred and scaled to unit
    norm over the batch, so ``C = Z_id^T Z_m`` (Di, Dm) holds Pearson correlations; the loss is
    ``mean(C ** 2)`` in [0, 1]: 0 when no identity dimension linearly predicts a motion
    dimension. Dimensions may differ (unlike a per-sample cosine). Needs B >= 2; with B < 2 the
    correlation is undefined and the loss is 0.
    """
    if identity_code.shape[0] < 2:
        return identity_code.sum() * 0.0 + motion_code.sum() * 0.0
    z_id = _standardise_columns(identity_code, eps)
    z_m = _standardise_columns(motion_code, eps)
    corr = z_id.transpose(0, 1) @ z_m  # (Di, Dm)
    return corr.pow(2).mean()


def reconstruction_loss(reconstruction: Tensor, target: Tensor) -> Tensor:
    """Mean absolute pixel error. reconstruction, target: (B, 1, S, S) in [0, 1]."""
    return F.l1_loss(reconstruction, target)


def consistency_loss(code: Tensor, reference: Tensor, eps: float = 1e-8) -> Tensor:
    """Mean cosine distance ``1 - cos(code, reference)`` in [0, 2]; both (..., D), same shape.

    Cosine, not squared error, so that agreement cannot be bought by shrinking both codes.
    """
    return (1.0 - F.cosine_similarity(code, reference, dim=-1, eps=eps)).mean()


def cycle_loss(recovered: Tensor, target: Tensor) -> Tensor:
    """Mean squared error between a re-encoded code and the code it should recover.

    recovered, target: (B, D). ``target`` is treated as fixed (detached): the cycle teaches the
    encoders to recover the codes, not the codes to move towards what the encoders recover.
    Squared error (not cosine) because a motion code's magnitude means intensity.
    """
    return F.mse_loss(recovered, target.detach())


def identity_loss(identity_logits: Tensor, subjects: Tensor) -> Tensor:
    """Cross-entropy of the identity head over the fold's training subjects.

    identity_logits: (B, N_subjects); subjects: (B,) int64, -1 for a sample whose subject is not
    a training subject (ignored). A batch with no known subject gives 0 (not NaN).
    """
    known = subjects >= 0
    if not bool(known.any()):
        return identity_logits.sum() * 0.0
    return F.cross_entropy(identity_logits[known], subjects[known])


def _standardise_columns(x: Tensor, eps: float) -> Tensor:
    """(B, D) -> (B, D) with each column centred and scaled to unit L2 norm over the batch."""
    x = x - x.mean(dim=0, keepdim=True)
    return x / (x.norm(dim=0, keepdim=True) + eps)


def total_loss(terms: dict[str, Tensor], weights: dict[str, float]) -> Tensor:
    """Weighted sum ``sum_k weights[k] * terms[k]`` over the computed terms (a scalar tensor)."""
    if not terms:
        raise ValueError("total_loss needs at least one term")
    return torch.stack([weights[name] * value for name, value in terms.items()]).sum()
