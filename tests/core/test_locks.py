"""One writer per folder: a second run on a folder in use is refused, naming the holder."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.core.locks import LOCK_NAME, exclusive
from lfd_tcmen.runs.experiment import run_experiment


def hold(folder, seconds: float = 30.0) -> subprocess.Popen:
    """Another process holding ``folder``'s lock (it prints 'held' once it does)."""
    code = textwrap.dedent(
        f"""
        import time
        from lfd_tcmen.core.locks import exclusive
        with exclusive({str(folder)!r}, "run folder"):
            print("held", flush=True)
            time.sleep({seconds})
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_writer_is_refused_naming_the_holder(tmp_path):
    holder = hold(tmp_path / "run")
    try:
        with pytest.raises(LFDError, match=rf"in use by another lfd-tcmen process \(PID {holder.pid}, "):
            with exclusive(tmp_path / "run", "run folder"):
                pass
    finally:
        holder.kill()
        holder.wait()
    assert (tmp_path / "run" / LOCK_NAME).is_file()  # a killed holder leaves its file, no lock
    with exclusive(tmp_path / "run", "run folder"):  # taken over
        assert f'"pid": {os.getpid()}' in (tmp_path / "run" / LOCK_NAME).read_text()
    assert not (tmp_path / "run" / LOCK_NAME).exists()  # a finished run leaves none naming it


def test_a_finished_run_folder_keeps_no_lock_file(features, make_config, tmp_path):
    run_experiment(make_config(epochs=1), features, tmp_path / "out", progress=False)
    assert (tmp_path / "out" / "metrics.json").is_file()
    assert not list((tmp_path / "out").rglob(LOCK_NAME))


def test_a_lock_removed_by_its_finishing_holder_is_taken_on_the_new_file(tmp_path, monkeypatch):
    """The race of removing a lock file: a second writer opened it just before the holder removed
    it; the lock it then gets is on a file no longer there, so it locks the file now there."""
    with exclusive(tmp_path, "run folder"):
        stale = os.open(tmp_path / LOCK_NAME, os.O_RDWR)  # opened by a second writer, not yet locked
    real_open = os.open
    opened = []

    def open_the_stale_file_first(path, flags, *args):
        opened.append(path)
        return os.dup(stale) if len(opened) == 1 else real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", open_the_stale_file_first)
    with exclusive(tmp_path, "run folder"):
        assert len(opened) == 2 and (tmp_path / LOCK_NAME).is_file()
    os.close(stale)


def test_a_train_run_on_a_folder_in_use_stops_before_any_work(features, make_config, tmp_path):
    holder = hold(tmp_path / "out")
    try:
        start = time.perf_counter()
        with pytest.raises(LFDError, match="run folder is in use"):
            run_experiment(make_config(epochs=1), features, tmp_path / "out", progress=False)
        assert time.perf_counter() - start < 5
        assert not (tmp_path / "out" / "folds").exists() and not (tmp_path / "out" / "config.yaml").exists()
    finally:
        holder.kill()
        holder.wait()
    run = run_experiment(make_config(epochs=1), features, tmp_path / "out", progress=False)
    assert run.metrics["overall"]["n"] > 0


def test_a_folder_that_cannot_be_written_is_one_clear_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(LFDError, match="cannot write the feature store"):
        with exclusive(tmp_path / "file" / "store", "feature store"):
            pass


def test_a_read_only_folder_locks_its_existing_lock_file_read_only(tmp_path, monkeypatch):
    """A finished store shared read-only: creating or writing the lock file is denied (simulated:
    the tests may run as root, where chmod denies nothing), opening it read-only is not."""
    record = '{"pid": 1, "command": "lfd-tcmen prepare", "since": "2026-01-01 00:00:00"}'
    (tmp_path / LOCK_NAME).write_text(record)  # left by a run that was killed
    real_open = os.open

    def read_only_open(path, flags, *args):
        if flags & (os.O_CREAT | os.O_RDWR | os.O_WRONLY):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", read_only_open)
    with exclusive(tmp_path, "feature store"):
        pass
    assert (tmp_path / LOCK_NAME).read_text() == record  # not rewritten
    with pytest.raises(LFDError, match="cannot write the feature store: Permission denied"):
        with exclusive(tmp_path / "new", "feature store"):  # no lock file, and the folder writable
            pass
    (tmp_path / LOCK_NAME).unlink()  # a finished store, shared read-only: no lock file in it
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with exclusive(tmp_path, "feature store"):
        pass
    assert not (tmp_path / LOCK_NAME).exists()
