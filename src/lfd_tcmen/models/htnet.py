"""HTNet: hierarchical transformer network (Wang, Zhang, Luo & Sankaranarayana, 2024).

"HTNet for micro-expression recognition", Neurocomputing 2024, arXiv 2307.14637. Input: the
onset->apex flow image, 28x28x3 (u, v, optical strain). Four 14x14 facial areas (left eye, right
eye, left lip corner, right lip corner) are cut around landmarks and tiled 2x2 back into a 28x28
image. A NesT-style hierarchy then runs on it: 7x7 patches are embedded by a 1x1 conv; at each
level the map is split into non-overlapping blocks, a transformer runs self-attention inside
each block (local), and an aggregation block (3x3 conv -> channel LayerNorm -> 3x3/2 max-pool)
merges neighbouring blocks and doubles the width, so later levels see larger facial areas.
Mean pooling and a linear layer classify.

Sizes follow the authors' released configuration (github.com/wangzhifengharrison/HTNet,
main_HTNet.py): patch 7, dim 256, heads 3, 3 hierarchies, blocks (2, 2, 10), MLP x4, no
dropout; training Adam, lr 5e-5, batch 256, 800 epochs. Sources and deviations: docs/peers.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from lfd_tcmen.models.base import MERModel, parse_params
from lfd_tcmen.models.layers.peer_inputs import PEER_FLOW_SIZE, onset_apex_flow
from lfd_tcmen.models.registry import register_model
from lfd_tcmen.models.spec import ModelSpec

# (x, y) centres of the four areas in the 28x28 aligned flow image, in the order they are tiled:
# left eye, right eye (top row); left lip corner, right lip corner (bottom row). These are the
# authors' own fallback landmark positions (used in their code when MTCNN finds no face).
HTNET_REGION_CENTRES = (
    (9.528073, 11.062551),
    (21.396168, 10.919773),
    (10.255435, 22.121233),
    (20.583706, 22.25584),
)
REGION_SIZE = 14


@dataclass(frozen=True)
class HTNetParams:
    patch_size: int = 7
    dim: int = 256  # width of the first level; doubles per level
    heads: int = 3  # heads of the first level; doubles per level
    num_hierarchies: int = 3
    block_repeats: tuple[int, ...] = (2, 2, 10)  # transformer blocks per level, finest first
    mlp_mult: int = 4
    dropout: float = 0.0
    region_centres: tuple[tuple[float, float], ...] = HTNET_REGION_CENTRES
    # The authors' script feeds the flow PNGs' raw 0-255 values; our flows are in [0, 1].
    input_scale: float = 255.0

    def __post_init__(self) -> None:
        # YAML gives lists; keep the dataclass hashable.
        object.__setattr__(self, "block_repeats", tuple(int(b) for b in self.block_repeats))
        object.__setattr__(
            self, "region_centres", tuple((float(x), float(y)) for x, y in self.region_centres)
        )
        if PEER_FLOW_SIZE % self.patch_size:
            raise ValueError(f"patch_size must divide {PEER_FLOW_SIZE}, got {self.patch_size}")
        fmap = PEER_FLOW_SIZE // self.patch_size
        if self.num_hierarchies < 1 or fmap % 2 ** (self.num_hierarchies - 1):
            raise ValueError(f"{self.num_hierarchies} hierarchies cannot split a {fmap}x{fmap} patch map")
        if len(self.block_repeats) != self.num_hierarchies or min(self.block_repeats) < 1:
            raise ValueError(
                f"block_repeats needs {self.num_hierarchies} entries >= 1, got {self.block_repeats}"
            )
        if self.dim < self.heads or self.heads < 1 or self.mlp_mult < 1:
            raise ValueError("need dim >= heads >= 1 and mlp_mult >= 1")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.input_scale <= 0:
            raise ValueError(f"input_scale must be > 0, got {self.input_scale}")
        if len(self.region_centres) != 4:
            raise ValueError(f"region_centres needs 4 (x, y) pairs, got {len(self.region_centres)}")


class Attention(nn.Module):
    """Multi-head self-attention among the N tokens of each block: (B, N, C) -> (B, N, C)."""

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.dim_head = dim // heads  # the authors' floor division: inner width may be < dim
        inner = self.dim_head * heads
        self.scale = self.dim_head**-0.5
        self.to_qkv = nn.Linear(dim, 3 * inner, bias=False)
        self.attn_drop = nn.Dropout(dropout)
        self.to_out = nn.Sequential(nn.Linear(inner, dim), nn.Dropout(dropout))

    def forward(self, x: Tensor) -> Tensor:
        b, n, _ = x.shape
        qkv = self.to_qkv(x).view(b, n, 3, self.heads, self.dim_head).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)  # (B, heads, N, d)
        attn = self.attn_drop(torch.softmax(q @ k.transpose(-2, -1) * self.scale, dim=-1))
        out = (attn @ v).transpose(1, 2).reshape(b, n, self.heads * self.dim_head)
        return self.to_out(out)


class FeedForward(nn.Sequential):
    def __init__(self, dim: int, mult: int, dropout: float) -> None:
        super().__init__(
            nn.Linear(dim, dim * mult),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(dim * mult, dim),
            nn.Dropout(dropout),
        )


class LocalTransformer(nn.Module):
    """Pre-norm transformer inside each block: tokens (B*blocks, N, C) -> same shape.

    A learned scalar position embedding per position, shared by all blocks and channels (as in
    the authors' code). The authors write the block with 1x1 convolutions on (B, C, h, w) maps;
    linear layers on tokens are the same function with the same parameters, and faster on CPU.
    """

    def __init__(self, dim: int, seq_len: int, depth: int, heads: int, mlp_mult: int, dropout: float) -> None:
        super().__init__()
        self.pos_emb = nn.Parameter(torch.empty(seq_len))
        self.reset_own_parameters()
        self.layers = nn.ModuleList(
            nn.ModuleList(
                [
                    nn.LayerNorm(dim),
                    Attention(dim, heads, dropout),
                    nn.LayerNorm(dim),
                    FeedForward(dim, mlp_mult, dropout),
                ]
            )
            for _ in range(depth)
        )

    def reset_own_parameters(self) -> None:
        """The position embedding (the one parameter this module owns): N(0, 1), as the authors'."""
        nn.init.normal_(self.pos_emb)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.pos_emb[: x.shape[1], None]
        for norm1, attn, norm2, ff in self.layers:  # type: ignore[misc]
            x = attn(norm1(x)) + x
            x = ff(norm2(x)) + x
        return x


class Aggregate(nn.Module):
    """Merge neighbouring blocks: (B, Cin, H, W) -> (B, Cout, H/2, W/2).

    3x3 conv -> LayerNorm over channels -> 3x3 max-pool with stride 2.
    """

    def __init__(self, dim_in: int, dim_out: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(dim_in, dim_out, 3, padding=1)
        self.norm = nn.LayerNorm(dim_out)
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        x = self.norm(self.conv(x).permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        return self.pool(x)


def to_block_tokens(x: Tensor, n: int) -> Tensor:
    """(B, C, n*h, n*w) -> tokens (B*n*n, h*w, C): n x n non-overlapping blocks, row-major."""
    b, c, hh, ww = x.shape
    h, w = hh // n, ww // n
    x = x.view(b, c, n, h, n, w).permute(0, 2, 4, 3, 5, 1)  # (B, n, n, h, w, C)
    return x.reshape(b * n * n, h * w, c)


def from_block_tokens(x: Tensor, n: int, h: int, w: int) -> Tensor:
    """Inverse of ``to_block_tokens``: (B*n*n, h*w, C) -> (B, C, n*h, n*w)."""
    bnn, _, c = x.shape
    x = x.view(bnn // (n * n), n, n, h, w, c).permute(0, 5, 1, 3, 2, 4)
    return x.reshape(bnn // (n * n), c, n * h, n * w)


def region_mosaic(flow: Tensor, centres: Sequence[tuple[float, float]]) -> Tensor:
    """flow (B, C, 28, 28) -> (B, C, 28, 28): four 14x14 areas around ``centres`` tiled 2x2.

    Centres are rounded down and clamped to [7, 21] so every crop lies inside the image, as in
    the authors' code; crops are taken in image orientation (rows = y, columns = x).
    """
    half = REGION_SIZE // 2
    hi = flow.shape[-1] - half
    crops = []
    for x, y in centres:
        cx, cy = min(max(int(x), half), hi), min(max(int(y), half), hi)
        crops.append(flow[..., cy - half : cy + half, cx - half : cx + half])
    return torch.cat([torch.cat(crops[:2], dim=-1), torch.cat(crops[2:], dim=-1)], dim=-2)


@register_model("htnet")
class HTNet(MERModel):
    """faces: ignored; flows: (B, K, 3, R, R) -> {"logits": (B, C), "motion_code": (B, dim * 2**(L-1))}."""

    default_train: ClassVar[dict[str, Any]] = {
        "epochs": 800,
        "lr": 5e-5,
        "batch_size": 256,
        "optimizer": "adam",
    }

    def __init__(self, spec: ModelSpec, **params: Any) -> None:
        super().__init__(spec)
        p = self.params = parse_params(HTNetParams, params, "htnet")
        fmap = PEER_FLOW_SIZE // p.patch_size
        levels = p.num_hierarchies
        seq_len = (fmap // 2 ** (levels - 1)) ** 2  # positions per block, the same at every level
        dims = [p.dim * 2**i for i in range(levels)]
        self.patch_embed = nn.Conv2d(3 * p.patch_size**2, dims[0], 1)
        self.levels = nn.ModuleList()
        for i in range(levels):
            last = i == levels - 1
            self.levels.append(
                nn.ModuleList(
                    [
                        LocalTransformer(
                            dims[i], seq_len, p.block_repeats[i], p.heads * 2**i, p.mlp_mult, p.dropout
                        ),
                        nn.Identity() if last else Aggregate(dims[i], dims[i + 1]),
                    ]
                )
            )
        self.norm = nn.LayerNorm(dims[-1])
        self.head = nn.Linear(dims[-1], spec.num_classes)

    def embed_patches(self, x: Tensor) -> Tensor:
        """(B, 3, 28, 28) -> (B, dim, 28/p, 28/p); patch pixels flattened in (p1, p2, c) order."""
        b, c, hh, ww = x.shape
        s = self.params.patch_size
        x = (
            x.view(b, c, hh // s, s, ww // s, s)
            .permute(0, 3, 5, 1, 2, 4)
            .reshape(b, s * s * c, hh // s, ww // s)
        )
        return self.patch_embed(x)

    def forward(self, faces: Tensor, flows: Tensor) -> dict[str, Tensor]:
        flow = onset_apex_flow(flows, PEER_FLOW_SIZE) * self.params.input_scale
        x = self.embed_patches(region_mosaic(flow, self.params.region_centres))
        levels = len(self.levels)
        for i, (transformer, merge) in enumerate(self.levels):  # type: ignore[misc]
            n = 2 ** (levels - 1 - i)  # blocks per side: many small areas first, one at the end
            h, w = x.shape[-2] // n, x.shape[-1] // n
            x = merge(from_block_tokens(transformer(to_block_tokens(x, n)), n, h, w))
        features = self.norm(x.permute(0, 2, 3, 1)).mean(dim=(1, 2))
        return {"logits": self.head(features), "motion_code": features, "classifier_input": features}
