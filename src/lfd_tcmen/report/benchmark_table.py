"""The benchmark's table: one row per (method, protocol) run, ``table.md``, ``bars.png``, ``results.json``.

Rows are built from each run's metrics.json; nothing here trains or reads fold folders. The
pages (``bars.png``, ``report.html``) can be rebuilt from ``results.json`` alone
(``rewrite_pages``: ``lfd-tcmen benchmark --config C --pages-only``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from lfd_tcmen.config.benchmark import BenchmarkConfig
from lfd_tcmen.config.experiment import HONEST, LEAKY
from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.core.files import atomic_write_text, read_json, write_json
from lfd_tcmen.evaluation.stats import METRICS, holm
from lfd_tcmen.report.benchmark_page import write_benchmark_report
from lfd_tcmen.report.benchmark_plot import plot_benchmark_bars
from lfd_tcmen.report.compare import ENSEMBLE, compare_runs
from lfd_tcmen.report.tables import format_p, markdown_table

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
            elif metrics and "mean" in metrics:  # several seeds: their mean and sd, then the ensemble
                rows += _seed_rows(row, metrics, folds_total)
                continue
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


def _seed_rows(row: dict[str, Any], summary: Mapping[str, Any], folds_total: int) -> list[dict[str, Any]]:
    """A multi-seed run's two rows: mean ± sd over seeds, and the seed ensemble."""
    mean, sd = summary["mean"], summary["sd"]
    status = "done" if summary["folds_done"] == folds_total else "partial"
    seeds = dict(
        row,
        uf1=mean["uf1"],
        uf1_std=sd["uf1"],
        uar=mean["uar"],
        uar_std=sd["uar"],
        accuracy=mean["accuracy"],
        seeds=len(summary["seeds"]),
        folds=f"{summary['folds_done']}/{folds_total}",
        train_s=summary.get("train_wall_s", 0.0),
        status=status,
        per_seed=summary["per_seed"],
    )
    seeds.update({f"uf1_{k}": v["uf1"] for k, v in summary.get("mean_per_dataset", {}).items()})
    rows = [seeds]
    if "ensemble" in summary:
        e = summary["ensemble"]
        ensemble = dict(
            row,
            variant="seed ensemble",
            uf1=e["uf1"],
            uar=e["uar"],
            accuracy=e["accuracy"],
            n=e["n"],
            seeds=len(summary["seeds"]),
            folds=seeds["folds"],
            status=status,
        )
        ensemble.update({f"uf1_{k}": v["uf1"] for k, v in summary.get("ensemble_per_dataset", {}).items()})
        rows.append(ensemble)
    return rows


def add_comparisons(
    rows: list[dict[str, Any]],
    bench: BenchmarkConfig,
    folder_of: Callable[[str, str], Path],
    resamples: int = 10_000,
) -> None:
    """Each measured row's ΔUF1 and ΔUAR against the config's ``reference`` method (same protocol,
    same variant), with the paired subject-cluster bootstrap's 95% interval and p-value; the
    ablation rows' p-values Holm-adjusted together, and the variant rows' apart from them, per
    protocol and metric. A seed-ensemble row is
    compared as one run; a mean-over-seeds row with its seeds resampled."""
    if bench.reference is None:
        return
    for row in rows:
        if "uf1" not in row or row["method"] == bench.reference:
            continue
        ensemble = row.get("variant") == "seed ensemble"
        ours = folder_of(row["method"], row["protocol"])
        ref = folder_of(bench.reference, row["protocol"])
        if ensemble:
            ours, ref = ours / ENSEMBLE, ref / ENSEMBLE
        try:
            result = compare_runs(ours, ref, resamples=resamples)
        except LFDError as err:
            row["vs_reference_error"] = str(err)
            continue
        row["vs_reference"] = {m: result[m] for m in METRICS}
    adjust_within_families(rows)


def adjust_within_families(rows: list[dict[str, Any]]) -> None:
    """``p_holm`` beside each ablation or variant row's p-values: Holm over the rows of one family
    (same kind, protocol and variant), per metric. Method rows (peers) are not adjusted."""
    families: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for r in rows:
        if r["kind"] != "method" and "vs_reference" in r:
            families.setdefault((r["kind"], r["protocol"], r.get("variant")), []).append(r)
    for group in families.values():
        for m in METRICS:
            for r, p in zip(group, holm([r["vs_reference"][m]["p"] for r in group])):
                r["vs_reference"][m]["p_holm"] = p


