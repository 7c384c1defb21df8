"""What several subcommands share: the data root, comma-separated names, the worker options.

The environment is read here and nowhere else in the package: ``LFD_TCMEN_DATA`` names the
folder holding ``megc2019_composite`` (default: ``../shared/data`` beside the repository).
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
from pathlib import Path

from lfd_tcmen.config.experiment import DataConfig
from lfd_tcmen.config.shipped import shipped_file
from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.data.features import FeatureSet
from lfd_tcmen.parallel import ENGINES, ExecutorOptions, cpu_note
from lfd_tcmen.parallel.ray_engine import check_reachable
from lfd_tcmen.preprocess.keyframes import MACRO_MOTION_PX, STILL_MOTION_PX
from lfd_tcmen.runs.features import load_features, resolve_data_path

ENV_DATA = "LFD_TCMEN_DATA"
logger = logging.getLogger(__name__)


def names(text: str | None, option: str) -> list[str] | None:
    """``"a, b"`` -> ``["a", "b"]``; None (option not given) -> None (all). A given but empty
    list is an error: ``--folds ","`` must not silently mean every fold."""
    if text is None:
        return None
    items = [n.strip() for n in text.split(",") if n.strip()]
    if not items:
        raise LFDError(f"{option} is empty; leave it out to select all")
    return items


def seed_list(text: str) -> tuple[int, ...]:
    """``--seeds "0,1,2"`` -> (0, 1, 2), in order, a repeated seed once."""
    seeds = []
    for item in names(text, "--seeds") or []:
        try:
            seeds.append(int(item))
        except ValueError:
            raise LFDError(f"--seeds: {item!r} is not an integer") from None
    return tuple(dict.fromkeys(seeds))


def at_least_one(value: int, option: str) -> int:
    """``value`` of a count option (``--resamples``), refused before any work when below 1."""
    if value < 1:
        raise LFDError(f"{option} must be >= 1, got {value}")
    return value


def finite_non_negative(value: float, option: str) -> float:
    """``value`` of a threshold option (``--min-motion``), refused before any work unless a finite
    number >= 0: ``nan`` compares false with everything, so every video would look still."""
    if not math.isfinite(value) or value < 0:
        raise LFDError(f"{option} must be a finite number >= 0, got {value}")
    return value


def add_corrections_option(parser: argparse.ArgumentParser) -> None:
    """``--no-corrections``: read the annotation files exactly as written (see data/corrections.csv)."""
    parser.add_argument(
        "--no-corrections",
        action="store_true",
        help="do not apply the packaged table of known annotation errors; rows it covers then meet "
        "the generic checks (offset before onset: row skipped; apex outside onset..offset: apex spotted)",
    )


def config_file(given: Path, folder: str = "configs") -> Path:
    """A ``--config`` as given where that file exists; a bare name the package ships (``synthetic``,
    ``megc2019.yaml``) as the shipped file (``config_files.shipped_file``); else as given (the
    loader then names the missing file)."""
    if given.exists() or given.parent != Path("."):
        return given
    return shipped_file(given.name, folder) or given


def features_for(data: DataConfig, config_path: Path) -> tuple[FeatureSet, Path]:
    """The FeatureSet a config's data section names, and where it was found.

    A relative ``data.path`` is looked up from the working folder, then from the folder above
    the config's (the repository root for ``configs/*.yaml``).
    """
    path = locate_data(data, config_path, [Path.cwd(), config_path.resolve().parent.parent])
    return load_features(data, path), path


def locate_data(data: DataConfig, config_path: Path, bases: list[Path]) -> Path:
    """Where a config's data is: a relative ``data.path`` from the first of ``bases`` where it
    exists (else the first), a null composite path from ``$LFD_TCMEN_DATA`` or ``../shared/data``."""
    try:
        return resolve_data_path(data, os.environ.get(ENV_DATA) or None, bases)
    except LFDError as err:  # a data section that names no data: the config file is at fault
        raise LFDError(err.message, err.path or config_path, err.row) from None


class _DeprecatedLabels(argparse.Action):
    """``--protocol NAME`` for a label scheme: still accepted, with one deprecation line on stderr."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:  # noqa: ANN001
        print(
            f"lfd-tcmen: deprecated: {option_string} {values}: the label scheme is now --labels {values}",
            file=sys.stderr,
        )
        setattr(namespace, self.dest, values)


