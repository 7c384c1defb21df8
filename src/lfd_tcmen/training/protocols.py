"""The protocol rules: which epoch's model a fold keeps, and what choosing it may look at.

honest (``LastEpoch``): the epoch count is fixed in the config; the model after the last epoch
is kept and the test subject is predicted once, after training.

leaky-best-epoch (``BestTestEpoch``, the peers' practice): the test subject is predicted after
every epoch and the epoch with the most correct test predictions is kept (later epochs win
ties, as in HTNet's code). It selects on the test labels: its figures are optimistic and are
labelled as such everywhere. It only evaluates, in eval mode, without touching the training
randomness, so one training can serve both rules (the last epoch then equals an honest run).

honest-nested (``ChosenEpoch``): the epoch was chosen BEFORE this training, by cross-validation
over the fold's training subjects (``training.select``); the model at that epoch is kept. The
schedule is the config's over all its epochs, as in the inner trainings that chose the epoch.
"""

from __future__ import annotations

import copy
from typing import Any

from lfd_tcmen.config.experiment import HONEST, LEAKY, NESTED, PROTOCOLS, TrainConfig
from lfd_tcmen.evaluation.forward import evaluate
from lfd_tcmen.evaluation.metrics import uf1
from lfd_tcmen.models.base import MERModel
from lfd_tcmen.models.device import Precision
from lfd_tcmen.training.epoch import FoldData


class LastEpoch:
    """honest: keep the model as training left it, or (``average_last`` N > 0) the average of
    its weights after each of the last N epochs (stochastic weight averaging)."""

    protocol = HONEST

    def __init__(self, epochs: int, average_last: int = 0) -> None:
        self.epochs = epochs
        self.average_last = average_last
        self.sums: dict[str, Any] = {}
        self.count = 0

    def after_epoch(self, model: MERModel, epoch: int) -> dict[str, float]:
        if self.average_last and epoch > self.epochs - self.average_last:
            for key, value in model.state_dict().items():
                if value.is_floating_point():
                    self.sums[key] = self.sums.get(key, 0) + value.detach().double()
            self.count += 1
        return {}

    def restore(self, model: MERModel) -> int:
        """Load the kept weights into ``model``; the kept epoch (1-based; the last one averaged)."""
        if self.count:
            state = model.state_dict()
            model.load_state_dict(
                {
                    k: (self.sums[k] / self.count).to(v.dtype) if k in self.sums else v
                    for k, v in state.items()
                }
            )
        return self.epochs


class BestTestEpoch:
    """leaky-best-epoch: after each epoch score the test subject; snapshot the best epoch."""

    protocol = LEAKY

    def __init__(self, data: FoldData, train: TrainConfig, precision: Precision) -> None:
        self.data = data
        self.batch_size = train.eval_batch_size
        self.hflip = train.tta_hflip
        self.precision = precision
        self.correct = -1
        self.epoch = 0
        self.state: dict[str, Any] = {}

    def after_epoch(self, model: MERModel, epoch: int) -> dict[str, float]:
        test = self.data.test_index
        probs = evaluate(model, self.data.features, test, self.batch_size, self.precision, self.hflip)[
            "probs"
        ]
        labels = self.data.features.labels[test]
        correct = int((probs.argmax(1) == labels).sum())
        if correct >= self.correct:
            self.correct, self.epoch = correct, epoch
            self.state = copy.deepcopy(model.state_dict())
        return {
            "test_accuracy": correct / len(test),
            "test_uf1": uf1(labels, probs.argmax(1), self.data.features.num_classes),
        }

    def restore(self, model: MERModel) -> int:
        model.load_state_dict(self.state)
        return self.epoch


class ChosenEpoch:
    """honest-nested: snapshot the model at the epoch chosen on the training subjects."""

    protocol = NESTED

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch
        self.state: dict[str, Any] = {}

    def after_epoch(self, model: MERModel, epoch: int) -> dict[str, float]:
        if epoch == self.epoch:
            self.state = copy.deepcopy(model.state_dict())
        return {}

    def restore(self, model: MERModel) -> int:
        model.load_state_dict(self.state)
        return self.epoch


Rule = LastEpoch | BestTestEpoch | ChosenEpoch


def protocol_rules(
    protocols: tuple[str, ...], data: FoldData, train: TrainConfig, precision: Precision, chosen: int | None
) -> list[Rule]:
    """The rules for ``protocols``, honest first: its model is the last epoch's, which must be
    read before another rule loads an earlier epoch's weights. ``chosen``: honest-nested's epoch."""
    unknown = [p for p in protocols if p not in PROTOCOLS]
    if unknown or len(set(protocols)) != len(protocols) or not protocols:
        raise ValueError(f"protocols must be distinct names of {', '.join(PROTOCOLS)}; got {protocols}")
    if (NESTED in protocols) != (chosen is not None) or not 1 <= (chosen or 1) <= train.epochs:
        raise ValueError(f"honest-nested needs its chosen epoch (1..{train.epochs}), got {chosen}")
    rules: list[Rule] = []
    if HONEST in protocols:
        rules.append(LastEpoch(train.epochs, train.average_last))
    if LEAKY in protocols:
        rules.append(BestTestEpoch(data, train, precision))
    if NESTED in protocols:
        rules.append(ChosenEpoch(chosen))
    return rules
