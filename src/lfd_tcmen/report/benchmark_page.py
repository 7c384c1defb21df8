"""A benchmark's report.html: the answer first, then the evidence.

    write_benchmark_report(out, name, rows, notes, folds, reference="lfd_tcmen", published=[...])

The page opens with one sentence: which honest row ranks first, how it stands against the
reference with its 95% interval, and how many rows are above, below or indistinguishable from
the reference. Then the honest rows ranked by UF1 (a method's mean over seeds and its seed
ensemble on one line), the figure, the published figures, and the leaky rows in a table of
their own under their red banner. Nothing is computed here: every number comes from the rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.core.files import atomic_write_text
from lfd_tcmen.report.benchmark_plot import rank_groups
from lfd_tcmen.report.compare import ENSEMBLE, breakdown, class_names, read_run
from lfd_tcmen.report.html import LEAKY, REPORT, partial_banner
from lfd_tcmen.report.page import banner, esc, figure, page, section, table
from lfd_tcmen.report.tables import format_p

ENSEMBLE_VARIANT = "seed ensemble"


def write_benchmark_report(
    out: Path,
    name: str,
    rows: Sequence[Mapping[str, Any]],
    notes: Sequence[str],
    folds: tuple[int, int],
    reference: str | None = None,
    published: Sequence[Mapping[str, Any]] = (),
) -> Path:
    """``out/report.html`` over the benchmark's rows (``report.benchmark_table``'s rows: method,
    kind, protocol, scores, ``vs_reference``; ``run``: the run folder relative to ``out``), its
    figure (``bars.png``), the published figures and the notes. ``folds``: (run, in the split).

    Seven parameters: where, the benchmark's name, rows, notes and fold counts, and the two optional
    parts (reference column, published figures)."""
    measured = [r for r in rows if r.get("status") != "not run"]
    honest = [r for r in measured if r.get("protocol") != LEAKY]
    leaky = [r for r in measured if r.get("protocol") == LEAKY]
    parts = [f"<h1>Benchmark {esc(name)}</h1>", partial_banner(*folds)]
    if honest:
        parts += [
            f'<p class="finding" id="finding">{esc(finding(honest, reference))}</p>',
            section(
                "Honest rows, ranked by UF1",
                banner(
                    "honest", "Honest: fixed epochs, the test subject never used before its one prediction."
                )
                + ranked_table(out, honest, reference, "honest-ranked"),
            ),
        ]
    parts.append(section("UF1 at a glance", figure(out / "bars.png", "UF1 of every row and its difference")))
    if published:
        parts.append(section("Published figures on this data", _published(published)))
    if leaky:
        parts.append(
            section(
                "Leaky rows (LEAKY), ranked by UF1",
                banner(
                    "leaky",
                    "LEAKY: each fold kept the epoch that scored best on its own test subject (the peers' "
                    "practice). Optimistic; shown only to compare with figures obtained that way.",
                )
                + ranked_table(out, leaky, reference, "leaky-ranked"),
            )
        )
    skipped = [r for r in rows if r.get("status") == "not run"]
    if skipped:
        parts.append(section("Not run", table(skipped, [("method", "method"), ("note", "why")])))
    parts += [
        section("F1 per class", _per_class(out, measured)),
        section("Notes", "<ul>" + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>"),
    ]
    path = out / REPORT
    atomic_write_text(path, page(f"Benchmark {name}", [p for p in parts if p]))
    return path


# ----------------------------------------------------------------------------- the answer
def finding(honest: Sequence[Mapping[str, Any]], reference: str | None) -> str:
    """One sentence: the first-ranked honest row, its difference from the reference with the 95%
    interval, and how many rows lie above, below or within reach of the reference."""
    lines = _lines(honest)
    if not lines:
        return "No honest row has a score yet."
    top = lines[0]
    seeds = f", {top['seeds']} seeds" if top.get("seeds") else ""
    head = f"Honest protocol{seeds}: {top['method']} ranks first with UF1 {_score(top, 'uf1')}"
    if reference is None:
        return head + " (no reference method is set, so no difference is tested)."
    ref = next((r for r in lines if r["method"] == reference), None)
    ref_text = f"the reference {reference} ({_score(ref, 'uf1')})" if ref else f"the reference {reference}"
    compared = [r for r in lines if r.get("delta")]
    above = [r["method"] for r in compared if r["delta"]["ci_low"] > 0]
    below = [r["method"] for r in compared if r["delta"]["ci_high"] < 0]
    level = len(compared) - len(above) - len(below)
    if top["method"] == reference:
        where = f"{head}, the reference itself"
    else:
        d = top.get("delta")
        if not d:
            return f"{head}; its difference from {ref_text} was not measured."
        verdict = (
            "above" if d["ci_low"] > 0 else ("below" if d["ci_high"] < 0 else "not distinguishable from")
        )
        where = f"{head}, {verdict} {ref_text}: ΔUF1 {_delta(d)}"
    return (
        f"{where}. Against {reference}, {_count(above, 'row is', 'rows are')} above"
        f"{_names(above)}, {_count(below, 'is', 'are')} below{_names(below)} and "
        f"{level} {'is' if level == 1 else 'are'} not distinguishable (their 95% intervals include 0)."
    )


def _count(names: list[str], one: str, many: str) -> str:
    return f"{len(names)} {one if len(names) == 1 else many}"


def _names(names: list[str]) -> str:
    return f" ({', '.join(names)})" if names else ""


def _score(row: Mapping[str, Any] | None, key: str) -> str:
    if row is None or row.get(key) is None:
        return "-"
    sd = row.get(f"{key}_std")
    return f"{row[key]:.4f} ± {sd:.4f}" if sd is not None else f"{row[key]:.4f}"


def _delta(d: Mapping[str, Any]) -> str:
    return f"{_interval(d)} (95% interval), {_p(d)}"


# ----------------------------------------------------------------------------- the ranked tables
def _lines(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One line per method, ranked by UF1: its mean-over-seeds row (or single run) with its seed
    ensemble's UF1 and difference beside it."""
    lines: dict[str, dict[str, Any]] = {}
    for r in rows:
        if r.get("uf1") is None:
            continue
        line = lines.setdefault(r["method"], {"method": r["method"]})
        d = (r.get("vs_reference") or {}).get("uf1")
        if r.get("variant") == ENSEMBLE_VARIANT:
            line.update(ensemble_uf1=r["uf1"], ensemble_delta=d, ensemble_run=r.get("run"))
        else:
            line.update(r, delta=d)
    ranked = rank_groups(
        [{"method": m, "protocol": "honest", "uf1": line.get("uf1")} for m, line in lines.items()]
    )
    return [lines[m] for m in ranked if "protocol" in lines[m]]


