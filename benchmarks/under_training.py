"""Is a benchmark run under-trained? Training accuracy mid-way and at the end, and where the
best-on-test epoch falls, per method, from the LEAKY run folders of a finished benchmark.

    .venv/bin/python benchmarks/under_training.py                      # results/megc2019
    .venv/bin/python benchmarks/under_training.py --out results/megc2019 --methods ststnet,off_apexnet

Reads ``OUT/runs/<method>__leaky-best-epoch/folds/*/history.json`` (the per-epoch history every
fold keeps). A network still learning at its last epoch (training accuracy rising, best epoch
in the last tenth of training in most folds) was given too small a budget.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=REPO / "results" / "megc2019", help="benchmark output folder")
    p.add_argument("--methods", default=None, help="comma-separated (default: every leaky run found)")
    args = p.parse_args(argv)
    runs = sorted((args.out / "runs").glob("*__leaky-best-epoch"))
    wanted = set(args.methods.split(",")) if args.methods else None
    print(
        "| method | folds | epochs | train acc at mid-training | train acc at last epoch | best epoch in last tenth |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for run in runs:
        method = run.name.split("__")[0]
        if wanted is not None and method not in wanted:
            continue
        infos = [json.loads(f.read_text()) for f in sorted(run.glob("folds/*/history.json"))]
        if not infos:
            continue
        epochs = len(infos[0]["history"])
        mid = statistics.mean(i["history"][epochs // 2 - 1]["train_accuracy"] for i in infos)
        last = statistics.mean(i["history"][-1]["train_accuracy"] for i in infos)
        late = sum(i["epoch"] >= epochs - int(0.1 * epochs) for i in infos)
        print(f"| {method} | {len(infos)} | {epochs} | {mid:.3f} | {last:.3f} | {late}/{len(infos)} |")


if __name__ == "__main__":
    main()
