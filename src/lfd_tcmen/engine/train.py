"""Train one fold: an explicit, seeded loop over numpy batches.

Honest protocol (the default): the model sees only the fold's training samples. The identity
head is sized by the training subjects, class weights come from the training labels, the
epoch count and learning-rate schedule are fixed by the config, and the test subject is
predicted once, after the last epoch. Nothing computed from the test subject feeds back.

Leaky protocol ("leaky-best-epoch", the peers' practice): the same training, but the test
subject is predicted after every epoch and the epoch with the most correct test predictions is
kept. It is a model selection on the test labels; results are labelled as such everywhere.

Device: ``train.device`` ("auto": CUDA when present). On CPU every step runs in float32 exactly
as written; on CUDA, with ``train.amp``, forward and loss run under autocast (bf16, or fp16 with
a gradient scaler) and the kept weights come back to the CPU.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from lfd_tcmen.config import ExperimentConfig, TrainConfig
from lfd_tcmen.data.features import FeatureSet
from lfd_tcmen.data.splits import Fold
from lfd_tcmen.engine.device import Precision
from lfd_tcmen.models.base import MERModel
from lfd_tcmen.models.registry import ModelSpec, create_model

CODE_KEYS = ("identity_code", "motion_code")


@dataclass
class FoldResult:
    """What one fold produced.

    probs: (n_test, C) float32 class probabilities for ``test_index`` (row order kept).
    codes: "test_identity", "test_motion" (n_test, D) and "train_identity", "train_motion"
        (n_train, D) float32 from the kept model, when the model returns those codes.
    history: one dict per epoch (loss terms, learning rate, train accuracy; test accuracy and
        UF1 too under the leaky protocol).
    epoch: the epoch whose model and predictions were kept (1-based).
    last: leaky runs asked for it (``train_fold(keep_last=True)``): the same training's
        last-epoch result, i.e. exactly what the honest protocol gives for this fold and seed.
    """

    fold: str
    test_index: np.ndarray
    train_index: np.ndarray
    train_subjects: list[str]
    probs: np.ndarray
    epoch: int
    history: list[dict[str, float]]
    state_dict: dict[str, torch.Tensor]
    spec: ModelSpec
    codes: dict[str, np.ndarray] = field(default_factory=dict)
    wall_s: float = 0.0
    last: FoldResult | None = None

    @property
    def preds(self) -> np.ndarray:
        return self.probs.argmax(axis=1)


BatchHook = Callable[[np.ndarray], None]


def class_weights(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Inverse-frequency weights (C,) float32, mean 1 over the classes present.

    ``labels`` must be the TRAINING labels of the fold only; absent classes get weight 0.
    """
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    present = counts > 0
    weights = np.zeros(num_classes)
    weights[present] = counts[present].sum() / (present.sum() * counts[present])
    return weights.astype(np.float32)


def lr_factor(train: TrainConfig, epoch: int) -> float:
    """Learning-rate multiplier for 0-based ``epoch``: a fixed function of the config only."""
    if train.schedule == "cosine":
        floor = train.min_lr_ratio
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * epoch / train.epochs))
    if train.schedule == "step":
        return 0.1 if epoch >= train.step_epochs else 1.0
    return 1.0


