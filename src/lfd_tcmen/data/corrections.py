"""Known errors in the authors' annotation files, and what is used instead (``corrections.csv``).

The table ships with the package. Each line names one cell of one authors' file (dataset, file
name, sheet row as a spreadsheet shows it, ``subject/filename`` of that row, field) with the
value found there (``old``), the value used instead (``new``) and why (``reason``). The rule is
the same for every row: ``new`` is the value the authors' own files give (the reason cites
where); ``skip`` drops the row (the authors mark it wrong and no file gives a usable interval);
empty leaves the apex unannotated (only the apex is wrong and no file gives it: preprocessing
spots it, as for apex "/" or -1). A line applies only while the file still holds ``old`` in that
row: if not, the authors may have fixed their file, so it is reported as stale and left out.

Loaders apply the table by default (``samples_from_table`` calls ``correct_table``); which lines
were applied is collected in a ``CorrectionLog`` (``load_samples(..., corrections=log)``), and
``CorrectionLog(enabled=False)`` turns them off, leaving the generic checks of
``loaders.common.check_interval``.
"""

from __future__ import annotations

import csv
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.data.tabular import Table, cell_text

CORRECTIONS_FILE = Path(__file__).with_name("corrections.csv")
SKIP = "skip"  # ``new`` meaning: drop this row
FIELDS = ("subject", "clip", "onset", "apex", "offset", "emotion", "aus")  # keys of a coding-sheet Table
_VERSION_MARK = "version:"


@dataclass(frozen=True)
class Correction:
    """One line of the table: in ``file`` (a name, any folder), ``row`` holds ``old`` in ``field``."""

    dataset: str
    file: str
    row: int
    sample: str  # "subject/filename" as the row writes them
    field: str
    old: str
    new: str  # the value to use; SKIP drops the row; "" leaves the apex unannotated
    reason: str

    def describe(self) -> str:
        """``row 751 (spNO.216/d): onset 3647 -> 2647 (reason)``."""
        new = "row dropped" if self.new == SKIP else (self.new or "not annotated")
        return f"row {self.row} ({self.sample}): {self.field} {self.old} -> {new} ({self.reason})"

    def to_dict(self) -> dict[str, object]:
        return {
            k: getattr(self, k) for k in ("dataset", "file", "row", "sample", "field", "old", "new", "reason")
        }


@dataclass(frozen=True)
class CorrectionTable:
    version: str
    corrections: tuple[Correction, ...]
    path: Path

    def for_file(self, dataset: str, path: Path) -> list[Correction]:
        return [c for c in self.corrections if c.dataset == dataset and c.file == path.name]


