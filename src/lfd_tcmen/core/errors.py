"""The project's one exception type: every user-facing failure names where it came from."""

from __future__ import annotations

from pathlib import Path


class LFDError(Exception):
    """A failure the user can act on, with the file (and row) it came from.

    The CLI prints ``str(err)`` as one line and exits non-zero; library users catch it.
    """

    def __init__(self, message: str, path: str | Path | None = None, row: int | None = None) -> None:
        self.message = message
        self.path = None if path is None else str(path)
        self.row = row
        super().__init__(self._render())

    def _render(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path if self.row is None else f"{self.path}, row {self.row}"
            where += ": "
        return f"{where}{self.message}"


def missing_package(what: str, package: str, install: str) -> LFDError:
    """The one line for an optional package that is not installed: what needs it and the command
    that installs it (``install``: pip's argument, a package or an extra of ours,
    ``'"lfd-tcmen[ray]"'``)."""
    return LFDError(f"{what} needs the {package} package, which is not installed: pip install {install}")