def augment(
    faces: np.ndarray, flows: np.ndarray, train: TrainConfig, rng: np.random.Generator, flow_normalised: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Random mirror and shift of a batch, faces and flows alike (returns new arrays).

    faces: (B, F, S, S); flows: (B, K, 3, R, R) with channels (u, v, strain). Mirroring
    negates u (1 - u when flows are min-max normalised to [0, 1]); strain and v are unchanged.
    """
    faces = faces.copy()
    flows = flows.copy()
    if train.hflip:
        flip = rng.random(len(faces)) < 0.5
        if flip.any():
            faces[flip] = faces[flip][..., ::-1]
            mirrored = flows[flip][..., ::-1].copy()
            mirrored[:, :, 0] = 1.0 - mirrored[:, :, 0] if flow_normalised else -mirrored[:, :, 0]
            flows[flip] = mirrored
    if train.shift > 0:
        size = faces.shape[-1]
        shifts = rng.integers(-train.shift, train.shift + 1, size=(len(faces), 2))
        for i, (dy, dx) in enumerate(shifts):
            faces[i] = _shift(faces[i], int(dy), int(dx))
            scale = flows.shape[-1] / size
            flows[i] = _shift(flows[i], round(dy * scale), round(dx * scale))
    return faces, flows


def _shift(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Translate the last two axes by (dy, dx) pixels, repeating the edge."""
    if dy == 0 and dx == 0:
        return image
    h, w = image.shape[-2:]
    pad = [(0, 0)] * (image.ndim - 2) + [(abs(dy), abs(dy)), (abs(dx), abs(dx))]
    padded = np.pad(image, pad, mode="edge")
    y0, x0 = abs(dy) - dy, abs(dx) - dx
    return padded[..., y0 : y0 + h, x0 : x0 + w]


def batches(index: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Split ``index`` into ceil(n / batch_size) near-equal batches (never a lone sample)."""
    n_batches = max(1, math.ceil(len(index) / batch_size))
    return [b for b in np.array_split(index, n_batches) if len(b)]


@torch.no_grad()
def evaluate(
    model: MERModel,
    features: FeatureSet,
    index: np.ndarray,
    batch_size: int,
    precision: Precision | None = None,
) -> dict[str, np.ndarray]:
    """Eval-mode forward over ``index``: "probs" (n, C) and any identity/motion codes (n, D).

    ``precision``: default float32 on the model's device; outputs always come back as float32
    numpy arrays.
    """
    precision = precision or Precision.of_model(model)
    was_training = model.training
    model.eval()
    chunks: dict[str, list[np.ndarray]] = {}
    try:
        for idx in batches(index, batch_size):
            with precision.autocast():
                out = model(precision.tensor(features.faces[idx]), precision.tensor(features.flows[idx]))
            probs = torch.softmax(out["logits"].float(), dim=-1)
            chunks.setdefault("probs", []).append(probs.cpu().numpy())
            for key in CODE_KEYS:
                if key in out:
                    chunks.setdefault(key, []).append(out[key].reshape(len(idx), -1).float().cpu().numpy())
    finally:
        model.train(was_training)
    return {k: np.concatenate(v).astype(np.float32) for k, v in chunks.items()}


def build_model(features: FeatureSet, train_subjects: list[str], config: ExperimentConfig) -> MERModel:
    """The fold's model: identity head sized by the fold's TRAINING subjects."""
    spec = ModelSpec.from_feature_set(features, num_subjects=len(train_subjects))
    return create_model(config.model.name, spec, **dict(config.model.params))


def train_fold(
    features: FeatureSet,
    fold: Fold,
    config: ExperimentConfig,
    seed: int,
    *,
    progress: bool = True,
    on_batch: BatchHook | None = None,
    train_codes: bool = True,
    keep_last: bool = False,
) -> FoldResult:
    """Train on ``fold.train`` and predict ``fold.test`` under ``config.train.protocol``.

    ``seed`` seeds torch (initialisation) and numpy (shuffling, augmentation), so a fold's
    result depends on (data, config, seed) only. ``on_batch`` sees the sample indices of every
    training batch (tests use it to prove test samples never enter one). ``train_codes``: also
    return the training samples' codes (for the identity-leakage probe). ``keep_last`` (leaky
    protocol only): also return the last epoch's model and predictions as ``result.last``, a
    result with the honest protocol's epoch and history; evaluating the test subject after each
    epoch changes nothing in training, so it equals an honest run's result for the same seed.
    """
    start = time.perf_counter()
    train = config.train
    leaky = train.protocol == "leaky-best-epoch"
    train_index = np.asarray(fold.train, dtype=np.int64)
    test_index = np.asarray(fold.test, dtype=np.int64)
    train_subjects = sorted({features.subjects[i] for i in train_index})
    subject_ids = {s: i for i, s in enumerate(train_subjects)}
    subject_of = np.array([subject_ids.get(s, -1) for s in features.subjects], dtype=np.int64)

    precision = Precision.for_config(train)
    threads = torch.get_num_threads()
    torch.set_num_threads(train.threads)
    try:
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        model = build_model(features, train_subjects, config).to(precision.device)
        if train.channels_last:
            model = model.to(memory_format=torch.channels_last)
        scaler = precision.scaler()
        weights = (
            class_weights(features.labels[train_index], features.num_classes) if train.class_weights else None
        )
        optimizer = torch.optim.Adam(model.parameters(), lr=train.lr, weight_decay=train.weight_decay)
        history: list[dict[str, float]] = []
        best: dict[str, Any] = {"correct": -1}
        epochs = tqdm(
            range(train.epochs),
            desc=f"  {fold.name}",
            unit="epoch",
            leave=False,
            disable=not progress,
            position=1,
        )
        for epoch in epochs:
            for group in optimizer.param_groups:
                group["lr"] = train.lr * lr_factor(train, epoch)
            row = _train_epoch(
                model,
                optimizer,
                features,
                train_index,
                subject_of,
                weights,
                train,
                rng,
                on_batch,
                precision,
                scaler,
            )
            row = {"epoch": epoch + 1, "lr": optimizer.param_groups[0]["lr"], **row}
            if leaky:
                probs = evaluate(model, features, test_index, train.eval_batch_size, precision)["probs"]
                correct = int((probs.argmax(1) == features.labels[test_index]).sum())
                row["test_accuracy"] = correct / len(test_index)
                if correct >= best["correct"]:  # later epochs win ties, as in HTNet's code
                    best = {
                        "correct": correct,
                        "epoch": epoch + 1,
                        "state": copy.deepcopy(model.state_dict()),
                    }
            history.append(row)
            epochs.set_postfix(loss=f"{row['train_loss']:.3f}", acc=f"{row['train_accuracy']:.2f}")
        epochs.close()
        last = None
        if leaky and keep_last:
            probs, codes, state = _final_outputs(
                model, features, test_index, train_index, train, train_codes, precision
            )
            last = FoldResult(
                fold=fold.name,
                test_index=test_index,
                train_index=train_index,
                train_subjects=train_subjects,
                probs=probs,
                epoch=train.epochs,
                history=[{k: v for k, v in row.items() if not k.startswith("test_")} for row in history],
                state_dict=state,
                spec=model.spec,
                codes=codes,
                wall_s=time.perf_counter() - start,
            )
        if leaky:
            model.load_state_dict(best["state"])
        kept_epoch = best["epoch"] if leaky else train.epochs
        probs, codes, state = _final_outputs(
            model, features, test_index, train_index, train, train_codes, precision
        )
    finally:
        torch.set_num_threads(threads)
    return FoldResult(
        fold=fold.name,
        test_index=test_index,
        train_index=train_index,
        train_subjects=train_subjects,
        probs=probs,
        epoch=kept_epoch,
        history=history,
        state_dict=state,
        spec=model.spec,
        codes=codes,
        wall_s=time.perf_counter() - start,
        last=last,
    )


def _final_outputs(
    model: MERModel,
    features: FeatureSet,
    test_index: np.ndarray,
    train_index: np.ndarray,
    train: TrainConfig,
    train_codes: bool,
    precision: Precision,
) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, torch.Tensor]]:
    """The kept model's test probabilities (n_test, C), codes and a copy of its weights (on the
    CPU, contiguous)."""
    test_out = evaluate(model, features, test_index, train.eval_batch_size, precision)
    codes = {f"test_{k.split('_')[0]}": v for k, v in test_out.items() if k in CODE_KEYS}
    if codes and train_codes:
        train_out = evaluate(model, features, train_index, train.eval_batch_size, precision)
        codes.update({f"train_{k.split('_')[0]}": v for k, v in train_out.items() if k in CODE_KEYS})
    state = {
        k: v.detach().to("cpu", memory_format=torch.contiguous_format, copy=True)
        for k, v in model.state_dict().items()
    }
    return test_out["probs"], codes, state


def _train_epoch(
    model: MERModel,
    optimizer: torch.optim.Optimizer,
    features: FeatureSet,
    train_index: np.ndarray,
    subject_of: np.ndarray,
    weights: np.ndarray | None,
    train: TrainConfig,
    rng: np.random.Generator,
    on_batch: BatchHook | None,
    precision: Precision | None = None,
    scaler: torch.amp.GradScaler | None = None,
) -> dict[str, float]:
    """One pass over the training samples in a seeded random order; returns mean loss terms."""
    precision = precision or Precision(torch.device("cpu"))
    model.train()
    sums: dict[str, float] = {}
    correct = seen = 0
    weight_tensor = None if weights is None else precision.tensor(weights)
    for idx in batches(rng.permutation(train_index), train.batch_size):
        if on_batch is not None:
            on_batch(idx)
        faces, flows = augment(features.faces[idx], features.flows[idx], train, rng, features.flow_normalised)
        batch = {
            "faces": precision.tensor(faces),
            "flows": precision.tensor(flows),
            "labels": precision.tensor(features.labels[idx].astype(np.int64)),
            "subjects": precision.tensor(subject_of[idx]),
        }
        if weight_tensor is not None:
            batch["class_weights"] = weight_tensor
        with precision.autocast():
            out = model(batch["faces"], batch["flows"])
            loss, terms = model.loss(out, batch)
        optimizer.zero_grad(set_to_none=True)
        if scaler is None:
            loss.backward()
            optimizer.step()
        else:  # fp16 autocast on CUDA
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        n = len(idx)
        sums["train_loss"] = sums.get("train_loss", 0.0) + float(loss.detach()) * n
        for key, value in terms.items():
            sums[key] = sums.get(key, 0.0) + float(value) * n
        correct += int((out["logits"].detach().argmax(1) == batch["labels"]).sum())
        seen += n
    row = {k: v / seen for k, v in sums.items()}
    row["train_accuracy"] = correct / seen
    return row
