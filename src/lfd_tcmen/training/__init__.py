"""One fold's training: the loop, one epoch, augmentation, schedule, the protocol rules.

results = train_fold(features, fold, config, seed)          # {"honest": FoldResult}
"""

from lfd_tcmen.training.fold import FoldResult, train_fold

__all__ = ["FoldResult", "train_fold"]