def add_labels_option(parser: argparse.ArgumentParser, required: bool, help: str) -> None:
    """``--labels NAME``: the label scheme (``casme2-5class``; ``lfd-tcmen data datasets`` lists
    them), stored as ``args.protocol``. "Protocol" alone names the evaluation rule (``--protocol
    honest``); the old spelling ``--protocol casme2-5class`` is still accepted here, with one line
    saying so."""
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument("--labels", dest="protocol", metavar="LABELS", default=None, help=help)
    group.add_argument("--protocol", dest="protocol", action=_DeprecatedLabels, help=argparse.SUPPRESS)


def add_set_option(parser: argparse.ArgumentParser, scope: str = "") -> None:
    """``--set KEY=VALUE`` (repeatable): one config value over the YAML's (``load_config``)."""
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        dest="overrides",
        metavar="KEY=VALUE",
        help="override one config value, e.g. train.lr=0.002 or model.params.w_orth=0 (repeatable; the "
        f"value is read as YAML and checked like the file){scope}; the run folder's config.yaml records it",
    )


def add_motion_options(parser: argparse.ArgumentParser, outcome: str, scope: str = "") -> None:
    """--min-motion and --max-motion: the spotted interval's peak motion below which the face is
    still, and at or above which it is a macro movement; ``outcome`` says what happens then."""
    parser.add_argument(
        "--min-motion",
        type=float,
        default=STILL_MOTION_PX,
        metavar="PX",
        help=f"{scope}below this peak motion (px at 128x128) the face is still: {outcome} (default "
        f"{STILL_MOTION_PX}, from still clips of real faces: benchmarks/still_motion.py; 0: never a still face)",
    )
    parser.add_argument(
        "--max-motion",
        type=float,
        default=MACRO_MOTION_PX,
        metavar="PX",
        help=f"{scope}at or above this peak motion (px at 128x128) the interval is a macro movement or an "
        f"occlusion, not a micro-expression: {outcome} (default {MACRO_MOTION_PX}, above the largest of 250 "
        "real CASME II micro-expressions: benchmarks/micro_motion.py; inf: no ceiling)",
    )


def add_worker_options(parser: argparse.ArgumentParser, what: str) -> None:
    """--workers, --engine, --ray-address: how many ``what`` run at once, and where."""
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help=f"{what} at once (default 1: one after another); the results are identical",
    )
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default="process",
        help="with --workers > 1: local processes (default; start in about a second) or Ray tasks",
    )
    parser.add_argument(
        "--ray-address",
        default=None,
        metavar="ADDR",
        help=f"run the {what} on this Ray cluster (with --workers N: N at a time); implies --engine ray",
    )


def executor_options(args: argparse.Namespace) -> ExecutorOptions:
    """--workers, --engine, --ray-address as the one object the library takes."""
    return ExecutorOptions(workers=args.workers, engine=args.engine, ray_address=args.ray_address)


def check_worker_options(args: argparse.Namespace, threads: int = 1) -> None:
    """Refuse impossible worker options before any work; warn when they oversubscribe the CPU."""
    options = executor_options(args)
    if options.workers < 1:
        raise LFDError(f"--workers must be >= 1, got {options.workers}")
    if options.ray_address is not None and options.workers < 2:
        raise LFDError("--ray-address needs --workers 2 or more (the tasks run at once on the cluster)")
    if options.ray_address is not None:
        check_reachable(options.ray_address)  # before any work, not after the data are loaded
    note = cpu_note(options, threads)
    if note:
        logger.warning(note)