def write_reports(
    bench: BenchmarkConfig,
    out: Path,
    rows: list[dict[str, Any]],
    folds: Sequence[str],
    folds_total: int,
    fingerprint: str,
    protocols: Sequence[str],
) -> None:
    """``table.md`` (with its notes), ``results.json``, and the pages over them: ``bars.png`` and
    ``report.html`` (``write_pages``).

    Seven parameters: where, what (config and rows), and what the notes must state (the folds,
    their total, the data fingerprint, the protocols).
    """
    for row in rows:
        leaky = row["protocol"] == LEAKY
        variant = f" ({row['variant']})" if row.get("variant") else ""
        row["label"] = f"{row['method']}{variant} [{'leaky' if leaky else row['protocol']}]"
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
    datasets = sorted({k for r in measured for k in r if k.startswith("uf1_") and k != "uf1_std"})
    cols[6:6] = [(k, f"UF1 {k[4:]}") for k in datasets]
    if bench.reference is not None:
        cols[3:3] = [("vs_reference_uf1", f"ΔUF1 vs {bench.reference} [95% CI], p")]
    if len(bench.seeds) > 1:
        cols.insert(len(cols) - 1, ("seeds", "seeds"))
    notes = benchmark_notes(bench, rows, len(folds), folds_total, fingerprint, protocols)
    text = (
        f"# Benchmark {bench.name}\n\n{markdown_table(shown, cols)}\n\n"
        + "\n".join(f"- {n}" for n in notes)
        + f"\n\nRun folders: `{RUNS_DIR}/<method>__<protocol>/` (score one with `lfd-tcmen score`).\n"
    )
    atomic_write_text(out / TABLE, text)
    write_json(
        out / RESULTS,
        {
            "name": bench.name,
            "seeds": list(bench.seeds),
            "reference": bench.reference,
            "folds": list(folds),
            "fingerprint": fingerprint,
            "rows": rows,
        },
    )
    write_pages(bench, out, rows, notes, (len(folds), folds_total))


def benchmark_notes(
    bench: BenchmarkConfig,
    rows: Sequence[Mapping[str, Any]],
    folds_run: int,
    folds_total: int,
    fingerprint: str,
    protocols: Sequence[str],
) -> list[str]:
    """The notes under the table and on the page: folds, protocols, seeds, the comparison, the
    methods' own notes and the config's."""
    measured = [r for r in rows if "uf1" in r]
    notes = [
        f"Folds: the same {folds_run} of {folds_total} folds for every row "
        f"(split {bench.data.get('split', 'loso')}, seed {bench.seed}, data fingerprint {fingerprint}).",
        "Scores are pooled over all folds' predictions (MEGC2019 UF1/UAR), not averaged per fold.",
        "honest: fixed epochs and schedule, the test subject never used before its one prediction.",
        "leaky-best-epoch (LEAKY): each fold keeps the epoch that scores best on its own test subject "
        "(the peers' practice); a selection on the test labels, so these figures are optimistic.",
    ]
    if HONEST in protocols and LEAKY in protocols:
        notes.append(
            "Both protocols come from ONE training per fold and method: the leaky row keeps the best "
            "epoch, the honest row the last one (evaluating the test subject changes nothing in "
            "training), so the two rows share their training time."
        )
    if len(bench.seeds) > 1:
        notes.append(
            f"Seeds {', '.join(map(str, bench.seeds))}: a method's first row gives the mean ± standard "
            "deviation over seeds of the pooled scores; its seed-ensemble row scores the mean of the "
            "seeds' test probabilities per sample (no test information is used)."
        )
    if bench.reference is not None:
        notes.append(
            f"ΔUF1 vs {bench.reference}: the row minus the reference (same protocol; ensemble rows "
            "against the reference's ensemble), with a 95% interval and p-value from a paired bootstrap "
            "that resamples subjects within each dataset (and seeds, for mean-over-seeds rows); "
            "p-values of ablation rows, and apart from them of variant rows, are Holm-adjusted "
            "together (p_holm). A difference is a finding "
            "only when its interval excludes 0."
        )
    if len({r["folds"] for r in measured}) > 1:
        notes.insert(
            0, "WARNING: the rows cover different numbers of folds; compare rows with equal folds only."
        )
    notes += [f"Not run: {r['method']}: {r['note']}" for r in rows if r.get("status") == "not run"]
    notes += dict.fromkeys(  # once per method (a seed-ensemble row shares its method's note)
        f"{r['method']}: {bench.method(r['method']).note}"
        for r in rows
        if r.get("status") != "not run"
        and r["protocol"] == protocols[0]
        and r["kind"] != "ensemble"
        and bench.method(r["method"]).note
    )
    notes += [
        f"{e.name}: declared ensemble of {', '.join(e.members)} (the mean of their seed-averaged test "
        f"probabilities; members named in the config, never chosen on its test scores)"
        f"{': ' + e.note if e.note else ''}"
        for e in bench.ensembles
        if any(r["method"] == e.name for r in rows)
    ]
    return notes + list(bench.notes)


