"""MEGC2019 composite, leave-one-subject-out: LFD-TCMEN under the honest and the leaky protocol.

    .venv/bin/python benchmarks/megc2019_loso.py                    # all 68 folds, both protocols
    .venv/bin/python benchmarks/megc2019_loso.py --folds casme2/sub01,samm/006 --epochs 2

The experiment is ``configs/megc2019_composite.yaml`` (``--config``). With both protocols, each
fold is trained ONCE with the test subject evaluated after every epoch: the last epoch is the
honest result (fixed epoch count; evaluating changes nothing in training, so it equals a
stand-alone ``lfd-tcmen train`` run exactly) and the best-on-test epoch the leaky one. Folds run
``--workers`` at a time (default 2, one thread each). Run folders go to ``--out`` (default
runs/bench_megc2019/runs/<model>__<protocol>) and are resumed when rerun.

Prints one table: protocol, UF1, UAR, accuracy, n, per-dataset UF1, wall time, beside the
published reference figures. The data folder: ``--data``, else $LFD_TCMEN_DATA, else
../shared/data beside the repository. Not part of the test suite: it prints what it measures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

from lfd_tcmen.config.benchmark import benchmark_from_dict
from lfd_tcmen.config.experiment import load_config
from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.parallel import ExecutorOptions
from lfd_tcmen.runs.benchmark import run_benchmark, run_dir
from lfd_tcmen.runs.features import load_features, preprocess_info, resolve_data_path

REPO = Path(__file__).resolve().parents[1]
PROTOCOLS = ("honest", "leaky-best-epoch")
# Published UF1 / UAR on this benchmark (data README); STSTNet's "UAR" is in fact macro precision.
REFERENCES = (
    ("LBP-TOP baseline (published)", 0.5882, 0.5785),
    ("STSTNet (published)", 0.7353, 0.7605),
    ("HTNet (published; best epoch on the test subject)", 0.8603, 0.8475),
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", type=Path, default=REPO / "configs" / "megc2019_composite.yaml")
    p.add_argument("--data", type=Path, default=None, help="folder holding megc2019_composite/")
    p.add_argument("--out", type=Path, default=REPO / "runs" / "bench_megc2019")
    p.add_argument("--folds", default=None, help="comma-separated fold names (default all 68)")
    p.add_argument("--epochs", type=int, default=None, help="override train.epochs")
    p.add_argument("--protocols", default=",".join(PROTOCOLS), help="comma-separated, default both")
    p.add_argument("--workers", type=int, default=2, help="folds trained at once (default 2)")
    p.add_argument("--fresh", action="store_true", help="delete the earlier results instead of resuming")
    p.add_argument("--no-progress", action="store_true")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    protocols = [p.strip() for p in args.protocols.split(",") if p.strip()]
    try:
        config = load_config(args.config).override(epochs=args.epochs)
        raw = config.to_dict()
        train = {k: v for k, v in raw["train"].items() if k != "protocol"}
        method = config.model.name
        bench = benchmark_from_dict(
            {
                "name": config.name,
                "seed": config.seed,
                "data": raw["data"],
                "protocols": protocols,
                "train": train,
                "methods": [{"name": method, "model": method, "params": raw["model"]["params"]}],
            },
            source=str(args.config),
        )
        data_root = args.data or os.environ.get("LFD_TCMEN_DATA") or None
        features = load_features(config.data, resolve_data_path(config.data, data_root, [REPO]))
        if args.fresh and args.out.exists():
            shutil.rmtree(args.out)
        start = time.perf_counter()
        result = run_benchmark(
            bench,
            features,
            args.out,
            fold_names=args.folds.split(",") if args.folds else None,
            protocols=protocols,
            resume=True,
            executor=ExecutorOptions(workers=args.workers),
            progress=not args.no_progress,
            preprocess=preprocess_info(features, config.data),
        )
        wall = time.perf_counter() - start
    except LFDError as err:
        print(f"megc2019_loso: error: {err}", file=sys.stderr)
        return 2
    rows = []
    for protocol in protocols:
        metrics = json.loads(
            (run_dir(args.out, method, protocol) / "metrics.json").read_text(encoding="utf-8")
        )
        o = metrics["overall"]
        rows.append(
            {
                "protocol": protocol,
                "uf1": o["uf1"],
                "uar": o["uar"],
                "accuracy": o["accuracy"],
                "n": o["n"],
                "folds": f"{metrics['folds_done']}/{metrics['folds_total']}",
                **{f"uf1 {k}": v["uf1"] for k, v in metrics["per_dataset"].items()},
                "wall time (s)": int(round(wall)),
            }
        )
    trained = sum(len(v) for v in result.trained.values())
    print_table(rows, config.name, args, trained, len(result.failed))
    return 1 if result.failed else 0


def print_table(
    rows: list[dict[str, object]], name: str, args: argparse.Namespace, trained: int, failed: int
) -> None:
    from lfd_tcmen.report.tables import markdown_table

    datasets = sorted({k for r in rows for k in r if k.startswith("uf1 ")})
    cols = ["protocol", "uf1", "uar", "accuracy", "n", "folds", *datasets, "wall time (s)"]
    refs = [{"protocol": label, "uf1": u, "uar": a} for label, u, a in REFERENCES]
    print(
        f"\nMEGC2019 composite, leave-one-subject-out, {name} ({args.config.name}); pooled MEGC2019 scores\n"
    )
    print(markdown_table(rows + refs, cols))
    print(
        f"\nfolds trained now: {trained} (the rest resumed from {args.out}); failed: {failed}; "
        f"{args.workers} worker(s). Wall time is this call's, shared by the protocols (one training per fold)."
        "\nhonest: fixed epochs and schedule, nothing about the test subject used in training."
        "\nleaky-best-epoch: each fold keeps the epoch that scores best on its own test subject (the"
        " peers' practice), so its figure is optimistic."
    )


if __name__ == "__main__":
    sys.exit(main())
