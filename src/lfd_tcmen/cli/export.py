"""``lfd-tcmen export``: a checkpoint as TorchScript, torch.export (.pt2), ONNX or safetensors."""

from __future__ import annotations

import argparse
from pathlib import Path

from lfd_tcmen.inference.export import (
    FORMATS,
    OPTIONAL,
    SUFFIXES,
    describe,
    export_checkpoint,
    max_difference,
)

TOLERANCE = 1e-5  # largest |difference| in probability accepted between export and checkpoint


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export a checkpoint to deploy it (torchscript, exported .pt2, onnx, safetensors)",
        description=(
            "Write CHECKPOINT's model as a graph taking (faces, flows) tensors and returning class "
            "probabilities (torchscript, exported: torch.export's .pt2, onnx: only where the onnx package "
            "is installed), or the checkpoint itself as safetensors. Beside it, FILE.json holds the "
            "input contract (shapes, sizes, flow normalisation, face frames, flow segments, class "
            "names) and the checkpoint's metadata; `lfd-tcmen predict --checkpoint FILE` runs it like "
            "the checkpoint, face alignment, flows and the 'no micro-expression found' gate included "
            "(they stay in Python). The export's outputs are checked against the checkpoint's."
        ),
    )
    parser.add_argument(
        "checkpoint", type=Path, help="model.pt (e.g. a --final run's OUT/folds/all/model.pt)"
    )
    parser.add_argument(
        "--format",
        required=True,
        choices=FORMATS,
        help=f"the file format; {', '.join(OPTIONAL)} need their optional package",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="FILE",
        help="where to write (default: beside CHECKPOINT, suffix "
        + ", ".join(f"{s} for {f}" for f, s in SUFFIXES.items())
        + ")",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    out = args.out or args.checkpoint.with_suffix(SUFFIXES[args.format])
    export_checkpoint(args.checkpoint, args.format, out)
    diff = max_difference(args.checkpoint, out)
    print(describe(out))
    if diff > TOLERANCE:
        print(f"lfd-tcmen: error: the export's probabilities differ from the checkpoint's by {diff:.2e}")
        return 1
    print(f"probabilities equal the checkpoint's (largest difference {diff:.1e} on random inputs)")
    return 0
