"""The deploy gap: a model trained on the MEGC2019 composite, fed clips our pipeline prepared.

    .venv/bin/python benchmarks/deploy_gap.py > results/deploy_gap.txt   # ~10 min on 1 core (40 s once trained)

A user trains on the composite (``train --config configs/megc2019_composite.yaml``) and then
predicts clips that ``prepare`` (or ``prepare-video``) rendered. The composite's CASME II samples
exist in both forms, so the same fold models can be scored on the same clips either way:

1. ``train`` (resumable) the composite's 24 CASME II folds only, seed 0, into
   work/deploy_gap/composite. A fold's seed derives from the run seed and the fold's name alone
   (``runs.folds.fold_seed``), so these folds are the full 68-fold run's; the script checks their
   predictions against the committed full run (results/megc2019/runs/lfd_tcmen__honest/seed0).
2. ``prepare`` CASME II 3-class from casme2_cropped and the official sheet three times: the
   default ``render: aligned`` (dlib alignment, what a video got before ``framed``) into
   work/deploy_gap/aligned, ``render: composite`` (the Cropped frame squeezed, as the
   composite's images were made) into work/deploy_gap/composite_render, and ``render: framed``
   with the onset->apex flow only (what ``predict`` now gives a composite model, a video's
   included) into work/deploy_gap/framed_render.
3. Each sample in the composite and in every store is predicted by its own fold's model (trained
   without its subject) from (i) the composite's images (the fold's predictions.csv; recomputed
   here as a check), (ii) the aligned store, (iii) the composite-render store and (v) the framed
   store, through ``inference.cross_dataset.store_features``: the inputs ``predict`` gives. Two mixtures say which
   input carries the gap (ii-face: only the apex face aligned; ii-flow: only the flow), and row
   iv is the leave-subject-out prototype of row v (``framed_inputs``: the onset's landmarks
   mapped onto where the OTHER subjects' lie in the composite's framing; row v's shipped
   template, ``face.FRAMING_TEMPLATE``, saw every subject's onset landmarks, so v is slightly
   optimistic and iv is the honest figure). All rows are scored against the composite's label
   on the same samples; each gap to (i) carries a paired subject-cluster
   bootstrap 95% interval (``stats.paired_bootstrap``, 10,000 resamples of the 24 subjects).
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.data.composite import GT_FILE, load_composite, read_composite_index
from lfd_tcmen.data.datasets import load_samples
from lfd_tcmen.data.features import FeatureSet
from lfd_tcmen.data.loaders.common import deferred_frame_errors
from lfd_tcmen.data.subjects import qualified_subject
from lfd_tcmen.evaluation.forward import evaluate
from lfd_tcmen.evaluation.metrics import summarize
from lfd_tcmen.evaluation.stats import RunPredictions, paired_bootstrap
from lfd_tcmen.inference.cross_dataset import store_features
from lfd_tcmen.models.checkpoint import load_checkpoint
from lfd_tcmen.preprocess import face
from lfd_tcmen.preprocess.config import PreprocessConfig
from lfd_tcmen.preprocess.inputs import model_inputs
from lfd_tcmen.preprocess.io import read_frames
from lfd_tcmen.preprocess.load import load_feature_set
from lfd_tcmen.preprocess.pipeline import FACE_FRAMES, features_from_aligned
from lfd_tcmen.runs.folds import fold_dirname

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "megc2019_composite.yaml"
FULL_RUN = ROOT / "results" / "megc2019" / "runs" / "lfd_tcmen__honest" / "seed0" / "predictions.csv"
SHEET = "annotations/casme2/CASME2-coding-20190701.xlsx"
# name -> the prepare config; framed_render is what ``predict`` gives a composite model
# (``inference.predict.pipeline_config``): render framed, the onset->apex flow only
STORES = {
    "aligned": None,
    "composite_render": "preprocess:\n  render: composite\n",
    "framed_render": "preprocess:\n  render: framed\n  segments: [onset:apex]\n",
}
ROWS = (
    ("i", "composite", "the composite's own images (flow_uvos_28, apex_face_224)"),
    ("ii", "aligned", "our store, render: aligned (the default; what a video got before framed)"),
    ("ii-face", "aligned_face", "only the face aligned: (ii)'s apex face, (iii)'s flow"),
    ("ii-flow", "aligned_flow", "only the flow aligned: (iii)'s apex face, (ii)'s flow"),
    ("iii", "composite_render", "our store, render: composite (Cropped frame squeezed)"),
    ("iv", "framed", "aligned onto the composite's framing, leave-subject-out (prototype of v)"),
    ("v", "framed_render", "our store, render: framed (shipped; what predict gives a composite model)"),
)
FRAME = 128  # the side the framing prototype (row iv) warps to, as the stores' faces
ONSET_APEX = PreprocessConfig(segments=("onset:apex",))
MIXED = {"aligned_face": ("aligned", "composite_render"), "aligned_flow": ("composite_render", "aligned")}


@dataclass
class Scored:
    """The matched samples and each input's class probabilities for them.

    samples, subjects: (N,) names ("casme2/sub01/EP02_01f", "casme2/sub01"); labels: (N,) the
    composite's label; probs: input name -> (N, C) float32, the sample's own fold model.
    """

    samples: list[str]
    subjects: list[str]
    labels: np.ndarray
    probs: dict[str, np.ndarray]
    notes: list[str]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=None, help="default: $LFD_TCMEN_DATA or ../shared/data")
    p.add_argument("--work", type=Path, default=ROOT / "work" / "deploy_gap", help="runs and stores")
    return p.parse_args()


def data_root(arg: Path | None) -> Path:
    if arg is not None:
        return arg
    env = os.environ.get("LFD_TCMEN_DATA")
    return Path(env) if env else ROOT.parent / "shared" / "data"


def cli(*args: object) -> None:
    """``lfd-tcmen ARGS``, its output on stderr (stdout is the table)."""
    subprocess.run([sys.executable, "-m", "lfd_tcmen", *map(str, args)], check=True, stdout=sys.stderr)


def casme2_folds(composite: Path) -> list[str]:
    """The composite's LOSO folds whose test subject is a CASME II subject ("casme2/sub01", ...)."""
    entries = read_composite_index(composite / GT_FILE)
    return sorted({qualified_subject(e.dataset, e.subject) for e in entries if e.dataset == "casme2"})


