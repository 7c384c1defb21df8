"""Gradient reversal (Ganin & Lempitsky 2015): identity forward, gradient times -scale backward."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn


class _Reverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Tensor, scale: float) -> Tensor:
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        return -ctx.scale * grad, None


class GradientReversal(nn.Module):
    """``x -> x``; in the backward pass the gradient is multiplied by ``-scale``.

    Put between an encoder and an adversary head: minimising the adversary's loss then trains the
    head to succeed and the encoder to make it fail.
    """

    def __init__(self, scale: float = 1.0) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, x: Tensor) -> Tensor:
        return _Reverse.apply(x, self.scale)

    def extra_repr(self) -> str:
        return f"scale={self.scale}"
