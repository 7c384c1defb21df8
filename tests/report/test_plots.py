"""The report plots write real, non-trivial PNG files."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from lfd_tcmen.report.plots import plot_bars, plot_confusion, plot_curves, plot_embedding, project_2d

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_size(path):
    """(width, height) from the IHDR chunk, after checking the PNG signature."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    assert data.rstrip(b"\x00")[-8:-4] == b"IEND"
    return struct.unpack(">II", data[16:24])


def _assert_png(path, min_width=300, min_height=200, min_bytes=5_000):
    assert path.is_file()
    width, height = _png_size(path)
    assert width >= min_width and height >= min_height
    assert path.stat().st_size >= min_bytes


def test_plot_confusion(tmp_path):
    cm = np.array([[20, 3, 1], [4, 9, 0], [0, 0, 0]])  # the last class has no samples
    out = plot_confusion(cm, ["negative", "positive", "surprise"], tmp_path / "sub" / "cm.png", title="LOSO")
    assert out == tmp_path / "sub" / "cm.png"
    width, height = _png_size(out)
    assert width > 1.5 * height  # counts and row-normalised side by side
    _assert_png(out)
    with pytest.raises(ValueError, match="class names"):
        plot_confusion(cm, ["a", "b"], tmp_path / "x.png")


def test_plot_curves_mean_over_folds(tmp_path):
    rng = np.random.default_rng(0)
    history = [
        {
            "fold": f"casme2/sub0{f}",
            "epoch": e,
            "train_loss": 2.0 / (e + 1) + rng.random() * 0.1,
            "orthogonality": 0.1 * rng.random(),
            "cycle": 0.05,
        }
        for f in range(3)
        for e in range(10)
    ]
    history.append({"fold": "casme2/sub00", "epoch": 10, "train_loss": 0.1})  # a row lacking terms
    _assert_png(plot_curves(history, tmp_path / "curves.png"))
    with pytest.raises(ValueError, match="no numeric"):
        plot_curves([{"fold": "a", "epoch": 0}], tmp_path / "bad.png")


def test_plot_embedding_pca_and_tsne(tmp_path):
    rng = np.random.default_rng(1)
    for n in (12, 60):  # PCA only, then PCA + t-SNE
        subjects = [f"s{i % 4}" for i in range(n)]
        labels = np.arange(n) % 3
        identity = rng.normal(size=(n, 16)) + 4 * np.eye(16)[[int(s[1]) for s in subjects]]
        motion = rng.normal(size=(n, 8)) + 4 * np.eye(8)[labels]
        out = plot_embedding(
            identity, motion, subjects, labels, ["neg", "pos", "sur"], tmp_path / f"emb{n}.png", seed=0
        )
        _assert_png(out)
    _assert_png(plot_embedding(identity, motion, subjects, labels, None, tmp_path / "default.png", seed=3))
    with pytest.raises(ValueError, match="one entry per sample"):
        plot_embedding(identity[:5], motion, subjects, labels, None, tmp_path / "bad.png")


def test_project_2d_is_deterministic_and_separates_clusters():
    rng = np.random.default_rng(2)
    codes = np.concatenate([rng.normal(0, 1, (30, 10)), rng.normal(8, 1, (30, 10))])
    a, method = project_2d(codes, seed=5)
    b, _ = project_2d(codes, seed=5)
    assert method == "PCA + t-SNE" and a.shape == (60, 2)
    np.testing.assert_array_equal(a, b)
    centre_gap = np.linalg.norm(a[:30].mean(0) - a[30:].mean(0))
    assert centre_gap > 3 * max(a[:30].std(0).max(), a[30:].std(0).max())
    small, method = project_2d(codes[:10], seed=0)
    assert method == "PCA" and small.shape == (10, 2)


def test_plot_bars(tmp_path):
    rows = [
        {"name": "lfd_tcmen", "uf1": 0.71, "uar": 0.70, "uf1_std": 0.02},
        {"name": "ststnet", "uf1": 0.7353, "uar": float("nan")},
        {"name": "htnet_no_leak", "uf1": 0.66, "uar": 0.65},
    ]
    _assert_png(plot_bars(rows, ["uf1", "uar"], tmp_path / "bars.png", title="composite"))
    with pytest.raises(ValueError):
        plot_bars([], ["uf1"], tmp_path / "none.png")
