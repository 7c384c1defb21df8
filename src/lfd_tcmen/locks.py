"""One writer per folder: an exclusive lock on a run, benchmark or feature-store folder.

Two ``train`` runs writing one ``--out`` at once used to both exit 0 and could leave a folder
mixing both runs' folds. Every command that writes a results folder holds this lock while it
writes: ``fcntl.flock`` on ``FOLDER/.lfd-tcmen.lock``, which also records who holds it (PID,
command, start time). A second writer is refused in one line naming the holder. The kernel
releases the lock when its holder exits, however it exits (a SIGKILLed run leaves no stale
lock), so the file itself may stay.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lfd_tcmen.errors import LFDError

LOCK_NAME = ".lfd-tcmen.lock"


@contextmanager
def exclusive(folder: str | Path, what: str = "folder") -> Iterator[None]:
    """Hold ``folder``'s writer lock for the ``with`` block (creating the folder).

    ``what`` names the folder in the refusal ("run folder", "feature store"). Raises
    ``LFDError`` at once when another process holds it. Not re-entrant: a process must not
    lock the same folder twice.
    """
    folder = Path(folder)
    writable = True
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as err:
        # A read-only folder (a finished store shared read-only): its lock file, left by the run
        # that wrote it, locks as well opened read-only, so a command with nothing to write runs;
        # whatever it tried to write would still fail, naming the file.
        try:
            fd = os.open(folder / LOCK_NAME, os.O_RDONLY)
        except OSError:
            raise LFDError(f"cannot write the {what}: {err.strerror or err}", path=folder) from err
        writable = False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LFDError(
                f"the {what} is in use by another lfd-tcmen process ({_holder(fd)}); wait for it to "
                "finish or choose another folder",
                path=folder,
            ) from None
        record = {
            "pid": os.getpid(),
            "command": " ".join(sys.argv),
            "since": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        if writable:
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(record).encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def _holder(fd: int) -> str:
    """'PID 123, `lfd-tcmen train ...`, since ...' from the lock file (best effort)."""
    try:
        record = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
    except (OSError, ValueError):
        record = {}
    if not record:
        return "holder unknown"
    return f"PID {record.get('pid')}, `{record.get('command', '')}`, since {record.get('since', '?')}"
