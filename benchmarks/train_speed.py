"""Training speed: samples/s of every registered method, and a LOSO run serial vs on N workers.

    .venv/bin/python benchmarks/train_speed.py                        # both parts, full LOSO
    .venv/bin/python benchmarks/train_speed.py --skip-speed --synthetic --folds 4 --epochs 8
                                                                      # a ~20 s job: start-up matters
    .venv/bin/python benchmarks/train_speed.py --skip-loso            # the samples/s table only

Data: the MEGC2019 composite (``--data``, else $LFD_TCMEN_DATA, else ../shared/data beside the
repository) or, where it is absent, a synthetic FeatureSet of the same shape (442 samples, 68
subjects, apex faces 64x64, one 3x28x28 flow). Config: configs/megc2019_composite.yaml.

Part 1, samples/s: for each method, the first fold's training samples go through the engine's
own epoch loop (augmentation, batching, forward, loss, backward, Adam) at the config's thread
count, ``--speed-epochs`` times; the fastest epoch is reported (on a shared machine the mean
measures the neighbours). HTNet is heavy on a CPU: it runs ``--htnet-batches`` batches only.
Columns: the default layout and ``train.channels_last``.

Part 2, LOSO: ``run_experiment`` for each of ``--runs``: serially, and with ``--workers`` workers
on the local process pool and on a local Ray, same config and seed; prints the wall times, their
ratio to the first run, whether each run's metrics (timings aside) and predictions equal the
first run's, and the load average before and after (other work on the machine slows all).
Not part of the test suite: it prints what it measures and asserts no target.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from lfd_tcmen.config.experiment import ExperimentConfig, ModelConfig, load_config
from lfd_tcmen.data.composite import load_composite
from lfd_tcmen.data.features import FeatureSet
from lfd_tcmen.models import create_model_for, model_names
from lfd_tcmen.models.device import Precision
from lfd_tcmen.parallel import ExecutorOptions
from lfd_tcmen.runs.experiment import run_experiment
from lfd_tcmen.runs.folds import make_folds
from lfd_tcmen.training.epoch import FoldData, Stepper, train_epoch

REPO = Path(__file__).resolve().parents[1]
HEAVY = {"htnet"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", type=Path, default=REPO / "configs" / "megc2019_composite.yaml")
    p.add_argument("--data", type=Path, default=None, help="folder holding megc2019_composite/")
    p.add_argument("--synthetic", action="store_true", help="use the synthetic set even if the data exist")
    p.add_argument("--models", default=None, help="comma-separated methods (default: all registered)")
    p.add_argument("--speed-epochs", type=int, default=3, help="timed epochs per method (part 1)")
    p.add_argument("--htnet-batches", type=int, default=2, help="batches per HTNet epoch (part 1)")
    p.add_argument("--epochs", type=int, default=None, help="override train.epochs for the LOSO runs")
    p.add_argument("--folds", type=int, default=None, help="only the first N folds (default all)")
    p.add_argument("--workers", type=int, default=2, help="workers of the parallel LOSO runs")
    p.add_argument(
        "--runs",
        default="serial,process,ray",
        help="LOSO runs, in order: serial and/or engines (process, ray)",
    )
    p.add_argument("--skip-speed", action="store_true")
    p.add_argument("--skip-loso", action="store_true")
    p.add_argument("--out", type=Path, default=None, help="keep the run folders here (default: temporary)")
    return p.parse_args(argv)


def load_data(args: argparse.Namespace, config: ExperimentConfig) -> tuple[FeatureSet, str]:
    root = args.data or (Path(os.environ["LFD_TCMEN_DATA"]) if os.environ.get("LFD_TCMEN_DATA") else None)
    root = root or REPO.parent / "shared" / "data"
    folder = root / "megc2019_composite"
    if folder.is_dir() and not args.synthetic:
        features = load_composite(folder, face_size=config.data.face_size, flow_size=config.data.flow_size)
        return features, f"MEGC2019 composite ({folder})"
    return synthetic_composite(config.data.face_size, config.data.flow_size), "synthetic, composite-shaped"


def synthetic_composite(face: int = 64, flow: int = 28, n: int = 442, subjects: int = 68) -> FeatureSet:
    """Random data shaped like the composite: (442, 1, 64, 64) faces, (442, 1, 3, 28, 28) flows."""
    rng = np.random.default_rng(0)
    subject_of = np.sort(rng.integers(0, subjects, n))
    subject_of[:subjects] = np.arange(subjects)  # every subject present
    subject_of.sort()
    names = [f"synth/s{s:02d}" for s in subject_of]
    return FeatureSet(
        sample_ids=[f"{s}/clip{i:03d}" for i, s in enumerate(names)],
        datasets=["synth"] * n,
        subjects=names,
        labels=rng.integers(0, 3, n).astype(np.int64),
        class_names=("negative", "positive", "surprise"),
        faces=rng.random((n, 1, face, face), dtype=np.float32),
        face_frames=("apex",),
        flows=rng.random((n, 1, 3, flow, flow), dtype=np.float32),
        flow_segments=("onset:apex",),
        protocol="megc2019-3class",
    )


def samples_per_second(
    features: FeatureSet, config: ExperimentConfig, epochs: int, max_batches: int | None
) -> tuple[float, int]:
    """Fastest epoch's training throughput over the first fold's training samples."""
    fold = make_folds(features, config.data, config.seed)[0]
    if max_batches is not None:
        fold = replace(fold, train=tuple(fold.train)[: max_batches * config.train.batch_size])
    data = FoldData.of(features, fold, config.train)
    train_index = data.train_index
    torch.set_num_threads(config.train.threads)
    torch.manual_seed(0)
    model = create_model_for(
        features, config.model.name, config.model.params, len(data.train_subjects), seed=0
    )
    if config.train.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.train.lr)
    stepper = Stepper(model, optimizer, Precision(torch.device("cpu")))
    rng = np.random.default_rng(0)
    times = []
    for _ in range(epochs + 1):  # the first epoch warms up (lazy imports, allocator)
        start = time.perf_counter()
        train_epoch(stepper, data, config.train, rng, None)
        times.append(time.perf_counter() - start)
    return len(train_index) / min(times[1:]), len(train_index)


def speed_table(features: FeatureSet, config: ExperimentConfig, args: argparse.Namespace) -> None:
    names = args.models.split(",") if args.models else model_names()
    print(
        f"\n## Training throughput, one process, train.threads={config.train.threads}, batch {config.train.batch_size}\n"
    )
    print(
        "| method | samples/epoch | samples/s | samples/s channels_last | s per composite fold (30 epochs) |"
    )
    print("|---|---|---|---|---|")
    for name in names:
        cfg = replace(config, model=ModelConfig(name=name, params={}))
        heavy = args.htnet_batches if name in HEAVY else None
        rate, n = samples_per_second(features, cfg, args.speed_epochs, heavy)
        cl = replace(cfg, train=replace(cfg.train, channels_last=True))
        rate_cl, _ = samples_per_second(features, cl, args.speed_epochs, heavy)
        label = f"{name} ({args.htnet_batches} batches only)" if heavy else name
        fold_s = 30 * (len(features) - len(features) / 68) / rate
        print(f"| {label} | {n} | {rate:.0f} | {rate_cl:.0f} | {fold_s:.0f} |", flush=True)


def comparable(metrics: dict) -> dict:
    out = {k: v for k, v in metrics.items() if k != "train_wall_s"}
    out["per_fold"] = [{k: v for k, v in r.items() if k != "wall_s"} for r in metrics.get("per_fold", [])]
    return out


def loso_comparison(features: FeatureSet, config: ExperimentConfig, args: argparse.Namespace) -> None:
    names = [f.name for f in make_folds(features, config.data, config.seed)]
    names = names[: args.folds] if args.folds else names
    base = args.out or Path(tempfile.mkdtemp(prefix="train_speed_"))
    runs = []
    for label, workers, engine in [
        ("serial", 1, "process")
        if run == "serial"
        else (f"{args.workers} workers ({run})", args.workers, run)
        for run in args.runs.split(",")
    ]:
        out = base / label.replace(" ", "_").strip("()")
        shutil.rmtree(out, ignore_errors=True)
        before = os.getloadavg()
        start = time.perf_counter()
        summary = run_experiment(
            config, features, out, fold_names=names, progress=False, executor=ExecutorOptions(workers, engine)
        )
        wall = time.perf_counter() - start
        runs.append((label, summary, wall, before, os.getloadavg(), out))
        print(f"  {label}: {wall:.1f} s", flush=True)
    serial, serial_wall, serial_out = runs[0][1], runs[0][2], runs[0][5]  # the first run is the reference
    print(f"\n## LOSO wall time: {len(names)} folds x {config.train.epochs} epochs, {config.model.name}\n")
    print(
        f"| run | wall s | ratio to {runs[0][0]} | UF1 | UAR | identical to {runs[0][0]} | load avg 1/5/15 min before -> after |"
    )
    print("|---|---|---|---|---|---|---|")
    for label, s, t, a, b, out in runs:
        load = f"{a[0]:.2f}/{a[1]:.2f}/{a[2]:.2f} -> {b[0]:.2f}/{b[1]:.2f}/{b[2]:.2f}"
        if "overall" not in s.metrics:
            print(f"| {label} | {t:.1f} | - | - | - | failed: {len(s.failed)} folds | {load} |")
            continue
        o = s.metrics["overall"]
        same = comparable(s.metrics) == comparable(serial.metrics) and (
            (out / "predictions.csv").read_bytes() == (serial_out / "predictions.csv").read_bytes()
        )
        print(
            f"| {label} | {t:.1f} | {t / serial_wall:.3f} | {o['uf1']:.4f} | {o['uar']:.4f} | {same} | {load} |"
        )
    print(f"\nidentical: metrics (timings aside) and predictions.csv equal the {runs[0][0]} run's")
    print(f"cores: {os.cpu_count()}; run folders: {base}")
    if args.out is None:
        shutil.rmtree(base, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    config = load_config(args.config).override(epochs=args.epochs)
    features, source = load_data(args, config)
    print(f"data: {source}: {len(features)} samples, {len(set(features.subjects))} subjects")
    print(f"faces {features.faces.shape}, flows {features.flows.shape}; load average {os.getloadavg()}")
    if not args.skip_speed:
        speed_table(features, config, args)
    if not args.skip_loso:
        loso_comparison(features, config, args)


if __name__ == "__main__":
    main()