def train_and_prepare(data: Path, work: Path, folds: list[str]) -> None:
    """The CASME II folds of the composite run and the stores; each resumes what is done."""
    run = ["--config", CONFIG, "--folds", ",".join(folds), "--out", work / "composite"]
    cli("train", *run, "--resume", "--workers", 1, "--no-progress")
    dataset = ["--dataset", "casme2", "--root", data / "casme2_cropped", "--annotations", data / SHEET]
    for name, settings in STORES.items():
        config = []
        if settings:
            (work / f"{name}.yaml").write_text(settings)
            config = ["--config", work / f"{name}.yaml"]
        cli(
            "prepare", *dataset, "--labels", "casme2-3class", "--out", work / name, *config, "--no-progress"
        )


def read_rows(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="") as fh:
        return {r["sample"]: r for r in csv.DictReader(fh)}


def framed_inputs(data: Path, ids: list[str]) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], str]:
    """Row iv, a prototype of an alignment a video could get: the onset's 68 landmarks (dlib)
    mapped by a least-squares affine onto their mean place in the other subjects' Cropped frames
    squeezed to 128 x 128 (the composite's framing; the test subject's own frames never count),
    both frames warped with it, then the shipped flow. sample -> (apex face (64, 64), flow
    (3, 28, 28)) as ``model_inputs`` gives them; and a note on how far these leave-subject-out
    templates lie from the shipped one (``face.FRAMING_TEMPLATE``, row v's)."""
    with deferred_frame_errors():  # absent clips are not in ``ids``
        samples = {s.sample_id: s for s in load_samples("casme2", data / SHEET, data / "casme2_cropped")}
    frames, squeezed = {}, {}
    for sample_id in ids:
        sample = samples[sample_id]
        onset, apex = read_frames([sample.frames[sample.frame_index(n)] for n in (sample.onset, sample.apex)])
        box = face.detect_face(onset)
        if box is None:
            raise LFDError("no face found on the onset frame", path=sample.frames[0])
        landmarks = face.face_landmarks(onset, box).astype(np.float64)
        frames[sample_id] = (onset, apex, landmarks)
        squeezed[sample_id] = landmarks * (FRAME / onset.shape[1], FRAME / onset.shape[0])
    out, shifts = {}, {}
    for sample_id, (onset, apex, landmarks) in frames.items():
        subject = sample_id.rsplit("/", 1)[0]
        template = np.mean([p for s, p in squeezed.items() if not s.startswith(subject + "/")], axis=0)
        shifts[subject] = np.linalg.norm(template - face.FRAMING_TEMPLATE * FRAME, axis=1).mean()
        source = np.hstack([landmarks, np.ones((len(landmarks), 1))])
        affine = np.linalg.lstsq(source, template, rcond=None)[0].T  # (2, 3)
        warped = np.stack(
            [
                cv2.warpAffine(
                    f, affine, (FRAME, FRAME), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
                )
                for f in (onset, apex)
            ]
        )
        clip = features_from_aligned(warped, 1, ONSET_APEX)
        faces, flows = model_inputs(clip, 64, 28, "minmax")
        out[sample_id] = (faces[FACE_FRAMES.index("apex")], flows[0])
    note = (
        f"row iv's {len(shifts)} leave-subject-out templates against row v's shipped one: their points lie "
        f"{np.mean(list(shifts.values())):.2f} px apart on average at {FRAME} x {FRAME} (at most "
        f"{max(shifts.values()):.2f} px): the prototype and the shipped `prepare` path differ by the template alone"
    )
    return out, note


