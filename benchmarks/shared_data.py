"""The real-data folder the benchmark scripts read: ``--data``, else ``$LFD_TCMEN_DATA``, else
``../shared/data`` beside the repository (as the tests and ``lfd-tcmen`` find it)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def add_data_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, default=None, help="default: $LFD_TCMEN_DATA or ../shared/data")


def data_root(arg: Path | None) -> Path:
    if arg is not None:
        return arg
    env = os.environ.get("LFD_TCMEN_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"
