"""``lfd-tcmen data``: look at a dataset (``summary``) or write a synthetic one (``synth``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lfd_tcmen.cli.common import warnings_as_lines
from lfd_tcmen.data.datasets import load_samples
from lfd_tcmen.data.summary import format_summary, summarize
from lfd_tcmen.data.synthetic import render_dataset


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("data", help="inspect datasets, write a synthetic dataset")
    actions = parser.add_subparsers(dest="data_command", required=True, metavar="ACTION")

    summary = actions.add_parser(
        "summary",
        help="count samples, subjects and classes of a dataset",
        description="Read a dataset's annotations as its authors ship them and count samples, "
        "subjects and samples per class under a protocol.",
    )
    summary.add_argument(
        "--dataset", required=True, help="dataset loader name (casme2, samm, smic, casme3, ...)"
    )
    summary.add_argument("--annotations", required=True, type=Path, help="coding sheet, csv or label folder")
    summary.add_argument(
        "--root", type=Path, default=None, help="frames folder; also checks every frame exists"
    )
    summary.add_argument(
        "--protocol",
        default=None,
        help="class protocol (e.g. casme2-5class); without it the raw emotion words are counted",
    )
    summary.add_argument("--json", action="store_true", help="print JSON instead of a table")

    synth = actions.add_parser(
        "synth",
        help="write a small synthetic dataset in CASME II's layout",
        description="Render synthetic faces with micro-movements, in CASME II's folder layout and "
        "coding-sheet format; prints the coding sheet's path.",
    )
    synth.add_argument("--out", required=True, type=Path, help="output folder")
    synth.add_argument("--subjects", type=int, default=8)
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--clips-per-subject", type=int, default=12)
    synth.add_argument("--size", type=int, default=128, help="frame size in pixels")

    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.data_command == "summary":
        return _summary(args)
    return _synth(args)


def _summary(args: argparse.Namespace) -> int:
    with warnings_as_lines():
        samples = load_samples(args.dataset, args.annotations, args.root, args.protocol)
    result = summarize(samples, args.protocol)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        title = f"{args.dataset} ({args.annotations.name})" + (
            f", protocol {args.protocol}" if args.protocol else ""
        )
        print(format_summary(result, title))
    return 0


def _synth(args: argparse.Namespace) -> int:
    sheet = render_dataset(
        args.out,
        subjects=args.subjects,
        seed=args.seed,
        clips_per_subject=args.clips_per_subject,
        size=args.size,
        progress=True,
    )
    print(sheet)
    return 0
