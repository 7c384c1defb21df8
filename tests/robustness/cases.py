"""The bad-input harness: a case is (id, input builder, expected exit code, message fragment).

Every case runs ``lfd_tcmen.cli.main(argv)`` in this process and asserts what a user sees:

- the exit code;
- exactly one ``lfd-tcmen: error:`` line on stderr (``lfd-tcmen: warning:`` when the command
  recovers and goes on, exit 0), holding the fragment and every name the builder says must be
  named (the file, and the row when a row is at fault);
- no Python traceback, no raw Python warning, no torch hint about ``weights_only``, nothing on
  stdout or stderr from C libraries (captured at the file-descriptor level).

Imported by name (``from robustness.cases import ...``): pytest puts tests/ on the path.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile
import time
import warnings
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import pytest

from lfd_tcmen.cli import main
from robustness.inputs import Inputs

# Warnings Python itself hides from users by default; anything else would reach them raw.
_HIDDEN = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)
_LEVELS = ("lfd-tcmen: error:", "lfd-tcmen: warning:")
# train's and benchmark's opening line: "<name>: ... 6 samples, 2 subjects (<data>); ..."
_BANNER = re.compile(r"^[\w.-]+: .*\d+ samples, \d+ subjects \(")
# a tqdm bar, with a total ("synthetic clips:  40%|...") or without ("track faces: 24frame [00:00, ...]"),
# or the plain line progress.progress_bar prints instead off a terminal
_PROGRESS = re.compile(
    r"^[\w \[\]-]+: +(\d+%\||\d+\w+ \[\d"  # a tqdm bar (a terminal)
    r"|\d+(/\d+)? \w+( \(\d+%\))?, \d+ s)"  # progress.PlainProgress's line (a log: "track faces: 24 frame, 1 s")
)


@dataclass
class Env:
    """What a builder gets: a private folder, the session's synthetic inputs, and a stack for
    anything that must stay in place while the command runs (a held lock, a chmod)."""

    tmp: Path
    inputs: Inputs
    stack: ExitStack
    request: pytest.FixtureRequest

    def shared_data(self) -> Path:
        """The real-data folder (tests/conftest.py); skips the case where it is absent."""
        return self.request.getfixturevalue("shared_data")


@dataclass(frozen=True)
class Given:
    """A built input: the command line, the strings the one message line must name, and
    optionally a check of what must hold after the command."""

    argv: list[str]
    names: tuple[str, ...] = ()
    verify: Callable[[], None] | None = None  # what else must hold afterwards (a file redone, none run)


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[Env], Given]
    code: int
    fragment: str
    level: str = ""  # "error" (code != 0), "warning" (code 0); "ok": no message, fragment on stdout
    needs_permissions: bool = False  # chmod-based: meaningless as root, where chmod denies nothing
    xfail: str = ""  # a known, unfixed defect: the case must start passing once it is fixed

    @property
    def expected_level(self) -> str:
        return self.level or ("error" if self.code else "warning")


def params(*cases: Case) -> list:
    """The cases as pytest parameters, ids from the table; chmod cases skipped as root."""
    out = []
    for case in cases:
        marks = []
        if case.needs_permissions and os.geteuid() == 0:
            marks.append(pytest.mark.skip(reason="running as root: chmod does not deny root access"))
        if case.xfail:
            marks.append(pytest.mark.xfail(reason=case.xfail, strict=True))
        out.append(pytest.param(case, id=case.id, marks=marks))
    assert len({c.id for c in cases}) == len(cases), "case ids must be unique"
    return out


def check(case: Case, env: Env, capfd: pytest.CaptureFixture[str]) -> str:
    """Build the case's input, run the command, assert what the user sees (module docstring).
    Returns what carries the case's fragment: the one message line, or stdout for an "ok" case."""
    given = case.build(env)
    capfd.readouterr()  # whatever the builder printed
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main(given.argv)
    out, err = capfd.readouterr()
    shown = [w for w in caught if not issubclass(w.category, _HIDDEN)]
    assert code == case.code, f"exit {code}, expected {case.code}; stderr:\n{err}"
    assert "Traceback" not in err and "Traceback" not in out, err
    assert "weights_only" not in err, err
    assert not shown, f"raw Python warnings reach the user: {[str(w.message) for w in shown]}"
    lines = [line for line in err.splitlines() if line.startswith(_LEVELS)]
    if case.expected_level == "ok":
        assert not lines, err
        assert case.fragment in out, out
        seen = out
    else:
        assert len(lines) == 1, f"expected one {case.expected_level} line; stderr:\n{err}"
        (line,) = lines
        assert line.startswith(f"lfd-tcmen: {case.expected_level}: "), line
        assert case.fragment in line, line
        for name in given.names:
            assert name in line, f"{name!r} not named in: {line}"
        seen = line
    noise = [s for s in err.splitlines() if s.strip() and not s.startswith("lfd-tcmen") and not _ours(s)]
    assert not noise, f"stderr lines from elsewhere (a library, C code): {noise}"
    if given.verify is not None:
        given.verify()
    return seen


