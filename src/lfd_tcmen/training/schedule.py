"""What a fold's optimisation is fixed to in advance: the learning-rate schedule and class weights."""

from __future__ import annotations

import math

import numpy as np

from lfd_tcmen.config.experiment import TrainConfig


def lr_factor(train: TrainConfig, epoch: int) -> float:
    """Learning-rate multiplier for 0-based ``epoch``: a fixed function of the config only."""
    if train.schedule == "cosine":
        floor = train.min_lr_ratio
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * epoch / train.epochs))
    if train.schedule == "step":
        return 0.1 if epoch >= train.step_epochs else 1.0
    return 1.0


def class_weights(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Inverse-frequency weights (C,) float32, mean 1 over the classes present.

    ``labels`` must be the TRAINING labels of the fold only; absent classes get weight 0.
    """
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    present = counts > 0
    weights = np.zeros(num_classes)
    weights[present] = counts[present].sum() / (present.sum() * counts[present])
    return weights.astype(np.float32)
