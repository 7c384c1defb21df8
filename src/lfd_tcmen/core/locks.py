"""One writer per folder: an exclusive lock on a run, benchmark or feature-store folder.

Two ``train`` runs writing one ``--out`` at once used to both exit 0 and could leave a folder
mixing both runs' folds. Every command that writes a results folder holds this lock while it
writes: ``fcntl.flock`` on ``FOLDER/.lfd-tcmen.lock``, which also records who holds it (PID,
command, start time). A second writer is refused in one line naming the holder. The holder
removes the file when it is done, so a finished folder holds no lock naming a dead process; the
kernel releases the lock however its holder exits, so the file a SIGKILLed run leaves is no
stale lock: the next writer takes it over (and removes it in turn).
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

from lfd_tcmen.core.errors import LFDError

LOCK_NAME = ".lfd-tcmen.lock"


@contextmanager
def exclusive(folder: str | Path, what: str = "folder") -> Iterator[None]:
    """Hold ``folder``'s writer lock for the ``with`` block (creating the folder).

    ``what`` names the folder in the refusal ("run folder", "feature store"). Raises
    ``LFDError`` at once when another process holds it. Not re-entrant: a process must not
    lock the same folder twice.
    """
    folder = Path(folder)
    path = folder / LOCK_NAME
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd: int | None = _locked(path, os.O_RDWR | os.O_CREAT, what)
        writable = True
    except OSError as err:
        fd, writable = _read_only_lock(folder, what, err), False
    try:
        if writable:
            record = {
                "pid": os.getpid(),
                "command": " ".join(sys.argv),
                "since": time.strftime("%Y-%m-%d %H:%M:%S"),
            }
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(record).encode(), 0)
        yield
    finally:
        if fd is not None:
            if writable:
                path.unlink(missing_ok=True)  # still held: whoever opened it meanwhile sees it go
            os.close(fd)  # releases the lock


def _locked(path: Path, flags: int, what: str) -> int:
    """``path`` opened with ``flags`` and locked (refused in one line when another process holds
    it). A lock taken on a file its holder removed as it finished is taken again on the file now
    at ``path``, so two writers never hold two different files."""
    while True:
        fd = os.open(path, flags, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise LFDError(
                f"the {what} is in use by another lfd-tcmen process ({holder}); wait for it to "
                "finish or choose another folder",
                path=path.parent,
            ) from None
        try:
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                return fd
        except FileNotFoundError:
            if not flags & os.O_CREAT:
                os.close(fd)
                raise
        os.close(fd)


def _read_only_lock(folder: Path, what: str, err: OSError) -> int | None:
    """A folder this process cannot write (a finished store shared read-only): the lock file a
    run left there (a killed one) locked read-only, so a command with nothing to write runs;
    without one, no lock (whatever it tried to write there would still fail, naming the file)."""
    try:
        return _locked(folder / LOCK_NAME, os.O_RDONLY, what)
    except FileNotFoundError:
        if folder.is_dir() and not os.access(folder, os.W_OK):
            return None
        raise LFDError(f"cannot write the {what}: {err.strerror or err}", path=folder) from err
    except OSError:
        raise LFDError(f"cannot write the {what}: {err.strerror or err}", path=folder) from err


def _holder(fd: int) -> str:
    """'PID 123, `lfd-tcmen train ...`, since ...' from the lock file (best effort)."""
    try:
        record = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
    except (OSError, ValueError):
        record = {}
    if not record:
        return "holder unknown"
    return f"PID {record.get('pid')}, `{record.get('command', '')}`, since {record.get('since', '?')}"
