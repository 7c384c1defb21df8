"""The FeatureSet a run trains on, from the config's data section.

Two sources: "store" (a feature store written by ``lfd-tcmen prepare``, full clips) and
"composite" (the MEGC2019 composite folder: apex faces and onset->apex flow images).
The environment is never read here: the CLI passes the data root it found.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from lfd_tcmen.config.experiment import DataConfig, ModelConfig
from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.core.files import plain
from lfd_tcmen.data.composite import load_composite
from lfd_tcmen.data.features import FeatureSet
from lfd_tcmen.models.factory import model_class
from lfd_tcmen.preprocess.identity import cached_identity_descriptors
from lfd_tcmen.preprocess.load import load_feature_set

COMPOSITE_DIR = "megc2019_composite"


def resolve_data_path(
    data: DataConfig, data_root: str | Path | None = None, base_dirs: Sequence[str | Path] | None = None
) -> Path:
    """Where the run's features are.

    ``data.path`` wins; a relative one is taken from the first of ``base_dirs`` (default: the
    working folder) where it exists. Without it, the composite is
    ``<data_root>/megc2019_composite``, with ``data_root`` defaulting to
    ``<base>/../shared/data`` for the first base where that exists. A store needs a path.
    When nothing exists, the first candidate is returned (loading it then names it in the error).
    """
    bases = [Path(b) for b in base_dirs] if base_dirs else [Path.cwd()]
    if data.path is not None:
        path = Path(data.path).expanduser()
        if path.is_absolute():
            return path
        candidates = [b / path for b in bases]
    elif data.source != "composite":
        raise LFDError(f"data.path is required for data.source {data.source!r}")
    elif data_root is not None:
        return Path(data_root) / COMPOSITE_DIR
    else:
        candidates = [b.parent / "shared" / "data" / COMPOSITE_DIR for b in bases]
    return next((c for c in candidates if c.exists()), candidates[0])


def load_features(data: DataConfig, path: str | Path | None = None) -> FeatureSet:
    """Load the FeatureSet ``data`` describes, from ``path`` (default: ``resolve_data_path(data)``,
    relative to the working folder); a missing folder raises ``LFDError``. Its absolute path is
    kept in ``features.meta["path"]``."""
    if path is None:
        path = resolve_data_path(data)
    path = Path(path)
    if not path.is_dir():
        hint = " (set LFD_TCMEN_DATA or data.path)" if data.source == "composite" else ""
        raise LFDError(f"data folder not found{hint}", path=path)
    if data.source == "composite":
        features = load_composite(path, face_size=data.face_size, flow_size=data.flow_size)
    else:
        features = load_feature_set(
            path, face_size=data.face_size, flow_size=data.flow_size, flow_norm=data.flow_norm
        )
    features.meta["path"] = str(path.resolve())  # where the data came from: run.json records it
    return features


def needs_identity(model: ModelConfig) -> bool:
    """Whether the model ``model`` names trains on identity descriptors (an identity teacher)."""
    return model_class(model.name).needs_identity(model.params)


def with_identity(features: FeatureSet) -> FeatureSet:
    """``features`` with ``identity`` set: dlib's descriptor of each sample's reference face (the
    onset where there is one, else the apex), computed once per face array and kept on disk
    (``preprocess.identity.cached_identity_descriptors``)."""
    if features.identity is not None:
        return features
    frames = features.face_frames
    reference = frames.index("onset") if "onset" in frames else frames.index("apex")
    return replace(features, identity=cached_identity_descriptors(features.faces[:, reference]))


def preprocess_info(features: FeatureSet, data: DataConfig) -> dict[str, object]:
    """What prediction must reproduce to feed a model trained on ``features`` (checkpoint field).

    ``pipeline`` is the store's preprocessing config (``PreprocessConfig.to_dict()``) when the
    store recorded one; the composite's features were made upstream, so it is None there.
    """
    pipeline = features.meta.get("preprocess") if isinstance(features.meta, dict) else None
    return {
        "source": data.source,
        "face_size": int(features.faces.shape[-1]),
        "flow_size": int(features.flows.shape[-1]),
        "flow_norm": data.flow_norm,
        "flow_normalised": bool(features.flow_normalised),
        "face_frames": list(features.face_frames),
        "flow_segments": list(features.flow_segments),
        "pipeline": plain(pipeline),
    }
