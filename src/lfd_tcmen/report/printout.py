"""What a command prints about finished numbers, as text: one run's scores (``train``), several
seeds' (``train --seeds``), a benchmark's rows and what is left of them (``benchmark --list``).
The numbers are read from what the runs wrote; nothing is computed here but the time left."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from lfd_tcmen.config.benchmark import BenchmarkConfig


@dataclass(frozen=True)
class RowProgress:
    """How far one method's row is: finished (seed, fold) trainings and their median wall time."""

    method: str
    done: int
    total: int
    fold_seconds: float | None  # median over the finished folds; None when none is finished

    @property
    def left(self) -> int:
        return self.total - self.done


def format_benchmark_list(
    bench: BenchmarkConfig,
    methods: Sequence[str] | None,
    progress: Mapping[str, RowProgress],
    out: Path,
    workers: int,
) -> str:
    """One line per method (settings; with ``progress``, its finished trainings and their median
    time), then, with ``progress``, what is left and a time estimate from those medians on
    ``workers`` workers."""
    lines = []
    for m in bench.methods:
        if methods and m.name not in methods:
            continue
        cfg = bench.experiment(m.name, bench.protocols[0])
        t = cfg.train
        what = f"skip: {m.skip}" if m.skip else f"epochs {t.epochs}, lr {t.lr:g}, batch {t.batch_size}"
        line = f"{m.name:24s} {m.kind:8s} {m.model:12s} {what}"
        row = progress.get(m.name)
        if row is not None:
            median = f", median {row.fold_seconds:.1f} s a fold" if row.fold_seconds is not None else ""
            line = f"{line:80s} {row.done}/{row.total} trained{median}"
        lines.append(line)
    if progress:
        left = sum(r.left for r in progress.values())
        timed = [r for r in progress.values() if r.left and r.fold_seconds is not None]
        hours = sum(r.left * r.fold_seconds for r in timed) / max(1, workers) / 3600
        untimed = left - sum(r.left for r in timed)
        lines.append(
            f"{out}: {left} training(s) left; about {hours:.1f} h on {max(1, workers)} worker(s) "
            "from each row's median fold time"
            + (f" ({untimed} in rows with no finished fold: not estimated)" if untimed else "")
        )
    return "\n".join(lines)


def format_seeds(summary: dict, out_dir: Path) -> str:
    """Each seed's pooled scores, their mean and sd, and the seed ensemble's."""
    lines = [f"protocol: {summary['protocol']}; folds {summary['folds_done']}/{summary['folds_total']}"]
    if not summary.get("test_samples", True):
        lines.append(
            "no test samples (data.split all): nothing scored; each seed's model is in seed<k>/folds/"
        )
    for seed, o in summary["per_seed"].items():
        if o:
            lines.append(f"seed {seed}: UF1 {o['uf1']:.4f}  UAR {o['uar']:.4f}  accuracy {o['accuracy']:.4f}")
    if "mean" in summary:
        m, sd = summary["mean"], summary["sd"]
        lines.append(
            f"mean over {len(summary['seeds'])} seeds: UF1 {m['uf1']:.4f} ± {sd['uf1']:.4f}  "
            f"UAR {m['uar']:.4f} ± {sd['uar']:.4f} (sd)"
        )
    if "ensemble" in summary:
        e = summary["ensemble"]
        lines.append(
            f"seed ensemble (mean probabilities): UF1 {e['uf1']:.4f}  UAR {e['uar']:.4f}  accuracy {e['accuracy']:.4f}"
        )
    lines.append(f"results in {out_dir} (seed<k>/, ensemble/, seeds.json)")
    return "\n".join(lines)


def format_run(metrics: dict, out_dir: Path, wall_s: float, kept: int = 0) -> str:
    """What ``train`` prints at the end: pooled scores, protocol, identity leakage, where the files
    are (``kept``: folds kept from before, by ``--resume``)."""
    if "overall" not in metrics:  # data.split all: nothing tested
        return "\n".join(
            [
                f"protocol: {metrics['protocol']}; folds: {metrics['folds_done']}/{metrics['folds_total']}",
                metrics.get("note", "no test samples: nothing was scored"),
                f"model(s): {', '.join(str(out_dir / m) for m in metrics.get('models', []))}",
                f"wall time {wall_s:.1f} s (training time {metrics['train_wall_s']:.1f} s)",
                f"results in {out_dir}",
            ]
        )
    o = metrics["overall"]
    lines = [
        f"protocol: {metrics['protocol']}"
        + (
            "  (LEAKY: epoch chosen on the test subject)" if metrics["protocol"] == "leaky-best-epoch" else ""
        ),
        f"folds: {metrics['folds_done']}/{metrics['folds_total']}"
        + (f" ({kept} kept from before)" if kept else ""),
        f"UF1 {o['uf1']:.4f}  UAR {o['uar']:.4f}  accuracy {o['accuracy']:.4f}  n {o['n']}",
    ]
    for name, d in metrics.get("per_dataset", {}).items():
        if len(metrics["per_dataset"]) > 1:
            lines.append(
                f"  {name}: UF1 {d['uf1']:.4f}  UAR {d['uar']:.4f}  accuracy {d['accuracy']:.4f}  n {d['n']}"
            )
    leak = metrics.get("identity_leakage", {})
    if leak.get("available"):
        codes = ", ".join(
            f"{name} code {leak[name]['accuracy']:.3f}" for name in ("motion", "identity") if name in leak
        )
        chance = next(leak[name]["chance"] for name in ("motion", "identity") if name in leak)
        lines.append(
            f"identity leakage (subject from code, linear probe on training samples, mean of {leak['folds']} "
            f"folds): {codes}, chance {chance:.3f}"
        )
    else:
        lines.append(f"identity leakage: not measured ({leak.get('reason', 'no codes')})")
    heldout = metrics.get("identity_heldout")
    if heldout and heldout.get("available"):
        parts = [f"{name} code {p['retrieval']:.3f} / {p['auc']:.3f}" for name, p in heldout["codes"].items()]
        refs = [f"raw input {heldout['raw_input']['retrieval']:.3f} / {heldout['raw_input']['auc']:.3f}"]
        refs += [
            f"untrained {n} {p['retrieval']:.3f} / {p['auc']:.3f}" for n, p in heldout["untrained"].items()
        ]
        lines.append(
            "identity of held-out subjects (same-subject 1-NN retrieval / verification AUC): "
            + ", ".join(parts)
            + f"; references: {', '.join(refs)}; chance {heldout['raw_input']['retrieval_chance']:.3f} / 0.5"
        )
    lines.append(f"wall time {wall_s:.1f} s (training time of all folds {metrics['train_wall_s']:.1f} s)")
    lines.append(f"results in {out_dir}")
    return "\n".join(lines)
