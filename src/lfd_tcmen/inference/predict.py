"""Predict the micro-expression class of a clip (video or key-frame images) with a checkpoint.

    video  --prepare_video--> clip features --model_inputs--> model
    images --extract_clip_features--> clip features --model_inputs--> model

Both paths end in ``preprocess.inputs.model_inputs``, the transform the training features went
through, with the sizes and flow normalisation the checkpoint records. The model is a checkpoint
(``.pt`` or ``.safetensors``) or an export of one (``inference.export``, recognised by its
``FILE.json``): both run the same ``Predictor`` computation. The model is fed in the
regime it was trained in: a checkpoint trained on apex faces and onset->apex flow only (the
MEGC2019 composite) gets exactly those from a full clip, its faces rendered as the checkpoint
records (``pipeline_config``: the store's render; ``framed`` for a model of the composite).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.inference.export import (
    GRAPHS,
    SUFFIXES,
    ExportedModel,
    Predictor,
    is_export,
    load_exported,
    sidecar,
)
from lfd_tcmen.models.checkpoint import Checkpoint, contract_problem, load_checkpoint
from lfd_tcmen.preprocess import face
from lfd_tcmen.preprocess.clip_file import read_clip_features
from lfd_tcmen.preprocess.config import PreprocessConfig
from lfd_tcmen.preprocess.inputs import model_inputs
from lfd_tcmen.preprocess.io import read_frames
from lfd_tcmen.preprocess.keyframes import MACRO_MOTION_PX, STILL_MOTION_PX
from lfd_tcmen.preprocess.pipeline import extract_clip_features
from lfd_tcmen.preprocess.video import outcome_line, prepare_video

FULL_FACE_FRAMES = ("onset", "apex", "offset")
Model = Checkpoint | ExportedModel  # what predict runs: a checkpoint, or an export of one
GRAPH_SUFFIXES = tuple(SUFFIXES[f] for f in GRAPHS)  # .ts, .pt2, .onnx: never a checkpoint


@dataclass
class Prediction:
    """One clip's prediction.

    probabilities: class name -> probability (sums to 1); frames: what was used (files or frame
    indices of the key frames); regime: the face frames and flow segments the model was fed.
    A video whose spotted interval barely moves (a still face), or moves more than any real
    micro-expression (a macro movement or an occlusion), has no micro-expression: then
    ``micro_expression`` is False, ``class_name`` and ``label`` are None and ``probabilities``
    is empty; ``motion`` holds the peak motion, the thresholds it was held against and the
    outcome (``preprocess.video.motion_outcome``). rendering: the ``render`` setting the clip's
    faces and flows were made with and why (``pipeline_config``).
    """

    class_name: str | None
    label: int | None
    probabilities: dict[str, float]
    frames: dict[str, Any]
    regime: dict[str, list[str]]
    notes: list[str] = field(default_factory=list)
    micro_expression: bool = True
    motion: dict[str, float] = field(default_factory=dict)
    estimate: dict[str, Any] | None = None
    rendering: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "micro_expression": self.micro_expression,
            "class": self.class_name,
            "label": self.label,
            "probabilities": self.probabilities,
            "frames": self.frames,
            "regime": self.regime,
            "motion": self.motion,
            "notes": self.notes,
            "estimate": self.estimate,
            "rendering": self.rendering,
        }


def load_model(path: str | Path) -> Model:
    """A checkpoint (``.pt``, ``.safetensors``) or a graph export (beside its ``FILE.json``); an
    export whose sidecar's class names or preprocessing disagree with its model's spec raises
    ``LFDError`` naming the sidecar (``models.checkpoint.contract_problem``)."""
    if not is_export(path):
        if Path(path).suffix in GRAPH_SUFFIXES:  # torch would read it as a checkpoint: "internal miniz error"
            raise LFDError(
                f"a graph export is run with the sidecar `lfd-tcmen export` writes beside it, {sidecar(path).name}, "
                "which is missing or is not an export's; export the checkpoint again, or give the checkpoint",
                path=path,
            )
        return load_checkpoint(path)
    model = load_exported(path)
    problem = contract_problem(model.spec, list(model.class_names), model.preprocess)
    if problem is not None:
        raise LFDError(problem, path=sidecar(path))
    return model


def pipeline_config(ckpt: Model, video: bool = False) -> tuple[PreprocessConfig, str]:
    """The ``PreprocessConfig`` to extract features for ``ckpt``, and why its ``render``.

    The store's config when the checkpoint records one (the model gets its store's rendering;
    for a ``video``, a store's ``render: composite``, which needs face crops, becomes ``framed``,
    its geometry by alignment). Otherwise the features were made upstream: a model trained on the
    MEGC2019 composite (``preprocess.source`` "composite") gets ``render: framed``, faces placed as
    in the composite's images (docs/design.md, "Deploy path": on CASME II, UF1 .471 aligned, .832
    framed with a template that never saw the test subject);
    any other the defaults. Either way with only the flow segments the model uses.
    """
    pipeline = ckpt.preprocess.get("pipeline")
    if pipeline:
        config = PreprocessConfig.from_dict(dict(pipeline))
        if video and config.render == "composite":
            why = (
                "the store's render composite squeezes face crops; a video's face is aligned onto its framing"
            )
            return replace(config, render="framed"), why
        return config, "the render of the store the model was trained on"
    segments = tuple(ckpt.spec.flow_segments)
    if ckpt.preprocess.get("source") == "composite":
        why = "the model was trained on the MEGC2019 composite: faces placed as in its images"
        return PreprocessConfig(segments=segments, render="framed"), why
    return PreprocessConfig(segments=segments), "the default: the checkpoint records no preprocessing"


def select_regime(
    faces: np.ndarray,
    flows: np.ndarray,
    face_frames: Sequence[str],
    segments: Sequence[str],
    ckpt: Model,
) -> tuple[np.ndarray, np.ndarray]:
    """Pick, by name, the face frames and flow segments the checkpoint's model was trained on.

    faces: (F, S, S) named ``face_frames``; flows: (K, 3, R, R) named ``segments``.
    Returns faces (F', S, S) and flows (K', 3, R, R) in the model's order.
    """
    want_faces, want_flows = ckpt.spec.face_frames, ckpt.spec.flow_segments
    missing = [f for f in want_faces if f not in face_frames] + [s for s in want_flows if s not in segments]
    if missing:
        raise LFDError(f"the model needs {', '.join(missing)}, which this clip's features lack")
    face_idx = [list(face_frames).index(f) for f in want_faces]
    flow_idx = [list(segments).index(s) for s in want_flows]
    return faces[face_idx], flows[flow_idx]


def predict_features(ckpt: Model, faces: np.ndarray, flows: np.ndarray) -> np.ndarray:
    """Class probabilities (C,) for one sample's model inputs (faces (F,S,S), flows (K,3,R,R));
    with the mirror image's averaged in when the model was trained with ``train.tta_hflip``."""
    run = ckpt.run if isinstance(ckpt, ExportedModel) else Predictor.for_checkpoint(ckpt)
    with torch.no_grad():
        probs = run(torch.from_numpy(faces[None].copy()), torch.from_numpy(flows[None].copy()))[0]
    return probs.numpy().astype(np.float64)


