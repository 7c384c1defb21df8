"""The feature store: one compressed ``.npz`` per sample plus a ``manifest.json``.

    STORE/casme2__sub01__EP02_01f.<digest>.npz   faces (3,S,S) uint8, flows (K,3,S,S) float16,
                                                meta (JSON string: ids, label, key frames, ...)
    STORE/manifest.json                         config + digest, protocol, class names, and one
                                                entry per sample: file, label, status ok/skipped

``prepare_dataset`` writes it (resumable: existing files are kept; each file is written to a
temporary name and renamed); ``load_feature_set`` turns it into a ``FeatureSet`` through
``model_inputs``, the one transform that training and prediction share. Files are written
byte-for-byte deterministically (fixed zip timestamps), so a run on N processes (or N Ray
workers) equals a run on one.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import zipfile
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from lfd_tcmen.config.experiment import FLOW_NORMS
from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.core.locks import exclusive
from lfd_tcmen.core.progress import progress_bar
from lfd_tcmen.data.features import FACE_FRAMES_FULL, FeatureSet
from lfd_tcmen.data.protocols import get_protocol
from lfd_tcmen.data.record import Sample
from lfd_tcmen.parallel import ENGINES, make_executor
from lfd_tcmen.preprocess.config import PreprocessConfig
from lfd_tcmen.preprocess.flow import export_uvs28
from lfd_tcmen.preprocess.pipeline import ClipFeatures, process_sample

MANIFEST = "manifest.json"
FLOW_DTYPE = np.float16  # max error after model_inputs ~1e-3 (measured; see tests/preprocess/test_store.py)
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_PLAIN_PART = re.compile(r"[A-Za-z0-9.-]+(_[A-Za-z0-9.-]+)*")  # spelt the same in a file name
# What reading a damaged .npz raises: a bad zip, a bad deflate stream, a bad array header
_READ_ERRORS = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error)


# ----------------------------------------------------------------------------- one file per sample
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
    except _READ_ERRORS as err:
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
def model_inputs(
    clip_features: ClipFeatures | Mapping[str, np.ndarray],
    face_size: int = 64,
    flow_size: int = 28,
    flow_norm: str = "minmax",
) -> tuple[np.ndarray, np.ndarray]:
    """Store entry -> what a model eats (training and prediction both go through here).

    clip_features: a ClipFeatures or a mapping with "faces" (F, S, S) uint8 and "flows"
        (K, 3, S, S) pixels.
    Returns faces (F, face_size, face_size) float32 in [0, 1] (area-resized) and flows
    (K, 3, flow_size, flow_size) float32: with "minmax" each segment's channels are area-resized
    and min-max normalised to [0, 1] (the peers' uvs28 format, ``flow.export_uvs28``); with
    "none" they are only resized (pixels of the stored face size).
    """
    if flow_norm not in FLOW_NORMS:
        raise LFDError(f"flow_norm must be one of {list(FLOW_NORMS)}, got {flow_norm!r}")
    if isinstance(clip_features, ClipFeatures):
        faces_in, flows_in = clip_features.faces, clip_features.flows
    else:
        faces_in, flows_in = clip_features["faces"], clip_features["flows"]
    faces = np.stack([_resize(f, face_size) for f in faces_in]).astype(np.float32) / 255.0
    flows = np.empty((len(flows_in), 3, flow_size, flow_size), dtype=np.float32)
    for k, segment in enumerate(flows_in):
        segment = segment.astype(np.float32)
        if flow_norm == "minmax":
            flows[k] = export_uvs28(segment, size=flow_size)
        else:
            flows[k] = np.stack([_resize(c, flow_size) for c in segment])
    return faces, flows


def _resize(image: np.ndarray, size: int) -> np.ndarray:
    if image.shape == (size, size):
        return image
    return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)


# ----------------------------------------------------------------------------- preparing a dataset
@dataclass
class PrepareReport:
    """Outcome of ``prepare_dataset``: counts, and each skipped sample with its file and reason."""

    out_dir: Path
    manifest: Path
    digest: str
    total: int
    computed: int
    reused: int
    skipped: list[dict[str, Any]] = field(default_factory=list)
    recomputed: list[dict[str, str]] = field(default_factory=list)  # {"file", "reason"}: damaged or stale

    @property
    def prepared(self) -> int:
        return self.computed + self.reused

    def problems(self) -> list[str]:
        """One line per store file recomputed (it failed verification, or its annotation changed), and per sample
        skipped, each naming the file and the reason."""
        lines = [f"recomputed {r['file']}: {r['reason']}" for r in self.recomputed]
        return lines + [f"skipped {s['sample_id']}: {s['reason']}" for s in self.skipped]

    def format(self, problems: bool = True) -> str:
        """The counts (one line), then ``problems()`` unless ``problems`` is False (the CLI prints
        them as warnings on stderr)."""
        skipped = f", {len(self.skipped)} skipped" if self.skipped else ""
        head = (
            f"prepared {self.prepared}/{self.total} samples in {self.out_dir} ({self.computed} computed, "
            f"{self.reused} already there{skipped}; config {self.digest})"
        )
        return "\n".join([head, *(self.problems() if problems else [])])


def prepare_dataset(
    samples: Sequence[Sample],
    config: PreprocessConfig,
    out_dir: str | Path,
    workers: int = 1,
    progress: bool = True,
    engine: str = "process",
    ray_address: str | None = None,
    annotation_corrections: dict[str, Any] | None = None,
) -> PrepareReport:
    """Extract and store the features of every sample; write ``manifest.json``; report.

    Samples whose file already exists are kept (a rerun resumes an interrupted one); a sample
    that fails (no face, missing or corrupt frame) is skipped and reported with the file and
    reason, the others go on. ``workers`` > 1 runs that many processes (``engine`` "process")
    or Ray tasks (``engine`` "ray": a private local Ray, or the cluster at ``ray_address``);
    the files are the same. ``annotation_corrections`` (``CorrectionLog.manifest_entry()``), when
    given, is recorded in the manifest.
    """
    if engine not in ENGINES:
        raise LFDError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    out = Path(out_dir)
    protocols = sorted({s.protocol for s in samples if s.protocol})
    if len(protocols) > 1:
        raise LFDError(f"samples of several protocols ({', '.join(protocols)}) cannot share one store", out)
    out.mkdir(parents=True, exist_ok=True)
    with exclusive(out, "feature store"):  # one writer at a time
        for stale in out.glob("*.npz.tmp*"):  # left by an interrupted run
            stale.unlink()
        digest = config.digest()
        entries: list[dict[str, Any]] = []
        jobs: list[tuple[int, Path]] = []  # (index in samples, file to write)
        seen: set[str] = set()
        recomputed: list[dict[str, str]] = []
        for i, sample in enumerate(samples):
            name = feature_file_name(sample.sample_id, digest)
            entry = _entry(sample, name)
            stored, damage = _verified_meta(out / name, config)
            changed = None if stored is None else _annotation_change(stored, sample)
            if damage is not None:
                recomputed.append({"file": str(out / name), "reason": f"it failed verification ({damage})"})
            elif changed is not None:  # a corrected sheet: the stored key frames are stale
                recomputed.append({"file": str(out / name), "reason": f"its annotation changed ({changed})"})
                stored = None
            if name in seen:
                entry.update(
                    status="skipped", reason=f"duplicate sample id ({sample.source or 'annotation'})"
                )
            elif stored is not None:
                entry.update(status="ok", apex_source=stored.get("apex_source", entry["apex_source"]))
            else:
                jobs.append((i, out / name))
            seen.add(name)
            entries.append(entry)
        reused = sum(1 for e in entries if e["status"] == "ok")
        bar = progress_bar(total=len(jobs), desc="prepare", unit="clip", disable=not progress)
        try:
            for i, result in _run(samples, jobs, config, workers, engine, ray_address):
                entries[i].update(result)
                bar.update(1)
        finally:
            bar.close()
        manifest = _write_manifest(out, config, samples, entries, annotation_corrections)
        skipped = [e for e in entries if e["status"] != "ok"]
        return PrepareReport(
            out_dir=out,
            manifest=manifest,
            digest=digest,
            total=len(entries),
            computed=sum(1 for i, _ in jobs if entries[i]["status"] == "ok"),
            reused=reused,
            skipped=skipped,
            recomputed=recomputed,
        )


def _entry(sample: Sample, file: str) -> dict[str, Any]:
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


def _verified_meta(path: Path, config: PreprocessConfig) -> tuple[dict[str, Any] | None, str | None]:
    """(meta, None) for a complete store file; (None, None) when absent; (None, why) when it is
    damaged, so resume recomputes it: every member is read in full (zip CRC-32 checked), and the
    arrays must be what this config writes: faces uint8 (3, S, S), flows float16 (K, 3, R, R)
    with K the config's segments, finite."""
    if not path.is_file():
        return None, None
    try:
        with np.load(path, allow_pickle=False) as data:
            faces, flows, meta = data["faces"], data["flows"], json.loads(str(data["meta"]))
    except _READ_ERRORS as err:
        return None, f"unreadable: {type(err).__name__}: {err}"
    size = config.face_size
    if faces.dtype != np.uint8 or faces.shape != (len(FACE_FRAMES_FULL), size, size):
        return (
            None,
            f"faces are {faces.dtype} {faces.shape}, expected uint8 ({len(FACE_FRAMES_FULL)}, {size}, {size})",
        )
    if flows.dtype != FLOW_DTYPE or flows.ndim != 4 or flows.shape[:2] != (len(config.segments), 3):
        return (
            None,
            f"flows are {flows.dtype} {flows.shape}, expected float16 ({len(config.segments)}, 3, R, R)",
        )
    if not np.isfinite(flows).all() or not isinstance(meta, dict):
        return None, "flows not finite or meta not a mapping"
    return meta, None


def _annotation_change(meta: Mapping[str, Any], sample: Sample) -> str | None:
    """How the key frames and emotion a store file was computed from differ from ``sample``'s
    annotation now ("onset 165 -> 168, apex 173 -> 179"), or None when they agree. An apex the
    annotation does not give is "spotted"."""
    numbers = sample.frame_numbers
    if not numbers:
        return None
    now = {
        "onset": numbers[0] if sample.onset is None else sample.onset,
        "apex": "spotted" if sample.apex is None else sample.apex,
        "offset": numbers[-1] if sample.offset is None else sample.offset,
        "emotion": sample.emotion,
    }
    stored = {**meta, "apex": meta.get("apex") if meta.get("apex_source") == "annotation" else "spotted"}
    changes = [
        f"{key} {stored.get(key)} -> {value}" for key, value in now.items() if stored.get(key) != value
    ]
    return ", ".join(changes) or None


def _prepare_one(sample: Sample, config: PreprocessConfig, path: Path) -> dict[str, Any]:
    """Worker: compute and write one sample; a failure becomes a "skipped" result."""
    try:
        feats = process_sample(sample, config)
    except LFDError as err:
        return {"status": "skipped", "reason": str(err), "path": err.path}
    except cv2.error as err:  # OpenCV rejecting an odd image: report it, keep going
        return {"status": "skipped", "reason": f"OpenCV error: {err.err}", "path": None}
    save_clip_features(path, feats, sample_meta(sample, feats, config))
    return {"status": "ok", "apex_source": feats.apex_source}


def _init_worker() -> None:
    cv2.setNumThreads(1)  # N processes on N cores: no oversubscription


def _prepare_job(config: PreprocessConfig, sample: Sample, path: Path) -> dict[str, Any]:
    return _prepare_one(sample, config, path)


def _run(
    samples: Sequence[Sample],
    jobs: list[tuple[int, Path]],
    config: PreprocessConfig,
    workers: int,
    engine: str = "process",
    ray_address: str | None = None,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (index, result) for each job, here, on ``workers`` processes or as Ray tasks.

    A sample that fails in an unexpected way (a bug, not bad input) is skipped with its error.
    """
    executor = make_executor(
        workers if len(jobs) > 1 or ray_address is not None else 1,
        engine=engine,
        address=ray_address,
        initializer=_init_worker,
        preload=("lfd_tcmen.preprocess.store",),
    )
    with executor:
        for outcome in executor.map(_prepare_job, config, [(i, (samples[i], path)) for i, path in jobs]):
            if outcome.ok:
                yield outcome.key, outcome.value
            else:
                yield (
                    outcome.key,
                    {"status": "skipped", "reason": f"internal error: {outcome.error}", "path": None},
                )


def _write_manifest(
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
