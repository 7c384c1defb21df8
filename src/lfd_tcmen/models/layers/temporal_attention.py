"""Temporal complement: the other phases of a clip enhance its main onset->apex motion."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class TemporalComplementAttention(nn.Module):
    """Attend from a query over the complement segments, then gate them into the main segment.

    main: (B, D) embedding of the onset->apex flow (segment 0).
    complement: (B, K-1, D) embeddings of the other segments (onset:mid, mid:apex, apex:offset).
    query: (B, Dq) what to look for: the purified motion code when DRL is on, else ``main``.
    Returns (enhanced (B, D), weights (B, K-1) summing to 1).

    ``enhanced = main + g * context``, ``context = sum_k a_k V c_k``,
    ``a = softmax(q K^T / sqrt(D))``, ``g = sigmoid(W_g [main, context])`` (per channel): the
    complement is added on top of the main motion, never replaces it, and the gate can shut it
    off where it only adds noise (e.g. a noisy apex:offset segment).
    """

    def __init__(self, dim: int, query_dim: int) -> None:
        super().__init__()
        self.scale = 1.0 / math.sqrt(dim)
        self.to_query = nn.Linear(query_dim, dim)
        self.to_key = nn.Linear(dim, dim)
        self.to_value = nn.Linear(dim, dim)
        self.gate = nn.Linear(2 * dim, dim)
        self.norm = nn.LayerNorm(dim)

    def forward(self, main: Tensor, complement: Tensor, query: Tensor) -> tuple[Tensor, Tensor]:
        q = self.to_query(query).unsqueeze(1)  # (B, 1, D)
        scores = (q * self.to_key(complement)).sum(-1) * self.scale  # (B, K-1)
        weights = torch.softmax(scores, dim=-1)
        context = (weights.unsqueeze(-1) * self.to_value(complement)).sum(1)  # (B, D)
        g = torch.sigmoid(self.gate(torch.cat([main, context], dim=-1)))
        return self.norm(main + g * context), weights
