"""A feature store's onset->apex flows as the peers' 28x28 PNGs (``lfd-tcmen prepare --export-uvs28``)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.preprocess.clip_file import (
    read_clip_features,
)
from lfd_tcmen.preprocess.flow import export_uvs28
from lfd_tcmen.preprocess.manifest import read_manifest


def export_uvs28_pngs(store_dir: str | Path, out_dir: str | Path) -> list[Path]:
    """Write each prepared sample's onset->apex flow as the peers' 28x28 PNG.

    Names are ``<subject>_<clip> .png`` (with the space, as in the MEGC2019 composite's
    ``flow_uvos_28``); R = u, G = v, B = optical strain, each min-max normalised to 0..255.
    """
    store, out = Path(store_dir), Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for entry in read_manifest(store)["samples"]:
        if entry.get("status") != "ok":
            continue
        arrays, _ = read_clip_features(store / entry["file"])
        uvs = export_uvs28(arrays["flows"][0])
        rgb = np.clip(np.rint(uvs * 255.0), 0, 255).astype(np.uint8).transpose(1, 2, 0)
        path = out / f"{entry['subject']}_{entry['clip']} .png"
        if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
            raise LFDError("cannot write PNG", path)
        written.append(path)
    return written