def ranked_table(out: Path, rows: Sequence[Mapping[str, Any]], reference: str | None, table_id: str) -> str:
    """The rows of one protocol, one line per method, best UF1 first; the reference marked. A
    column whose value is the same on every line (seeds, folds) becomes a sentence under it."""
    lines = _lines(rows)
    shown = []
    for rank, line in enumerate(lines, 1):
        is_ref = line["method"] == reference
        d = line.get("delta")
        shown.append(
            {
                **line,
                "rank": rank,
                "method": f"<strong>{esc(line['method'])}</strong> (reference)"
                if is_ref
                else esc(line["method"]),
                "uf1": _score(line, "uf1"),
                "uar": _score(line, "uar"),
                "delta": "reference" if is_ref else (_interval(d) if d else "-"),
                "p": _p(d) if d and not is_ref else "",
                "ensemble_uf1": f"{line['ensemble_uf1']:.4f}" if "ensemble_uf1" in line else "-",
                "link": _link(out, line.get("run")),
            }
        )
    ref_name = reference or "the reference"
    cols = [("rank", "#"), ("method", "method"), ("kind", "kind"), ("uf1", "UF1"), ("uar", "UAR")]
    cols += [("delta", f"ΔUF1 vs {ref_name} [95% CI]"), ("p", "p")]
    if any("ensemble_uf1" in line for line in lines):
        cols.append(("ensemble_uf1", "seed ensemble UF1"))
    cols += [("epochs", "epochs"), ("seeds", "seeds"), ("folds", "folds"), ("link", "files")]
    common = []
    for key, what in (("seeds", "seeds"), ("folds", "folds")):
        values = {str(s.get(key)) for s in shown}
        if len(values) == 1:
            cols = [c for c in cols if c[0] != key]
            if values != {"None"}:
                common.append(f"{values.pop()} {what}")
    cols = [c for c in cols if any(s.get(c[0]) not in (None, "") for s in shown)]  # no empty column
    html = table(shown, cols, raw=("method", "link"), nowrap=("uf1", "uar", "delta", "p", "link"))
    html = html.replace("<table>", f'<table id="{esc(table_id)}" class="ranked">', 1)
    seed_note = (
        "UF1, UAR: mean ± sd over seeds of the pooled scores; seed ensemble: the seeds' test probabilities "
        "averaged per sample. "
        if any("uf1_std" in line for line in lines)
        else ""
    )
    every = f"Every line: {', '.join(common)}. " if common else ""
    return (
        html
        + f'<p class="note">{esc(every + seed_note)}ΔUF1: the paired subject-cluster bootstrap of the notes below; a difference is a finding only when its interval excludes 0.</p>'
    )


