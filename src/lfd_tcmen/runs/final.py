"""The final model: one training on every subject of a config, carrying the honest estimate.

    lfd-tcmen train --config C.yaml --out runs/c                       # LOSO: the honest estimate
    lfd-tcmen train --config C.yaml --final --estimate runs/c --out runs/c-final

A final model has no test subject, so nothing about it can be scored; what it is worth is what
the same procedure scored on subjects it had not seen: the cross-subject run of the SAME config
(the split aside). ``read_estimate`` checks that run (finished, honest, same config) and takes
its scores; ``record_estimate`` writes them into the final checkpoint(s) (``estimate``), where
``lfd-tcmen predict`` shows them. Training itself is ``data.split: all`` (``final_config``):
the one run path every other split takes.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from lfd_tcmen.config.experiment import LEAKY, ExperimentConfig, read_yaml
from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.core.files import read_json
from lfd_tcmen.data.splits import ALL
from lfd_tcmen.models.checkpoint import update_checkpoint
from lfd_tcmen.report.summary import METRICS
from lfd_tcmen.runs.run_dir import CONFIG, FOLDS_DIR, MODEL
from lfd_tcmen.runs.seeds import SUMMARY, seed_dir

NO_ESTIMATE = {
    "recorded": False,
    "note": "no honest estimate recorded (trained with --final without --estimate)",
}
IGNORED = (("data", "split"), ("data", "k"), ("name",), ("seed",))  # may differ from the estimate's run
SCORES = ("uf1", "uar", "accuracy", "n")


def final_config(config: ExperimentConfig) -> ExperimentConfig:
    """``config`` trained on every subject: ``data.split: all`` (one fold "all", nothing tested)."""
    return replace(config, data=replace(config.data, split="all"))


def read_estimate(run: str | Path, config: ExperimentConfig) -> dict[str, Any]:
    """The honest estimate finished cross-subject run folder ``run`` gives for ``config``.

    Refused (``LFDError``, one line) unless ``run`` is a finished honest (or honest-nested) run
    of the same config apart from ``data.split``/``data.k``, ``name`` and ``seed``. A multi-seed
    run folder gives the mean and sd over seeds and the seed ensemble's scores.
    """
    run = Path(run)
    seeds = read_json(run / SUMMARY)
    config_file = seed_dir(run, seeds["seeds"][0]) / CONFIG if seeds and seeds.get("seeds") else run / CONFIG
    if not config_file.is_file():
        raise LFDError("--estimate: not a run folder (no config.yaml, no seeds.json)", path=run)
    theirs = ExperimentConfig.from_dict(read_yaml(config_file, "the run's config"), source=config_file)
    _check_same(theirs, config, run)
    summary = seeds if seeds else read_json(run / METRICS)
    if not summary or summary.get("folds_done") is None:
        raise LFDError("--estimate: the run has no results yet (no metrics.json / seeds.json)", path=run)
    if summary["folds_done"] < summary["folds_total"]:
        raise LFDError(
            f"--estimate: the run is partial ({summary['folds_done']} of {summary['folds_total']} folds); "
            "finish it with `train --resume` first",
            path=run,
        )
    estimate: dict[str, Any] = {
        "recorded": True,
        "run": str(run.resolve()),
        "split": theirs.data.split if theirs.data.split != "kfold" else f"subject {theirs.data.k}-fold",
        "protocol": theirs.train.protocol,
        "folds": f"{summary['folds_done']}/{summary['folds_total']}",
    }
    if not seeds:
        estimate["overall"] = {k: summary["overall"][k] for k in SCORES}
        return estimate
    if "mean" not in summary or "ensemble" not in summary:
        raise LFDError("--estimate: the multi-seed run lacks a seed's scores or its ensemble", path=run)
    estimate.update(
        seeds=list(summary["seeds"]),
        seed_mean={k: summary["mean"][k] for k in ("uf1", "uar", "accuracy")},
        seed_sd={k: summary["sd"][k] for k in ("uf1", "uar", "accuracy")},
        ensemble={k: summary["ensemble"][k] for k in SCORES},
    )
    estimate["overall"] = estimate["ensemble"]  # what a single number quotes: the ensemble's
    return estimate


def _check_same(theirs: ExperimentConfig, ours: ExperimentConfig, run: Path) -> None:
    if theirs.data.split == "all":
        raise LFDError("--estimate: that run is itself trained on all subjects; it tested nothing", path=run)
    if theirs.train.protocol == LEAKY:
        raise LFDError(
            "--estimate: that run is leaky-best-epoch (epochs chosen on test subjects): not an honest "
            "estimate",
            path=run,
        )
    a, b = _comparable(theirs), _comparable(ours)
    diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    if diff:
        shown = "; ".join(f"{k}: {a.get(k)!r} there, {b.get(k)!r} here" for k in diff[:3])
        raise LFDError(
            f"--estimate: that run's config differs from this one ({shown}"
            + (f"; {len(diff) - 3} more" if len(diff) > 3 else "")
            + ")",
            path=run,
        )


def _comparable(config: ExperimentConfig) -> dict[str, Any]:
    """Flat "section.key" -> value, without the keys ``IGNORED``."""
    flat: dict[str, Any] = {}
    for section, value in config.to_dict().items():
        if isinstance(value, dict):
            flat.update({f"{section}.{k}": v for k, v in value.items() if (section, k) not in IGNORED})
        elif (section,) not in IGNORED:
            flat[section] = value
    return flat


def final_models(out: str | Path, seeds: list[int] | None = None) -> list[Path]:
    """The final model(s) a ``--final`` run wrote: OUT/folds/all/model.pt, or one per seed."""
    dirs = [Path(out)] if seeds is None else [seed_dir(out, k) for k in seeds]
    return [d / FOLDS_DIR / ALL / MODEL for d in dirs]


def record_estimate(models: list[Path], estimate: dict[str, Any] | None) -> None:
    """Write ``estimate`` (or that there is none) into each final checkpoint."""
    for path in models:
        if path.is_file():
            update_checkpoint(path, estimate=estimate or NO_ESTIMATE, final=True)