def predict_clip_features(ckpt: Model, clip: Any, frames: dict[str, Any]) -> Prediction:
    """Prediction from ``ClipFeatures`` (or a mapping with "faces"/"flows"/"segments")."""
    pre = ckpt.preprocess
    face_size = int(pre.get("face_size", ckpt.spec.face_size))
    flow_size = int(pre.get("flow_size", ckpt.spec.flow_size))
    flow_norm = str(pre.get("flow_norm", "minmax"))
    faces, flows = model_inputs(clip, face_size, flow_size, flow_norm)
    segments = clip["segments"] if isinstance(clip, dict) else clip.segments
    faces, flows = select_regime(faces, flows, FULL_FACE_FRAMES, tuple(segments), ckpt)
    probs = predict_features(ckpt, faces, flows)
    label = int(probs.argmax())
    notes = []
    if tuple(ckpt.spec.face_frames) != FULL_FACE_FRAMES:
        notes.append(
            f"model trained on {'+'.join(ckpt.spec.face_frames)} face(s) and {', '.join(ckpt.spec.flow_segments)} "
            "flow only: the clip's other frames were not used"
        )
    return Prediction(
        class_name=ckpt.class_names[label],
        label=label,
        probabilities={name: float(p) for name, p in zip(ckpt.class_names, probs)},
        frames=frames,
        regime={"face_frames": list(ckpt.spec.face_frames), "flow_segments": list(ckpt.spec.flow_segments)},
        notes=notes,
        estimate=ckpt.extra.get("estimate"),
    )


