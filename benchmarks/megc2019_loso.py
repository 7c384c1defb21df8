"""MEGC2019 composite, leave-one-subject-out: LFD-TCMEN under the honest and the leaky protocol.

    .venv/bin/python benchmarks/megc2019_loso.py                    # all 68 folds, both protocols
    .venv/bin/python benchmarks/megc2019_loso.py --folds casme2/sub01,samm/006 --epochs 2

Each protocol is one ``lfd-tcmen train`` run (its own process, one thread each, so the two use
two cores side by side); run folders go to ``--out`` (default runs/bench_megc2019) and are
resumed when rerun. Prints one table: protocol, UF1, UAR, accuracy, n, wall time, beside the
published reference figures. The data folder: ``--data``, else $LFD_TCMEN_DATA, else
../shared/data beside the repository.

Not part of the test suite: it prints what it measures and never asserts a target.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PROTOCOLS = ("honest", "leaky-best-epoch")
# Published UF1 / UAR on this benchmark (from the data README); STSTNet's "UAR" is macro precision.
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
    p.add_argument("--serial", action="store_true", help="run the protocols one after the other")
    p.add_argument("--fresh", action="store_true", help="delete earlier run folders instead of resuming")
    return p.parse_args(argv)


def command(args: argparse.Namespace, protocol: str, out: Path) -> list[str]:
    cmd = [sys.executable, "-m", "lfd_tcmen", "train", "--config", str(args.config), "--out", str(out)]
    cmd += ["--protocol", protocol, "--no-progress"]
    if args.folds:
        cmd += ["--folds", args.folds]
    if args.epochs is not None:
        cmd += ["--epochs", str(args.epochs)]
    if (out / "config.yaml").is_file():
        cmd.append("--resume")
    return cmd


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    env = dict(os.environ)
    if args.data is not None:
        env["LFD_TCMEN_DATA"] = str(args.data)
    env.setdefault("OMP_NUM_THREADS", "1")
    protocols = [p.strip() for p in args.protocols.split(",") if p.strip()]
    unknown = sorted(set(protocols) - set(PROTOCOLS))
    if unknown:
        print(f"unknown protocol(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    rows: list[dict[str, object]] = []
    jobs: list[tuple[str, Path, subprocess.Popen[bytes], float]] = []
    for protocol in protocols:
        out = args.out / protocol
        if args.fresh and out.exists():
            import shutil

            shutil.rmtree(out)
        cmd = command(args, protocol, out)
        print("$ " + " ".join(cmd), file=sys.stderr)
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=REPO, env=env)
        jobs.append((protocol, out, proc, start))
        if args.serial:
            proc.wait()
    failed = False
    for protocol, out, proc, start in jobs:
        rc = proc.wait()
        wall = time.perf_counter() - start
        if rc != 0:
            print(f"{protocol}: lfd-tcmen train exited with {rc}", file=sys.stderr)
            failed = True
            continue
        metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
        o = metrics["overall"]
        rows.append(
            {
                "protocol": protocol,
                "uf1": o["uf1"],
                "uar": o["uar"],
                "accuracy": o["accuracy"],
                "n": o["n"],
                "folds": f"{metrics['folds_done']}/{metrics['folds_total']}",
                "train time (s)": round(metrics["train_wall_s"], 1),
                "wall time (s)": round(wall, 1),
                **{f"uf1 {k}": v["uf1"] for k, v in metrics["per_dataset"].items()},
            }
        )
    print_table(rows, args)
    return 1 if failed else 0


def print_table(rows: list[dict[str, object]], args: argparse.Namespace) -> None:
    from lfd_tcmen.report.tables import markdown_table

    if not rows:
        return
    datasets = sorted({k for r in rows for k in r if k.startswith("uf1 ")})
    cols = ["protocol", "uf1", "uar", "accuracy", "n", "folds", *datasets, "train time (s)", "wall time (s)"]
    refs = [{"protocol": name, "uf1": u, "uar": a} for name, u, a in REFERENCES]
    print(
        f"\nMEGC2019 composite, leave-one-subject-out, LFD-TCMEN ({args.config.name}; pooled MEGC2019 scores)\n"
    )
    print(markdown_table(rows + refs, cols))
    print(
        "\nhonest: fixed epochs and schedule, nothing about the test subject used in training;"
        "\nleaky-best-epoch: each fold keeps the epoch that scores best on its own test subject (the"
        " peers' practice), so its figure is optimistic. Both runs: " + str(args.out)
    )


if __name__ == "__main__":
    sys.exit(main())
