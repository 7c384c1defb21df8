"""A declared ensemble: several finished runs (methods, each with its seeds) averaged into one run.

    lfd-tcmen ensemble results/megc2019/runs/lfd_tcmen__honest results/megc2019/runs/off_apexnet_shared__honest \
        --out runs/lfd_plus_offapex

Each member is what ``compare`` reads as a run: a run folder, a folder of seed run folders, or a
predictions CSV. A member's probability for a test sample is the mean over its seeds (its own
seed ensemble); the ensemble's is the mean over members, each member weighing the same however
many seeds it has, and it predicts the most probable class. Every member was trained without
the sample's subject, so the ensemble uses no test information, provided its members were named
before any LOSO test score was seen (a benchmark YAML's ``ensembles:`` section). The output is
a run folder like any other: ``predictions.csv`` and ``metrics.json`` (with the members named),
read by ``score`` and ``compare``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.core.files import write_csv, write_json
from lfd_tcmen.evaluation.metrics import score_table
from lfd_tcmen.evaluation.scoring import read_run_predictions
from lfd_tcmen.report.compare import prediction_files
from lfd_tcmen.report.summary import METRICS

KIND = "declared ensemble: mean over its members of their seed-averaged test probabilities per sample"


def member_probabilities(run: Path) -> tuple[tuple[str, ...], dict[str, dict[str, Any]], int]:
    """One member's class names, its rows by sample id (the seed-averaged ``probs`` beside the
    first seed's dataset, subject, label and fold), and its number of seeds."""
    files = prediction_files(run)
    names: tuple[str, ...] | None = None
    rows: dict[str, dict[str, Any]] = {}
    sums: dict[str, np.ndarray] = {}
    for path in files:
        predictions = read_run_predictions(path, probabilities=True)
        if names is None:
            names = predictions.class_names or ()
        elif predictions.class_names != names:
            raise LFDError(f"its classes differ from the member's first seed ({', '.join(names)})", path)
        seen = set()
        for row in predictions.rows:
            sample = str(row["sample"])
            rows.setdefault(sample, row)
            sums[sample] = sums.get(sample, 0) + np.asarray(row["probs"], dtype=np.float64)
            seen.add(sample)
        if seen != set(rows):
            raise LFDError(
                f"its samples differ from the member's other seeds ({len(seen ^ set(rows))} not in both)",
                path,
            )
    if not names:
        raise LFDError("its predictions carry no p_<class> probabilities to average", files[0])
    for sample, row in rows.items():
        rows[sample] = {**row, "probs": sums[sample] / len(files)}
    return names, rows, len(files)


def _member_name(member: Path, out: Path) -> str:
    """How metrics.json names a member: by its folder name when it sits beside the ensemble's
    folder (so the record does not depend on the working folder, or on a scratch folder that
    links to the runs), else as given."""
    return member.name if member.resolve().parent == out.resolve().parent else str(member)


def write_declared_ensemble(runs: Sequence[str | Path], out: str | Path, name: str = "") -> dict[str, Any]:
    """Average ``runs`` (at least two) into the run folder ``out``; returns its metrics.

    Raises LFDError naming the member whose classes or samples differ from the first member's.
    """
    if len(runs) < 2:
        raise LFDError(f"an ensemble needs at least two runs, got {len(runs)}")
    members = [Path(r) for r in runs]
    first_names, first_rows, first_seeds = member_probabilities(members[0])
    total = {s: np.array(r["probs"]) for s, r in first_rows.items()}
    seeds = [first_seeds]
    for member in members[1:]:  # each member's files read once
        names, rows, n_seeds = member_probabilities(member)
        seeds.append(n_seeds)
        if names != first_names:
            raise LFDError(
                f"its classes ({', '.join(names)}) differ from {members[0]}'s ({', '.join(first_names)})",
                member,
            )
        if set(rows) != set(first_rows):
            missing = len(set(first_rows) - set(rows))
            extra = len(set(rows) - set(first_rows))
            raise LFDError(
                f"its test samples differ from {members[0]}'s ({missing} missing, {extra} more): "
                "members must be runs on the same data and folds",
                member,
            )
        for sample, row in rows.items():
            if int(row["label"]) != int(first_rows[sample]["label"]):
                raise LFDError(f"sample {sample} has another label than in {members[0]}", member)
            total[sample] = total[sample] + row["probs"]
    out_rows = []
    for sample, row in first_rows.items():  # the first member's order
        probs = total[sample] / len(members)
        record: dict[str, Any] = {
            "dataset": row.get("dataset") or "",
            "subject": row["subject"],
            "sample": sample,
            "label": int(row["label"]),
            "pred": int(np.argmax(probs)),
        }
        record.update({f"p_{c}": f"{float(p):.6f}" for c, p in zip(first_names, probs, strict=True)})
        record["fold"] = row.get("fold", "")
        record["protocol"] = row.get("protocol") or "honest"
        out_rows.append(record)
    out = Path(out)
    write_csv(out / "predictions.csv", out_rows)
    table = score_table(out_rows, num_classes=len(first_names))
    metrics = {
        "kind": KIND,
        "name": name or out.name,
        "members": [{"run": _member_name(m, out), "seeds": k} for m, k in zip(members, seeds, strict=True)],
        "class_names": list(first_names),
        "overall": table["overall"],
        "per_dataset": table["per_dataset"],
        "predictions": "predictions.csv",
    }
    write_json(out / METRICS, metrics)
    return metrics
