"""Reading annotation spreadsheets as their authors ship them: .xlsx, .xls and .csv.

Real coding sheets are messy: SAMM's header is on row 14 under a block of notes, CAS(ME)^3's
v1 workbook keeps the emotion labels on its second sheet, CASME II's header has blank columns,
and the same column is spelt "OnsetFrame", "Onset Frame" or "onset". This module finds the
header row (and sheet) holding the columns a loader needs, and hands back the rows below it with
the row numbers a user sees in Excel (1-based), so every error can name ``file, row N``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import xlrd
from openpyxl.utils import get_column_letter

from lfd_tcmen.core.errors import LFDError

# How far down a sheet the header may sit (SAMM: row 14).
HEADER_SEARCH_ROWS = 40

Rows = list[tuple[int, tuple[object, ...]]]  # (row number as a spreadsheet shows it, cells)

# Values meaning "no frame given" in the real sheets (CASME II apex "/", bob.db.casme2 apex -1).
_MISSING_MARKS = {"", "/", "-", "-1", "none", "nan", "n/a", "na"}


def normalise_name(name: object) -> str:
    """Column name for matching: lower case, letters and digits only ("Onset Frame" -> "onsetframe")."""
    return re.sub(r"[^0-9a-z]", "", str(name).lower()) if name is not None else ""


@dataclass(frozen=True)
class Table:
    """The data rows of one sheet, below its header row.

    rows: (spreadsheet row number as Excel shows it, cell values) in file order; fully blank
    rows are skipped. ``columns`` maps each wanted key to its column position.
    """

    path: Path
    sheet: str | None
    header_row: int
    header: tuple[str, ...]
    columns: dict[str, int]
    rows: list[tuple[int, tuple[object, ...]]]

    def source(self, row: int) -> str:
        """The ``file, row N`` string stored in ``Sample.source``."""
        return f"{self.path}, row {row}"

    def get(self, cells: tuple[object, ...], key: str) -> object:
        """Cell of column ``key`` (a key of ``columns``), or None if the row is short or the column absent."""
        idx = self.columns.get(key)
        if idx is None or idx >= len(cells):
            return None
        return cells[idx]


def read_table(
    path: str | Path,
    required: dict[str, Sequence[str]],
    optional: dict[str, Sequence[str]] | None = None,
    sheet: str | None = None,
) -> Table:
    """Find the sheet and header row holding every ``required`` column; return the rows below.

    required / optional: key -> accepted column names (matched after ``normalise_name``), e.g.
    ``{"onset": ("OnsetFrame", "Onset Frame", "Onset")}``. The first sheet (in workbook order)
    with a header row among its first ``HEADER_SEARCH_ROWS`` rows that has all required columns
    is used. Raises ``LFDError`` naming the file when it is missing or unreadable, when no such
    header exists, or when no data rows follow the header.
    """
    path = Path(path)
    if not path.is_file():
        raise LFDError("annotation file not found", path)
    optional = optional or {}
    wanted = {
        **{k: tuple(normalise_name(a) for a in v) for k, v in optional.items()},
        **{k: tuple(normalise_name(a) for a in v) for k, v in required.items()},
    }
    best_missing: list[str] | None = None
    sheets_seen: list[str] = []
    any_content = False
    for sheet_name, rows in _sheets(path, sheet):
        sheets_seen.append(sheet_name or "")
        rows = [(n, c) for n, c in rows if not _blank(c)]
        any_content = any_content or bool(rows)
        for row_number, cells in rows[:HEADER_SEARCH_ROWS]:
            names = [normalise_name(c) for c in cells]
            columns = _match_columns(names, wanted)
            missing = [k for k in required if k not in columns]
            if missing:
                if best_missing is None or len(missing) < len(best_missing):
                    best_missing = missing
                continue
            data = [(n, c) for n, c in rows if n > row_number]
            if not data:
                raise LFDError("no annotation rows below the header", path, row_number)
            return Table(
                path, sheet_name, row_number, tuple("" if c is None else str(c) for c in cells), columns, data
            )
    if sheet is not None and not sheets_seen:
        raise LFDError(f"no sheet named {sheet!r}", path)
    if not any_content:
        raise LFDError("the file is empty", path)
    need = ", ".join(f"{k} ({'/'.join(required[k])})" for k in (best_missing or list(required)))
    where = f" in sheet(s) {', '.join(repr(s) for s in sheets_seen if s)}" if any(sheets_seen) else ""
    raise LFDError(f"no header row with the required columns{where}; missing: {need}", path)


def _match_columns(names: list[str], wanted: dict[str, tuple[str, ...]]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for key, aliases in wanted.items():
        for alias in aliases:  # alias order is preference order
            if alias in names:
                columns[key] = names.index(alias)
                break
    return columns


def _blank(cells: tuple[object, ...]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


ZIP_MAGIC = b"PK\x03\x04"  # .xlsx / .xlsm (Office Open XML)
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls (BIFF in an OLE2 container)


def _kind(path: Path) -> str:
    """The workbook kind from the file's first bytes when they say, else from its suffix: an
    .xlsx saved under an .xls name (or the reverse) is read as what it is."""
    suffix = path.suffix.lower()
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError:
        return suffix
    if suffix in (".xls", ".xlsx", ".xlsm"):
        if head.startswith(ZIP_MAGIC):
            return ".xlsx"
        if head.startswith(OLE_MAGIC):
            return ".xls"
    return suffix


def _sheets(path: Path, sheet: str | None) -> Iterator[tuple[str | None, Rows]]:
    suffix = _kind(path)
    try:
        if suffix in (".xlsx", ".xlsm"):
            yield from _xlsx_sheets(path, sheet)
        elif suffix == ".xls":
            yield from _xls_sheets(path, sheet)
        elif suffix in (".csv", ".txt"):
            yield None, _csv_rows(path)
        else:
            raise LFDError(
                f"unsupported annotation file type {suffix!r} (expected .xlsx, .xls or .csv)", path
            )
    except LFDError:
        raise
    except Exception as err:  # corrupt workbook, wrong format behind the suffix, bad encoding
        raise LFDError(f"cannot read the file: {type(err).__name__}: {err}", path) from err


@dataclass(frozen=True)
class UnsavedFormula:
    """A formula cell whose workbook stores no computed value (written by a program that does not
    calculate, or saved with calculation off): a reader sees nothing there, Excel a number."""

    cell: str  # "E2"
    formula: str  # "=D2+8"

    def __str__(self) -> str:
        return self.formula


def _xlsx_sheets(path: Path, sheet: str | None) -> Iterator[tuple[str | None, Rows]]:
    # file objects: openpyxl judges a path by its suffix, and an .xlsx may be named .xls
    with path.open("rb") as fh, path.open("rb") as formulas_fh:
        values = openpyxl.load_workbook(fh, read_only=True, data_only=True)
        formulas = openpyxl.load_workbook(formulas_fh, read_only=True, data_only=False)
        try:
            for ws, ws_formulas in zip(values.worksheets, formulas.worksheets, strict=True):
                if sheet is not None and ws.title != sheet:
                    continue
                # read_only iter_rows starts at row 1 and yields empty rows, so enumerate gives Excel rows
                rows = zip(ws.iter_rows(values_only=True), ws_formulas.iter_rows(values_only=True))
                yield ws.title, [(i, _with_formulas(i, *r)) for i, r in enumerate(rows, start=1)]
        finally:
            values.close()
            formulas.close()


def _with_formulas(row: int, values: tuple[object, ...], formulas: tuple[object, ...]) -> tuple[object, ...]:
    """A row's values, each blank cell that holds a formula as an ``UnsavedFormula``."""
    return tuple(
        UnsavedFormula(f"{get_column_letter(col)}{row}", f)
        if v is None and isinstance(f, str) and f.startswith("=")
        else v
        for col, (v, f) in enumerate(zip(values, formulas), start=1)
    )