def write_pages(
    bench: BenchmarkConfig,
    out: Path,
    rows: Sequence[Mapping[str, Any]],
    notes: Sequence[str],
    folds_run: tuple[int, int],
) -> None:
    """``bars.png`` (the measured rows' UF1 and their differences from the reference, the published
    figures beside them) and ``report.html``; each row's ``run``: its folder under ``out``."""
    published = [asdict(p) for p in bench.published]
    measured = [r for r in rows if "uf1" in r]
    if measured:
        plot_benchmark_bars(measured, out / BARS, reference=bench.reference, published=published)
    linked = [{**r, "run": f"{RUNS_DIR}/{r['method']}__{r['protocol']}"} for r in rows]
    write_benchmark_report(
        out, bench.name, linked, notes, folds_run, reference=bench.reference, published=published
    )


def rewrite_pages(bench: BenchmarkConfig, out: Path) -> Path:
    """``bars.png`` and ``report.html`` again from ``out/results.json`` alone: nothing trained,
    no data or run folder read (the run folders of a filed benchmark may be gone). ``table.md``
    and ``results.json`` are left as they are. Returns the page's path."""
    results = read_json(out / RESULTS)
    if not results or "rows" not in results:
        raise LFDError("no benchmark results here (run the benchmark first)", path=out / RESULTS)
    if results.get("name") != bench.name:
        raise LFDError(
            f"holds benchmark {results.get('name')!r}, not {bench.name!r}: give that benchmark's config",
            path=out / RESULTS,
        )
    rows = results["rows"]
    protocols = list(dict.fromkeys(r["protocol"] for r in rows))
    totals = {int(str(r["folds"]).split("/")[1]) for r in rows if "/" in str(r.get("folds", ""))}
    folds_total = max(totals) if totals else len(results["folds"])
    notes = benchmark_notes(
        bench, rows, len(results["folds"]), folds_total, results["fingerprint"], protocols
    )
    write_pages(bench, out, rows, notes, (len(results["folds"]), folds_total))
    return out / "report.html"


def _display(row: dict[str, Any]) -> dict[str, Any]:
    """A table row: the leaky protocol labelled, lr in short form, counts and seconds readable,
    mean ± sd over seeds, the difference from the reference with its interval."""
    shown = dict(row)
    if row.get("variant"):
        shown["method"] = f"{row['method']} ({row['variant']})"
    if row.get("status") == "not run":
        shown["protocol_label"] = "-"
    else:
        shown["protocol_label"] = (
            f"{row['protocol']} (LEAKY)" if row["protocol"] == LEAKY else row["protocol"]
        )
    for m in METRICS:
        if f"{m}_std" in row:
            shown[m] = f"{row[m]:.4f} ± {row[f'{m}_std']:.4f}"
    ref = row.get("vs_reference", {}).get("uf1")
    if ref:
        p = ref.get("p_holm", ref["p"])
        shown["vs_reference_uf1"] = (
            f"{ref['delta']:+.4f} [{ref['ci_low']:+.3f}, {ref['ci_high']:+.3f}], "
            f"p{'_holm' if 'p_holm' in ref else ''} {format_p(p)}"
        )
    if "lr" in row:  # a declared ensemble has no training settings of its own
        shown["lr"] = f"{row['lr']:g}"
    if "parameters" in row:
        shown["parameters"] = f"{row['parameters']:,}"
    if "train_s" in row:
        shown["train_s"] = f"{row['train_s']:.0f}"
    return shown
