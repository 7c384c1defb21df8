"""The feature store's ``manifest.json``: config + digest, protocol, class names, and one entry per
sample (file, label, status ok/skipped)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.data.features import FACE_FRAMES_FULL
from lfd_tcmen.data.protocols import get_protocol
from lfd_tcmen.data.record import Sample
from lfd_tcmen.preprocess.config import PreprocessConfig

MANIFEST = "manifest.json"


def manifest_entry(sample: Sample, file: str) -> dict[str, Any]:
    return {
        "sample_id": sample.sample_id,
        "dataset": sample.dataset,
        "subject": sample.subject,
        "clip": sample.clip,
        "file": file,
        "label": sample.label,
        "class_name": sample.class_name,
        "emotion": sample.emotion,
        "apex_source": sample.apex_source,
        "status": "pending",
    }


def write_manifest(
    out: Path,
    config: PreprocessConfig,
    samples: Sequence[Sample],
    entries: list[dict[str, Any]],
    annotation_corrections: dict[str, Any] | None = None,
) -> Path:
    protocols = sorted({s.protocol for s in samples if s.protocol})
    class_names = list(get_protocol(protocols[0]).class_names) if protocols else []
    manifest = {
        "config": config.to_dict(),
        "digest": config.digest(),
        "protocol": protocols[0] if protocols else None,
        "class_names": class_names,
        "face_frames": list(FACE_FRAMES_FULL),
        "segments": list(config.segments),
        "samples": [{k: v for k, v in e.items() if v is not None or k in ("label",)} for e in entries],
    }
    if annotation_corrections is not None:
        manifest["annotation_corrections"] = annotation_corrections
    path = out / MANIFEST
    text = json.dumps(manifest, indent=1) + "\n"
    try:
        if path.read_text(encoding="utf-8") == text:
            return path  # unchanged (a complete store, perhaps read-only): left alone
    except (OSError, UnicodeDecodeError):
        pass
    tmp = path.with_name(f"{MANIFEST}.tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


# ----------------------------------------------------------------------------- reading it back
def read_manifest(store_dir: str | Path) -> dict[str, Any]:
    path = Path(store_dir) / MANIFEST
    if not path.is_file():
        raise LFDError("no manifest.json: not a feature store (run `lfd-tcmen prepare` first)", path)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise LFDError(f"cannot read manifest: {err}", path) from None
    if not isinstance(manifest, dict) or "samples" not in manifest:
        raise LFDError("manifest has no 'samples' list", path)
    return manifest
