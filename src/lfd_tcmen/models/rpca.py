"""RPCA baseline: a fixed low-rank + sparse split of the clip, then a small CNN on the sparse part.

The approach LFD-TCMEN argues against: separate identity from motion with a fixed,
hand-chosen decomposition rather than a learned one (in the spirit of Wang et al., "Micro-
expression recognition using robust principal component analysis and local spatiotemporal
directional features", ECCV Workshops 2014). Each clip's grey faces become the columns of a
matrix D (pixels x frames); robust PCA (IALM, ``layers/rpca_ialm.py``) splits D = L + S. The
low-rank part L is what every frame shares (the person's face: identity, lighting); the sparse
part S is what changes between frames (the expression). A small CNN classifies S.

With one face per sample (the apex-only composite) there is no time axis and D would have a
single column, for which the split is degenerate. We then decompose [apex, mirrored apex]: L is
the bilaterally symmetric face, S the asymmetric residual. This is our choice, not a published
method; docs/peers.md says why.

RPCA is deterministic, gradient-free preprocessing: it runs inside ``forward`` under
``torch.no_grad`` and its per-sample result is cached by content, so each clip is decomposed
once per model.
"""

from __future__ import annotations

import hashlib
import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lfd_tcmen.models.base import MERModel, parse_params
from lfd_tcmen.models.layers import ConvEncoder
from lfd_tcmen.models.layers.rpca_ialm import rpca_ialm
from lfd_tcmen.models.registry import register_model
from lfd_tcmen.models.spec import ModelSpec


@dataclass(frozen=True)
class RPCAParams:
    lambda_scale: float = 2.0  # lam = lambda_scale / sqrt(pixels); 1.0 is Candes et al.'s default
    tol: float = 1e-6  # IALM relative residual
    max_iter: int = 500
    width: int = 16  # channels of the first CNN stage (doubles per stage)
    code_dim: int = 64  # motion code width (the CNN's output)
    identity_pool: int = 8  # identity code = low-rank apex, average-pooled to pool x pool
    dropout: float = 0.3
    use_flow: bool = False  # also feed the onset->apex flow (u, v, strain) to the CNN
    cache_size: int = 4096  # decomposed samples kept per model (0: no cache)

    def __post_init__(self) -> None:
        if self.lambda_scale <= 0 or self.tol <= 0 or self.max_iter < 1:
            raise ValueError("lambda_scale and tol must be > 0, max_iter >= 1")
        if min(self.width, self.code_dim, self.identity_pool) < 1 or self.cache_size < 0:
            raise ValueError("width, code_dim, identity_pool must be >= 1 and cache_size >= 0")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")


@register_model("rpca")
class RPCABaseline(MERModel):
    """faces (B, F, S, S), flows (B, K, 3, R, R) -> logits (B, C), identity_code (B, pool**2)
    (the low-rank apex, pooled), motion_code (B, code_dim) (the CNN's code of the sparse part)."""

    # Ours (no published network to copy): Adam at a common small-CNN rate.
    default_train: ClassVar[dict[str, Any]] = {
        "epochs": 100,
        "lr": 1e-3,
        "batch_size": 32,
        "optimizer": "adam",
    }

    def __init__(self, spec: ModelSpec, **params: Any) -> None:
        super().__init__(spec)
        p = self.params = parse_params(RPCAParams, params, "rpca")
        frames = spec.face_frames
        self.apex_index = frames.index("apex") if "apex" in frames else len(frames) // 2
        self.mirror = len(frames) == 1
        columns = 2 if self.mirror else len(frames)
        in_channels = columns + (3 if p.use_flow else 0)
        self.input_norm = nn.BatchNorm2d(in_channels)  # sparse values are small; standardise them
        self.encoder = ConvEncoder(in_channels, (p.width, 2 * p.width, 4 * p.width), p.code_dim, pool=4)
        self.classifier = nn.Sequential(
            nn.ReLU(), nn.Dropout(p.dropout), nn.Linear(p.code_dim, spec.num_classes)
        )
        self._cache: OrderedDict[bytes, tuple[Tensor, Tensor]] = OrderedDict()

    def decompose(self, faces: Tensor) -> tuple[Tensor, Tensor]:
        """faces (B, F, S, S) -> (low_rank, sparse), each (B, max(F, 2), S, S) float32 on the CPU.

        Served from the cache where this model has seen the sample before.
        """
        if not self.params.cache_size:
            return self._solve(faces)
        keys = [self._key(x) for x in faces]
        todo = [i for i, k in enumerate(keys) if k not in self._cache]
        if todo:
            low, sparse = self._solve(faces[todo])
            for j, i in enumerate(todo):
                self._cache[keys[i]] = (low[j], sparse[j])
        pairs = [self._cache[k] for k in keys]
        while len(self._cache) > self.params.cache_size:
            self._cache.popitem(last=False)
        return torch.stack([p[0] for p in pairs]), torch.stack([p[1] for p in pairs])

    def _solve(self, faces: Tensor) -> tuple[Tensor, Tensor]:
        """Column j of a clip's matrix D (S*S, columns) is frame j; in the apex-only case column 1
        is the mirrored apex, mirrored back after the split so both channels are in image
        orientation."""
        b, _, s, _ = faces.shape
        frames = faces.detach().to("cpu", torch.float64)
        if self.mirror:
            frames = torch.cat([frames, frames.flip(-1)], dim=1)
        d = frames.reshape(b, frames.shape[1], s * s).transpose(1, 2)
        lam = self.params.lambda_scale / math.sqrt(s * s)
        res = rpca_ialm(d, lam=lam, tol=self.params.tol, max_iter=self.params.max_iter)
        low = res.low_rank.transpose(1, 2).reshape(b, -1, s, s).float()
        sparse = res.sparse.transpose(1, 2).reshape(b, -1, s, s).float()
        if self.mirror:
            low[:, 1], sparse[:, 1] = low[:, 1].flip(-1), sparse[:, 1].flip(-1)
        return low, sparse

    def forward(self, faces: Tensor, flows: Tensor) -> dict[str, Tensor]:
        with torch.no_grad():
            low_rank, sparse = self.decompose(faces)
        low_rank, sparse = low_rank.to(faces.device), sparse.to(faces.device)
        x = sparse
        if self.params.use_flow:
            flow = flows[:, 0]
            if flow.shape[-1] != sparse.shape[-1]:
                flow = F.interpolate(flow, size=sparse.shape[-2:], mode="bilinear", align_corners=False)
            x = torch.cat([x, flow], dim=1)
        motion_code = self.encoder(self.input_norm(x))
        apex_low = low_rank[:, self.apex_index : self.apex_index + 1]
        identity_code = torch.flatten(F.adaptive_avg_pool2d(apex_low, self.params.identity_pool), 1)
        return {
            "logits": self.classifier(motion_code),
            "identity_code": identity_code,
            "motion_code": motion_code,
            "classifier_input": motion_code,
        }

    @staticmethod
    def _key(face_stack: Tensor) -> bytes:
        data = face_stack.detach().to("cpu", torch.float32).contiguous().numpy().tobytes()
        return hashlib.blake2b(data, digest_size=16).digest() + str(tuple(face_stack.shape)).encode()