def read_corrections(path: str | Path = CORRECTIONS_FILE) -> CorrectionTable:
    """Parse a corrections csv: ``#`` comment lines (one says ``version: N``), then a header row.

    Raises ``LFDError`` naming the file and line for a missing version, an unknown field, a
    non-numeric row, or an empty ``new`` for any field but apex.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise LFDError(f"cannot read the corrections table: {err}", path) from None
    version = next(
        (ln.split(_VERSION_MARK, 1)[1].strip() for ln in lines if ln.startswith("#") and _VERSION_MARK in ln),
        "",
    )
    if not version:
        raise LFDError(f"no '# ... {_VERSION_MARK} N' line", path)
    numbered = [(n, ln) for n, ln in enumerate(lines, start=1) if ln.strip() and not ln.startswith("#")]
    reader = csv.DictReader(ln for _, ln in numbered)
    corrections = []
    for (line, _), entry in zip(numbered[1:], reader, strict=True):
        try:
            correction = Correction(
                **{k: (v or "").strip() for k, v in entry.items()} | {"row": int(entry["row"])}
            )
        except (TypeError, ValueError, KeyError) as err:
            raise LFDError(f"bad correction line: {err}", path, line) from None
        if correction.field not in FIELDS:
            raise LFDError(f"unknown field {correction.field!r} (one of {', '.join(FIELDS)})", path, line)
        if not correction.new and correction.field != "apex":
            raise LFDError("an empty 'new' is only allowed for the apex", path, line)
        corrections.append(correction)
    return CorrectionTable(version, tuple(corrections), path)


@lru_cache(maxsize=1)
def packaged_corrections() -> CorrectionTable:
    """The table shipped with the package (read once)."""
    return read_corrections(CORRECTIONS_FILE)


@dataclass
class CorrectionLog:
    """What the loaders did with the corrections table during one load.

    enabled: apply the table (the default) or not. applied: lines applied; stale: lines whose
    file no longer holds ``old`` (not applied); not_applied: lines for the files read while
    ``enabled`` is False.
    """

    enabled: bool = True
    table: CorrectionTable | None = None  # None: the packaged table
    applied: list[Correction] = field(default_factory=list)
    stale: list[Correction] = field(default_factory=list)
    not_applied: list[Correction] = field(default_factory=list)

    @property
    def version(self) -> str:
        return self.corrections().version

    def corrections(self) -> CorrectionTable:
        return self.table if self.table is not None else packaged_corrections()

    def rows_touched(self) -> int:
        return len({(c.file, c.row) for c in self.applied})

    def to_dict(self) -> dict[str, object]:
        return {
            "version": self.version,
            "enabled": self.enabled,
            "rows_touched": self.rows_touched(),
            "applied": [c.to_dict() for c in self.applied],
            "stale": [c.to_dict() for c in self.stale],
            "not_applied": [c.to_dict() for c in self.not_applied],
        }

    def worth_reporting(self) -> bool:
        """True when a line was applied or stale, or the table was off (else the CLI stays quiet)."""
        return bool(self.applied or self.stale or not self.enabled)

    def manifest_entry(self) -> dict[str, object]:
        """What a feature store records: the table version, on/off, and each line applied."""
        applied = [
            f"{c.file}, row {c.row}: {c.field} {c.old} -> {c.new or 'not annotated'}" for c in self.applied
        ]
        return {"version": self.version, "enabled": self.enabled, "applied": applied}

    def format(self) -> str:
        """Plain-text lines: how many corrections were applied, then one line each."""
        head = f"annotation corrections (table version {self.version}):"
        if not self.enabled:
            return (
                f"{head} off; {len(self.not_applied)} known error(s) of the files read left as written "
                "(generic checks: offset before onset skips the row, an apex outside onset..offset is spotted)"
            )
        if not self.applied and not self.stale:
            return f"{head} none listed for the files read"
        files = sorted({c.file for c in self.applied})
        lines = [f"{head} {len(self.applied)} applied, {self.rows_touched()} row(s) of {', '.join(files)}"]
        lines += [f"  {c.describe()}" for c in self.applied]
        lines += [f"  stale, not applied: {c.file}, {c.describe()}" for c in self.stale]
        return "\n".join(lines)


_ACTIVE: ContextVar[CorrectionLog | None] = ContextVar("lfd_tcmen_correction_log", default=None)


@contextmanager
def collecting(log: CorrectionLog) -> Iterator[CorrectionLog]:
    """Within this block, loaders apply (or not, per ``log.enabled``) and record into ``log``.

    The loaders' signature is fixed by the registry, so the log reaches them this way; outside
    any block the table is applied and nothing is recorded.
    """
    token = _ACTIVE.set(log)
    try:
        yield log
    finally:
        _ACTIVE.reset(token)


def correct_table(table: Table, dataset: str) -> Table:
    """``table`` with the corrections for its file applied: cells replaced, skipped rows removed.

    A line whose row is absent or whose ``sample`` or ``old`` differs from the file is stale: a
    warning names it and it is not applied.
    """
    log = _ACTIVE.get() or CorrectionLog()
    wanted = log.corrections().for_file(dataset, table.path)
    if not wanted:
        return table
    if not log.enabled:
        log.not_applied.extend(wanted)
        return table
    rows = dict(table.rows)
    for c in wanted:
        cells = rows.get(c.row)
        found = "no such row" if cells is None else _current(table, cells, c)
        if found is not None:
            log.stale.append(c)
            warnings.warn(
                f"{table.source(c.row)}: correction not applied, the file has {found} "
                f"(corrections table version {log.version}; the authors may have fixed their file)",
                stacklevel=2,
            )
            continue
        log.applied.append(c)
        if c.new == SKIP:
            rows[c.row] = None  # type: ignore[assignment]
        else:
            cells = list(rows[c.row])
            cells[table.columns[c.field]] = c.new or None
            rows[c.row] = tuple(cells)
    return replace(table, rows=[(n, cells) for n, cells in rows.items() if cells is not None])


def _current(table: Table, cells: tuple[object, ...], c: Correction) -> str | None:
    """None when the row holds what ``c`` expects, else what it holds instead."""
    sample = f"{cell_text(table.get(cells, 'subject'))}/{cell_text(table.get(cells, 'clip'))}"
    if sample != c.sample:
        return f"sample {sample}, not {c.sample}"
    value = cell_text(table.get(cells, c.field))
    if value != c.old:
        return f"{c.field} {value!r}, not {c.old!r}"
    return None