def _xls_sheets(path: Path, sheet: str | None) -> Iterator[tuple[str | None, Rows]]:
    book = xlrd.open_workbook(str(path), logfile=io.StringIO())  # xlrd's warnings, not on stdout
    for sh in book.sheets():
        if sheet is not None and sh.name != sheet:
            continue
        yield (
            sh.name,
            [(i + 1, tuple(None if v == "" else v for v in sh.row_values(i))) for i in range(sh.nrows)],
        )


def _csv_rows(path: Path) -> Rows:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return [
            (i, tuple(None if v.strip() == "" else v for v in r))
            for i, r in enumerate(csv.reader(fh), start=1)
        ]


# ---------------------------------------------------------------------------------------------
# cell parsing


def cell_text(value: object) -> str:
    """A cell as stripped text; integral floats lose their ".0" (xlrd gives 12.0 for 12)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def is_missing(value: object) -> bool:
    """True for blanks and the 'no frame' marks of real sheets: "/", -1, "-"."""
    return cell_text(value).lower() in _MISSING_MARKS


def parse_frame(
    value: object, what: str, table_path: Path | str, row: int, optional: bool = False
) -> int | None:
    """A frame number cell as int. Missing ("/", -1, blank) -> None if ``optional`` else LFDError."""
    _refuse_unsaved(value, what, table_path, row)
    if is_missing(value):
        if optional:
            return None
        raise LFDError(f"{what} frame is missing (cell {cell_text(value)!r})", table_path, row)
    text = cell_text(value)
    try:
        number = float(text)
    except ValueError:
        raise LFDError(f"{what} frame {text!r} is not a number", table_path, row) from None
    if not number.is_integer() or number < 0:
        raise LFDError(f"{what} frame {text!r} is not a frame number", table_path, row)
    return int(number)


def parse_emotion(value: object, table_path: Path | str, row: int) -> str:
    """Emotion label, lower case with single spaces ("Others " -> "others"); empty -> LFDError."""
    _refuse_unsaved(value, "emotion", table_path, row)
    text = " ".join(cell_text(value).lower().split())
    if not text:
        raise LFDError("emotion label is empty", table_path, row)
    return text


def parse_text(value: object, what: str, table_path: Path | str, row: int) -> str:
    """A required text cell (subject, filename); empty -> LFDError."""
    _refuse_unsaved(value, what, table_path, row)
    text = cell_text(value)
    if not text:
        raise LFDError(f"{what} is empty", table_path, row)
    return text


def _refuse_unsaved(value: object, what: str, table_path: Path | str, row: int) -> None:
    """A formula without a stored value would read as blank (an apex silently spotted): name it."""
    if isinstance(value, UnsavedFormula):
        raise LFDError(
            f"{what} cell {value.cell} holds a formula ({value.formula}) without a saved value; open "
            "the sheet in a spreadsheet program and save it, so its values are stored",
            table_path,
            row,
        )