def predict_images(
    checkpoint: str | Path | Model, onset: str | Path, apex: str | Path, offset: str | Path | None = None
) -> Prediction:
    """Predict from key-frame images (the offset defaults to the apex image).

    The faces are aligned on the onset image, flows computed between the images. Every image
    must hold a face (a face-less apex would still get a class): else ``FaceNotFoundError``.
    """
    ckpt = checkpoint if isinstance(checkpoint, Checkpoint | ExportedModel) else load_model(checkpoint)
    paths = [Path(onset), Path(apex)] + ([Path(offset)] if offset is not None else [])
    frames = read_frames(paths)
    config, why = pipeline_config(ckpt)
    for role, path, frame in zip(("onset", "apex", "offset"), paths, frames):
        if face.detect_face(frame, config.detector) is None:
            raise face.FaceNotFoundError(f"no face found in the {role} image", path)
    offset_idx = len(frames) - 1
    clip = extract_clip_features(frames, 0, 1, offset_idx, config)
    used = {"onset": str(paths[0]), "apex": str(paths[1]), "offset": str(paths[offset_idx])}
    pred = predict_clip_features(ckpt, clip, used)
    pred.rendering = {"render": config.render, "why": why}
    return pred


def predict_video(
    checkpoint: str | Path | Model,
    video: str | Path,
    work_dir: str | Path | None = None,
    min_motion: float = STILL_MOTION_PX,
    max_motion: float = MACRO_MOTION_PX,
) -> Prediction:
    """Predict from a video: the micro-expression interval is spotted, faces aligned, flows computed.

    ``prepare_video`` writes its outputs to ``work_dir`` (a temporary folder by default). When
    the spotted interval's peak motion is below ``min_motion`` or at or above ``max_motion`` the
    video shows no micro-expression and no class is predicted (``Prediction.micro_expression``
    False).
    """
    ckpt = checkpoint if isinstance(checkpoint, Checkpoint | ExportedModel) else load_model(checkpoint)
    config, why = pipeline_config(ckpt, video=True)
    rendering = {"render": config.render, "why": why}
    with tempfile.TemporaryDirectory(prefix="lfd-tcmen-predict-") as tmp:
        out = Path(work_dir) if work_dir is not None else Path(tmp)
        info = prepare_video(Path(video), out, config, min_motion=min_motion, max_motion=max_motion)
        clip = _clip_from_prepared(out, info) if info["micro_expression"] else None
    frames = {k: info[k] for k in ("onset", "apex", "offset", "fps", "video") if k in info}
    motion = {k: info[k] for k in ("peak_motion", "min_motion", "max_motion", "outcome")}
    if clip is None:
        regime = {"face_frames": list(ckpt.spec.face_frames), "flow_segments": list(ckpt.spec.flow_segments)}
        estimate = ckpt.extra.get("estimate")
        return Prediction(
            None, None, {}, frames, regime, micro_expression=False, motion=motion, estimate=estimate,
            rendering=rendering,
        )  # fmt: skip
    pred = predict_clip_features(ckpt, clip, frames)
    pred.motion, pred.rendering = motion, rendering
    return pred


