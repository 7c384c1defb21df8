"""``lfd-tcmen prepare``: a dataset's clips -> the feature store (aligned faces, segment flows)."""

from __future__ import annotations

import argparse
from pathlib import Path

from lfd_tcmen.cli.common import (
    add_corrections_option,
    add_labels_option,
    add_worker_options,
    check_worker_options,
    executor_options,
)
from lfd_tcmen.core.files import json_text
from lfd_tcmen.preprocess.io import read_preprocess_config
from lfd_tcmen.preprocess.prepare import DatasetFiles, prepare_json, prepare_store
from lfd_tcmen.preprocess.uvs28_pngs import export_uvs28_pngs


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
    files = DatasetFiles(
        args.dataset, tuple(args.annotations), args.root, args.protocol, corrections=not args.no_corrections
    )
    report, log = prepare_store(
        files,
        args.out,
        config,
        executor=executor_options(args),
        progress=not args.no_progress,
        text=not args.json,
    )
    written = None if args.export_uvs28 is None else export_uvs28_pngs(args.out, args.export_uvs28)
    if args.json:
        print(json_text(prepare_json(report, log, written)).rstrip())
    elif written is not None:
        print(f"wrote {len(written)} uvs28 PNGs to {args.export_uvs28}")
    return 0
