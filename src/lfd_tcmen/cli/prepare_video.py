"""``lfd-tcmen prepare-video``: a raw face video -> its most likely micro-expression's features."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from lfd_tcmen.cli.common import add_motion_options, finite_non_negative
from lfd_tcmen.inference.predict import load_model, pipeline_config
from lfd_tcmen.preprocess.io import read_preprocess_config
from lfd_tcmen.preprocess.video import outcome_line, prepare_video

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "prepare-video",
        help="track the face in a video, spot a micro-expression, write its aligned faces and flows",
        description=(
            "Read VIDEO with OpenCV, track the face, spot the most likely micro-expression interval "
            "(onset, apex, offset) among the frames with a face, align it with one transform from "
            "its onset frame and write OUT/clip.json, OUT/features.npz (a feature-store entry, for "
            "`lfd-tcmen predict`) and OUT/faces/frame_<index>.png. A still face (peak motion "
            "below --min-motion) has no micro-expression, nor has a macro movement or an occlusion "
            "(peak motion at or above --max-motion): only clip.json is written (exit 0). "
            "The video is streamed: memory does not grow with its length."
        ),
    )
    parser.add_argument("video", type=Path, help="video file (any format this OpenCV build decodes)")
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--config", type=Path, default=None, help="YAML with preprocess settings")
    parser.add_argument(
        "--checkpoint",
        type=Path,
        default=None,
        help="prepare for this model (instead of --config): the preprocessing `lfd-tcmen predict` gives it, "
        "its store's settings, or render: framed for a model trained on the MEGC2019 composite",
    )
    parser.add_argument(
        "--max-frames", type=int, default=None, metavar="N", help="read only the first N frames"
    )
    add_motion_options(parser, "nothing but clip.json written")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run, _parser=parser)


def run(args: argparse.Namespace) -> int:
    min_motion = finite_non_negative(args.min_motion, "--min-motion")
    if args.config is not None and args.checkpoint is not None:
        args._parser.error("give --config or --checkpoint, not both")
    if args.checkpoint is not None:
        config, why = pipeline_config(load_model(args.checkpoint), video=True)
        logger.info(f"lfd-tcmen: note: render {config.render} ({why})")
    else:
        config = read_preprocess_config(args.config)
    clip = prepare_video(
        args.video,
        args.out,
        config,
        max_frames=args.max_frames,
        progress=not args.no_progress,
        min_motion=min_motion,
        max_motion=args.max_motion,
    )
    head = f"{clip['video']}: {clip['n_frames']} frames at {clip['fps']:.2f} fps, a face in {clip['n_face_frames']}; "
    if not clip["micro_expression"]:
        print(head + outcome_line(clip))
        print(f"wrote {args.out / 'clip.json'} only")
        return 0
    print(
        f"{head}micro-expression spotted at frames {clip['onset']}..{clip['offset']} (apex {clip['apex']}), "
        f"peak motion {clip['peak_motion']:.2f} px"
    )
    print(f"wrote {args.out / 'clip.json'}, {args.out / clip['features']} and {args.out / clip['faces']}/")
    return 0
