"""Train one fold: an explicit, seeded loop over numpy batches.

The honest protocol, top to bottom: the model sees only the fold's training samples. The
identity head is sized by the training subjects, class weights come from the training labels,
the epoch count and learning-rate schedule are fixed by the config, and the test subject is
predicted once, after the last epoch. Nothing computed from the test subject feeds back. The
labelled leaky protocol is a rule that watches the epochs (``training.protocols``); one
training can serve both.

Device: ``train.device`` ("auto": CUDA when present). On CPU every step runs in float32 exactly
as written; on CUDA, with ``train.amp``, forward and loss run under autocast (bf16, or fp16 with
a gradient scaler) and the kept weights come back to the CPU.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from lfd_tcmen.config.experiment import ExperimentConfig, TrainConfig
from lfd_tcmen.core.progress import progress_bar
from lfd_tcmen.data.features import FeatureSet
from lfd_tcmen.data.splits import Fold
from lfd_tcmen.evaluation.forward import CODE_KEYS, evaluate
from lfd_tcmen.models import MERModel, ModelSpec, create_model_for
from lfd_tcmen.models.device import Precision
from lfd_tcmen.training.epoch import BatchHook, FoldData, Stepper, train_epoch
from lfd_tcmen.training.protocols import protocol_rules
from lfd_tcmen.training.schedule import lr_factor


@dataclass
class FoldResult:
    """What one fold produced under one protocol.

    probs: (n_test, C) float32 class probabilities for ``test_index`` (row order kept).
    codes: "test_identity", "test_motion", "test_classifier" (n_test, D) and the "train_" ones
        (n_train, D) float32 from the kept model, when the model returns those codes.
    history: one dict per epoch (loss terms, learning rate, train accuracy; test accuracy too
        under the leaky protocol).
    epoch: the epoch whose model and predictions were kept (1-based).
    identity_leakage: the identity-leakage probe of this fold, when the run probes it.
    selection: how honest-nested chose its epoch and grid point (``training.select.select_setting``).
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
    identity_leakage: dict[str, Any] | None = None
    selection: dict[str, Any] | None = None

    @property
    def preds(self) -> np.ndarray:
        return self.probs.argmax(axis=1)


def train_fold(
    features: FeatureSet,
    fold: Fold,
    config: ExperimentConfig,
    seed: int,
    *,
    protocols: Sequence[str] | None = None,
    progress: bool = True,
    on_batch: BatchHook | None = None,
    train_codes: bool = True,
    chosen_epoch: int | None = None,
) -> dict[str, FoldResult]:
    """Train on ``fold.train``, predict ``fold.test``; one result per protocol (default: the config's).

    Nine parameters: the fold (data, split, config, seed) and five keyword-only switches that
    callers set independently. ``seed`` seeds the initialisation (per submodule name,
    ``models.init``), torch's RNG (dropout) and numpy (shuffling, augmentation), so a fold's
    result depends on (data, config, seed) only; ``protocols`` share that one training. ``on_batch`` sees the sample indices of every training batch (tests use
    it to prove test samples never enter one). ``train_codes``: also return the training
    samples' codes (for the identity-leakage probe). ``chosen_epoch``: the epoch honest-nested
    keeps, chosen beforehand on the training subjects (``training.select.select_setting``).
    """
    start = time.perf_counter()
    train = config.train
    data = FoldData.of(features, fold, train)
    precision = Precision.for_config(train)
    threads = torch.get_num_threads()
    torch.set_num_threads(train.threads)
    try:
        stepper = _stepper(data, config, precision, seed)
        # Training's randomness (dropout) starts from the fold seed, whichever modules exist.
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        rules = protocol_rules(tuple(protocols or (train.protocol,)), data, train, precision, chosen_epoch)
        histories: dict[str, list[dict[str, float]]] = {rule.protocol: [] for rule in rules}
        bar = progress_bar(
            range(train.epochs),
            desc=f"  {fold.name}",
            unit="epoch",
            leave=False,
            disable=not progress,
            position=1,
        )
        for epoch in bar:
            for group in stepper.optimizer.param_groups:
                group["lr"] = train.lr * lr_factor(train, epoch)
            row = {"epoch": epoch + 1, "lr": stepper.optimizer.param_groups[0]["lr"]}
            row.update(train_epoch(stepper, data, train, rng, on_batch))
            for rule in rules:
                histories[rule.protocol].append({**row, **rule.after_epoch(stepper.model, epoch + 1)})
            bar.set_postfix(loss=f"{row['train_loss']:.3f}", acc=f"{row['train_accuracy']:.2f}")
        bar.close()
        results = {}
        for rule in rules:  # honest first: the last epoch's weights before any earlier epoch's
            kept_epoch = rule.restore(stepper.model)
            result = _kept_result(stepper.model, data, train, precision, train_codes)
            result.fold, result.epoch, result.history = fold.name, kept_epoch, histories[rule.protocol]
            results[rule.protocol] = result
    finally:
        torch.set_num_threads(threads)
    for result in results.values():
        result.wall_s = time.perf_counter() - start
    return results


def _stepper(data: FoldData, config: ExperimentConfig, precision: Precision, seed: int) -> Stepper:
    """The fold's model (identity head sized by its TRAINING subjects; each submodule initialised
    from (seed, its name)) and Adam optimiser."""
    model = create_model_for(
        data.features, config.model.name, config.model.params, len(data.train_subjects), seed=seed
    )
    model = model.to(precision.device)
    if config.train.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(
        model.parameters(), lr=config.train.lr, weight_decay=config.train.weight_decay
    )
    return Stepper(model, optimizer, precision, precision.scaler())


def _kept_result(
    model: MERModel, data: FoldData, train: TrainConfig, precision: Precision, train_codes: bool
) -> FoldResult:
    """The kept model's test probabilities and codes (training codes too when asked and the
    model has codes), and a copy of its weights (on the CPU, contiguous). Epoch and history
    are the caller's to fill."""
    if len(data.test_index):
        test_out = evaluate(
            model, data.features, data.test_index, train.eval_batch_size, precision, train.tta_hflip
        )
    else:  # data.split "all": nothing is tested
        test_out = {"probs": np.zeros((0, data.features.num_classes), dtype=np.float32)}
    codes = {f"test_{k.split('_')[0]}": v for k, v in test_out.items() if k in CODE_KEYS}
    if train_codes and (codes or not len(data.test_index)):
        train_out = evaluate(model, data.features, data.train_index, train.eval_batch_size, precision)
        codes.update({f"train_{k.split('_')[0]}": v for k, v in train_out.items() if k in CODE_KEYS})
    state = {
        k: v.detach().to("cpu", memory_format=torch.contiguous_format, copy=True)
        for k, v in model.state_dict().items()
    }
    return FoldResult(
        fold="",
        test_index=data.test_index,
        train_index=data.train_index,
        train_subjects=data.train_subjects,
        probs=test_out["probs"],
        epoch=0,
        history=[],
        state_dict=state,
        spec=model.spec,
        codes=codes,
    )
