"""The feature store's orchestration: ``prepare_dataset`` runs the per-clip pipeline over a
dataset on one executor and writes one file per sample (``clip_file``) and the manifest
(``manifest``). Resumable: existing files are kept; each file is written to a temporary name and
renamed. ``load`` reads a store back as a FeatureSet, through ``inputs.model_inputs``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.core.locks import exclusive
from lfd_tcmen.core.progress import progress_bar
from lfd_tcmen.data.features import FACE_FRAMES_FULL
from lfd_tcmen.data.record import Sample
from lfd_tcmen.parallel import ENGINES, SERIAL, ExecutorOptions, make_executor
from lfd_tcmen.preprocess.clip_file import (
    FLOW_DTYPE,
    READ_ERRORS,
    feature_file_name,
    sample_meta,
    save_clip_features,
)
from lfd_tcmen.preprocess.config import PreprocessConfig
from lfd_tcmen.preprocess.manifest import manifest_entry, write_manifest
from lfd_tcmen.preprocess.pipeline import process_sample


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
    executor: ExecutorOptions = SERIAL,
    progress: bool = True,
    annotation_corrections: dict[str, Any] | None = None,
) -> PrepareReport:
    """Extract and store the features of every sample; write ``manifest.json``; report.

    Samples whose file already exists are kept (a rerun resumes an interrupted one); a sample
    that fails (no face, missing or corrupt frame) is skipped and reported with the file and
    reason, the others go on. ``executor.workers`` > 1 runs that many processes (``engine``
    "process") or Ray tasks (``engine`` "ray": a private local Ray, or the cluster at
    ``ray_address``); the files are the same. ``annotation_corrections``
    (``CorrectionLog.manifest_entry()``), when given, is recorded in the manifest.
    """
    if executor.engine not in ENGINES:
        raise LFDError(f"engine must be one of {', '.join(ENGINES)}, got {executor.engine!r}")
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
            entry = manifest_entry(sample, name)
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
            for i, result in _run(samples, jobs, config, executor):
                entries[i].update(result)
                bar.update(1)
        finally:
            bar.close()
        manifest = write_manifest(out, config, samples, entries, annotation_corrections)
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
    except READ_ERRORS as err:
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
    options: ExecutorOptions,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (index, result) for each job, here, on ``options.workers`` processes or as Ray tasks.

    A sample that fails in an unexpected way (a bug, not bad input) is skipped with its error.
    """
    if len(jobs) <= 1 and options.ray_address is None:  # one clip: no pool to start
        options = replace(options, workers=1)
    executor = make_executor(
        options,
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
