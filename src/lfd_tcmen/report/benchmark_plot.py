"""bars.png of a benchmark: each method's UF1 as a point with its spread, and its difference from
the reference with the 95% interval, zoomed to the data, with the published figures drawn.

    plot_benchmark_bars(rows, "results/megc2019/bars.png", reference="lfd_tcmen", published=[...])

Left panel, UF1: one line per method, ranked by its honest UF1. A filled circle is the honest
mean over seeds, its whisker +- 1 sd over the seeds and the small ticks the seeds themselves; an
open diamond the honest seed ensemble; a red square the leaky mean (+- 1 sd). Below the methods,
one starred row per published figure with a faint line across the panel (grey dashed: honest,
red dotted: leaky, dash-dot: protocol unknown); a blue dashed line: the reference's honest mean. Right panel (when the rows carry ``vs_reference``): the difference from the
reference under the same protocol with its 95% paired-bootstrap interval; 0 is the reference.
Both axes span the data, not 0 to 1; a point beyond the right panel's zoom sits at its edge with
an arrow and its value. Nothing is computed here but the layout.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from lfd_tcmen.report.plots import _float, _save

HONEST_COLOR, LEAKY_COLOR, REFERENCE_COLOR = "#1f77b4", "#d62728", "#555555"
LEAKY = "leaky-best-epoch"
DELTA_ZOOM = 0.12  # the difference panel zooms on the rows whose difference lies within +-this


def rank_groups(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Method groups (``group``, else ``method``) ranked by their honest mean-over-seeds UF1 (a
    group without one: its first UF1), best first; groups without any UF1 last, in row order."""
    score: dict[str, float] = {}
    for r in rows:
        group, value = str(r.get("group", r["method"])), _float(r.get("uf1"))
        main = r.get("protocol") != LEAKY and not r.get("variant")
        if group not in score or (main and not np.isnan(value)):
            score[group] = value if main or group not in score else score[group]
    return sorted(score, key=lambda g: -score[g] if not np.isnan(score[g]) else np.inf)


def plot_benchmark_bars(
    rows: Sequence[Mapping[str, Any]],
    path: str | Path,
    reference: str | None = None,
    published: Sequence[Mapping[str, Any]] = (),
) -> Path:
    """Write the figure the module docstring describes; returns its path.

    rows: benchmark rows (``report.benchmark_table``): ``method``, ``protocol``, ``uf1``, and where
    present ``uf1_std``, ``per_seed`` ({seed: {"uf1": ...}}), ``variant`` ("seed ensemble") and
    ``vs_reference`` ({"uf1": {"delta", "ci_low", "ci_high"}}). published: {"name", "uf1",
    "protocol"} figures from the literature, drawn as vertical lines.
    """
    if not rows:
        raise ValueError("plot_benchmark_bars needs rows")
    groups = rank_groups(rows)
    y = {g: i for i, g in enumerate(groups)}
    shown = [p for p in published if not np.isnan(_float(p.get("uf1")))]
    means = [r for r in rows if not r.get("variant")]
    deltas = [r for r in means if (r.get("vs_reference") or {}).get("uf1")]
    lines = len(groups) + (len(shown) + 0.5 if shown else 0)
    fig = Figure(figsize=(9.0, 1.9 + 0.27 * lines))
    axes = fig.subplots(1, 2 if deltas else 1, sharey=True, squeeze=False).ravel()
    ax = axes[0]
    values = _uf1_panel(ax, rows, y, reference)
    values += _published_rows(ax, shown, len(groups) + 0.5)
    low, high = min(values), max(values)
    pad = max(0.01, 0.04 * (high - low))
    ax.set_xlim(low - pad, high + pad)
    ax.set_xlabel("UF1, pooled over folds")
    ax.set_title("UF1 (axis zoomed to the data)", fontsize=10)
    if deltas:
        _delta_panel(axes[1], deltas, y, reference)
    names = [f"{p['name']} (published)" for p in shown]
    ax.set_yticks([*range(len(groups)), *(len(groups) + 0.5 + np.arange(len(shown)))], labels=groups + names)
    ax.tick_params(axis="y", labelsize=8)
    for label in ax.get_yticklabels()[len(groups) :]:
        label.set_color(REFERENCE_COLOR)
        label.set_fontstyle("italic")
    ax.set_ylim(lines - 0.4, -0.6)  # the best method on top, the published figures below
    for a in axes:
        a.grid(axis="x", alpha=0.3)
    handles, labels = [], []
    for a in axes:
        for h, label in zip(*a.get_legend_handles_labels()):
            if label not in labels:
                handles.append(h)
                labels.append(label)
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=7, frameon=False)
    rows_of_legend = (len(labels) + 1) // 2
    fig.tight_layout(rect=(0, (0.25 + 0.16 * rows_of_legend) / fig.get_figheight(), 1, 1))
    return _save(fig, path)


