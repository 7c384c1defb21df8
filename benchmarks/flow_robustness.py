"""Robust to how the flow was made? Trained fold models tested on other renderings of the same flows.

    .venv/bin/python benchmarks/flow_robustness.py results/megc2019/runs/lfd_tcmen__honest \
        results/megc2019/runs/off_apexnet_shared__honest results/megc2019/runs/ststnet_shared__honest
    bash benchmarks/flow_methods.sh     # synthetic clips: trained on TV-L1, tested on Farneback and DIS

Users feed flow images from other pipelines: other TV-L1 settings, other normalisations, other
encoders. For each given run folder (a ``lfd-tcmen train`` run, or a multi-seed folder holding
``seed<k>/`` runs), every finished fold's saved model (``model.pt``) predicts its own test
subject again with the flow images re-rendered, nothing retrained:
- clean: as trained (must reproduce the run's own UF1: printed as a check);
- gamma 0.8 / gamma 1.25: each channel ``f ** g`` (a different tone curve);
- gain .8 +.1: ``clip(0.8 f + 0.1)`` (a compressed range with an offset);
- window 2-98%: each sample's channels re-stretched between their 2nd and 98th percentiles
  (another min-max window);
- 5-bit: 32 levels instead of 256 (a coarser encoder);
- blur: Gaussian, sigma 1 px (a smoother flow method).
These apply where the flows are min-max images in [0, 1] (the composite; stores prepared with
``flow_norm: minmax``). ``--store NAME=PATH`` adds a rendering read from another feature store
of the same clips (e.g. prepared with ``flow_method: farneback``), matched by sample id: its
flows replace the run's, its faces too (they come from the same frames). Prints pooled UF1 per
rendering, mean ± sd over seeds, and the drop from clean. Asserts no target.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from lfd_tcmen.config.experiment import DataConfig, load_config
from lfd_tcmen.data.features import FeatureSet
from lfd_tcmen.evaluation.forward import evaluate
from lfd_tcmen.evaluation.metrics import uf1
from lfd_tcmen.evaluation.stats import RunPredictions, paired_bootstrap
from lfd_tcmen.models.checkpoint import load_checkpoint
from lfd_tcmen.report.summary import read_metrics
from lfd_tcmen.runs import run_dir
from lfd_tcmen.runs.features import load_features, resolve_data_path

REPO = Path(__file__).resolve().parents[1]
Rendering = Callable[[np.ndarray], np.ndarray]


def _window(flows: np.ndarray) -> np.ndarray:
    lo = np.percentile(flows, 2, axis=(-2, -1), keepdims=True)
    hi = np.percentile(flows, 98, axis=(-2, -1), keepdims=True)
    return np.clip((flows - lo) / np.maximum(hi - lo, 1e-6), 0, 1)


def _blur(flows: np.ndarray) -> np.ndarray:
    flat = flows.reshape(-1, *flows.shape[-2:])
    return np.stack([cv2.GaussianBlur(f, (0, 0), 1.0) for f in flat]).reshape(flows.shape)


RENDERINGS: dict[str, Rendering] = {
    "clean": lambda f: f,
    "gamma 0.8": lambda f: f**0.8,
    "gamma 1.25": lambda f: f**1.25,
    "gain .8 +.1": lambda f: np.clip(0.8 * f + 0.1, 0, 1),
    "window 2-98%": _window,
    "5-bit": lambda f: np.round(f * 31) / 31,
    "blur": _blur,
}


def seed_runs(folder: Path) -> list[Path]:
    seeds = sorted(p for p in folder.glob("seed*") if (p / "config.yaml").is_file())
    return seeds or [folder]


def score_run(folder: Path, renderings: dict[str, FeatureSet]) -> dict[str, np.ndarray]:
    """Predicted class of every test sample of ``folder``'s finished folds (in sample order)
    under each rendering."""
    config = load_config(folder / "config.yaml")
    probs: dict[str, list[np.ndarray]] = {name: [] for name in renderings}
    index = []
    for name in run_dir.finished_folds(folder):
        record = run_dir.read_fold(folder, name)
        model = load_checkpoint(record.model_path).model
        for rendering, data in renderings.items():
            out = evaluate(
                model, data, record.test_index, config.train.eval_batch_size, hflip=config.train.tta_hflip
            )
            probs[rendering].append(out["probs"])
        index.append(record.test_index)
    order = np.argsort(np.concatenate(index))
    if not np.array_equal(np.concatenate(index)[order], np.arange(len(renderings["clean"]))):
        raise SystemExit(f"{folder}: its finished folds do not test every sample once")
    return {r: np.concatenate(p).argmax(1)[order] for r, p in probs.items()}


def predictions(features: FeatureSet, preds: list[np.ndarray]) -> RunPredictions:
    """One run's predictions (one array per seed) for the paired bootstrap."""
    rows = [
        [
            {"dataset": d, "subject": s.split("/", 1)[-1], "sample": i, "label": y, "pred": p}
            for d, s, i, y, p in zip(
                features.datasets, features.subjects, features.sample_ids, features.labels, seed
            )
        ]
        for seed in preds
    ]
    return RunPredictions.from_rows(rows)