def _clip_from_prepared(out: Path, info: dict[str, Any]) -> dict[str, Any]:
    """The arrays ``prepare_video`` stored in ``out`` (its ``features`` file), as a mapping."""
    name = info.get("features")
    candidates = [out / name] if name else sorted(out.glob("*.npz"))
    if not candidates or not candidates[0].is_file():
        raise LFDError("prepare_video wrote no feature file", path=out)
    arrays, meta = read_clip_features(candidates[0])
    segments = meta.get("segments") or info.get("segments")
    if not segments:
        raise LFDError("the prepared clip does not name its flow segments", path=candidates[0])
    return {"faces": arrays["faces"], "flows": arrays["flows"], "segments": list(segments)}


def format_prediction(pred: Prediction, as_json: bool = False) -> str:
    """Text for the CLI: the class, the probabilities and the frames used (or one JSON object)."""
    if as_json:
        return json.dumps(pred.to_dict(), indent=2)
    if not pred.micro_expression:
        lines = [outcome_line({**pred.frames, **pred.motion}) + "; no class predicted"]
        return "\n".join(lines + _estimate_lines(pred.estimate) + [f"note: {n}" for n in pred.notes])
    lines = [f"class: {pred.class_name}", *_estimate_lines(pred.estimate)]
    lines += [
        f"  p({name}) = {p:.4f}" for name, p in sorted(pred.probabilities.items(), key=lambda kv: -kv[1])
    ]
    shown = {
        k: f"{v:.2f}" if k == "fps" else v for k, v in pred.frames.items()
    }  # 23.98, not 23.976023976023978
    lines.append("frames used: " + ", ".join(f"{k} {v}" for k, v in shown.items()))
    lines.append(
        f"model input: faces {'+'.join(pred.regime['face_frames'])}; flows {', '.join(pred.regime['flow_segments'])}"
    )
    if pred.rendering:
        lines.append(f"rendering: {pred.rendering['render']} ({pred.rendering['why']})")
    if pred.motion:
        m = pred.motion
        lines.append(
            f"peak motion: {m['peak_motion']:.2f} px (a micro-expression's: above the {m['min_motion']:.2f} px "
            f"of a still face, below the {m['max_motion']:.2f} px of a macro movement)"
        )
    lines += [f"note: {n}" for n in pred.notes]
    return "\n".join(lines)


def format_estimate(estimate: dict[str, Any]) -> str:
    """One line: the honest estimate a final model carries, or that it carries none."""
    if not estimate.get("recorded"):
        return f"honest estimate: {estimate.get('note', 'no honest estimate recorded')}"
    o = estimate["overall"]
    text = (
        f"honest estimate (the same config under {estimate['split']}, {estimate['protocol']}, "
        f"{estimate['folds']} folds; run {estimate['run']}): UF1 {o['uf1']:.4f}  UAR {o['uar']:.4f}"
    )
    if "ensemble" in estimate:
        m, sd, e = estimate["seed_mean"], estimate["seed_sd"], estimate["ensemble"]
        text = (
            f"honest estimate (the same config under {estimate['split']}, {estimate['protocol']}, "
            f"{estimate['folds']} folds, {len(estimate['seeds'])} seeds; run {estimate['run']}): UF1 "
            f"{m['uf1']:.4f} ± {sd['uf1']:.4f}  UAR {m['uar']:.4f} ± {sd['uar']:.4f} (mean ± sd over seeds); "
            f"seed ensemble UF1 {e['uf1']:.4f}  UAR {e['uar']:.4f}"
        )
    return text


def _estimate_lines(estimate: dict[str, Any] | None) -> list[str]:
    return [] if estimate is None else [format_estimate(estimate)]