@dataclass
class Sources:
    """What every fold reads: the composite, the samples in it and every store (``matched``),
    the full run's rows by sample, the stores loaded per store (``caches``), row iv's inputs."""

    composite: FeatureSet
    matched: set[str]
    full: dict[str, dict[str, str]]
    caches: dict[str, dict]
    framed: dict[str, tuple[np.ndarray, np.ndarray]]


@dataclass
class FoldScores:
    """One fold's matched samples: ids (n,), the composite's labels (n,), probs: input -> (n, C);
    the largest difference of (i) recomputed from its predictions.csv; (identical, compared) rows
    against the full run; samples the store labels differently."""

    ids: list[str]
    labels: list[int]
    probs: dict[str, np.ndarray]
    recomputed_diff: float
    same_as_full: tuple[int, int]
    label_differs: list[str]


def score_fold(fold: str, work: Path, src: Sources) -> FoldScores:
    """The fold's test samples in ``matched`` through its own model, from each input."""
    fold_dir = work / "composite" / "folds" / fold_dirname(fold)
    ckpt = load_checkpoint(fold_dir / "model.pt")
    if ckpt.extra.get("fold") != fold or fold in ckpt.extra.get("train_subjects", [fold]):
        raise LFDError(f"not the model of fold {fold} trained without its subject", path=fold_dir)
    rows = read_rows(fold_dir / "predictions.csv")
    ids = sorted(s for s in rows if s in src.matched)
    p_cols = [f"p_{c}" for c in ckpt.class_names]
    own = np.array([[float(rows[s][c]) for c in p_cols] for s in ids], dtype=np.float32)
    index = np.array([src.composite.sample_ids.index(s) for s in ids])
    again = evaluate(ckpt.model, src.composite, index, batch_size=128)["probs"]
    compared = [s for s in rows if s in src.full]  # the whole fold, matched or not
    same = sum(all(src.full[s][k] == rows[s][k] for k in ("label", "pred", *p_cols)) for s in compared)
    inputs, differs = {}, []
    for name in STORES:  # each store's matched samples of the fold, in ids' order
        features = store_features(work / name, ckpt, fold_dir / "model.pt", src.caches[name])
        inputs[name] = features.subset([features.sample_ids.index(s) for s in ids])
        differs += [s for s, k in zip(ids, inputs[name].labels) if int(k) != int(rows[s]["label"])]
    for name, (face_from, flow_from) in MIXED.items():
        inputs[name] = replace(inputs[face_from], flows=inputs[flow_from].flows)
    faces, flows = (np.stack([src.framed[s][k] for s in ids])[:, None] for k in (0, 1))
    assert (
        faces.shape[1:] == inputs["aligned"].faces.shape[1:]
        and flows.shape[1:] == inputs["aligned"].flows.shape[1:]
    )
    inputs["framed"] = replace(inputs["aligned"], faces=faces, flows=flows)
    probs = {"composite": own}
    for name, features in inputs.items():
        probs[name] = evaluate(ckpt.model, features, np.arange(len(ids)), batch_size=128)["probs"]
    return FoldScores(
        ids=ids,
        labels=[int(rows[s]["label"]) for s in ids],
        probs=probs,
        recomputed_diff=float(np.abs(again - own).max()) if ids else 0.0,
        same_as_full=(same, len(compared)),
        label_differs=sorted(set(differs)),
    )


def score_folds(data: Path, work: Path, folds: list[str]) -> Scored:
    """Every sample in the composite and every store through its own fold's model, each input."""
    composite = load_composite(data / "megc2019_composite")
    stores = [set(load_feature_set(work / name, 64, 28, "minmax").sample_ids) for name in STORES]
    matched = set(composite.sample_ids).intersection(*stores)
    src = Sources(
        composite=composite,
        matched=matched,
        full=read_rows(FULL_RUN) if FULL_RUN.is_file() else {},
        caches={name: {} for name in STORES},
        framed={},
    )
    src.framed, framed_note = framed_inputs(data, sorted(matched))
    done = [score_fold(fold, work, src) for fold in folds]
    same, compared = (sum(f.same_as_full[i] for f in done) for i in (0, 1))
    notes = [
        "(i) recomputed from the composite's images with each fold's model.pt: largest probability "
        f"difference from the fold's predictions.csv {max(f.recomputed_diff for f in done):.1e}"
    ]
    if compared:
        notes.append(
            f"these {len(folds)} folds against the committed full 68-fold run ({FULL_RUN.relative_to(ROOT)}): "
            f"{same} of {compared} rows identical (label, prediction, probabilities to 6 decimals)"
        )
    notes.append(framed_note)
    differs = [s for f in done for s in f.label_differs]
    if differs:
        notes.append(
            f"labelled otherwise by the store than by the composite (the composite's label used): {', '.join(differs)}"
        )
    left = sorted(s for s in composite.sample_ids if s.startswith("casme2/") and s not in matched)
    notes.append(f"composite CASME II samples not in every store ({len(left)}): {', '.join(left)}")
    return Scored(
        samples=[s for f in done for s in f.ids],
        subjects=[fold for fold, f in zip(folds, done) for _ in f.ids],
        labels=np.array([y for f in done for y in f.labels]),
        probs={name: np.concatenate([f.probs[name] for f in done]) for _, name, _ in ROWS},
        notes=notes,
    )


