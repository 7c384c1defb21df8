"""TensorBoard event files of a run (``train.tensorboard: true``): each fold's per-epoch history.

    RUN/tensorboard/<fold>/events.out.tfevents.*     one scalar series per logged quantity

Written from the fold folders' histories when the reports are, so they are the same numbers as
history.json / history.csv, for a resumed or parallel run too. TensorBoard is an optional
dependency: ``require_tensorboard`` refuses a config that asks for it where it is missing, before
any training, in one line.
"""

from __future__ import annotations

import importlib
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from lfd_tcmen.core.errors import LFDError

EVENTS_DIR = "tensorboard"


def require_tensorboard() -> ModuleType:
    """``torch.utils.tensorboard``, or an ``LFDError`` saying how to get it."""
    try:
        # optional dependency, imported only when a config asks for TensorBoard files
        return importlib.import_module("torch.utils.tensorboard")
    except ImportError as err:
        raise LFDError(
            f"train.tensorboard is true but TensorBoard is not installed ({err}); "
            "pip install tensorboard, or set train.tensorboard: false"
        ) from None


def write_events(run_dir: Path, histories: Sequence[tuple[str, Sequence[Mapping[str, Any]]]]) -> Path:
    """Rewrite ``run_dir/tensorboard/<fold>/`` from ``(fold name, history rows)`` pairs; every
    numeric key of a row but ``epoch`` becomes a scalar at step ``epoch``. Returns the folder."""
    writer_class = require_tensorboard().SummaryWriter
    root = run_dir / EVENTS_DIR
    if root.exists():
        shutil.rmtree(root)  # rebuilt from the folds, as every report is
    for fold, history in histories:
        writer = writer_class(log_dir=str(root / fold.replace("/", "__")))
        try:
            for row in history:
                step = int(row.get("epoch", 0))
                for key, value in row.items():
                    if key != "epoch" and isinstance(value, int | float) and not isinstance(value, bool):
                        writer.add_scalar(key, float(value), step)
        finally:
            writer.close()
    return root
