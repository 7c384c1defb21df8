"""A dataset as its authors ship it -> its feature store: what ``lfd-tcmen prepare`` does, and
``lfd-tcmen benchmark --root`` before it trains.

    files = DatasetFiles("casme2", (Path("CASME2-coding.xlsx"),), Path("CASME2_RAW_selected"), "casme2-5class")
    report, corrections = prepare_store(files, Path("features/casme2"), PreprocessConfig())

The annotations are read with the packaged corrections (``data.corrections``), every sample is
prepared resumably on one executor (``store.prepare_dataset``), and the outcome is reported:
the counts on stdout, each problem as one warning line.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.core.logs import warnings_as_lines
from lfd_tcmen.data.corrections import CorrectionLog
from lfd_tcmen.data.datasets import load_samples
from lfd_tcmen.data.loaders.common import deferred_frame_errors
from lfd_tcmen.parallel import SERIAL, ExecutorOptions
from lfd_tcmen.preprocess.config import PreprocessConfig
from lfd_tcmen.preprocess.store import PrepareReport, prepare_dataset

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DatasetFiles:
    """Which samples a store is made from: ``dataset`` (a loader name: ``data.datasets``), its
    ``annotations`` (DFME ships one file per part: all go into one store), the frames folder
    ``root``, the label scheme ``protocol`` (``casme2-5class``), and whether the packaged
    annotation corrections are applied (``corrections``; reported, and recorded in the manifest)."""

    dataset: str
    annotations: tuple[Path, ...]
    root: Path
    protocol: str
    corrections: bool = True


def prepare_store(
    files: DatasetFiles,
    out: Path,
    config: PreprocessConfig,
    *,
    executor: ExecutorOptions = SERIAL,
    progress: bool = True,
    text: bool = True,
) -> tuple[PrepareReport, CorrectionLog]:
    """The samples of every annotation file of ``files`` into the store ``out``, resumably; the
    report on stdout, each problem as a warning line on stderr. No sample prepared is an error.
    ``text`` False: nothing on stdout (``prepare --json`` prints the returned report and log)."""
    samples = []
    log = CorrectionLog(enabled=files.corrections)
    # a missing frame or clip folder skips that sample (reported at the end), not the whole run
    with deferred_frame_errors(), warnings_as_lines():
        for path in files.annotations:
            samples += load_samples(
                files.dataset, path, root=files.root, protocol=files.protocol, corrections=log
            )
    if text and log.worth_reporting():
        print(log.format())
    if not samples:
        raise LFDError(
            f"no sample of dataset {files.dataset} under protocol {files.protocol}", files.annotations[0]
        )
    report = prepare_dataset(
        samples, config, out, executor, progress=progress, annotation_corrections=log.manifest_entry()
    )
    if text:
        print(report.format(problems=False))
    for problem in report.problems():  # on stderr, like every line a user must not miss
        logger.warning(f"lfd-tcmen: warning: {problem}")
    if report.prepared == 0:
        raise LFDError(f"no sample could be prepared ({len(report.skipped)} skipped, reasons above)", out)
    if text:
        print(f"manifest: {report.manifest}", file=sys.stdout)
    return report, log


def prepare_json(
    report: PrepareReport, log: CorrectionLog, uvs28: list[Path] | None = None
) -> dict[str, Any]:
    """What ``prepare --json`` prints: the text report's counts and lists, as data (``uvs28``:
    the PNGs ``--export-uvs28`` wrote)."""
    return {
        "out": report.out_dir,
        "manifest": report.manifest,
        "config_digest": report.digest,
        "total": report.total,
        "prepared": report.prepared,
        "computed": report.computed,
        "reused": report.reused,
        "skipped": report.skipped,
        "recomputed": report.recomputed,
        "corrections": log.to_dict(),
        **({} if uvs28 is None else {"uvs28": [str(p) for p in uvs28]}),
    }
