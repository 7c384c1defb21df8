"""report.html: one self-contained page for a run folder (a benchmark's page: ``report.benchmark_page``).

    write_run_report(run_dir)            # RUN/report.html from its metrics.json, run.json, figures
    write_seeds_report(out, summary)     # OUT/report.html of a multi-seed run: seeds, ensemble, links

Built only from the files a run leaves (nothing is retrained or re-evaluated), except the
scores' 95% intervals: a subject-cluster bootstrap of the run's predictions
(``stats.score_interval``, subjects resampled within each dataset), recomputed here. The page
says first whether the protocol is honest or LEAKY and whether the run is partial.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.core.files import atomic_write_text, read_json
from lfd_tcmen.evaluation.scoring import read_predictions_csv
from lfd_tcmen.evaluation.stats import MIN_SUBJECTS, RunPredictions, score_interval, too_few_subjects
from lfd_tcmen.report.page import banner, esc, figure, page, section, swatch, table
from lfd_tcmen.report.plots import class_colors

REPORT = "report.html"
RESAMPLES = 2000  # enough for a 95% interval's second decimal; a second on the largest run
LEAKY = "leaky-best-epoch"
PROTOCOL_TEXT = {
    "honest": "HONEST protocol: fixed epochs and schedule; no fold's test subject was used before "
    "its one prediction.",
    "honest-nested": "HONEST (nested) protocol: each fold's epoch was chosen by cross-validation over "
    "its training subjects; the test subject was never used before its one prediction.",
    LEAKY: "LEAKY protocol: each fold kept the epoch that scored best on its own test subject's labels "
    "(the peers' practice). These scores are optimistic and are not an estimate of performance on "
    "new subjects.",
}


def protocol_banner(protocol: str) -> str:
    text = PROTOCOL_TEXT.get(protocol, f"protocol {protocol}")
    return banner("leaky" if protocol == LEAKY else "honest", text)


def partial_banner(done: int, total: int) -> str:
    if done >= total:
        return ""
    return banner(
        "partial",
        f"PARTIAL RUN: {done} of {total} folds. Every score on this page covers these folds only.",
    )


# ----------------------------------------------------------------------------- a multi-seed run
def write_seeds_report(out: Path, summary: Mapping[str, Any]) -> Path:
    """``out/report.html`` of a multi-seed run (``runs.seeds``' ``seeds.json`` summary): each seed's
    pooled scores with a link to its own page, their mean and sd, and the seed ensemble's."""
    protocol = str(summary.get("protocol", "honest"))
    rows: list[dict[str, Any]] = []
    for seed, scores in (summary.get("per_seed") or {}).items():
        page_path = out / f"seed{seed}" / REPORT
        link = f'<a href="seed{esc(seed)}/{REPORT}">seed report</a>' if page_path.is_file() else ""
        rows.append({"what": f"seed {seed}", **(scores or {}), "link": link})
    for what, key in (("mean over seeds", "mean"), ("sd over seeds", "sd"), ("seed ensemble", "ensemble")):
        if summary.get(key):
            rows.append({"what": what, **summary[key], "link": ""})
    cols = [("what", ""), ("uf1", "UF1"), ("uar", "UAR"), ("accuracy", "accuracy"), ("link", "")]
    note = (
        "Each seed's scores are pooled over its folds; the seed ensemble scores the seeds' test "
        "probabilities averaged per sample (no test information is used)."
    )
    parts = [
        f"<h1>{esc(summary.get('name', out.name))}: {esc(summary.get('model', ''))}, "
        f"{len(summary.get('seeds') or [])} seeds</h1>",
        f'<p class="note">Run folder {esc(out.resolve())}</p>',
        protocol_banner(protocol),
        partial_banner(int(summary.get("folds_done", 0)), int(summary.get("folds_total", 0))),
        section("Scores", table(rows, cols, raw=("link",)) + f'<p class="note">{note}</p>'),
    ]
    path = out / REPORT
    atomic_write_text(path, page(f"{summary.get('name', out.name)}: seeds", [p for p in parts if p]))
    return path


# ----------------------------------------------------------------------------- the run page
def write_run_report(run_dir: Path, resamples: int = RESAMPLES) -> Path:
    """Write ``run_dir/report.html`` from the run's files; returns its path."""
    metrics = read_json(run_dir / "metrics.json") or {}
    info = read_json(run_dir / "run.json") or {}
    protocol = str(metrics.get("protocol", "honest"))
    done, total = int(metrics.get("folds_done", 0)), int(metrics.get("folds_total", 0))
    name = f"{metrics.get('name', run_dir.name)}: {metrics.get('model', '')}"
    parts = [
        f"<h1>{esc(name)}</h1>",
        f'<p class="note">Run folder {esc(run_dir.resolve())}</p>',
        protocol_banner(protocol),
        partial_banner(done, total),
    ]
    if "overall" in metrics:
        intervals = _intervals(run_dir / str(metrics.get("predictions", "predictions.csv")), resamples)
        parts += [
            _finding(metrics, intervals[0].get("all", {}), intervals[1]),
            section("Scores", _scores(metrics, intervals, resamples)),
            section("Per class", _per_class(metrics)),
            section("Confusion matrix", _confusion(metrics)),
        ]
    else:
        parts.append(
            section("Scores", f"<p>{esc(metrics.get('note', 'No fold finished: nothing scored.'))}</p>")
        )
    parts += [
        section(f"Per fold ({done} of {total} folds)", _per_fold(metrics)),
        section("Training curves", _curves_note(metrics) + figure(run_dir / "curves.png", "training curves")),
    ]
    if "embedding" in metrics:
        parts.append(
            section("Embeddings", _embedding_note(metrics) + figure(run_dir / "embedding.png", "embeddings"))
        )
    parts.append(section("Identity probe", _probes(metrics)))
    if metrics.get("failed_folds"):
        parts.append(
            section("Failed folds", table(metrics["failed_folds"], [("fold", "fold"), ("error", "error")]))
        )
    config = (
        (run_dir / "config.yaml").read_text(encoding="utf-8") if (run_dir / "config.yaml").is_file() else ""
    )
    parts += [section("Config", f"<pre>{esc(config)}</pre>"), section("Provenance", _provenance(info))]
    path = run_dir / REPORT
    atomic_write_text(path, page(name, [p for p in parts if p]))
    return path


def _finding(metrics: Mapping[str, Any], ci: Mapping[str, Any], why: str) -> str:
    """The run's answer in one sentence: its pooled UF1 and UAR with their intervals, on what."""
    o = metrics["overall"]
    scores = ", ".join(
        f"{m.upper()} {o[m]:.4f}" + (f" [{ci[m]['ci_low']:.3f}, {ci[m]['ci_high']:.3f}]" if m in ci else "")
        for m in ("uf1", "uar")
    )
    interval = "95% subject-bootstrap intervals" if ci else f"no interval: {why}"
    protocol = str(metrics.get("protocol", "honest"))
    label = f"{protocol} (LEAKY, optimistic)" if protocol == LEAKY else protocol
    text = (
        f"{scores} ({interval}) on {o['n']} samples, pooled over {metrics.get('folds_done')} of "
        f"{metrics.get('folds_total')} folds, {label} protocol."
    )
    return f'<p class="finding" id="finding">{esc(text)}</p>'


def _scores(metrics: Mapping[str, Any], found: tuple[dict[str, Any], str], resamples: int) -> str:
    intervals, why = found
    rows = []
    for dataset, s in [("all", metrics["overall"]), *metrics.get("per_dataset", {}).items()]:
        ci = intervals.get(dataset, {})
        row = {"dataset": dataset, "n": s["n"], "accuracy": s["accuracy"]}
        for m in ("uf1", "uar"):
            row[m] = s[m]
            row[f"{m}_ci"] = f"[{ci[m]['ci_low']:.3f}, {ci[m]['ci_high']:.3f}]" if m in ci else "-"
        rows.append(row)
    cols = [("dataset", "dataset"), ("n", "n"), ("uf1", "UF1"), ("uf1_ci", "UF1 95% interval")]
    cols += [("uar", "UAR"), ("uar_ci", "UAR 95% interval"), ("accuracy", "accuracy")]
    note = (
        f"Pooled over all folds' predictions (MEGC2019 UF1/UAR). 95% intervals: subject-cluster "
        f"bootstrap, {resamples:,} resamples of the {intervals['all']['subjects']} subjects within each "
        f"dataset; none for a dataset of fewer than {MIN_SUBJECTS} subjects."
        if intervals
        else f"Pooled over all folds' predictions (MEGC2019 UF1/UAR). No interval: {why}."
    )
    return table(rows, cols) + f'<p class="note">{esc(note)}</p>'


def _intervals(predictions: Path, resamples: int) -> tuple[dict[str, Any], str]:
    """dataset ("all" too) -> ``score_interval``; datasets with fewer than ``stats.MIN_SUBJECTS``
    subjects have none (their bootstrap interval would cover far less than 95%)."""
    try:
        rows = read_predictions_csv(predictions).rows
    except LFDError as err:
        return {}, f"predictions unreadable ({err.message})"
    by_dataset: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_dataset.setdefault(str(r["dataset"]), []).append(r)
    groups = {"all": rows, **(by_dataset if len(by_dataset) > 1 else {})}
    out = {}
    for name, group in groups.items():
        if not too_few_subjects(_subjects(group)):
            out[name] = score_interval(RunPredictions.from_rows([group]), resamples=resamples)
    if len(by_dataset) == 1 and "all" in out:  # one dataset: its rows are all the rows
        out[next(iter(by_dataset))] = out["all"]
    return out, too_few_subjects(_subjects(rows))


def _subjects(rows: list[dict[str, Any]]) -> int:
    return len({(r["dataset"], r["subject"]) for r in rows})


def _per_class(metrics: Mapping[str, Any]) -> str:
    rows = metrics.get("per_class") or []
    if not rows:
        return '<p class="note">Not in this run\'s metrics.json (written by a version before per-class scores).</p>'
    colors = class_colors([r["class"] for r in rows])
    shown = [{**r, "name": swatch(c) + esc(r["class"])} for r, c in zip(rows, colors)]
    cols = [("name", "class"), ("precision", "precision"), ("recall", "recall"), ("f1", "F1")]
    cols += [("support", "support"), ("tp", "TP"), ("fp", "FP"), ("fn", "FN")]
    note = "Colours: the class palette of every figure (the confusion matrix's class order)."
    return table(shown, cols, raw=("name",)) + f'<p class="note">{note}</p>'


def _confusion(metrics: Mapping[str, Any]) -> str:
    conf = metrics.get("confusion")
    if not conf:
        return ""
    names = conf["classes"]
    colors = class_colors(names)
    head = "".join(f"<th>{swatch(c)}{esc(n)}</th>" for n, c in zip(names, colors))
    body = "".join(
        f"<tr><th>{swatch(c)}{esc(n)}</th>" + "".join(f'<td class="num">{v}</td>' for v in row) + "</tr>"
        for n, c, row in zip(names, colors, conf["counts"])
    )
    return (
        f"<table><thead><tr><th>true \\ predicted</th>{head}</tr></thead><tbody>{body}</tbody></table>"
        '<p class="note">Counts pooled over all folds; rows: true class, columns: predicted class '
        "(each class's recall is in Per class; confusion.png beside this page draws both).</p>"
    )


def _curves_note(metrics: Mapping[str, Any]) -> str:
    """What the curves show, and why an honest run has no held-out curve."""
    epochs = metrics.get("epochs")
    if metrics.get("protocol") == LEAKY:
        text = (
            "test_uf1 and test_accuracy: each fold's test subject after every epoch, the curve the "
            "LEAKY protocol picks its epoch on; the other panels are measured on the training samples."
        )
    else:
        text = (
            "Every panel is measured on the training samples. No held-out curve: under the honest protocol "
            f"each fold's test subject is predicted once, after the last of its {epochs or 'fixed'} epochs, "
            "so there is no per-epoch held-out score to draw (a per-epoch curve on the test subject is what "
            "the leaky protocol selects on). The held-out scores are under Scores and Per fold."
        )
    return f'<p class="note">{esc(text)}</p>'


def _embedding_note(metrics: Mapping[str, Any]) -> str:
    """Whose codes, how to read the three panels, and the probe's measure of what the eye sees."""
    e = metrics["embedding"]
    text = (
        f"Codes of the model of fold {e.get('model_of_fold')}, {e.get('samples')}. Left: identity codes "
        "by subject; middle and right: the same motion codes, by subject and by class. Subjects are drawn "
        "in viridis shades (purple to green), classes in the class palette of the tables. A motion code free "
        "of identity would group by class on the right and mix subjects in the middle; groups in the "
        "middle panel mean it still carries the subject."
    )
    leak = metrics.get("identity_leakage") or {}
    if leak.get("available") and "motion" in leak:
        m = leak["motion"]
        text += (
            f" Measured: a linear probe names the training subject from the motion code with accuracy "
            f"{m['accuracy']:.2f} (chance {m['chance']:.2f}; mean of {leak['folds']} folds, Identity probe below)."
        )
    else:
        text += " The identity probe was not run here (train.probe_folds 0), so nothing measures it."
    return f'<p class="note">{esc(text)}</p>'


def _per_fold(metrics: Mapping[str, Any]) -> str:
    rows = [
        {**r, "wall_s": f"{r['wall_s']:.1f}"} if isinstance(r.get("wall_s"), int | float) else r
        for r in metrics.get("per_fold") or []
    ]
    keys = [("fold", "fold"), ("n", "n"), ("uf1", "UF1"), ("uar", "UAR"), ("accuracy", "accuracy")]
    keys += [("epoch", "epoch"), ("n_train", "n train"), ("wall_s", "time (s)")]
    return table(rows, [k for k in keys if any(k[0] in r for r in rows)])


def _probes(metrics: Mapping[str, Any]) -> str:
    out = []
    held = metrics.get("identity_heldout") or {}
    if held.get("available"):
        rows = [{"code": f"{n} code", **p} for n, p in held["codes"].items()]
        rows.append({"code": "raw input (reference)", **held["raw_input"]})
        rows += [{"code": f"untrained {n} (reference)", **p} for n, p in held["untrained"].items()]
        out.append(
            "<h3>Held-out subjects: does a code tell who an unseen subject is?</h3>"
            + table(
                rows,
                [("code", "code"), ("retrieval", "same-subject 1-NN retrieval"), ("auc", "verification AUC")],
            )
        )
    elif held:
        out.append(f"<p>Held-out identity probe: not available ({esc(held.get('reason', ''))}).</p>")
    leak = metrics.get("identity_leakage") or {}
    if leak.get("available"):
        rows = [{"code": f"{n} code", **leak[n]} for n in ("motion", "identity") if n in leak]
        out.append(
            f"<h3>Training samples (mean of {leak['folds']} folds)</h3>"
            + table(rows, [("code", "code"), ("accuracy", "probe accuracy"), ("chance", "chance")])
            + f'<p class="note">{esc(leak.get("what", ""))}</p>'
        )
    elif leak:
        out.append(f"<p>Training-sample probe: not measured ({esc(leak.get('reason', ''))}).</p>")
    return "\n".join(out) or "<p>No identity probe in this run.</p>"


def _provenance(info: Mapping[str, Any]) -> str:
    p = info.get("provenance") or {}
    libs = p.get("libraries") or {}
    host = p.get("host") or {}
    commit = p.get("git_commit")
    rows = [
        ("package version", p.get("package_version")),
        (
            "git commit",
            f"{commit}{' (uncommitted changes)' if p.get('git_dirty') else ''}"
            if commit
            else "none (not a git checkout)",
        ),
        ("libraries", ", ".join(f"{k} {v}" for k, v in libs.items())),
        ("command", " ".join(p.get("command") or [])),
        ("working folder", p.get("working_dir")),
        ("started", p.get("started")),
        ("finished", p.get("finished")),
        (
            "host",
            f"{host.get('cpu') or 'CPU'}, {host.get('cpu_cores')} cores, {host.get('platform')}",
        ),
        ("data path", p.get("data_path")),
        ("data fingerprint", info.get("fingerprint")),
        ("samples", info.get("samples")),
        ("model signature", info.get("model_signature")),
        ("folds", f"{info.get('folds_done')} of {info.get('folds_total')}"),
    ]
    return table(
        [{"what": k, "value": "-" if v is None else str(v)} for k, v in rows], [("what", ""), ("value", "")]
    )