def _interval(d: Mapping[str, Any]) -> str:
    return f"{d['delta']:+.4f} [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}]"


def _p(d: Mapping[str, Any]) -> str:
    return f"{'p_holm' if 'p_holm' in d else 'p'} {format_p(d.get('p_holm', d['p']))}"


def _link(out: Path, run: Any) -> str:
    """The run's page where it exists, else its folder where git keeps it, else nothing."""
    if not run:
        return ""
    if (out / str(run) / REPORT).is_file():
        return f'<a href="{esc(run)}/{REPORT}">run report</a>'
    if (out / str(run)).is_dir():
        return f'<a href="{esc(run)}/">run folder</a>'
    return ""


def _published(published: Sequence[Mapping[str, Any]]) -> str:
    rows = [
        {
            "name": p["name"],
            "uf1": p["uf1"],
            "uar": p.get("uar"),
            "protocol": {LEAKY: "leaky-best-epoch (LEAKY)"}.get(str(p.get("protocol")), p.get("protocol")),
            "note": p.get("note", ""),
        }
        for p in published
    ]
    cols = [("name", "method"), ("uf1", "UF1"), ("uar", "UAR"), ("protocol", "protocol"), ("note", "note")]
    note = "As their papers report them, on this data: no predictions, so no interval and no paired test."
    return table(rows, cols) + f'<p class="note">{note}</p>'


# ----------------------------------------------------------------------------- per class
def _per_class(out: Path, rows: Sequence[Mapping[str, Any]]) -> str:
    """F1 of every class for each row whose prediction files are here (mean over its seeds; its
    ensemble's own), in the class order of the confusion matrix."""
    shown: list[dict[str, Any]] = []
    classes: list[str] = []
    for r in rows:
        if not r.get("run"):
            continue
        folder = out / str(r["run"]) / (ENSEMBLE if r.get("variant") == ENSEMBLE_VARIANT else "")
        try:
            run = read_run(folder)
        except LFDError:
            continue  # a row without predictions here: the tables above hold its scores
        names = class_names(folder) or []
        k = max(len(names), int(max(run.labels.max(), run.preds.max())) + 1)
        names = names if len(names) == k else [str(c) for c in range(k)]
        classes = classes or names
        f1 = {c["class"]: c["f1"] for c in breakdown(run, k, names)["per_class"]}
        method = f"{r['method']} ({r['variant']})" if r.get("variant") else r["method"]
        protocol = r.get("protocol", "")
        shown.append(
            {"method": method, "protocol": f"{protocol} (LEAKY)" if protocol == LEAKY else protocol, **f1}
        )
    if not shown:
        return '<p class="note">No row\'s prediction files are in this folder.</p>'
    cols = [("method", "method"), ("protocol", "protocol")] + [(c, c) for c in classes]
    return (
        table(shown, cols)
        + '<p class="note">Rows whose prediction files are in this folder; mean over a row\'s seeds.</p>'
    )
