"""How much one seed says: LFD-TCMEN on the composite with several seeds (resumable).

    .venv/bin/python benchmarks/seed_spread.py --seeds 0,1,2,3,4 --workers 2        # ~11 min a seed
    .venv/bin/python benchmarks/seed_spread.py --seeds 0,1 --folds casme2/sub01,samm/006 --epochs 2
    .venv/bin/python benchmarks/seed_spread.py --from results/megc2019/runs/lfd_tcmen__honest
                                                          # a benchmark's finished seeds: no training

Trains ``--config`` (default configs/megc2019_composite.yaml) with each seed into
``--out/seed<k>/`` (``lfd-tcmen train --seeds``; an interrupted run resumes), then prints each
seed's pooled UF1 and UAR, their mean and standard deviation over seeds, the seed ensemble's
scores, and the 95% subject-cluster bootstrap interval of one seed's UF1 (its half-width: what
one seed can resolve) and of the mean over seeds. With ``--from`` it trains nothing and reads a
multi-seed run folder (``seed<k>/``, ``ensemble/``, ``seeds.json``), such as a benchmark row's.
Prints what it measures; asserts no target.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from lfd_tcmen.config.experiment import load_config
from lfd_tcmen.evaluation.stats import score_interval
from lfd_tcmen.parallel import ExecutorOptions
from lfd_tcmen.report.compare import read_run
from lfd_tcmen.runs.features import load_features, preprocess_info, resolve_data_path
from lfd_tcmen.runs.seeds import read_summary, run_seeds, seed_dir

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", type=Path, default=REPO / "configs" / "megc2019_composite.yaml")
    p.add_argument("--seeds", default="0,1,2,3,4")
    p.add_argument("--folds", default=None, help="comma-separated fold names (default all)")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--out", type=Path, default=REPO / "runs" / "seed_spread")
    p.add_argument("--resamples", type=int, default=10_000)
    p.add_argument(
        "--from", dest="from_run", type=Path, default=None, help="a finished multi-seed run folder"
    )
    args = p.parse_args()
    if args.from_run is not None:
        summary = read_summary(args.from_run)
        if summary is None:
            raise SystemExit(f"{args.from_run}: no seeds.json (not a finished multi-seed run folder)")
        report(args.from_run, summary, [int(k) for k in summary["seeds"]], args.resamples)
        return
    config = load_config(args.config).override(epochs=args.epochs)
    data_root = os.environ.get("LFD_TCMEN_DATA") or None
    features = load_features(config.data, resolve_data_path(config.data, data_root, [REPO]))
    seeds = [int(k) for k in args.seeds.split(",")]
    summaries, summary = run_seeds(
        config,
        features,
        args.out,
        seeds,
        preprocess=preprocess_info(features, config.data),
        fold_names=args.folds.split(",") if args.folds else None,
        resume=True,
        executor=ExecutorOptions(workers=args.workers),
        progress=False,
    )
    report(args.out, summary, seeds, args.resamples)


def report(out: Path, summary: dict, seeds: list[int], resamples: int) -> None:
    """The table: each seed, the mean over seeds and the ensemble, with subject-bootstrap intervals."""
    print(
        f"{summary['name']}: {summary['model']}, {summary['folds_done']}/{summary['folds_total']} folds, seeds {seeds}\n"
    )
    print("| run | UF1 | UAR | UF1 95% interval (subjects) | half-width |")
    print("|---|---|---|---|---|")
    for k in seeds:
        interval = score_interval(read_run(seed_dir(out, k)), resamples)["uf1"]
        o = summary["per_seed"][str(k)]
        print(
            f"| seed {k} | {o['uf1']:.4f} | {o['uar']:.4f} | [{interval['ci_low']:.4f}, {interval['ci_high']:.4f}] "
            f"| {interval['half_width']:.4f} |"
        )
    mean = score_interval(read_run(out), resamples)["uf1"]
    m, sd, e = summary["mean"], summary["sd"], summary["ensemble"]
    print(
        f"| mean over seeds | {m['uf1']:.4f} ± {sd['uf1']:.4f} | {m['uar']:.4f} ± {sd['uar']:.4f} "
        f"| [{mean['ci_low']:.4f}, {mean['ci_high']:.4f}] (subjects and seeds) | {mean['half_width']:.4f} |"
    )
    ens = score_interval(read_run(out / "ensemble"), resamples)["uf1"]
    print(
        f"| seed ensemble | {e['uf1']:.4f} | {e['uar']:.4f} | [{ens['ci_low']:.4f}, {ens['ci_high']:.4f}] "
        f"| {ens['half_width']:.4f} |"
    )
    print(f"\nseed sd of UF1: {sd['uf1']:.4f}; ensemble UF1: {e['uf1']:.4f}; run folders: {out}")


if __name__ == "__main__":
    main()
