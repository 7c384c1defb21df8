"""PNG figures of a run: confusion matrices, training curves, code embeddings, metric bars.

Every function draws with matplotlib's non-interactive Agg backend on its own figure, writes one
PNG (creating the parent folder) and returns its path; none touches global pyplot state.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from threadpoolctl import threadpool_limits

DPI = 120
TSNE_MIN_SAMPLES = 30  # below this, the embedding plot shows PCA only


def class_colors(class_names: Sequence[str]) -> list[str]:
    """The one class palette: class i (in the class order of the FeatureSet, the confusion
    matrix and metrics.json) gets colour i, as hex, in every figure and on the report page."""
    cmap = colormaps["tab10" if len(class_names) <= 10 else "tab20"]
    return [to_hex(cmap(i % cmap.N)) for i in range(len(class_names))]


def _save(fig: Figure, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    fig.savefig(path, format="png", dpi=DPI, bbox_inches="tight")
    return path


def _matrix_panel(
    ax: Any, values: np.ndarray, class_names: Sequence[str], fmt: str, title: str, vmax: float
) -> None:
    ax.imshow(values, cmap="Blues", vmin=0, vmax=vmax)
    ticks = np.arange(len(class_names))
    ax.set_xticks(ticks, labels=list(class_names), rotation=45, ha="right")
    ax.set_yticks(ticks, labels=list(class_names))
    for tick_labels in (ax.get_xticklabels(), ax.get_yticklabels()):
        for label, color in zip(tick_labels, class_colors(class_names)):
            label.set_color(color)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            v = values[i, j]
            text = "-" if np.isnan(v) else format(v, fmt)
            dark = not np.isnan(v) and v > 0.6 * vmax
            ax.text(j, i, text, ha="center", va="center", color="white" if dark else "black", fontsize=9)


def plot_confusion(cm: np.ndarray, class_names: Sequence[str], path: str | Path, title: str = "") -> Path:
    """Confusion matrix as counts (left) and row-normalised, i.e. per-class recall (right).

    cm: (C, C) counts, rows = true class, columns = predicted (:func:`lfd_tcmen.evaluation.metrics.confusion_matrix`).
    Rows without samples show "-" in the normalised panel.
    """
    cm = np.asarray(cm, dtype=np.float64)
    c = cm.shape[0]
    if cm.shape != (c, c) or len(class_names) != c:
        raise ValueError(f"confusion matrix {cm.shape} does not match {len(class_names)} class names")
    totals = cm.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        normalised = np.where(totals > 0, cm / totals, np.nan)
    size = 2.0 + 0.7 * c
    fig = Figure(figsize=(2 * size + 1, size))
    left, right = fig.subplots(1, 2)
    _matrix_panel(left, cm, class_names, ".0f", "counts", max(float(cm.max()), 1.0))
    _matrix_panel(right, normalised, class_names, ".2f", "row-normalised (recall)", 1.0)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def plot_curves(history: Sequence[Mapping[str, Any]], path: str | Path, title: str = "") -> Path:
    """Training curves: one panel per logged quantity, mean over folds per epoch with min-max band.

    history: rows like ``{"fold": "casme2/sub01", "epoch": 3, "train_loss": 0.8, "orthogonality": 0.1}``;
    every numeric key besides ``fold`` and ``epoch`` gets a panel (``train_loss`` first). Rows may
    lack keys (a term logged only some epochs).
    """
    if not history:
        raise ValueError("empty history")
    keys: list[str] = []
    for row in history:
        for k, v in row.items():
            if k in ("fold", "epoch") or k in keys or isinstance(v, bool):
                continue
            if isinstance(v, int | float | np.number):
                keys.append(k)
    if not keys:
        raise ValueError("history rows hold no numeric quantities besides fold and epoch")
    first_seen = {k: i for i, k in enumerate(keys)}
    keys.sort(key=lambda k: (k != "train_loss", k not in ("loss", "total"), first_seen[k]))
    cols = min(3, len(keys))
    rows_n = math.ceil(len(keys) / cols)
    fig = Figure(figsize=(4.2 * cols, 3.2 * rows_n))
    axes = np.atleast_1d(fig.subplots(rows_n, cols, squeeze=False)).ravel()
    folds = {str(r.get("fold")) for r in history}
    for ax, key in zip(axes, keys):
        per_epoch: dict[int, list[float]] = defaultdict(list)
        for row in history:
            v = row.get(key)
            if v is not None and not (isinstance(v, float) and math.isnan(v)):
                per_epoch[int(row["epoch"])].append(float(v))
        epochs = np.array(sorted(per_epoch))
        values = [np.array(per_epoch[e]) for e in epochs]
        mean = np.array([v.mean() for v in values])
        ax.plot(epochs, mean, color="tab:blue", marker="o" if len(epochs) < 20 else None, markersize=3)
        if len(folds) > 1:
            low = np.array([v.min() for v in values])
            high = np.array([v.max() for v in values])
            ax.fill_between(epochs, low, high, color="tab:blue", alpha=0.2, linewidth=0)
        ax.set_title(key)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    for ax in axes[len(keys) :]:
        ax.set_visible(False)
    spread = f"mean over {len(folds)} folds, band = min-max" if len(folds) > 1 else "one fold"
    fig.suptitle(f"{title} ({spread})" if title else spread)
    fig.tight_layout()
    return _save(fig, path)


def project_2d(codes: np.ndarray, seed: int = 0) -> tuple[np.ndarray, str]:
    """2-D projection of codes (N, D): PCA to at most 50 dims then t-SNE, or PCA only when
    N < :data:`TSNE_MIN_SAMPLES`. Returns ((N, 2) float64, method name). Deterministic by seed."""
    # deferred: scikit-learn takes a second to import and only the embedding plot needs it
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    x = np.asarray(codes, dtype=np.float64).reshape(len(codes), -1)
    n, d = x.shape
    if n < 3:
        raise ValueError(f"need at least 3 samples to project, got {n}")
    x = x - x.mean(axis=0)
    components = min(50 if n >= TSNE_MIN_SAMPLES else 2, d, n)
    reduced = PCA(n_components=components, random_state=seed).fit_transform(x) if d > 1 else x
    if n < TSNE_MIN_SAMPLES or components < 2:
        out = np.zeros((n, 2))
        out[:, : reduced.shape[1]] = reduced[:, :2]
        return out, "PCA"
    perplexity = float(min(30.0, (n - 1) / 3))
    tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed, max_iter=500)
    with threadpool_limits(limits=1):  # one thread: same result everywhere, and far faster on a busy CPU
        return tsne.fit_transform(reduced), "PCA + t-SNE"


def subject_colors(subjects: Sequence[str]) -> dict[str, str]:
    """Subject name -> colour, in order of first appearance: shades of viridis, a sequential
    palette, so a subject is never drawn in a class colour (``class_colors`` is tab10)."""
    names = list(dict.fromkeys(subjects))
    cmap = colormaps["viridis"]
    return {n: to_hex(cmap(i / max(1, len(names) - 1) * 0.92)) for i, n in enumerate(names)}


def _scatter(
    ax: Any,
    xy: np.ndarray,
    groups: Sequence[str],
    title: str,
    legend_max: int,
    palette: Mapping[str, str] | None = None,
) -> None:
    """Scatter the points coloured by group; a legend when there are at most ``legend_max`` groups.

    ``palette``: group name -> colour, in legend order (classes: ``class_colors``, subjects:
    ``subject_colors``); without it, groups in order of first appearance get tab10/tab20/hsv colours.
    """
    names = list(dict.fromkeys(groups))
    if palette is not None:
        names = [n for n in palette if n in set(names)]
        colors = [palette[n] for n in names]
    elif len(names) <= 10:
        colors = [colormaps["tab10"](i) for i in range(len(names))]
    elif len(names) <= 20:
        colors = [colormaps["tab20"](i) for i in range(len(names))]
    else:
        colors = [colormaps["hsv"](i / len(names)) for i in range(len(names))]
    group_arr = np.asarray(groups)
    for name, color in zip(names, colors):
        keep = group_arr == name
        ax.scatter(xy[keep, 0], xy[keep, 1], s=14, color=color, label=name, alpha=0.8)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    if len(names) <= legend_max:
        ax.legend(fontsize=7, loc="best", frameon=False)


def plot_embedding(
    identity_codes: np.ndarray,
    motion_codes: np.ndarray,
    subjects: Sequence[str],
    labels: Sequence[int] | np.ndarray,
    class_names: Sequence[str] | None,
    path: str | Path,
    seed: int = 0,
    title: str = "",
) -> Path:
    """Three 2-D panels: identity codes by subject, motion codes by subject, motion codes by class.

    identity_codes: (N, Di); motion_codes: (N, Dm); subjects: N names; labels: (N,) class
    indices; class_names: names of the class indices (default "class i"). A disentangled model
    clusters the first panel by subject and the third by class; the middle panel (the same
    points as the third, coloured by subject) shows whether the motion code still groups by
    subject. Subjects are drawn in viridis shades, classes in the class palette, so no colour
    means both. Projection: :func:`project_2d`.

    Eight parameters: one embedding's four per-sample arrays, the class names and the file, then the
    projection seed and title.
    """
    labels = np.asarray(labels, dtype=np.int64)
    n = len(labels)
    if len(identity_codes) != n or len(motion_codes) != n or len(subjects) != n:
        raise ValueError("identity_codes, motion_codes, subjects and labels must have one entry per sample")
    if class_names is None:
        class_names = [f"class {i}" for i in range(int(labels.max()) + 1)]
    id_xy, method = project_2d(np.asarray(identity_codes), seed)
    mo_xy, _ = project_2d(np.asarray(motion_codes), seed)
    subject_names = [str(s) for s in subjects]
    by_subject = subject_colors(subject_names)
    fig = Figure(figsize=(15, 5))
    left, middle, right = fig.subplots(1, 3)
    _scatter(left, id_xy, subject_names, f"identity code by subject ({len(by_subject)})", 12, by_subject)
    _scatter(middle, mo_xy, subject_names, "motion code by subject", 0, by_subject)
    palette = dict(zip(class_names, class_colors(class_names)))  # the confusion matrix's order
    _scatter(right, mo_xy, [class_names[i] for i in labels], "motion code by class", 20, palette)
    what = f"{method} of {n} samples; subjects in viridis shades, classes in the class palette"
    fig.suptitle(f"{title}: {what}" if title else what)
    fig.tight_layout()
    return _save(fig, Path(path))


def plot_bars(
    rows: Sequence[Mapping[str, Any]],
    metric_keys: Sequence[str],
    path: str | Path,
    title: str = "",
    label_key: str | None = None,
) -> Path:
    """Grouped bars: one group per row (a model, ablation or dataset), one bar per metric.

    rows: e.g. ``[{"name": "lfd_tcmen", "uf1": 0.71, "uar": 0.70}, ...]``. Each group is named
    by ``label_key`` (default: the first of "name", "model", "method", "variant", "dataset" the rows
    have, else the row number). A ``<metric>_std`` value, when present, is drawn as an error bar.
    Missing or nan values leave a gap.
    """
    if not rows or not metric_keys:
        raise ValueError("plot_bars needs rows and metric keys")
    if label_key is None:
        candidates = ("name", "model", "method", "variant", "dataset")
        label_key = next((k for k in candidates if all(k in r for r in rows)), None)
    names = [str(r[label_key]) if label_key else str(i + 1) for i, r in enumerate(rows)]
    x = np.arange(len(rows))
    width = 0.8 / len(metric_keys)
    fig = Figure(figsize=(max(5.0, 1.0 + len(rows) * (0.4 + 0.35 * len(metric_keys))), 4.2))
    ax = fig.subplots()
    for k, key in enumerate(metric_keys):
        values = np.array([_float(r.get(key)) for r in rows])
        errors = np.array([_float(r.get(f"{key}_std")) for r in rows])
        yerr = None if np.all(np.isnan(errors)) else errors  # nan: no error bar on that bar
        bars = ax.bar(
            x - 0.4 + width * (k + 0.5), np.nan_to_num(values), width, label=key, yerr=yerr, capsize=3
        )
        for bar, v, e in zip(bars, values, errors):
            if np.isnan(v):
                bar.set_visible(False)
                continue
            top = (bar.get_x() + bar.get_width() / 2, v + (0.0 if np.isnan(e) else e))
            ax.annotate(
                f"{v:.3f}",
                top,
                ha="center",
                va="bottom",
                fontsize=7,
                xytext=(0, 2),
                textcoords="offset points",
            )
    long_names = max(len(n) for n in names) > 8
    ax.set_xticks(x, labels=names, rotation=30 if long_names else 0, ha="right" if long_names else "center")
    ax.legend(fontsize=8, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return _save(fig, path)


def _float(value: Any) -> float:
    try:
        return float(value) if value is not None else float("nan")
    except (TypeError, ValueError):
        return float("nan")