def _ours(line: str) -> bool:
    """Lines besides messages that the commands print on stderr on purpose."""
    return bool(_BANNER.match(line) or _PROGRESS.match(line))


# ----------------------------------------------------------------------------- kinds of damage
def truncate(path: Path, keep: float = 0.5) -> Path:
    """Keep the first ``keep`` of ``path``'s bytes."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def not_utf8(path: Path, text: str = "name: caf\xe9\n") -> Path:
    """A file in Latin-1, invalid as UTF-8."""
    path.write_bytes(text.encode("latin-1"))
    return path


def flip_bytes(path: Path, count: int = 16) -> Path:
    """Invert ``count`` bytes in the middle of ``path`` (its length unchanged)."""
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    for i in range(mid, min(mid + count, len(data))):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


def replace_with_folder(path: Path) -> Path:
    """``path`` becomes an (empty) folder: the wrong kind of thing where a file is expected."""
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
    path.mkdir(parents=True)
    return path


def unreadable(env: Env, path: Path) -> Path:
    """chmod 000 for the command's duration (restored after, so tmp_path can be removed)."""
    mode = path.stat().st_mode
    path.chmod(0)
    env.stack.callback(path.chmod, mode)
    return path


def read_only(env: Env, path: Path) -> Path:
    """chmod 555 (folder) for the command's duration."""
    mode = path.stat().st_mode
    path.chmod(0o555)
    env.stack.callback(path.chmod, mode)
    return path


def change_a_prediction(path: Path) -> Path:
    """Hand-edit a predictions CSV: its first row's pred made right where it was wrong, else wrong
    (so its accuracy changes), every other byte kept."""
    lines = path.read_text().splitlines()
    fields = lines[1].split(",")
    label, pred = fields[3], fields[4]
    fields[4] = label if pred != label else str((int(label) + 1) % 3)
    path.write_text("\n".join([lines[0], ",".join(fields), *lines[2:]]) + "\n")
    return path


def full_disk(env: Env) -> None:
    """For the command's duration, every temporary file it opens with ``tempfile.mkstemp`` (the
    project's atomic writes) writes to /dev/full: the kernel's ENOSPC, raised without a file name,
    as on a real full disk."""
    real = tempfile.mkstemp

    def mkstemp(*args: object, **kwargs: object) -> tuple[int, str]:
        fd, name = real(*args, **kwargs)  # type: ignore[call-overload]
        os.close(fd)
        return os.open("/dev/full", os.O_WRONLY), name

    env.stack.enter_context(mock.patch.object(tempfile, "mkstemp", mkstemp))


def closed_address() -> str:
    """``127.0.0.1:PORT`` where nothing listens (a port the kernel just handed out and took back)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


def within(seconds: float) -> Callable[[], None]:
    """A ``Given.verify``: the command (built just before) ended within ``seconds``."""
    start = time.monotonic()

    def verify() -> None:
        elapsed = time.monotonic() - start
        assert elapsed < seconds, f"took {elapsed:.0f} s, more than {seconds:.0f} s"

    return verify


def a_file(env: Env, name: str = "taken") -> Path:
    """An existing plain file, for ``--out`` (a folder is expected there)."""
    path = env.tmp / name
    path.write_text("not a folder\n")
    return path
