"""One sample's file in the feature store: a compressed ``.npz`` written byte-for-byte
deterministically (fixed zip timestamps), so a run on N processes equals a run on one.

    STORE/casme2__sub01__EP02_01f.<digest>.npz   faces (3,S,S) uint8, flows (K,3,S,S) float16,
                                                meta (JSON string: ids, label, key frames, ...)
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.data.features import FACE_FRAMES_FULL
from lfd_tcmen.data.record import Sample
from lfd_tcmen.preprocess.config import PreprocessConfig
from lfd_tcmen.preprocess.pipeline import ClipFeatures

FLOW_DTYPE = np.float16  # max error after model_inputs ~1e-3 (measured; see tests/preprocess/test_store.py)
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_PLAIN_PART = re.compile(r"[A-Za-z0-9.-]+(_[A-Za-z0-9.-]+)*")  # spelt the same in a file name

READ_ERRORS = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error)


def feature_file_name(sample_id: str, digest: str) -> str:
    """``"casme2/sub01/EP02_01f"`` + digest -> ``"casme2__sub01__EP02_01f.<digest>.npz"``.

    One file per sample id: an id that the plain spelling would not keep apart from another
    (a character outside ``[A-Za-z0-9._-]``, "_" at the edge of a part or doubled, a leading
    ".") gets ``+`` and 8 hex digits of its hash, so "EP17 01" and "EP17_01" never share a file.
    """
    parts = sample_id.split("/")
    safe = "__".join(re.sub(r"[^A-Za-z0-9._-]", "_", p) for p in parts).lstrip(".")
    if sample_id.startswith(".") or not all(_PLAIN_PART.fullmatch(p) for p in parts):
        safe += "+" + hashlib.sha256(sample_id.encode("utf-8")).hexdigest()[:8]
    return f"{safe}.{digest}.npz"


def write_npz(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Compressed npz, deterministic bytes, written atomically (temporary file, then rename)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)
            zf.writestr(info, member.getvalue())
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    tmp.write_bytes(buffer.getvalue())
    os.replace(tmp, path)


def save_clip_features(path: Path, feats: ClipFeatures, meta: Mapping[str, Any]) -> None:
    """One store entry: faces uint8, flows float16, ``meta`` as a JSON string."""
    write_npz(
        path,
        {
            "faces": feats.faces.astype(np.uint8),
            "flows": feats.flows.astype(FLOW_DTYPE),
            "meta": np.array(json.dumps(dict(meta), sort_keys=True)),
        },
    )


def read_clip_features(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Arrays ``{"faces", "flows"}`` (flows as float32) and the meta dict of one store entry."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {"faces": data["faces"], "flows": data["flows"].astype(np.float32)}
            meta = json.loads(str(data["meta"]))
    except FileNotFoundError:
        raise LFDError("feature file not found; rerun `lfd-tcmen prepare` on this store", path) from None
    except READ_ERRORS as err:
        raise LFDError(
            f"corrupt feature file ({type(err).__name__}: {err}); rerun `lfd-tcmen prepare` on this store "
            "(it recomputes damaged files)",
            path,
        ) from None
    return arrays, meta


def sample_meta(sample: Sample, feats: ClipFeatures, config: PreprocessConfig) -> dict[str, Any]:
    """What a store entry records about its sample; key frames as dataset frame numbers."""
    numbers = sample.frame_numbers
    return {
        "sample_id": sample.sample_id,
        "dataset": sample.dataset,
        "subject": sample.subject,
        "clip": sample.clip,
        "emotion": sample.emotion,
        "label": sample.label,
        "class_name": sample.class_name,
        "protocol": sample.protocol,
        "onset": numbers[feats.onset_idx],
        "apex": numbers[feats.apex_idx],
        "offset": numbers[feats.offset_idx],
        "apex_source": feats.apex_source,
        "face_frames": list(FACE_FRAMES_FULL),
        "segments": list(feats.segments),
        "digest": config.digest(),
    }


# ----------------------------------------------------------------------------- the shared transform
