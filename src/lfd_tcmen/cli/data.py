"""``lfd-tcmen data``: look at a dataset (``summary``) or write a synthetic one (``synth``)."""

from __future__ import annotations

import argparse
import json
import logging
import shlex
from pathlib import Path

from lfd_tcmen.cli.common import add_corrections_option, add_labels_option
from lfd_tcmen.core.logs import warnings_as_lines
from lfd_tcmen.data.corrections import CorrectionLog
from lfd_tcmen.data.datasets import dataset_description, dataset_names, dataset_protocols, load_samples
from lfd_tcmen.data.loaders.common import deferred_frame_errors
from lfd_tcmen.data.protocols import get_protocol, protocol_names
from lfd_tcmen.data.summary import format_summary, frames_missing, summarize
from lfd_tcmen.synth.render import (
    FRAMES_DIR,
    layout_description,
    layout_names,
    render_dataset,
    render_layout,
)

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("data", help="list datasets, inspect one, write a synthetic one")
    actions = parser.add_subparsers(dest="data_command", required=True, metavar="ACTION")

    datasets = actions.add_parser(
        "datasets",
        help="the dataset loaders (--dataset names) and the label schemes (--labels names)",
        description="List every dataset loader with the protocols written for it, then every protocol "
        "with its classes. A protocol applies to any dataset whose emotion words it knows.",
    )
    datasets.add_argument("--json", action="store_true", help="print JSON instead of text")

    summary = actions.add_parser(
        "summary",
        help="count samples, subjects and classes of a dataset",
        description="Read a dataset's annotations as its authors ship them and count samples, "
        "subjects and samples per class under a protocol.",
    )
    summary.add_argument(
        "--dataset",
        required=True,
        help="dataset loader name (casme2, samm, smic, casme3, ...; see `lfd-tcmen data datasets`)",
    )
    summary.add_argument("--annotations", required=True, type=Path, help="coding sheet, csv or label folder")
    summary.add_argument(
        "--root",
        type=Path,
        default=None,
        help="frames folder: every clip whose folder or frames are missing is listed (one warning line each) and left out of the counts",
    )
    add_labels_option(
        summary,
        required=False,
        help="label scheme (e.g. casme2-5class); without it the raw emotion words are counted",
    )
    summary.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_corrections_option(summary)

    layouts = "\n".join(f"  {name:<8} {layout_description(name)}" for name in layout_names())
    synth = actions.add_parser(
        "synth",
        help="write a small synthetic dataset in a dataset's layout (default: CASME II's)",
        description="Render synthetic faces with micro-movements in a dataset's own folder layout,\n"
        "file naming, frame numbering and annotation format, so that the dataset's loader\n"
        "reads them. Prints the annotation path(s) to give the loader, one per line, and on\n"
        "stderr the 'data summary' command that reads the set.",
        epilog=f"layouts:\n{layouts}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    synth.add_argument("--out", required=True, type=Path, help="output folder")
    synth.add_argument(
        "--layout",
        choices=layout_names(),
        default="casme2",
        help="whose folder layout and annotation format to write (default: casme2; see below)",
    )
    synth.add_argument("--subjects", type=int, default=8, help="number of subjects, 1-99 (default: 8)")
    synth.add_argument(
        "--seed", type=int, default=0, help="random seed; one seed gives byte-identical files (default: 0)"
    )
    synth.add_argument(
        "--clips-per-subject", type=int, default=12, help="micro-expressions per subject (default: 12)"
    )
    synth.add_argument(
        "--size", type=int, default=128, help="frame width and height in pixels, at least 64 (default: 128)"
    )

    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.data_command == "datasets":
        return _datasets(args)
    if args.data_command == "summary":
        return _summary(args)
    return _synth(args)


def _datasets(args: argparse.Namespace) -> int:
    loaders = {
        name: {"description": dataset_description(name), "protocols": dataset_protocols(name)}
        for name in dataset_names()
    }
    protocols = {
        name: {"classes": list(p.class_names), "description": p.description}
        for name, p in ((n, get_protocol(n)) for n in protocol_names())
    }
    if args.json:
        print(json.dumps({"datasets": loaders, "protocols": protocols}, indent=2))
        return 0
    print("datasets (--dataset), with their protocols:")
    for name, d in loaders.items():
        print(f"  {name:<9} {d['description']}")
        print(f"  {'':<9} protocols: {', '.join(d['protocols']) or '(none named after it)'}")
    print("\nlabel schemes (--labels):")
    for name, p in protocols.items():
        print(
            f"  {name:<16} {', '.join(p['classes'])}"
            + (f"  ({p['description']})" if p["description"] else "")
        )
    return 0


def _summary(args: argparse.Namespace) -> int:
    log = CorrectionLog(enabled=not args.no_corrections)
    with warnings_as_lines(), deferred_frame_errors():  # a partial copy: every gap listed, the rest counted
        samples = load_samples(args.dataset, args.annotations, args.root, args.protocol, corrections=log)
    missing = [frames_missing(s) for s in samples]
    gaps = [gap for gap in missing if gap is not None]
    for gap in gaps:
        logger.warning(f"lfd-tcmen: warning: {gap}")
    complete = [s for s, gap in zip(samples, missing, strict=True) if gap is None]
    result = summarize(complete, args.protocol)
    if args.root is not None:
        result["frames_missing"] = gaps
    if args.json:
        print(json.dumps({**result, "corrections": log.to_dict()}, indent=2))
    else:
        title = f"{args.dataset} ({args.annotations.name})" + (
            f", protocol {args.protocol}" if args.protocol else ""
        )
        print(format_summary(result, title))
        if gaps:
            print(
                f"\n{len(gaps)} of {len(samples)} samples left out of the counts above: their clip "
                "folder or frames are missing under --root (listed on stderr)"
            )
        if log.worth_reporting():
            print(f"\n{log.format()}")
    return 0


def _synth(args: argparse.Namespace) -> int:
    options = dict(
        subjects=args.subjects,
        seed=args.seed,
        clips_per_subject=args.clips_per_subject,
        size=args.size,
        progress=not args.quiet,
    )
    if args.layout == "casme2":  # render_dataset: the entry point the demo, README and tests call
        annotations = [render_dataset(args.out, **options)]
        root = Path(annotations[0]).parent / FRAMES_DIR
    else:
        rendered = render_layout(args.layout, args.out, **options)
        annotations, root = list(rendered.annotations), rendered.root
    for path in annotations:
        print(path)
    others = f" (likewise the other {len(annotations) - 1} files above)" if len(annotations) > 1 else ""
    logger.info(
        f"lfd-tcmen: note: read it with: lfd-tcmen data summary --dataset {args.layout} --annotations "
        f"{shlex.quote(str(annotations[0]))} --root {shlex.quote(str(root))}{others}"
    )
    return 0
