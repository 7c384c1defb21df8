"""Robust PCA by the inexact augmented Lagrange multiplier method (IALM).

Lin, Chen & Ma (2010), "The Augmented Lagrange Multiplier Method for Exact Recovery of Corrupted
Low-Rank Matrices", Algorithm 5. Principal component pursuit splits a data matrix into a
low-rank part and a sparse part:

    minimise ||L||_* + lam * ||S||_1   subject to   L + S = D.

IALM alternates one singular-value shrinkage (for L) and one soft threshold (for S) per
iteration, then ascends the multiplier Y; mu grows geometrically (factor rho) up to mu_bar.
Initialisation follows the authors' reference code: Y = D / max(||D||_2, ||D||_inf / lam),
mu = 1.25 / ||D||_2, mu_bar = 1e7 * mu, rho = 1.5, stop when ||D - L - S||_F / ||D||_F < tol.

The solver is batched over leading dimensions (``D`` is (..., m, n)); each matrix stops on its
own criterion and is frozen afterwards, so a matrix's result does not depend on the batch it
was solved in. It works in float64 and never builds a graph (fixed preprocessing).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor


@dataclass(frozen=True)
class RPCAResult:
    """low_rank, sparse: same shape and dtype as the input D; iterations: (...,) int64."""

    low_rank: Tensor
    sparse: Tensor
    iterations: Tensor


def soft_threshold(x: Tensor, tau: Tensor | float) -> Tensor:
    """Elementwise shrinkage sign(x) * max(|x| - tau, 0); the prox of tau * ||.||_1."""
    return torch.sign(x) * torch.clamp(x.abs() - tau, min=0.0)


def singular_value_threshold(x: Tensor, tau: Tensor) -> Tensor:
    """x: (..., m, n); tau: (...,). The prox of tau * ||.||_*: shrink every singular value by tau."""
    u, s, vh = torch.linalg.svd(x, full_matrices=False)
    s = torch.clamp(s - tau[..., None], min=0.0)
    return (u * s[..., None, :]) @ vh


def rpca_ialm(
    data: Tensor | np.ndarray,
    lam: float | None = None,
    tol: float = 1e-7,
    max_iter: int = 1000,
    rho: float = 1.5,
) -> RPCAResult:
    """Decompose ``data`` (..., m, n) into low-rank + sparse parts.

    lam: weight of the sparse term; default 1 / sqrt(max(m, n)) (Candes et al.'s universal choice).
    tol: relative residual ||D - L - S||_F / ||D||_F at which a matrix stops.
    Returns tensors in the input's dtype (float64 inside); numpy input gives tensors too.
    """
    d = torch.as_tensor(data)
    if d.ndim < 2:
        raise ValueError(f"rpca_ialm needs a matrix (..., m, n), got shape {tuple(d.shape)}")
    if not torch.is_floating_point(d):
        d = d.to(torch.float64)
    out_dtype = d.dtype
    m, n = d.shape[-2:]
    lam = 1.0 / math.sqrt(max(m, n)) if lam is None else float(lam)
    with torch.no_grad():
        low_rank, sparse, iterations = _ialm(d.to(torch.float64), lam, tol, max_iter, rho)
    return RPCAResult(low_rank.to(out_dtype), sparse.to(out_dtype), iterations)


def _ialm(d: Tensor, lam: float, tol: float, max_iter: int, rho: float) -> tuple[Tensor, Tensor, Tensor]:
    batch = d.shape[:-2]
    norm_two = torch.linalg.matrix_norm(d, ord=2)  # largest singular value, (...,)
    norm_inf = d.abs().amax(dim=(-2, -1)) / lam
    d_norm = torch.linalg.matrix_norm(d, ord="fro")
    nonzero = d_norm > 0
    # Guard all-zero matrices: they are already decomposed (L = S = 0).
    safe_two = torch.where(nonzero, norm_two, torch.ones_like(norm_two))
    dual = torch.maximum(safe_two, norm_inf)
    y = d / dual[..., None, None]
    mu = 1.25 / safe_two
    mu_bar = mu * 1e7
    low_rank = torch.zeros_like(d)
    sparse = torch.zeros_like(d)
    active = nonzero.clone()
    iterations = torch.zeros(batch, dtype=torch.int64, device=d.device)
    safe_norm = torch.where(nonzero, d_norm, torch.ones_like(d_norm))
    for _ in range(max_iter):
        if not bool(active.any()):
            break
        inv_mu = (1.0 / mu)[..., None, None]
        new_sparse = soft_threshold(d - low_rank + inv_mu * y, lam * inv_mu)
        new_low_rank = singular_value_threshold(d - new_sparse + inv_mu * y, 1.0 / mu)
        residual = d - new_low_rank - new_sparse
        keep = active[..., None, None]
        sparse = torch.where(keep, new_sparse, sparse)
        low_rank = torch.where(keep, new_low_rank, low_rank)
        y = torch.where(keep, y + mu[..., None, None] * residual, y)
        mu = torch.where(active, torch.minimum(mu * rho, mu_bar), mu)
        iterations = iterations + active.to(torch.int64)
        converged = torch.linalg.matrix_norm(residual, ord="fro") / safe_norm < tol
        active = active & ~converged
    return low_rank, sparse, iterations
