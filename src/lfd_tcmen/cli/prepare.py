"""``lfd-tcmen prepare``: a dataset's clips -> the feature store (aligned faces, segment flows)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from lfd_tcmen.cli.common import (
    add_corrections_option,
    add_labels_option,
    add_worker_options,
    check_worker_options,
    warnings_as_lines,
)
from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.core.files import json_text
from lfd_tcmen.data.corrections import CorrectionLog
from lfd_tcmen.data.datasets import load_samples
from lfd_tcmen.data.loaders.common import deferred_frame_errors
from lfd_tcmen.preprocess.config import PreprocessConfig
from lfd_tcmen.preprocess.io import read_preprocess_config
from lfd_tcmen.preprocess.store import PrepareReport, prepare_dataset
from lfd_tcmen.preprocess.uvs28_pngs import export_uvs28_pngs

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "prepare",
        help="align faces and compute optical flow for every clip of a dataset (resumable)",
        description=(
            "Read a dataset's annotations and frames, align the onset/apex/offset faces and compute "
            "the segment optical flows of every clip, one .npz per sample plus manifest.json in OUT. "
            "Rerunning resumes: samples already in OUT are kept. Samples that fail are skipped and "
            "listed with their file and reason."
        ),
    )
    parser.add_argument(
        "--dataset", required=True, help="dataset loader name (see `lfd-tcmen data datasets`)"
    )
    parser.add_argument("--root", required=True, type=Path, help="dataset folder holding the frames")
    parser.add_argument(
        "--annotations",
        required=True,
        type=Path,
        nargs="+",
        metavar="FILE",
        help="the dataset's annotation file (DFME: one per part, all into one store)",
    )
    add_labels_option(
        parser, required=True, help="label scheme, e.g. casme2-5class (see `lfd-tcmen data datasets`)"
    )
    parser.add_argument("--out", required=True, type=Path, help="feature store folder")
    add_worker_options(parser, "clips")
    parser.add_argument("--config", type=Path, default=None, help="YAML with preprocess settings")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--export-uvs28",
        type=Path,
        default=None,
        metavar="DIR",
        help="also write each onset->apex flow as the peers' 28x28 (u, v, strain) PNG into DIR",
    )
    add_corrections_option(parser)
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object on stdout (counts, skipped samples, corrections, manifest) instead of text",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_worker_options(args)
    config = read_preprocess_config(args.config)
    report, log = prepare_store(
        args.dataset,
        args.annotations,
        args.root,
        args.protocol,
        args.out,
        config,
        workers=args.workers,
        progress=not args.no_progress,
        engine=args.engine,
        ray_address=args.ray_address,
        corrections=not args.no_corrections,
        text=not args.json,
    )
    written = None if args.export_uvs28 is None else export_uvs28_pngs(args.out, args.export_uvs28)
    if args.json:
        print(json_text(prepare_json(report, log, written)).rstrip())
    elif written is not None:
        print(f"wrote {len(written)} uvs28 PNGs to {args.export_uvs28}")
    return 0


def prepare_json(report: PrepareReport, log: CorrectionLog, uvs28: list[Path] | None = None) -> dict:
    """What ``prepare --json`` prints: the text report's counts and lists, as data."""
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


def prepare_store(
    dataset: str,
    annotations: Sequence[Path],
    root: Path,
    protocol: str,
    out: Path,
    config: PreprocessConfig,
    workers: int = 1,
    progress: bool = True,
    engine: str = "process",
    ray_address: str | None = None,
    corrections: bool = True,
    text: bool = True,
) -> tuple[PrepareReport, CorrectionLog]:
    """``lfd-tcmen prepare`` (also run by ``benchmark --root``): the samples of every annotation
    file (DFME ships one per part) into the store ``out``, resumably; the report on stdout, each
    problem as a warning line on stderr. No sample prepared is an error. ``corrections``: apply
    the packaged annotation corrections (reported, and recorded in the manifest) or not.
    ``text`` False: nothing on stdout (``--json`` prints the returned report and log instead)."""
    samples = []
    log = CorrectionLog(enabled=corrections)
    # a missing frame or clip folder skips that sample (reported at the end), not the whole run
    with deferred_frame_errors(), warnings_as_lines():
        for path in annotations:
            samples += load_samples(dataset, path, root=root, protocol=protocol, corrections=log)
    if text and log.worth_reporting():
        print(log.format())
    if not samples:
        raise LFDError(f"no sample of dataset {dataset} under protocol {protocol}", annotations[0])
    report = prepare_dataset(
        samples,
        config,
        out,
        workers=workers,
        progress=progress,
        engine=engine,
        ray_address=ray_address,
        annotation_corrections=log.manifest_entry(),
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
