"""The ``lfd-tcmen`` command: a thin shell over the library.

Each subcommand lives in its own module of this package and exposes
``register(subparsers) -> None``; the parser it adds sets ``func(args) -> int``. A subcommand's
module is imported only when that subcommand is named: most need torch, whose import takes
3-6 s, and ``lfd-tcmen --help`` or ``--version`` need none of them (benchmarks/cli_speed.py).

Status lines go through ``logging`` (``lfd_tcmen.core.logs``): ``main`` shows the package's records
on stderr for the command's duration, from INFO up, DEBUG with ``-v``, WARNING with ``-q`` (which
also turns progress bars off). Results are printed on stdout, whatever the level.
"""

from __future__ import annotations

import argparse
import errno
import logging
import shlex
import signal
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from importlib import import_module

from lfd_tcmen.cli.logs import library_logs_quiet
from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.core.logs import console
from lfd_tcmen.version import __version__

logger = logging.getLogger(__name__)

# Subcommand -> (its module in this package, its one-line help as the module registers it), in
# help order. tests/cli/test_dispatch_cli.py checks the help lines against the modules.
COMMANDS: dict[str, tuple[str, str]] = {
    "data": ("data", "list datasets, inspect one, write a synthetic one"),
    "score": ("score", "score predictions with the MEGC2019 metrics (UF1, UAR pooled over all folds)"),
    "prepare": ("prepare", "align faces and compute optical flow for every clip of a dataset (resumable)"),
    "prepare-video": (
        "prepare_video",
        "track the face in a video, spot a micro-expression, write its aligned faces and flows",
    ),
    "config": ("config", "list, show or copy the experiment configs shipped with the package"),
    "train": ("train", "leave-one-subject-out training and evaluation (honest by default; resumable)"),
    "predict": (
        "predict",
        "classify a clip (a video, or onset/apex[/offset] images) with a trained checkpoint",
    ),
    "export": ("export", "export a checkpoint to deploy it (torchscript, exported .pt2, onnx, safetensors)"),
    "evaluate": (
        "evaluate",
        "score a trained model on another dataset's prepared feature store (cross-dataset)",
    ),
    "benchmark": (
        "benchmark",
        "train and evaluate every method and ablation on the same folds (honest and leaky)",
    ),
    "compare": (
        "compare",
        "compare runs: pooled UF1/UAR with intervals, per dataset and class, and their differences",
    ),
    "ensemble": (
        "ensemble",
        "average finished runs' test probabilities into one run folder (a declared ensemble)",
    ),
}


def build_parser(full: Iterable[str] = tuple(COMMANDS)) -> argparse.ArgumentParser:
    """The command's parser: the subcommands named in ``full`` with all their options (their
    modules imported), the others as their name and one line of help."""
    parser = argparse.ArgumentParser(
        prog="lfd-tcmen",
        description="Micro-expression recognition: data, preprocessing, LFD-TCMEN training and evaluation.",
    )
    parser.add_argument("--version", action="version", version=f"lfd-tcmen {__version__}")
    add_verbosity_options(parser, False)  # before the subcommands are added: not on their stubs
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    full = set(full)
    for name, (module, summary) in COMMANDS.items():
        if name in full:
            import_module(f"{__name__}.{module}").register(sub)
            add_verbosity_options(sub.choices[name], argparse.SUPPRESS)  # after the command too
        else:
            sub.add_parser(name, help=summary, add_help=False)
    return parser


def add_verbosity_options(parser: argparse.ArgumentParser, default: object) -> None:
    """-v/--verbose and -q/--quiet, on ``parser`` and its subcommands' parsers (``config list``);
    a subcommand's take ``argparse.SUPPRESS`` as default, so that the option given before the
    subcommand is not undone."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for subparser in action.choices.values():
                add_verbosity_options(subparser, argparse.SUPPRESS)
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "-v", "--verbose", action="store_true", default=default, help="also show debug lines (each epoch)"
    )
    group.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=default,
        help="show only warnings, errors and the result (no progress bars)",
    )


def console_level(args: argparse.Namespace) -> int:
    """The console's logging level that -v/-q ask for (both: an error)."""
    if args.verbose and args.quiet:
        raise LFDError("-v/--verbose and -q/--quiet exclude each other")
    return logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO


def named_command(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` names: its first word that is not an option (the command's own
    options take no value), if a subcommand has that name."""
    word = next((a for a in argv if not a.startswith("-")), None)
    return word if word in COMMANDS else None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = named_command(argv)
    parser = build_parser([command] if command else [])
    args = parser.parse_args(argv)
    if args.quiet and hasattr(args, "no_progress"):  # the commands that draw progress bars
        args.no_progress = True
    try:
        with console(console_level(args)), _terminate_as_interrupt(), library_logs_quiet():
            logger.debug("lfd-tcmen %s: %s", __version__, shlex.join(["lfd-tcmen", *argv]))
            return int(args.func(args) or 0)
    except LFDError as err:
        print(f"lfd-tcmen: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0
    except OSError as err:  # a folder or file the user named cannot be written or read
        if err.filename is None and err.errno not in _STORAGE_ERRORS:
            raise
        where = "" if err.filename is None else f"{err.filename}: "
        print(f"lfd-tcmen: error: {where}{err.strerror or err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as stop:
        how = "terminated" if isinstance(stop, Terminated) else "interrupted"
        print(f"lfd-tcmen: {how}{RESUMING.get(command or '', '')}", file=sys.stderr)
        return 143 if isinstance(stop, Terminated) else 130


# What an interrupted command keeps, and how to go on (a command not named here keeps nothing).
RESUMING = {
    "train": "; finished folds are kept, rerun with --resume to continue",
    "benchmark": "; finished folds are kept, rerun with --resume to continue",
    "prepare": "; finished samples are kept, rerun the same command to continue",
}
# Errors of the storage itself, which a write may raise without a file name (a full disk)
_STORAGE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EFBIG}


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the command is, so that it unwinds as on Ctrl-C: worker pools shut
    down and release their semaphores (no "leaked semaphore" warning), locks are released."""


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM raises ``Terminated`` while the command runs (main thread only; restored after)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
