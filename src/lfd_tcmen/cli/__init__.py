"""The ``lfd-tcmen`` command: a thin shell over the library.

Each subcommand lives in its own module of this package and exposes
``register(subparsers) -> None``; the parser it adds sets ``func(args) -> int``.
"""

from __future__ import annotations

import argparse
import sys

from lfd_tcmen.cli import (
    benchmark,
    compare,
    config,
    data,
    evaluate,
    export,
    predict,
    prepare,
    prepare_video,
    score,
    train,
)
from lfd_tcmen.errors import LFDError
from lfd_tcmen.version import __version__

# in help order
COMMANDS = (data, score, prepare, prepare_video, config, train, predict, export, evaluate, benchmark, compare)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lfd-tcmen",
        description="Micro-expression recognition: data, preprocessing, LFD-TCMEN training and evaluation.",
    )
    parser.add_argument("--version", action="version", version=f"lfd-tcmen {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except LFDError as err:
        print(f"lfd-tcmen: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0
    except OSError as err:  # a folder or file the user named cannot be written or read
        if err.filename is None:
            raise
        print(f"lfd-tcmen: error: {err.filename}: {err.strerror or err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "lfd-tcmen: interrupted; finished work is kept, rerun with --resume to continue", file=sys.stderr
        )
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
