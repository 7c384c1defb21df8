"""The losses of LFD-TCMEN's multi-task objective, each a small pure function of tensors: the
paper's six, and two (ours) that remove identity from the motion path: a subject adversary and
an HSIC independence penalty.

Which tensors each loss compares (and why) is the model's business (``models/lfd_tcmen.py``);
the formulas are written out in ``docs/design.md``. Every function returns a scalar tensor and
is differentiable in all its tensor arguments except where a target is documented as fixed.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "adversary_loss",
    "classification_loss",
    "consistency_loss",
    "cycle_loss",
    "hsic_loss",
    "identity_loss",
    "independence_loss",
    "mixed_with",
    "orthogonality_loss",
    "reconstruction_loss",
]


def classification_loss(
    logits: Tensor,
    labels: Tensor,
    class_weights: Tensor | None = None,
    label_smoothing: float = 0.0,
    mixed_with: tuple[Tensor, float] | None = None,
) -> Tensor:
    """Cross-entropy of emotion logits.

    logits: (B, C); labels: (B,) int64 in [0, C); class_weights: (C,) or None — with weights
    the mean is the weighted mean (PyTorch's convention), so a balanced batch under weights 1/n_c
    and an unweighted batch give comparable magnitudes. ``mixed_with`` = (labels_b, lam): the
    inputs were mixed (mixup), so the loss is ``lam * CE(labels) + (1 - lam) * CE(labels_b)``.
    """
    loss = F.cross_entropy(logits, labels, weight=class_weights, label_smoothing=label_smoothing)
    if mixed_with is None:
        return loss
    other, lam = mixed_with
    return lam * loss + (1.0 - lam) * F.cross_entropy(
        logits, other, weight=class_weights, label_smoothing=label_smoothing
    )


def mixed_with(batch: Mapping[str, Tensor]) -> tuple[Tensor, float] | None:
    """A batch's mixup partner labels and weight (``"mix_labels"``, ``"mix_lambda"``), if mixed."""
    if "mix_labels" not in batch:
        return None
    return batch["mix_labels"], float(batch["mix_lambda"])


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


def adversary_loss(subject_logits: Tensor, subjects: Tensor) -> Tensor:
    """Cross-entropy of a subject adversary: a head that reads a code THROUGH a gradient-reversal
    layer (``models.layers.GradientReversal``) and guesses the sample's training subject.

    Minimising it trains the head to find the subject and, reversed, the encoder to hide it
    (Ganin & Lempitsky 2015). Same inputs and conventions as ``identity_loss``.
    """
    return identity_loss(subject_logits, subjects)


def hsic_loss(code: Tensor, subjects: Tensor, eps: float = 1e-8) -> Tensor:
    """Normalised HSIC between a code and the subject: ~0 when independent, up to 1.

    code: (B, D); subjects: (B,) int64, -1 = unknown (left out). Kernels: Gaussian on the codes
    (bandwidth the median pairwise squared distance, a constant for the gradient) and the
    same-subject indicator on the subjects. The unbiased estimator of Song et al. (2012), as in
    ReBias (Bahng et al. 2020), normalised ``HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L))`` so that
    the weight depends neither on the batch size nor on the code's scale (Gretton et al. 2005).
    Needs >= 4 known samples of >= 2 subjects, one of them seen twice, else 0. Unlike the orthogonality loss it sees
    non-linear dependence, and it cannot be satisfied by two codes that both carry identity.
    """
    known = subjects >= 0
    x, s = code[known], subjects[known]
    off_diagonal = ~torch.eye(len(x), dtype=torch.bool, device=x.device)
    pairs = (s[:, None] == s[None, :]) & off_diagonal
    if x.shape[0] < 4 or int(torch.unique(s).numel()) < 2 or not bool(pairs.any()):
        return code.sum() * 0.0
    distance = torch.cdist(x, x).pow(2)
    bandwidth = distance.detach()[off_diagonal].median().clamp_min(eps)
    k = torch.exp(-distance / bandwidth)
    same = (s[:, None] == s[None, :]).to(k.dtype)
    hsic_kl = _unbiased_hsic(k, same)
    scale = (_unbiased_hsic(k, k).clamp_min(0) * _unbiased_hsic(same, same).clamp_min(0) + eps).sqrt()
    return hsic_kl / scale


def independence_loss(code: Tensor, reference: Tensor, eps: float = 1e-8) -> Tensor:
    """Normalised HSIC between a code and a continuous reference (an identity descriptor), at
    least 0: ~0 when independent, up to 1.

    code: (B, D); reference: (B, E), a fixed target (no gradient flows into it). Gaussian kernels
    on both, each with the median pairwise squared distance as bandwidth; the unbiased estimator
    and normalisation of ``hsic_loss`` (the biased one sits at .5 for unrelated codes in a batch
    of 32). Clamped at 0: on a small batch the estimate of an independent pair goes below 0, and
    minimising it further would reward that noise. Needs B >= 4, else 0.
    """
    n = code.shape[0]
    if n < 4:
        return code.sum() * 0.0
    off_diagonal = ~torch.eye(n, dtype=torch.bool, device=code.device)

    def gram(x: Tensor) -> Tensor:
        distance = torch.cdist(x, x).pow(2)
        return torch.exp(-distance / distance.detach()[off_diagonal].median().clamp_min(eps))

    k, l = gram(code), gram(reference.detach().to(code.dtype))  # noqa: E741  (the paper's names)
    scale = (_unbiased_hsic(k, k).clamp_min(0) * _unbiased_hsic(l, l).clamp_min(0) + eps).sqrt()
    return (_unbiased_hsic(k, l) / scale).clamp_min(0.0)


def _unbiased_hsic(k: Tensor, l: Tensor) -> Tensor:  # noqa: E741  (the paper's names)
    """Song et al. (2012), eq. 5: unbiased HSIC of two (n, n) Gram matrices, n >= 4."""
    n = k.shape[0]
    k = k * (1 - torch.eye(n, dtype=k.dtype, device=k.device))
    l = l * (1 - torch.eye(n, dtype=l.dtype, device=l.device))  # noqa: E741
    ones = torch.ones(n, 1, dtype=k.dtype, device=k.device)
    trace = (k * l.transpose(0, 1)).sum()
    middle = (ones.T @ k @ ones) * (ones.T @ l @ ones) / ((n - 1) * (n - 2))
    cross = 2.0 / (n - 2) * (ones.T @ k @ l @ ones)
    return ((trace + middle - cross) / (n * (n - 3))).squeeze()


def _standardise_columns(x: Tensor, eps: float) -> Tensor:
    """(B, D) -> (B, D) with each column centred and scaled to unit L2 norm over the batch."""
    x = x - x.mean(dim=0, keepdim=True)
    return x / (x.norm(dim=0, keepdim=True) + eps)


def total_loss(terms: dict[str, Tensor], weights: dict[str, float]) -> Tensor:
    """Weighted sum ``sum_k weights[k] * terms[k]`` over the computed terms (a scalar tensor)."""
    if not terms:
        raise ValueError("total_loss needs at least one term")
    return torch.stack([weights[name] * value for name, value in terms.items()]).sum()
