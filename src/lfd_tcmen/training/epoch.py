"""One epoch of a fold: a seeded pass over the training samples, one optimiser step per batch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from lfd_tcmen.config.experiment import TrainConfig
from lfd_tcmen.data.features import FeatureSet
from lfd_tcmen.data.splits import Fold
from lfd_tcmen.models.base import MERModel
from lfd_tcmen.models.device import Precision
from lfd_tcmen.training.augment import augment
from lfd_tcmen.training.sampler import epoch_batches
from lfd_tcmen.training.schedule import class_weights

BatchHook = Callable[[np.ndarray], None]


@dataclass(frozen=True)
class FoldData:
    """A fold as training sees it: everything here comes from its TRAINING samples only.

    subject_of: (N,) the identity-head class of every sample of the FeatureSet (its index in
        ``train_subjects``; -1 for the test subject, whom the head does not know).
    class_weights: (C,) from the training labels, or None when ``train.class_weights`` is off.
    """

    features: FeatureSet
    train_index: np.ndarray
    test_index: np.ndarray
    train_subjects: list[str]
    subject_of: np.ndarray
    class_weights: np.ndarray | None

    @classmethod
    def of(cls, features: FeatureSet, fold: Fold, train: TrainConfig) -> FoldData:
        train_index = np.asarray(fold.train, dtype=np.int64)
        train_subjects = sorted({features.subjects[i] for i in train_index})
        ids = {s: i for i, s in enumerate(train_subjects)}
        weights = None
        if train.class_weights:
            weights = class_weights(features.labels[train_index], features.num_classes)
        return cls(
            features=features,
            train_index=train_index,
            test_index=np.asarray(fold.test, dtype=np.int64),
            train_subjects=train_subjects,
            subject_of=np.array([ids.get(s, -1) for s in features.subjects], dtype=np.int64),
            class_weights=weights,
        )


@dataclass
class Stepper:
    """The model, its optimiser and where they run; ``step`` is one optimisation step."""

    model: MERModel
    optimizer: torch.optim.Optimizer
    precision: Precision
    scaler: torch.amp.GradScaler | None = None  # fp16 autocast on CUDA only

    def step(self, batch: dict[str, Tensor]) -> tuple[Tensor, dict[str, float], dict[str, Tensor]]:
        """Forward, loss, backward and update on ``batch``; returns (loss, loss terms, outputs)."""
        with self.precision.autocast():
            out = self.model(batch["faces"], batch["flows"])
            loss, terms = self.model.loss(out, batch)
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler is None:
            loss.backward()
            self.optimizer.step()
        else:
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
        return loss, terms, out


def train_epoch(
    stepper: Stepper, data: FoldData, train: TrainConfig, rng: np.random.Generator, on_batch: BatchHook | None
) -> dict[str, float]:
    """One pass over the training samples in a seeded random order; returns mean loss terms
    ("train_loss", each term of the model's loss) and "train_accuracy"."""
    features, precision = data.features, stepper.precision
    stepper.model.train()
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}  # samples each term was computed on (not every step, drl_every)
    correct = seen = 0
    weights = None if data.class_weights is None else precision.tensor(data.class_weights)
    subjects = data.subject_of[data.train_index]
    for idx in epoch_batches(data.train_index, subjects, train, rng):
        if on_batch is not None:
            on_batch(idx)
        faces, flows = augment(features.faces[idx], features.flows[idx], train, rng, features.flow_normalised)
        partner = None
        if train.mixup > 0:
            lam = float(rng.beta(train.mixup, train.mixup))
            partner = rng.permutation(len(idx))
            flows = (lam * flows + (1.0 - lam) * flows[partner]).astype(flows.dtype)
        batch = {
            "faces": precision.tensor(faces),
            "flows": precision.tensor(flows),
            "labels": precision.tensor(features.labels[idx].astype(np.int64)),
            "subjects": precision.tensor(data.subject_of[idx]),
        }
        if weights is not None:
            batch["class_weights"] = weights
        if features.identity is not None:
            batch["teacher"] = precision.tensor(features.identity[idx])
        if partner is not None:
            batch["mix_labels"] = batch["labels"][precision.tensor(partner)]
            batch["mix_lambda"] = torch.tensor(lam)
        loss, terms, out = stepper.step(batch)
        n = len(idx)
        sums["train_loss"] = sums.get("train_loss", 0.0) + float(loss.detach()) * n
        for key, value in terms.items():
            sums[key] = sums.get(key, 0.0) + float(value) * n
            counts[key] = counts.get(key, 0) + n
        correct += int((out["logits"].detach().argmax(1) == batch["labels"]).sum())
        seen += n
    row = {k: v / counts.get(k, seen) for k, v in sums.items()}
    row["train_accuracy"] = correct / seen
    return row
