"""One writer per folder: a second run on a folder in use is refused, naming the holder."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

from lfd_tcmen.errors import LFDError
from lfd_tcmen.locks import LOCK_NAME, exclusive
from lfd_tcmen.runs.experiment import run_experiment


def hold(folder, seconds: float = 30.0) -> subprocess.Popen:
    """Another process holding ``folder``'s lock (it prints 'held' once it does)."""
    code = textwrap.dedent(
        f"""
        import time
        from lfd_tcmen.locks import exclusive
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
    with exclusive(tmp_path / "run", "run folder"):  # a killed holder leaves no stale lock
        assert (tmp_path / "run" / LOCK_NAME).is_file()


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
    with exclusive(tmp_path, "feature store"):  # the run that wrote the folder left its lock file
        pass
    record = (tmp_path / LOCK_NAME).read_text()
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
        with exclusive(tmp_path / "new", "feature store"):  # no lock file to fall back on
            pass
