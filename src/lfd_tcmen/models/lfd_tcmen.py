"""LFD-TCMEN: learnable feature disentanglement + temporal-complemented motion enhancement.

Reads top to bottom: the parameters, the DRL block (faces -> identity code, motion code,
reconstructions, cycle), the TCME block (flows + motion code -> enhanced motion feature), then
the model that joins them and owns the six-term loss. Shapes, formulas and the reasons behind
every choice the paper's abstract leaves open are in docs/design.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.data.features import DESCRIPTOR_DIM
from lfd_tcmen.models import losses
from lfd_tcmen.models.base import MERModel, parse_params
from lfd_tcmen.models.layers import (
    ConvDecoder,
    ConvEncoder,
    GatedFusion,
    GradientReversal,
    TemporalComplementAttention,
)
from lfd_tcmen.models.layers.flow_backbones import BACKBONES, flow_backbone
from lfd_tcmen.models.registry import register_model
from lfd_tcmen.models.spec import ModelSpec

LOSS_TERMS = (
    "cls",
    "orth",
    "recon",
    "consistency",
    "cycle",
    "identity",
    "adversary",
    "hsic",
    "teacher",
    "teacher_hsic",
)
TEACHER_TERMS = ("teacher", "teacher_hsic")
# The terms that need the decoder: with drl_every = k they are computed on every k-th step only.
DECODER_TERMS = ("recon", "cycle")
MOTION_SOURCES = ("faces", "flow")


@dataclass(frozen=True)
class LFDTCMENParams:
    """Hyper-parameters (the YAML ``model.params`` mapping). Defaults are sized for 2 CPU cores."""

    identity_dim: int = 32  # Di
    motion_dim: int = 32  # Dm
    flow_dim: int = 64  # Dt, width of the TCME features
    face_width: int = 16  # channels of the first face conv stage (doubles per stage)
    flow_width: int = 16  # channels of the first flow conv stage (doubles per stage)
    face_resolution: int = 32  # DRL works on faces resized to this; 0 = the given face size
    # The TCME flow encoder (models/layers/flow_backbones.py): own, off_apexnet, ststnet, resnet.
    backbone: str = "own"
    # The decoder's terms (reconstruction, cycle) on every k-th training step only, weighted k
    # times there (the same emphasis on average); the encoders and the other terms every step.
    drl_every: int = 1
    dropout: float = 0.3  # before the emotion classifier
    use_drl: bool = True  # False: no face branch at all; TCME on flows only
    use_tcme: bool = True  # False: no flow branch at all; classify the motion code
    use_temporal_complement: bool = True  # False: only the onset->apex flow segment is used
    # What the DRL motion encoder reads: "faces" ([onset, apex, apex - onset], or the apex alone),
    # or "flow" (the onset->apex flow, plus apex - onset where an onset exists): motion evidence,
    # never the appearance alone (docs/design.md, "Identity out of the motion path").
    motion_from: str = "faces"
    detach_consistency: bool = False  # True: the consistency target side is a constant
    adversary_hidden: int = 64  # width of the subject adversaries' hidden layer
    label_smoothing: float = 0.0
    w_cls: float = 1.0
    w_orth: float = 0.1
    w_recon: float = 1.0
    w_consistency: float = 0.1
    w_cycle: float = 0.1
    w_identity: float = 0.1
    w_adversary: float = 0.0  # subject adversaries (gradient reversal) on motion code and classifier input
    w_hsic: float = 0.0  # HSIC(motion code, subject) + HSIC(classifier input, subject)
    # The identity teacher (dlib's face-recognition descriptor of the reference face):
    w_teacher: float = 0.0  # the identity code, mapped linearly, points where the descriptor does
    w_teacher_hsic: float = 0.0  # HSIC(motion code, descriptor) + HSIC(classifier input, descriptor)

    def __post_init__(self) -> None:
        if self.backbone not in BACKBONES:
            raise ValueError(f"backbone must be one of {', '.join(BACKBONES)}, got {self.backbone!r}")
        if self.drl_every < 1:
            raise ValueError(f"drl_every must be >= 1, got {self.drl_every}")
        if self.motion_from not in MOTION_SOURCES:
            raise ValueError(
                f"motion_from must be one of {', '.join(MOTION_SOURCES)}, got {self.motion_from!r}"
            )
        for name in (
            "identity_dim",
            "motion_dim",
            "flow_dim",
            "face_width",
            "flow_width",
            "adversary_hidden",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.face_resolution < 0:
            raise ValueError(f"face_resolution must be >= 0, got {self.face_resolution}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}")
        for term in LOSS_TERMS:
            if self.weight(term) < 0:
                raise ValueError(f"w_{term} must be >= 0, got {self.weight(term)}")
        if not (self.use_drl or self.use_tcme):
            raise ValueError("use_drl and use_tcme are both False: nothing left to classify")

    def weight(self, term: str) -> float:
        return float(getattr(self, f"w_{term}"))


class DisentangleRepresentation(nn.Module):
    """DRL: faces -> identity code + motion code, with the decoder and heads its losses need.

    faces: (B, F, S, S) in [0, 1], F = len(face_frames). Works in two regimes:
    - with an onset frame: identity from the onset (the neutral face), motion from
      [onset, apex, apex - onset]; D(identity, 0) must redraw the onset;
    - apex only: identity and motion both from the apex (a single-image split, which TCME's
      flow consistency anchors to real motion).
    With ``motion_from="flow"`` the motion encoder reads the onset->apex flow instead (plus
    apex - onset where an onset exists), resized to the DRL's resolution: the motion code is a
    function of motion evidence in both regimes, the identity code of the reference face.
    """

    def __init__(self, spec: ModelSpec, p: LFDTCMENParams, decoder: bool, identity_head: bool) -> None:
        super().__init__()
        frames = spec.face_frames
        if "apex" not in frames:
            raise LFDError(f"lfd_tcmen needs an apex face; face_frames are {frames}")
        self.apex_index = frames.index("apex")
        self.onset_index = frames.index("onset") if "onset" in frames else None
        reference = self.apex_index if self.onset_index is None else self.onset_index
        self.reference_index = reference
        self.other_indices = tuple(i for i in range(len(frames)) if i != reference)
        self.resolution = p.face_resolution or spec.face_size
        widths = (p.face_width, 2 * p.face_width, 4 * p.face_width)
        self.motion_from = p.motion_from
        if p.motion_from == "flow":
            motion_channels = 3 if self.onset_index is None else 4
        else:
            motion_channels = 1 if self.onset_index is None else 3
        self.identity_encoder = ConvEncoder(1, widths, p.identity_dim)
        self.motion_encoder = ConvEncoder(motion_channels, widths, p.motion_dim)
        # The decoder runs twice per step (reconstruction, cycle) and dominates the cost on CPU:
        # it mirrors the encoder at half its width.
        decoder_widths = tuple(max(4, w // 2) for w in reversed(widths))
        code_dim = p.identity_dim + p.motion_dim
        self.decoder = ConvDecoder(code_dim, decoder_widths, self.resolution) if decoder else None
        self.identity_head = nn.Linear(p.identity_dim, spec.num_subjects) if identity_head else None

    def motion_input(self, onset: Tensor | None, apex: Tensor, flow: Tensor | None) -> Tensor:
        """(B, 1, r, r) faces and (B, 3, r, r) flow -> the motion encoder's input (B, C, r, r)."""
        if self.motion_from == "flow":
            assert flow is not None
            return flow if onset is None else torch.cat([flow, apex - onset], dim=1)
        if onset is None:
            return apex
        return torch.cat([onset, apex, apex - onset], dim=1)

    def decode(self, identity_code: Tensor, motion_code: Tensor) -> Tensor:
        """(B, Di), (B, Dm) -> face (B, 1, r, r)."""
        assert self.decoder is not None
        return self.decoder(torch.cat([identity_code, motion_code], dim=1))

    def forward(
        self, faces: Tensor, flows: Tensor, frame_codes: bool, reconstruct: bool, cycle: bool
    ) -> dict[str, Tensor]:
        """faces (B, F, S, S), flows (B, K, 3, R, R) -> dict of codes (and what the enabled
        losses need); the flows are read only with ``motion_from="flow"``."""
        b = faces.shape[0]
        r = self.resolution
        if faces.shape[-1] != r:
            faces = F.interpolate(faces, size=(r, r), mode="area")
        flow = None
        if self.motion_from == "flow":
            flow = flows[:, 0]
            if flow.shape[-1] != r:
                flow = F.interpolate(flow, size=(r, r), mode="bilinear", align_corners=False)
        apex = faces[:, self.apex_index : self.apex_index + 1]
        onset = None if self.onset_index is None else faces[:, self.onset_index : self.onset_index + 1]
        out: dict[str, Tensor] = {}

        if frame_codes and self.other_indices:
            # One pass over every frame: (B*F, 1, r, r) -> (B, F, Di).
            codes = self.identity_encoder(faces.reshape(-1, 1, *faces.shape[-2:])).view(b, faces.shape[1], -1)
            identity_code = codes[:, self.reference_index]
            out["frame_identity_codes"] = codes[:, list(self.other_indices)]
        else:
            identity_code = self.identity_encoder(onset if onset is not None else apex)
        motion_code = self.motion_encoder(self.motion_input(onset, apex, flow))
        out["identity_code"] = identity_code
        out["motion_code"] = motion_code

        if self.identity_head is not None:
            out["identity_logits"] = self.identity_head(identity_code)
        # Every face the losses need is drawn in ONE decoder call (small convs on CPU are
        # overhead-bound, so one (n*B)-batch is much cheaper than n B-batches).
        requests: dict[str, Tensor] = {}
        if reconstruct:
            requests["recon_apex"] = motion_code
            if onset is not None:
                # A zero motion code means "no motion": the neutral (onset) face.
                requests["recon_onset"] = torch.zeros_like(motion_code)
        if cycle:
            # Give sample i the motion of sample i+1 (a fixed derangement for B >= 2), draw it,
            # and ask the encoders to find i's identity and i+1's motion again.
            perm = torch.roll(torch.arange(b, device=faces.device), shifts=-1)
            requests["swapped"] = motion_code[perm]
        if requests:
            drawn = self.decode(identity_code.repeat(len(requests), 1), torch.cat(list(requests.values())))
            out.update(zip(requests, drawn.split(b)))
        if reconstruct:
            out["target_apex"] = apex
            if onset is not None:
                out["target_onset"] = onset
        if cycle:
            swapped = out.pop("swapped")
            swapped_motion = requests["swapped"]
            out["cycle_identity_code"] = self.identity_encoder(swapped)
            out["cycle_identity_target"] = identity_code
            if self.motion_from == "faces":  # a drawn face has no flow to re-encode motion from
                out["cycle_motion_code"] = self.motion_encoder(self.motion_input(onset, swapped, None))
                out["cycle_motion_target"] = swapped_motion
        return out