def run_predictions(scored: Scored, name: str) -> RunPredictions:
    preds = scored.probs[name].argmax(axis=1)
    rows = [
        {"dataset": "casme2", "subject": subj.split("/", 1)[1], "sample": s, "label": int(y), "pred": int(p)}
        for s, subj, y, p in zip(scored.samples, scored.subjects, scored.labels, preds)
    ]
    return RunPredictions.from_rows([rows])


def gap_cells(scored: Scored, first: str, second: str) -> str:
    """ "ΔUF1 [95% CI] | p | ΔUAR [95% CI] | p" of ``first`` - ``second``, paired subject bootstrap."""
    result = paired_bootstrap(
        run_predictions(scored, first), run_predictions(scored, second), resamples=10_000, seed=0
    )
    return " | ".join(
        f"{result[m]['delta']:+.3f} [{result[m]['ci_low']:+.3f}, {result[m]['ci_high']:+.3f}] | {result[m]['p']:.3f}"
        for m in ("uf1", "uar")
    )


def print_table(scored: Scored) -> None:
    n, k = len(scored.samples), len(set(scored.subjects))
    print(f"# The deploy gap: composite-trained fold models on {n} CASME II samples ({k} subjects)\n")
    print("Each sample is predicted by the composite LOSO fold model trained without its subject")
    print("(configs/megc2019_composite.yaml, seed 0, 30 epochs), from the composite's images and our")
    print("renderings of the same clip, scored against the composite's label. Row iv: the onset's 68 dlib")
    print("landmarks mapped by one least-squares affine onto their mean place in the other subjects'")
    print("Cropped frames squeezed to 128 x 128, onset and apex warped with it (the prototype of v, leaving")
    print("the test subject out). Row v: the shipped `render: framed` through `prepare`, as `predict` gives")
    print("it to a composite model; its template (face.FRAMING_TEMPLATE, benchmarks/framing_template.py)")
    print("averages all 26 subjects' onset landmarks, the test subject's own among them: v is slightly")
    print("optimistic, iv is the honest figure.\n")
    print("| row | input | UF1 | UAR | accuracy | same prediction as (i) |")
    print("|---|---|---:|---:|---:|---:|")
    first = scored.probs["composite"].argmax(axis=1)
    for row, name, what in ROWS:
        preds = scored.probs[name].argmax(axis=1)
        s = summarize(scored.labels, preds, num_classes=scored.probs[name].shape[1])
        agree = float(np.mean(preds == first))
        print(f"| {row} | {what} | {s['uf1']:.3f} | {s['uar']:.3f} | {s['accuracy']:.3f} | {agree:.2f} |")
    print("\nGaps, paired subject-cluster bootstrap (10,000 resamples of the subjects), 95% interval:\n")
    print("| gap | ΔUF1 [95% CI] | p | ΔUAR [95% CI] | p |")
    print("|---|---:|---:|---:|---:|")
    for row, name, _ in ROWS[1:]:
        print(f"| (i) - ({row}) | {gap_cells(scored, 'composite', name)} |")
    print(
        f"| (iv) - (v): leave-subject-out template against the shipped one | {gap_cells(scored, 'framed', 'framed_render')} |"
    )
    print()
    for note in scored.notes:
        print(f"- {note}")


def main() -> int:
    args = parse_args()
    data = data_root(args.data)
    if not (data / "megc2019_composite").is_dir() or not (data / "casme2_cropped").is_dir():
        print(f"skipped: no megc2019_composite or casme2_cropped under {data}", file=sys.stderr)
        return 0
    start = time.perf_counter()
    args.work.mkdir(parents=True, exist_ok=True)
    folds = casme2_folds(data / "megc2019_composite")
    train_and_prepare(data, args.work, folds)
    made = time.perf_counter()
    print_table(score_folds(data, args.work, folds))
    print(
        f"\n(train and prepare {made - start:.0f} s, resumed where done; scoring {time.perf_counter() - made:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