def from_store(features: FeatureSet, data: DataConfig, path: Path) -> FeatureSet:
    """``features`` with faces and flows taken from another store of the same clips, by sample id."""
    other = load_features(replace(data, path=str(path)), path)
    where = {sid: i for i, sid in enumerate(other.sample_ids)}
    missing = [sid for sid in features.sample_ids if sid not in where]
    if missing:
        raise SystemExit(f"{path}: lacks {len(missing)} of the run's samples, e.g. {missing[0]}")
    rows = np.array([where[sid] for sid in features.sample_ids])
    return replace(features, faces=other.faces[rows], flows=other.flows[rows])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", type=Path)
    p.add_argument("--store", action="append", default=[], help="NAME=PATH: another store of the same clips")
    args = p.parse_args()
    first = seed_runs(args.runs[0])[0]
    data = load_config(first / "config.yaml").data
    features = load_features(data, resolve_data_path(data, None, [REPO]))
    renderings = {"clean": features}
    if features.flow_normalised:
        renderings.update(
            (name, replace(features, flows=np.ascontiguousarray(render(features.flows), dtype=np.float32)))
            for name, render in RENDERINGS.items()
        )
    for item in args.store:
        name, _, path = item.partition("=")
        renderings[name] = from_store(features, data, Path(path))
    names = list(renderings)
    print("pooled UF1 with the flows re-rendered (fold models as trained); mean ± sd over seeds\n")
    print("| run | seeds | " + " | ".join(names) + " | worst drop |")
    print("|---|---|" + "---|" * len(names) + "---|")
    preds: dict[Path, list[dict[str, np.ndarray]]] = {}
    for folder in args.runs:
        scores = []
        for run in seed_runs(folder):
            predicted = score_run(run, renderings)
            s = {r: uf1(features.labels, y, features.num_classes) for r, y in predicted.items()}
            reported = (read_metrics(run) or {}).get("overall", {}).get("uf1")
            if reported is not None and abs(reported - s["clean"]) > 1e-9:
                print(f"note: {run}: clean UF1 {s['clean']:.4f} differs from the run's {reported:.4f}")
            scores.append(s)
            preds.setdefault(folder, []).append(predicted)
        cells = []
        for r in names:
            values = [s[r] for s in scores]
            cell = f"{np.mean(values):.3f}" + (f" ± {np.std(values, ddof=1):.3f}" if len(values) > 1 else "")
            cells.append(cell)
        drops = [np.mean([s["clean"] - s[r] for s in scores]) for r in names if r != "clean"]
        worst = f"{max(drops):.3f}" if drops else "-"
        print(f"| {folder.name} | {len(scores)} | " + " | ".join(cells) + f" | {worst} |")
    if len(args.runs) > 1:
        base = args.runs[0]
        print(f"\nΔUF1 against {base.name} under the same rendering [paired subject-bootstrap 95% CI]\n")
        print("| run | " + " | ".join(names) + " |")
        print("|---|" + "---|" * len(names))
        for folder in args.runs[1:]:
            cells = []
            for r in names:
                a = predictions(features, [p[r] for p in preds[folder]])
                b = predictions(features, [p[r] for p in preds[base]])
                d = paired_bootstrap(a, b)["uf1"]
                cells.append(f"{d['delta']:+.3f} [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}]")
            print(f"| {folder.name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
