"""Eval-mode passes over samples: class probabilities and the model's identity/motion codes."""

from __future__ import annotations

import math

import numpy as np
import torch

from lfd_tcmen.data.features import FeatureSet, mirror
from lfd_tcmen.models.base import MERModel
from lfd_tcmen.models.device import Precision

CODE_KEYS = ("identity_code", "motion_code", "classifier_input")


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
    hflip: bool = False,
) -> dict[str, np.ndarray]:
    """Eval-mode forward over ``index``: "probs" (n, C) and the model's codes (n, D).

    ``precision``: default float32 on the model's device; outputs always come back as float32
    numpy arrays. ``hflip``: probabilities are the mean of each sample's and its mirror image's
    (test-time averaging); codes are the sample's own. The model's train/eval mode is restored.
    """
    precision = precision or Precision.of_model(model)
    was_training = model.training
    model.eval()
    chunks: dict[str, list[np.ndarray]] = {}
    try:
        for idx in batches(index, batch_size):
            faces, flows = features.faces[idx], features.flows[idx]
            with precision.autocast():
                out = model(precision.tensor(faces), precision.tensor(flows))
            probs = torch.softmax(out["logits"].float(), dim=-1)
            if hflip:
                faces, flows = mirror(faces, flows, features.flow_normalised)
                with precision.autocast():
                    logits = model(precision.tensor(faces), precision.tensor(flows))["logits"]
                probs = (probs + torch.softmax(logits.float(), dim=-1)) / 2
            chunks.setdefault("probs", []).append(probs.cpu().numpy())
            for key in CODE_KEYS:
                if key in out:
                    chunks.setdefault(key, []).append(out[key].reshape(len(idx), -1).float().cpu().numpy())
    finally:
        model.train(was_training)
    return {k: np.concatenate(v).astype(np.float32) for k, v in chunks.items()}
