"""``lfd-tcmen config``: the experiment configs shipped with the package (list, show, init)."""

from __future__ import annotations

import argparse
import logging
import shlex
from pathlib import Path

from lfd_tcmen.cli.common import locate_data
from lfd_tcmen.config.experiment import ExperimentConfig, parse_yaml
from lfd_tcmen.config.shipped import (
    config_names,
    config_summary,
    config_text,
    shipped_config_home,
    write_config,
)

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "config",
        help="list, show or copy the experiment configs shipped with the package",
        description="The experiment YAMLs shipped with the package (the repository's configs/). "
        "'init' copies one to a file of yours with data.path made absolute, so that "
        "'lfd-tcmen train --config FILE' runs from any folder.",
    )
    actions = parser.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    actions.add_parser("list", help="the shipped configs, one per line, with what each is for")
    show = actions.add_parser("show", help="print a shipped config's YAML")
    show.add_argument("name", metavar="NAME", help="config name, e.g. synthetic (see 'config list')")
    init = actions.add_parser(
        "init",
        help="copy a shipped config to PATH, data.path made absolute",
        description="Copy a shipped config to PATH (comments kept). Its relative data.path is looked up "
        "as 'train' looks it up (the working folder first) and written as an absolute path; a null "
        "composite path is written as the folder found ($LFD_TCMEN_DATA or ../shared/data), or kept "
        "null when there is none.",
    )
    init.add_argument("name", metavar="NAME", help="config name, e.g. synthetic (see 'config list')")
    init.add_argument("path", metavar="PATH", type=Path, help="the YAML file to write (must not exist)")
    init.add_argument(
        "--data", type=Path, default=None, metavar="DIR", help="set data.path to DIR instead (made absolute)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.config_command == "list":
        names = config_names()
        width = max(map(len, names))
        for name in names:
            print(f"{name:<{width}}  {config_summary(name)}")
        return 0
    if args.config_command == "show":
        print(config_text(args.name), end="")
        return 0
    return _init(args)


def _init(args: argparse.Namespace) -> int:
    config = ExperimentConfig.from_dict(parse_yaml(config_text(args.name)), source=args.name)
    if args.data is not None:
        data_path: Path | None = args.data.expanduser().resolve()
    else:
        found = locate_data(config.data, args.path, [Path.cwd(), shipped_config_home()]).resolve()
        data_path = None if config.data.path is None and not found.exists() else found
    written = write_config(args.name, args.path, data_path)
    print(written)
    if data_path is None:
        logger.info(
            "lfd-tcmen: note: data.path stays null: set $LFD_TCMEN_DATA to the folder holding "
            "megc2019_composite, or rerun with --data"
        )
    elif not data_path.exists():
        logger.info(
            f"lfd-tcmen: note: {data_path} does not exist yet: make it as the config's header says "
            f"('lfd-tcmen config show {args.name}'), with --out {shlex.quote(str(data_path))}, or rerun "
            "with --data; then run it with: lfd-tcmen train --config "
            f"{shlex.quote(str(written))}"
        )
        return 0
    logger.info(f"lfd-tcmen: note: run it with: lfd-tcmen train --config {shlex.quote(str(written))}")
    return 0
