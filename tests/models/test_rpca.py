"""Robust PCA by inexact ALM: known low-rank + sparse decompositions are recovered."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lfd_tcmen.models.layers.rpca_ialm import rpca_ialm, singular_value_threshold, soft_threshold


def low_rank_plus_sparse(
    m: int, n: int, rank: int, density: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    low = rng.standard_normal((m, rank)) @ rng.standard_normal((rank, n))
    sparse = np.zeros((m, n))
    mask = rng.random((m, n)) < density
    sparse[mask] = rng.uniform(-10, 10, mask.sum())
    return low, sparse


def rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


@pytest.mark.parametrize("seed", [0, 1])
def test_recovers_low_rank_and_sparse_parts(seed: int) -> None:
    low, sparse = low_rank_plus_sparse(200, 100, rank=5, density=0.05, seed=seed)
    res = rpca_ialm(low + sparse)
    assert rel(res.low_rank.numpy(), low) < 1e-5
    assert rel(res.sparse.numpy(), sparse) < 1e-5
    assert np.linalg.matrix_rank(res.low_rank.numpy(), tol=1e-6) == 5
    assert 0 < int(res.iterations) < 100


def test_clip_matrix_puts_the_expression_in_the_sparse_part() -> None:
    # Three frames of one face (a rank-1 pixels x frames matrix); the apex adds a local change.
    rng = np.random.default_rng(0)
    face = rng.random(64 * 64)
    change = np.zeros((64, 64))
    change[20:28, 30:40] = 0.3
    d = np.stack([face, face + change.ravel(), face], axis=1)
    res = rpca_ialm(d, lam=2 / 64)
    sparse = res.sparse.numpy()
    assert np.abs(sparse[:, 1].reshape(64, 64) - change).max() < 1e-4
    assert np.abs(sparse[:, [0, 2]]).max() < 1e-4
    assert np.linalg.matrix_rank(res.low_rank.numpy(), tol=1e-6) == 1


def test_batched_solve_equals_one_by_one() -> None:
    mats = [sum(low_rank_plus_sparse(60, 30, rank=2, density=0.05, seed=s)) for s in range(3)]
    mats[1] = mats[1] * 5.0  # a different scale converges after a different number of steps
    batched = rpca_ialm(np.stack(mats))
    for i, m in enumerate(mats):
        single = rpca_ialm(m)
        assert torch.equal(batched.iterations[i], single.iterations)
        torch.testing.assert_close(batched.sparse[i], single.sparse, rtol=0, atol=1e-12)
        torch.testing.assert_close(batched.low_rank[i], single.low_rank, rtol=0, atol=1e-12)


def test_dtype_is_kept_and_zero_matrix_is_trivial() -> None:
    d = torch.zeros(2, 10, 4, dtype=torch.float32)
    d[1] = torch.from_numpy(sum(low_rank_plus_sparse(10, 4, rank=1, density=0.1, seed=3))).float()
    res = rpca_ialm(d)
    assert res.low_rank.dtype == torch.float32 and res.sparse.dtype == torch.float32
    assert int(res.iterations[0]) == 0 and not res.low_rank[0].any() and not res.sparse[0].any()
    torch.testing.assert_close(res.low_rank[1] + res.sparse[1], d[1], rtol=0, atol=1e-5)
    with pytest.raises(ValueError):
        rpca_ialm(np.ones(5))


def test_proximal_operators() -> None:
    x = torch.tensor([-3.0, -0.5, 0.0, 0.5, 3.0])
    torch.testing.assert_close(soft_threshold(x, 1.0), torch.tensor([-2.0, 0.0, 0.0, 0.0, 2.0]))
    u, _ = torch.linalg.qr(torch.randn(6, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0)))
    v, _ = torch.linalg.qr(torch.randn(4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1)))
    a = u @ torch.diag(torch.tensor([5.0, 2.0, 0.5], dtype=torch.float64)) @ v.T
    shrunk = torch.linalg.svdvals(singular_value_threshold(a, torch.tensor(1.0, dtype=torch.float64)))
    torch.testing.assert_close(
        shrunk[:3], torch.tensor([4.0, 1.0, 0.0], dtype=torch.float64), rtol=0, atol=1e-10
    )