class TemporalComplementedMotionEnhancement(nn.Module):
    """TCME: flow segments (+ the purified motion code) -> one enhanced motion feature (B, Dt).

    flows: (B, K, 3, R, R); only segment 0 (onset->apex) when the temporal complement is off or
    K == 1. A shared-weight CNN embeds each segment; the complement segments are attended with
    the motion code as query and gated into segment 0; the result is fused with the motion code.
    """

    def __init__(self, spec: ModelSpec, p: LFDTCMENParams) -> None:
        super().__init__()
        self.num_segments = spec.num_segments if p.use_temporal_complement else 1
        dim = p.flow_dim
        widths = (p.flow_width, 2 * p.flow_width, 4 * p.flow_width)
        self.flow_encoder = flow_backbone(p.backbone, widths, dim)
        motion_dim = p.motion_dim if p.use_drl else None
        if self.num_segments > 1:
            self.segment_embedding = nn.Parameter(torch.empty(self.num_segments, dim))
            self.temporal = TemporalComplementAttention(dim, query_dim=motion_dim or dim)
        if motion_dim is not None:
            self.motion_projection = nn.Linear(motion_dim, dim)
            self.fusion = GatedFusion(dim)

        self.reset_own_parameters()

    def reset_own_parameters(self) -> None:
        """The segment embedding (the one parameter this module owns): N(0, 0.02^2)."""
        if self.num_segments > 1:
            nn.init.normal_(self.segment_embedding, std=0.02)

    def forward(self, flows: Tensor, motion_code: Tensor | None) -> dict[str, Tensor]:
        b, k = flows.shape[:2]
        flows = flows[:, : self.num_segments]
        k = flows.shape[1]
        tokens = self.flow_encoder(flows.reshape(b * k, *flows.shape[2:])).view(b, k, -1)  # (B, K, Dt)
        out = {"flow_embedding": tokens[:, 0]}
        projected = None if motion_code is None else self.motion_projection(motion_code)
        if k > 1:
            tokens = tokens + self.segment_embedding
            query = motion_code if motion_code is not None else tokens[:, 0]
            feature, out["temporal_weights"] = self.temporal(tokens[:, 0], tokens[:, 1:], query)
        else:
            feature = tokens[:, 0]
        if projected is not None:
            out["motion_projection"] = projected
            feature, out["fusion_gate"] = self.fusion(projected, feature)
        out["feature"] = feature
        return out


