"""``lfd-tcmen predict``: the micro-expression class of a video or of key-frame images."""

from __future__ import annotations

import argparse
from pathlib import Path

from lfd_tcmen.cli.common import add_motion_options, finite_non_negative
from lfd_tcmen.inference.predict import format_prediction, load_model, predict_images, predict_video


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="classify a clip (a video, or onset/apex[/offset] images) with a trained checkpoint",
        description=(
            "Predict the micro-expression class of one clip with a checkpoint written by "
            "`lfd-tcmen train` (RUN/folds/<fold>/model.pt; a --final run's OUT/folds/all/model.pt, "
            "whose recorded honest estimate is printed too) or an export of one (`lfd-tcmen export`). A video is spotted, aligned and its "
            "flows computed; images are aligned on the onset face; either is rendered as the checkpoint "
            "records (its store's render; framed as the composite's images for a model trained on the "
            "MEGC2019 composite). Prints the class, the probabilities, the frames and the rendering used; for a video whose spotted interval barely moves "
            "(a still face), 'no micro-expression found', and for one that moves more than any real "
            "micro-expression (a macro movement or an occlusion: a hand over the face), 'no "
            "micro-expression: the motion is too large for one'; no class either way (exit 0)."
        ),
    )
    parser.add_argument("video", nargs="?", type=Path, default=None, help="a video file")
    parser.add_argument("--onset", type=Path, default=None, help="onset (neutral) frame image")
    parser.add_argument("--apex", type=Path, default=None, help="apex frame image")
    parser.add_argument("--offset", type=Path, default=None, help="offset frame image (default: the apex)")
    parser.add_argument(
        "--checkpoint",
        required=True,
        type=Path,
        help="model.pt written by `lfd-tcmen train`, its .safetensors, or a file written by "
        "`lfd-tcmen export` (recognised by the FILE.json beside it)",
    )
    add_motion_options(parser, "no class is predicted", "video only: ")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run, _parser=parser)


def run(args: argparse.Namespace) -> int:
    images = args.onset is not None or args.apex is not None or args.offset is not None
    if args.video is not None and images:
        args._parser.error("give a video or --onset/--apex images, not both")
    if args.video is None and (args.onset is None or args.apex is None):
        args._parser.error("give a video, or both --onset and --apex")
    min_motion = finite_non_negative(args.min_motion, "--min-motion")
    ckpt = load_model(args.checkpoint)
    if args.video is not None:
        pred = predict_video(ckpt, args.video, min_motion=min_motion, max_motion=args.max_motion)
    else:
        pred = predict_images(ckpt, args.onset, args.apex, args.offset)
    print(format_prediction(pred, as_json=args.json))
    return 0
