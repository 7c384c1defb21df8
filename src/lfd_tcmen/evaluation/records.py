"""A finished fold as the reports read it back from its run folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class FoldRecord:
    """A finished fold as the reports read it back from its folder.

    test_index: (n,) int64 rows of the FeatureSet; probs: (n, C) float32;
    codes: "test_identity"/"test_motion" (n, D) when the model has them; info: the fold's
    history.json; model_path: its checkpoint.
    """

    name: str
    test_index: np.ndarray
    probs: np.ndarray
    codes: dict[str, np.ndarray]
    info: dict[str, Any]
    model_path: Path

    @property
    def preds(self) -> np.ndarray:
        return self.probs.argmax(axis=1)