@register_model("lfd_tcmen")
class LFDTCMEN(MERModel):
    """faces (B, F, S, S), flows (B, K, 3, R, R) -> {"logits": (B, C), codes, loss inputs}.

    ``active_terms`` lists the loss terms this instance computes: a term whose weight is 0, or
    whose part is switched off, is neither computed in ``forward`` nor reported by ``loss``.
    """

    # The paper's training settings are not public: these are ours, the recipe every composite
    # and CASME II row shares (configs/megc2019_composite.yaml, benchmarks/megc2019.yaml).
    default_train: ClassVar[dict[str, Any]] = {
        "epochs": 30,
        "lr": 1e-3,
        "batch_size": 32,
        "optimizer": "adam",
    }

    def __init__(self, spec: ModelSpec, **params: Any) -> None:
        super().__init__(spec)
        p = parse_params(LFDTCMENParams, params, "lfd_tcmen")
        self.params = p
        self.active_terms = self._active_terms(spec, p)
        if not self.active_terms:
            raise LFDError("lfd_tcmen: every loss weight is 0 or switched off; nothing to train")
        active = set(self.active_terms)
        self.drl = (
            DisentangleRepresentation(
                spec, p, decoder=bool(active & {"recon", "cycle"}), identity_head="identity" in active
            )
            if p.use_drl
            else None
        )
        self.tcme = TemporalComplementedMotionEnhancement(spec, p) if p.use_tcme else None
        if p.drl_every > 1 and active & set(DECODER_TERMS):
            # Training steps taken so far: which steps draw faces. A buffer, so a fold resumed
            # from its checkpoint draws on the same steps as one that ran through.
            self.register_buffer("drl_steps", torch.zeros((), dtype=torch.int64))
        feature_dim = p.flow_dim if p.use_tcme else p.motion_dim
        self.classifier = nn.Sequential(
            nn.LayerNorm(feature_dim), nn.Dropout(p.dropout), nn.Linear(feature_dim, spec.num_classes)
        )
        if "teacher" in active:
            self.teacher_head = nn.Linear(p.identity_dim, DESCRIPTOR_DIM)
        if "adversary" in active:
            # Each reads its code through gradient reversal: trained to name the subject, it
            # teaches the encoders to hide it (Ganin & Lempitsky 2015).
            read = {"classifier_input": feature_dim}
            if p.use_drl:
                read["motion_code"] = p.motion_dim
            self.adversaries = nn.ModuleDict(
                {
                    name: nn.Sequential(
                        GradientReversal(),
                        nn.Linear(dim, p.adversary_hidden),
                        nn.GELU(),
                        nn.Linear(p.adversary_hidden, spec.num_subjects),
                    )
                    for name, dim in read.items()
                }
            )

    @staticmethod
    def _active_terms(spec: ModelSpec, p: LFDTCMENParams) -> tuple[str, ...]:
        multi_frame = len(spec.face_frames) > 1
        possible = {
            "cls": True,
            "orth": p.use_drl,
            "recon": p.use_drl,
            # identity codes of several frames to agree, or a flow embedding to agree with
            "consistency": p.use_drl and (multi_frame or p.use_tcme),
            "cycle": p.use_drl,
            "identity": p.use_drl and spec.num_subjects > 0,
            "adversary": spec.num_subjects > 0,
            "hsic": True,
            "teacher": p.use_drl,
            "teacher_hsic": True,
        }
        return tuple(t for t in LOSS_TERMS if possible[t] and p.weight(t) > 0)

    def loss_weights(self) -> dict[str, float]:
        return {t: self.params.weight(t) for t in self.active_terms}

    def forward(self, faces: Tensor, flows: Tensor) -> dict[str, Tensor]:
        """faces: (B, F, S, S) float32 [0, 1]; flows: (B, K, 3, R, R) float32.

        Returns "logits" (B, C); with DRL "identity_code" (B, Di), "motion_code" (B, Dm); with
        TCME "flow_embedding" (B, Dt) and, for K > 1, "temporal_weights" (B, K-1); plus the
        inputs of the active loss terms (reconstructions, cycle codes, identity logits, the
        subject adversaries' logits "adversary_logits_motion_code" / "_classifier_input").
        """
        self._check_inputs(faces, flows)
        active = set(self.active_terms)
        out: dict[str, Tensor] = {}
        motion_code = None
        if self.drl is not None:
            draw = self._draws_faces()
            out.update(
                self.drl(
                    faces,
                    flows,
                    frame_codes="consistency" in active,
                    reconstruct=draw and "recon" in active,
                    cycle=draw and "cycle" in active,
                )
            )
            motion_code = out["motion_code"]
        if self.tcme is not None:
            out.update(self.tcme(flows, motion_code))
            feature = out.pop("feature")
        else:
            assert motion_code is not None
            feature = motion_code
        out["classifier_input"] = feature
        out["logits"] = self.classifier(feature)
        if "teacher" in active:
            out["teacher_prediction"] = self.teacher_head(out["identity_code"])
        if "adversary" in active:
            for name, head in self.adversaries.items():
                out[f"adversary_logits_{name}"] = head(out[name])
        return out

    def _draws_faces(self) -> bool:
        """Whether this forward pass draws faces for the decoder's terms: always outside
        training, and on every ``drl_every``-th training step (counting this one)."""
        if not hasattr(self, "drl_steps") or not self.training:
            return True
        step = int(self.drl_steps)
        self.drl_steps += 1
        return step % self.params.drl_every == 0

    def _check_inputs(self, faces: Tensor, flows: Tensor) -> None:
        spec = self.spec
        if faces.ndim != 4 or faces.shape[1] != spec.num_frames:
            raise ValueError(
                f"faces must be (B, {spec.num_frames}, S, S) for {spec.face_frames}, got {tuple(faces.shape)}"
            )
        if flows.ndim != 5 or flows.shape[1] != spec.num_segments or flows.shape[2] != 3:
            raise ValueError(
                f"flows must be (B, {spec.num_segments}, 3, R, R) for {spec.flow_segments}, got {tuple(flows.shape)}"
            )

    def loss(self, out: Mapping[str, Tensor], batch: Mapping[str, Tensor]) -> tuple[Tensor, dict[str, float]]:
        """Weighted sum of the active terms; returns (total, {term: unweighted value}).

        On a training step that drew no faces (``drl_every`` > 1) the decoder's terms are absent
        from both; on one that did they weigh ``drl_every`` times their weight."""
        drawn = "recon_apex" in out or "cycle_identity_code" in out
        weights = self.loss_weights()
        terms: dict[str, Tensor] = {}
        for term in self.active_terms:
            if term in DECODER_TERMS:
                if not drawn:
                    continue
                weights[term] *= self.params.drl_every
            terms[term] = getattr(self, f"_loss_{term}")(out, batch)
        total = losses.total_loss(terms, weights)
        return total, {k: float(v.detach()) for k, v in terms.items()}

    # One method per term: which outputs each loss compares.
    def _loss_cls(self, out: Mapping[str, Tensor], batch: Mapping[str, Tensor]) -> Tensor:
        return losses.classification_loss(
            out["logits"],
            batch["labels"],
            batch.get("class_weights"),
            self.params.label_smoothing,
            mixed_with=losses.mixed_with(batch),
        )

    def _loss_orth(self, out: Mapping[str, Tensor], batch: Mapping[str, Tensor]) -> Tensor:
        return losses.orthogonality_loss(out["identity_code"], out["motion_code"])

    def _loss_recon(self, out: Mapping[str, Tensor], batch: Mapping[str, Tensor]) -> Tensor:
        parts = [losses.reconstruction_loss(out["recon_apex"], out["target_apex"])]
        if "recon_onset" in out:
            parts.append(losses.reconstruction_loss(out["recon_onset"], out["target_onset"]))
        return torch.stack(parts).mean()

    def _loss_consistency(self, out: Mapping[str, Tensor], batch: Mapping[str, Tensor]) -> Tensor:
        target = (lambda t: t.detach()) if self.params.detach_consistency else (lambda t: t)
        parts = []
        if "frame_identity_codes" in out:
            reference = out["identity_code"].unsqueeze(1).expand_as(out["frame_identity_codes"])
            parts.append(losses.consistency_loss(out["frame_identity_codes"], target(reference)))
        if "motion_projection" in out:
            parts.append(losses.consistency_loss(out["motion_projection"], target(out["flow_embedding"])))
        return torch.stack(parts).mean()

    def _loss_cycle(self, out: Mapping[str, Tensor], batch: Mapping[str, Tensor]) -> Tensor:
        if self.params.motion_from == "flow":  # identity half only, on unit-length codes
            return losses.cycle_loss(
                F.normalize(out["cycle_identity_code"], dim=-1),
                F.normalize(out["cycle_identity_target"], dim=-1),
            )
        return losses.cycle_loss(
            out["cycle_identity_code"], out["cycle_identity_target"]
        ) + losses.cycle_loss(out["cycle_motion_code"], out["cycle_motion_target"])

    def _loss_identity(self, out: Mapping[str, Tensor], batch: Mapping[str, Tensor]) -> Tensor:
        return losses.identity_loss(out["identity_logits"], self._subjects(out["logits"], batch))

    def _loss_adversary(self, out: Mapping[str, Tensor], batch: Mapping[str, Tensor]) -> Tensor:
        subjects = self._subjects(out["logits"], batch)
        heads = [k for k in out if k.startswith("adversary_logits_")]
        return torch.stack([losses.adversary_loss(out[k], subjects) for k in heads]).mean()

    def _loss_hsic(self, out: Mapping[str, Tensor], batch: Mapping[str, Tensor]) -> Tensor:
        subjects = self._subjects(out["logits"], batch)
        codes = [out[k] for k in ("motion_code", "classifier_input") if k in out]
        return torch.stack([losses.hsic_loss(c, subjects) for c in codes]).mean()

    def _loss_teacher(self, out: Mapping[str, Tensor], batch: Mapping[str, Tensor]) -> Tensor:
        teacher = batch.get("teacher")
        if teacher is None:  # no descriptors (a batch outside training): nothing to follow
            return out["teacher_prediction"].sum() * 0.0
        return losses.consistency_loss(out["teacher_prediction"], teacher)

    def _loss_teacher_hsic(self, out: Mapping[str, Tensor], batch: Mapping[str, Tensor]) -> Tensor:
        teacher = batch.get("teacher")
        codes = [out[k] for k in ("motion_code", "classifier_input") if k in out]
        if teacher is None:
            return torch.stack([c.sum() * 0.0 for c in codes]).sum()
        return torch.stack([losses.independence_loss(c, teacher) for c in codes]).mean()

    @classmethod
    def needs_identity(cls, params: Mapping[str, Any]) -> bool:
        p = parse_params(LFDTCMENParams, params, "lfd_tcmen")
        return any(p.weight(term) > 0 for term in TEACHER_TERMS)

    @staticmethod
    def _subjects(logits: Tensor, batch: Mapping[str, Tensor]) -> Tensor:
        """The batch's training-subject ids; all -1 (unknown) for a batch that has none."""
        subjects = batch.get("subjects")
        return torch.full(logits.shape[:1], -1, device=logits.device) if subjects is None else subjects

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in asdict(self.params).items())
