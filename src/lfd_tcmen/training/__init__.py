"""One fold's training: the loop, one epoch, augmentation, device and precision, the protocol rules.

results = train_fold(features, fold, config, seed)          # {"honest": FoldResult}
"""

from lfd_tcmen.training.evaluate import evaluate
from lfd_tcmen.training.fold import FoldResult, train_fold

__all__ = ["FoldResult", "evaluate", "train_fold"]
