"""Two runs side by side: their pooled scores and the paired subject-cluster bootstrap of the
difference (``lfd_tcmen.stats``), read from the runs' prediction files.

A run is given as a predictions CSV, a run folder (its ``predictions.csv``, or the one file
``predictions_<protocol>.csv`` it holds), or a folder of seed run folders (one subfolder per
seed, each with its predictions): then every seed takes part.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lfd_tcmen.errors import LFDError
from lfd_tcmen.report.tables import markdown_table
from lfd_tcmen.scoring import read_predictions_csv
from lfd_tcmen.stats import METRICS, RunPredictions, paired_bootstrap, verdict

ENSEMBLE = "ensemble"  # the seed ensemble's folder in a multi-seed run (runs.seeds)


def prediction_files(path: Path) -> list[Path]:
    """The predictions file(s) of a run: one per seed."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise LFDError("no such run folder or predictions file", path=path)
    own = sorted(path.glob("predictions*.csv"))
    if len(own) == 1:
        return own
    if len(own) > 1:
        raise LFDError(f"several predictions files ({', '.join(p.name for p in own)}); name one", path=path)
    seeds = [
        sorted(d.glob("predictions*.csv"))
        for d in sorted(path.iterdir())
        if d.is_dir() and d.name != ENSEMBLE  # the seed ensemble is made of the seeds, not one more
    ]
    seeds = [files[0] for files in seeds if len(files) == 1]
    if not seeds:
        raise LFDError("no predictions*.csv here or in its subfolders", path=path)
    return seeds


def read_run(path: str | Path) -> RunPredictions:
    files = prediction_files(Path(path))
    try:
        return RunPredictions.from_rows([read_predictions_csv(f).rows for f in files])
    except ValueError as err:
        raise LFDError(str(err), path=path) from err


def compare_runs(a: str | Path, b: str | Path, resamples: int = 10_000, seed: int = 0) -> dict[str, Any]:
    """The bootstrap result (``stats.paired_bootstrap``) with the runs' paths and a verdict per metric."""
    run_a, run_b = read_run(a), read_run(b)
    try:
        result = paired_bootstrap(run_a, run_b, resamples=resamples, seed=seed)
    except ValueError as err:
        raise LFDError(f"cannot compare {a} with {b}: {err}") from err
    result.update(run_a=str(a), run_b=str(b))
    for m in METRICS:
        result[m]["verdict"] = verdict(result[m], "A", "B")
    return result


def format_comparison(result: dict[str, Any]) -> str:
    """Markdown: A and B, the difference with its 95% interval and p, and the verdict."""
    rows = [
        {
            "metric": m.upper(),
            "a": r["a"],
            "b": r["b"],
            "delta": r["delta"],
            "ci": f"[{r['ci_low']:+.4f}, {r['ci_high']:+.4f}]",
            "p": r["p"],
            "verdict": r["verdict"],
        }
        for m, r in ((m, result[m]) for m in METRICS)
    ]
    cols = [
        ("metric", ""),
        ("a", "A"),
        ("b", "B"),
        ("delta", "A - B"),
        ("ci", "95% interval"),
        ("p", "p"),
        ("verdict", ""),
    ]
    return (
        f"A: {result['run_a']} ({result['seeds_a']} seed(s))\nB: {result['run_b']} ({result['seeds_b']} seed(s))\n\n"
        + markdown_table(rows, cols)
        + f"\n\nPaired subject-cluster bootstrap: {result['resamples']} resamples of the {result['subjects']} "
        "subjects, within each dataset ("
        + ", ".join(f"{d} {n}" for d, n in result["datasets"].items())
        + "), seeds resampled too; pooled MEGC2019 scores. A difference is called better or worse only "
        "when its interval excludes 0."
    )
