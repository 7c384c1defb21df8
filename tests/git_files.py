"""The repository's files as git keeps them: what a clone holds, not what this machine left beside."""

from __future__ import annotations

import subprocess
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@cache
def tracked() -> tuple[str, ...]:
    """The repository's files in git, sorted (the working tree's files where git is not there)."""
    try:
        done = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True)
        return tuple(done.stdout.splitlines())
    except (OSError, subprocess.CalledProcessError):
        return tuple(sorted(str(p.relative_to(REPO)) for p in REPO.rglob("*") if p.is_file()))
