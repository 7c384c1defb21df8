"""Where a fold trains and in what precision: ``train.device`` and ``train.amp``.

CPU: float32, no autocast, tensors used as numpy gives them (the CPU path is the plain loop).
CUDA: the model and each batch move to the GPU; with ``amp``, forward and loss run under
autocast to bf16 (fp16 plus a GradScaler on GPUs without bf16).
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from lfd_tcmen.config.experiment import TrainConfig
from lfd_tcmen.core.errors import LFDError


def resolve_device(name: str) -> torch.device:
    """``train.device`` -> torch.device: "auto" is CUDA when present, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise LFDError(f"train.device is {name!r} but no CUDA device is available (use auto or cpu)")
    return device


@dataclass(frozen=True)
class Precision:
    """Where and in what precision a fold's passes run.

    CPU: float32, no autocast, tensors used as they come from numpy. CUDA with ``amp``: autocast
    to ``dtype`` (bf16 where the GPU supports it, else fp16, which also needs a GradScaler).
    """

    device: torch.device
    dtype: torch.dtype | None = None  # autocast dtype; None: float32

    @classmethod
    def for_config(cls, train: TrainConfig) -> Precision:
        device = resolve_device(train.device)
        if device.type != "cuda" or not train.amp:
            return cls(device)
        return cls(device, torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16)

    @classmethod
    def of_model(cls, model: torch.nn.Module) -> Precision:
        """float32 on whatever device the model's weights are on."""
        first = next(model.parameters(), None)
        return cls(first.device if first is not None else torch.device("cpu"))

    def autocast(self) -> AbstractContextManager[Any]:
        return nullcontext() if self.dtype is None else torch.autocast(self.device.type, dtype=self.dtype)

    def scaler(self) -> torch.amp.GradScaler | None:
        """A gradient scaler for fp16 autocast (bf16 and float32 need none)."""
        return torch.amp.GradScaler(self.device.type) if self.dtype == torch.float16 else None

    def tensor(self, array: np.ndarray) -> torch.Tensor:
        t = torch.from_numpy(array)
        return t if self.device.type == "cpu" else t.to(self.device, non_blocking=True)
