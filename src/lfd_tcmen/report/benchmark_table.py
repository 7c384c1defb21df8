"""The benchmark's table: one row per (method, protocol) run, ``table.md``, ``bars.png``, ``results.json``.

Rows are built from each run's metrics.json; nothing here trains or reads fold folders.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from lfd_tcmen.benchmark_config import BenchmarkConfig
from lfd_tcmen.config import PROTOCOLS
from lfd_tcmen.files import atomic_write_text, write_json
from lfd_tcmen.report.plots import plot_bars
from lfd_tcmen.report.tables import markdown_table

HONEST, LEAKY = PROTOCOLS
TABLE = "table.md"
BARS = "bars.png"
RESULTS = "results.json"
RUNS_DIR = "runs"


def collect_rows(
    bench: BenchmarkConfig,
    names: Sequence[str],
    protocols: Sequence[str],
    metrics_of: Callable[[str, str], Mapping[str, Any] | None],
    parameters_of: Callable[[str], int],
    folds_total: int,
) -> list[dict[str, Any]]:
    """One row per (method, protocol) run with metrics; one "not run" row per skipped method.

    ``metrics_of(method, protocol)``: that run's metrics.json (None: not there);
    ``parameters_of(method)``: its model's parameter count.
    """
    rows: list[dict[str, Any]] = []
    for name in names:
        m = bench.method(name)
        parameters = parameters_of(name)
        for protocol in protocols:
            config = bench.experiment(name, protocol)
            row: dict[str, Any] = {
                "method": name,
                "kind": m.kind,
                "model": m.model,
                "protocol": protocol,
                "epochs": config.train.epochs,
                "lr": config.train.lr,
                "batch_size": config.train.batch_size,
                "parameters": parameters,
                "note": m.skip or m.note,
            }
            metrics = None if m.skip else metrics_of(name, protocol)
            if m.skip:
                row["status"] = "not run"
            elif metrics and "overall" in metrics:
                o = metrics["overall"]
                row.update(
                    uf1=o["uf1"],
                    uar=o["uar"],
                    accuracy=o["accuracy"],
                    n=o["n"],
                    folds=f"{metrics['folds_done']}/{folds_total}",
                    train_s=metrics["train_wall_s"],
                    status="done" if metrics["folds_done"] == folds_total else "partial",
                )
                row.update({f"uf1_{k}": v["uf1"] for k, v in metrics["per_dataset"].items()})
            else:
                row["status"] = "missing"
            rows.append(row)
            if m.skip:
                break
    return rows


def write_reports(
    bench: BenchmarkConfig,
    out: Path,
    rows: list[dict[str, Any]],
    folds: Sequence[str],
    folds_total: int,
    fingerprint: str,
    protocols: Sequence[str],
) -> None:
    """``table.md`` (with its notes), ``bars.png`` (UF1 and UAR of the measured rows), ``results.json``.

    Seven parameters: where, what (config and rows), and what the notes must state (the folds,
    their total, the data fingerprint, the protocols).
    """
    for row in rows:
        leaky = row["protocol"] == LEAKY
        row["label"] = f"{row['method']} [{'leaky' if leaky else row['protocol']}]"
    measured = [r for r in rows if "uf1" in r]
    shown = [_display(r) for r in rows]
    cols = [
        ("method", "method"),
        ("kind", "kind"),
        ("protocol_label", "protocol"),
        ("uf1", "UF1"),
        ("uar", "UAR"),
        ("accuracy", "accuracy"),
        ("folds", "folds"),
        ("epochs", "epochs"),
        ("lr", "lr"),
        ("batch_size", "batch"),
        ("parameters", "parameters"),
        ("train_s", "train time (s)"),
        ("status", "status"),
    ]
    datasets = sorted({k for r in measured for k in r if k.startswith("uf1_")})
    cols[6:6] = [(k, f"UF1 {k[4:]}") for k in datasets]
    both = HONEST in protocols and LEAKY in protocols
    notes = [
        f"Folds: the same {len(folds)} of {folds_total} folds for every row "
        f"(split {bench.data.get('split', 'loso')}, seed {bench.seed}, data fingerprint {fingerprint}).",
        "Scores are pooled over all folds' predictions (MEGC2019 UF1/UAR), not averaged per fold.",
        "honest: fixed epochs and schedule, the test subject never used before its one prediction.",
        "leaky-best-epoch (LEAKY): each fold keeps the epoch that scores best on its own test subject "
        "(the peers' practice); a selection on the test labels, so these figures are optimistic.",
    ]
    if both:
        notes.append(
            "Both protocols come from ONE training per fold and method: the leaky row keeps the best "
            "epoch, the honest row the last one (evaluating the test subject changes nothing in "
            "training), so the two rows share their training time."
        )
    if len({r["folds"] for r in measured}) > 1:
        notes.insert(
            0, "WARNING: the rows cover different numbers of folds; compare rows with equal folds only."
        )
    notes += [f"Not run: {r['method']}: {r['note']}" for r in rows if r.get("status") == "not run"]
    notes += [
        f"{r['method']}: {bench.method(r['method']).note}"
        for r in rows
        if r.get("status") != "not run" and r["protocol"] == protocols[0] and bench.method(r["method"]).note
    ]
    notes += list(bench.notes)
    text = (
        f"# Benchmark {bench.name}\n\n{markdown_table(shown, cols)}\n\n"
        + "\n".join(f"- {n}" for n in notes)
        + f"\n\nRun folders: `{RUNS_DIR}/<method>__<protocol>/` (score one with `lfd-tcmen score`).\n"
    )
    atomic_write_text(out / TABLE, text)
    if measured:
        plot_bars(
            measured, ["uf1", "uar"], out / BARS, title=f"{bench.name}: pooled UF1 / UAR", label_key="label"
        )
    write_json(
        out / RESULTS,
        {
            "name": bench.name,
            "seed": bench.seed,
            "folds": list(folds),
            "fingerprint": fingerprint,
            "rows": rows,
        },
    )


def _display(row: dict[str, Any]) -> dict[str, Any]:
    """A table row: the leaky protocol labelled, lr in short form, counts and seconds readable."""
    shown = dict(row)
    if row.get("status") == "not run":
        shown["protocol_label"] = "-"
    else:
        shown["protocol_label"] = (
            f"{row['protocol']} (LEAKY)" if row["protocol"] == LEAKY else row["protocol"]
        )
    shown["lr"] = f"{row['lr']:g}"
    shown["parameters"] = f"{row['parameters']:,}"
    if "train_s" in row:
        shown["train_s"] = f"{row['train_s']:.0f}"
    return shown