def _uf1_panel(
    ax: Any, rows: Sequence[Mapping[str, Any]], y: Mapping[str, int], reference: str | None
) -> list[float]:
    """Points and whiskers of every row; returns the x values drawn (for the zoom)."""
    drawn: list[float] = []
    seeds = len(next((r["per_seed"] for r in rows if r.get("per_seed")), {}))
    spread = f"mean of {seeds} seeds, whisker ± 1 sd, ticks: the seeds" if seeds else "one run"
    for r in rows:
        group, value = str(r.get("group", r["method"])), _float(r.get("uf1"))
        if np.isnan(value):
            continue
        leaky = r.get("protocol") == LEAKY
        sd = _float(r.get("uf1_std"))
        offset = 0.18 if leaky else (-0.18 if r.get("variant") else 0.0)
        yy = y[group] + offset
        if r.get("variant"):  # the seed ensemble
            if leaky:
                continue  # the leaky rows keep their mean only: the figure answers the honest question
            ax.plot(value, yy, "D", mfc="white", mec=HONEST_COLOR, ms=5, label="honest: seed ensemble")
        else:
            color = LEAKY_COLOR if leaky else HONEST_COLOR
            label = f"LEAKY (best epoch on the test subject): {spread}" if leaky else f"honest: {spread}"
            ax.errorbar(
                value,
                yy,
                xerr=None if np.isnan(sd) else sd,
                fmt="s" if leaky else "o",
                color=color,
                ms=5 if leaky else 6,
                capsize=2,
                label=label,
            )
            per_seed = [_float(s.get("uf1")) for s in (r.get("per_seed") or {}).values()]
            if per_seed:
                ax.plot(per_seed, [yy] * len(per_seed), "|", color=color, alpha=0.6, ms=6)
                drawn += per_seed
            if not np.isnan(sd):
                drawn += [value - sd, value + sd]
        drawn.append(value)
        if r["method"] == reference and r.get("protocol") != LEAKY and not r.get("variant"):
            ax.axvline(value, color=HONEST_COLOR, ls="--", lw=1, label=f"reference {reference}, honest mean")
    return drawn


def _published_rows(ax: Any, published: Sequence[Mapping[str, Any]], first_y: float) -> list[float]:
    """One row per published figure below the methods (a star), and a faint line across the panel."""
    drawn = []
    for i, p in enumerate(published):
        value = _float(p.get("uf1"))
        protocol = str(p.get("protocol", "unknown"))
        color, ls = {"honest": (REFERENCE_COLOR, "--"), LEAKY: (LEAKY_COLOR, ":")}.get(
            protocol, (REFERENCE_COLOR, "-.")
        )
        kind = {"honest": "honest", LEAKY: "LEAKY"}.get(protocol, "protocol unknown")
        ax.axvline(value, color=color, ls=ls, lw=0.8, alpha=0.7)
        ax.plot(value, first_y + i, "*", color=color, ms=9, label=f"published figure ({kind}) and its line")
        ax.annotate(
            f"{value:.4f}",
            (value, first_y + i),
            xytext=(6, 0),
            textcoords="offset points",
            va="center",
            fontsize=7,
        )
        drawn.append(value)
    if published:
        ax.axhline(first_y - 0.75, color="#999999", lw=0.6)
    return drawn


def _delta_panel(
    ax: Any, rows: Sequence[Mapping[str, Any]], y: Mapping[str, int], reference: str | None
) -> None:
    """ΔUF1 against the reference with its 95% interval; the zoom covers the bulk of the intervals."""
    inside = [r["vs_reference"]["uf1"] for r in rows if abs(r["vs_reference"]["uf1"]["delta"]) <= DELTA_ZOOM]
    low = min([d["ci_low"] for d in inside] + [-0.01])
    high = max([d["ci_high"] for d in inside] + [0.01])
    pad = 0.06 * (high - low)
    low, high = low - pad, high + pad
    for r in rows:
        d = r["vs_reference"]["uf1"]
        leaky = r.get("protocol") == LEAKY
        color = LEAKY_COLOR if leaky else HONEST_COLOR
        yy = y[str(r.get("group", r["method"]))] + (0.18 if leaky else 0.0)
        if not low <= d["delta"] <= high:  # outside the zoom: an arrow at the edge, and its value
            edge, sign = (low, "<") if d["delta"] < 0 else (high, ">")
            ax.plot(edge, yy, sign, color=color, ms=5, clip_on=False)
            ax.annotate(
                f"{d['delta']:+.3f}",
                (edge, yy),
                xytext=(8 if sign == "<" else -8, -1 if leaky else 1),
                textcoords="offset points",
                ha="left" if sign == "<" else "right",
                va="top" if leaky else "bottom",  # honest above its line, leaky below: no overlap
                fontsize=6.5,
                color=color,
            )
            continue
        ax.errorbar(
            d["delta"],
            yy,
            xerr=[[d["delta"] - d["ci_low"]], [d["ci_high"] - d["delta"]]],
            fmt="s" if leaky else "o",
            color=color,
            ms=4,
            capsize=2,
            label=f"Δ with its 95% interval (paired subject bootstrap){', LEAKY' if leaky else ''}",
        )
    ax.axvline(0, color=REFERENCE_COLOR, lw=1)
    ax.set_xlim(low, high)
    ax.xaxis.set_major_locator(MaxNLocator(6))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:+.2f}".replace("0.", ".")))
    ax.set_xlabel(f"ΔUF1 vs {reference} (same protocol)")
    ax.set_title(f"difference from {reference}: a finding where the interval misses 0", fontsize=10)
