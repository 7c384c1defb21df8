"""Where a run's numbers came from: code, libraries, command, time, machine and data.

``provenance(...)`` is what run.json records beside the data fingerprint; ``fold_scope`` is the
one wording of "k of N folds" that every output of an incomplete run carries.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from lfd_tcmen.version import __version__

PACKAGE_DIR = Path(__file__).resolve().parents[1]


def now() -> str:
    """The current time, UTC, ISO 8601 to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def git_commit(package_dir: Path = PACKAGE_DIR) -> dict[str, Any] | None:
    """``{"commit", "dirty"}`` of the git checkout the package runs from; None when it is not
    one (an installed wheel) or git is missing."""
    root = package_dir.parents[1]  # src/lfd_tcmen -> the repository
    if not (root / ".git").exists():
        return None
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10
        )
        status = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if commit.returncode != 0:
        return None
    return {"commit": commit.stdout.strip(), "dirty": bool(status.stdout.strip())}


def library_versions() -> dict[str, str]:
    """Versions of the libraries a result depends on, and of Python."""
    return {
        "torch": torch.__version__,
        "numpy": np.__version__,
        "opencv": cv2.__version__,
        "python": platform.python_version(),
    }


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str | None:
    """The processor's name ("AMD EPYC", "Intel(R) Xeon(R) ..."), or None where it is not known.
    Recorded because CPU kernels differ between processors: the same seed and code give
    identical numbers on one kind of CPU, and can round differently on another."""
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip() or None
    except OSError:
        pass
    return platform.processor() or None


def provenance(
    data_path: str | Path | None,
    fingerprint: str,
    command: Sequence[str] | None = None,
    started: str | None = None,
) -> dict[str, Any]:
    """run.json's provenance block. ``command`` defaults to this process's command line;
    ``data_path`` is made absolute (None: the features did not come from a folder)."""
    git = git_commit()
    return {
        "package_version": __version__,
        "git_commit": git["commit"] if git else None,
        "git_dirty": git["dirty"] if git else None,
        "libraries": library_versions(),
        "command": list(sys.argv if command is None else command),
        "working_dir": str(Path.cwd()),
        "started": started or now(),
        "finished": None,
        "host": {
            "cpu": cpu_model(),
            "cpu_cores": os.cpu_count(),
            "platform": platform.platform(),
        },
        "data_path": str(Path(data_path).resolve()) if data_path is not None else None,
        "data_fingerprint": fingerprint,
    }


def fold_scope(done: int, total: int) -> str:
    """ "" for a complete run, else "k of N folds (partial)": the note every output carries."""
    return "" if done >= total else f"{done} of {total} folds (partial)"


def partial_fields(done: int, total: int) -> dict[str, Any]:
    """``{"partial": True, "scope": "k of N folds (partial)"}`` for an incomplete run; {} else."""
    return {"partial": True, "scope": fold_scope(done, total)} if done < total else {}
