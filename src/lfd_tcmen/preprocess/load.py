"""A feature store read back as a ``FeatureSet``, each sample through ``model_inputs``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.data.features import FACE_FRAMES_FULL, FeatureSet
from lfd_tcmen.preprocess.clip_file import (
    read_clip_features,
)
from lfd_tcmen.preprocess.inputs import model_inputs
from lfd_tcmen.preprocess.manifest import MANIFEST, read_manifest


def load_feature_set(
    store_dir: str | Path, face_size: int = 64, flow_size: int = 28, flow_norm: str = "minmax"
) -> FeatureSet:
    """The store's prepared samples as a FeatureSet (manifest order), through ``model_inputs``.

    faces (N, 3, face_size, face_size) onset/apex/offset; flows (N, K, 3, flow_size, flow_size).
    Samples stored without a label get label -1.
    """
    store = Path(store_dir)
    manifest = read_manifest(store)
    ok = [e for e in manifest["samples"] if e.get("status") == "ok"]
    if not ok:
        raise LFDError("the store holds no prepared sample", store / MANIFEST)
    classes = manifest.get("class_names") or []
    for number, entry in enumerate(manifest["samples"], start=1):
        label = entry.get("label")
        if (
            entry.get("status") == "ok"
            and label is not None
            and not (isinstance(label, int) and not isinstance(label, bool) and 0 <= label < len(classes))
        ):
            raise LFDError(
                f"sample {number} ({entry.get('sample_id')}): label {label!r} is not a class index of "
                f"{len(classes)} classes {list(classes)}",
                store / MANIFEST,
            )
    faces, flows = [], []
    for entry in ok:
        arrays, _ = read_clip_features(store / entry["file"])
        f, g = model_inputs(arrays, face_size, flow_size, flow_norm)
        faces.append(f)
        flows.append(g)
    return FeatureSet(
        sample_ids=[e["sample_id"] for e in ok],
        datasets=[e["dataset"] for e in ok],
        subjects=[f"{e['dataset']}/{e['subject']}" for e in ok],
        labels=np.array([-1 if e.get("label") is None else e["label"] for e in ok], dtype=np.int64),
        class_names=tuple(manifest.get("class_names", ())),
        faces=np.stack(faces),
        face_frames=tuple(manifest.get("face_frames", FACE_FRAMES_FULL)),
        flows=np.stack(flows),
        flow_segments=tuple(manifest.get("segments", ())),
        protocol=str(manifest.get("protocol", "")),
        flow_normalised=flow_norm != "none",
        meta={
            "store": str(store),
            "digest": manifest.get("digest"),
            "preprocess": manifest.get("config"),
            "apex_source": [e.get("apex_source") for e in ok],
        },
    )
