"""Who is this? Identity left in each method's codes, measured on subjects the model never saw.

    .venv/bin/python benchmarks/identity_probe.py --workers 2                     # ~10 min on 2 cores
    .venv/bin/python benchmarks/identity_probe.py --methods lfd_tcmen --seeds 0 --epochs 2   # a quick look

The held-out probe (``analysis.heldout``) needs folds that test several subjects, so every method
of ``--benchmark`` (default benchmarks/megc2019.yaml, its recipe and budgets) is trained here
under a ``--k``-fold subject split instead of leave-one-subject-out, honest protocol, for each
of ``--seeds``, into ``--out/<method>/seed<k>/`` (resumable). Within each fold, the model codes
its held-out subjects' samples; same-subject 1-NN retrieval (beside the chance rate) and
verification AUC (0.5 = no identity) are averaged over folds, for the motion code, the identity
code and the classifier's input, beside the same probe on the raw input (faces and flows) and on
an untrained model of the same shape. A code that carries no more identity than the untrained
model's has been cleaned; one above it has learned identity. Prints mean +- sd over seeds.
Asserts no target.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from lfd_tcmen.analysis.heldout import CODES, heldout_hits
from lfd_tcmen.config.benchmark import load_benchmark
from lfd_tcmen.config.experiment import HONEST
from lfd_tcmen.data.features import FeatureSet
from lfd_tcmen.evaluation.stats import paired_rate_bootstrap
from lfd_tcmen.parallel import ExecutorOptions
from lfd_tcmen.runs import run_dir
from lfd_tcmen.runs.experiment import RunOptions, RunPlan, run_experiments
from lfd_tcmen.runs.features import load_features, preprocess_info, resolve_data_path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_METHODS = "lfd_tcmen,cls_only,no_identity,no_drl,off_apexnet_shared,ststnet_shared"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--benchmark", type=Path, default=REPO / "benchmarks" / "megc2019.yaml")
    p.add_argument("--methods", default=DEFAULT_METHODS)
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--k", type=int, default=5, help="subject-level folds")
    p.add_argument("--epochs", type=int, default=None, help="override every method's epochs")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--out", type=Path, default=REPO / "runs" / "identity_probe")
    p.add_argument("--reference", default="lfd_tcmen", help="method whose codes the others are compared with")
    args = p.parse_args()

    bench = load_benchmark(args.benchmark)
    methods = [m for m in args.methods.split(",") if m]
    seeds = [int(k) for k in args.seeds.split(",")]
    plans = []
    for name in methods:
        for seed in seeds:
            config = bench.experiment(name, HONEST, seed=seed).override(epochs=args.epochs)
            config = replace(config, data=replace(config.data, split="kfold", k=args.k))
            plans.append(RunPlan.single(config, args.out / name / f"seed{seed}"))
    data_root = os.environ.get("LFD_TCMEN_DATA") or None
    data = plans[0].config.data
    features = load_features(data, resolve_data_path(data, data_root, [REPO]))
    summaries = run_experiments(
        plans,
        features,
        RunOptions(resume=True, executor=ExecutorOptions(workers=args.workers), progress=False),
        preprocess_info(features, data),
    )
    by_method: dict[str, list[dict[str, Any]]] = {}
    hits: dict[str, dict[str, list[np.ndarray]]] = {}  # method -> code -> one (N,) array per seed
    for plan, summary in zip(plans, summaries):
        method = plan.config.name.split("-", 1)[-1]
        by_method.setdefault(method, []).append(summary.metrics)
        folder = plan.dirs[HONEST]
        records = [run_dir.read_fold(folder, f) for f in run_dir.finished_folds(folder)]
        for code, h in heldout_hits(records, features, plan.config).items():
            hits.setdefault(method, {}).setdefault(code, []).append(h)

    print(
        f"{bench.name}: {len(features.labels)} samples, {len(set(features.subjects))} subjects; "
        f"{args.k}-fold subject split, honest, seeds {seeds}\n"
    )
    print(
        "held-out identity: 1-NN same-subject retrieval (chance) / verification AUC; mean ± sd over seeds\n"
    )
    print("| method | UF1 | code | trained | untrained, same shape | raw input |")
    print("|---|---|---|---|---|---|")
    for name, runs in by_method.items():
        probes = [m.get("identity_heldout") or {} for m in runs]
        uf1 = _mean_sd([m["overall"]["uf1"] for m in runs])
        if not all(pr.get("available") for pr in probes):
            print(f"| {name} | {uf1} | (probe unavailable) | | | |")
            continue
        raw = _probe_cell([pr["raw_input"] for pr in probes])
        for code in probes[0]["codes"]:
            trained = _probe_cell([pr["codes"][code] for pr in probes])
            untrained = _probe_cell([pr["untrained"][code] for pr in probes if code in pr["untrained"]])
            print(f"| {name} | {uf1} | {code} | {trained} | {untrained} | {raw} |")
            name, uf1, raw = "", "", ""
    _paired(hits, features, args.reference)


def _paired(hits: dict[str, dict[str, list[np.ndarray]]], features: FeatureSet, reference: str) -> None:
    """Retrieval differences with paired subject-bootstrap intervals (negative: less identity)."""
    print(
        "\nΔ same-subject 1-NN retrieval, paired 95% subject-bootstrap interval (seeds resampled); "
        "negative = less identity\n"
    )
    print(f"| method | code | trained - untrained, same shape | minus {reference}'s same code |")
    print("|---|---|---|---|")

    def cell(a: list[np.ndarray], b: list[np.ndarray]) -> str:
        r = paired_rate_bootstrap(np.stack(a), np.stack(b), features.subjects, features.datasets)
        return f"{r['delta']:+.3f} [{r['ci_low']:+.3f}, {r['ci_high']:+.3f}]"

    for method, codes in hits.items():
        for code in (c for c in CODES if c in codes):
            own = cell(codes[code], codes[f"untrained {code}"]) if f"untrained {code}" in codes else "-"
            ref = hits.get(reference, {}).get(code)
            against = cell(codes[code], ref) if ref is not None and method != reference else ""
            print(f"| {method} | {code} | {own} | {against} |")


def _mean_sd(values: list[float]) -> str:
    return f"{np.mean(values):.3f} ± {np.std(values, ddof=1):.3f}" if len(values) > 1 else f"{values[0]:.3f}"


def _probe_cell(probes: list[dict[str, float]]) -> str:
    if not probes:
        return "-"
    retrieval = _mean_sd([p["retrieval"] for p in probes])
    chance = np.mean([p["retrieval_chance"] for p in probes])
    return f"{retrieval} ({chance:.3f}) / {_mean_sd([p['auc'] for p in probes])}"


if __name__ == "__main__":
    main()
