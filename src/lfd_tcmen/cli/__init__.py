"""The ``lfd-tcmen`` command: a thin shell over the library.

Each subcommand lives in its own module of this package and exposes
``register(subparsers) -> None``; the parser it adds sets ``func(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from lfd_tcmen.errors import LFDError

# module name -> what it adds (kept in help order)
_COMMANDS = ("data", "score", "prepare", "prepare_video", "train", "predict", "benchmark")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lfd-tcmen",
        description="Micro-expression recognition: data, preprocessing, LFD-TCMEN training and evaluation.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in _COMMANDS:
        try:
            module = importlib.import_module(f"lfd_tcmen.cli.{name}")
        except ModuleNotFoundError as err:
            if err.name == f"lfd_tcmen.cli.{name}":
                continue  # not built yet
            raise
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
    except KeyboardInterrupt:
        print("lfd-tcmen: interrupted; finished work is kept, rerun with --resume to continue", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
