"""Markdown tables of result rows (for README figures, benchmark print-outs and the CLI)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from numbers import Integral, Real
from typing import Any


def _cell(value: Any, floatfmt: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, Integral):
        return str(int(value))
    if isinstance(value, Real):
        number = float(value)
        return "nan" if math.isnan(number) else format(number, floatfmt)
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str | tuple[str, str]],
    floatfmt: str = ".4f",
) -> str:
    """A GitHub-markdown table, one line per row, padded to line up in plain text too.

    columns: the keys to show, each a key or ``(key, header)``. Missing keys and None give empty
    cells; floats use ``floatfmt``, ints are printed as ints; numeric columns are right-aligned.
    """
    if not columns:
        raise ValueError("no columns to show")
    keys = [c if isinstance(c, str) else c[0] for c in columns]
    headers = [c if isinstance(c, str) else c[1] for c in columns]
    cells = [[_cell(row.get(k), floatfmt) for k in keys] for row in rows]
    numeric = [
        any(isinstance(row.get(k), Real) and not isinstance(row.get(k), bool) for row in rows)
        and all(
            row.get(k) is None or (isinstance(row.get(k), Real) and not isinstance(row.get(k), bool))
            for row in rows
        )
        for k in keys
    ]
    widths = [max([len(headers[j]), 3] + [len(r[j]) for r in cells]) for j in range(len(keys))]

    def line(values: Sequence[str]) -> str:
        padded = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)]
        return "| " + " | ".join(padded) + " |"

    rule = (
        "|"
        + "|".join(("-" * (w + 1) + ":") if num else ("-" * (w + 2)) for w, num in zip(widths, numeric))
        + "|"
    )
    return "\n".join([line(headers), rule, *(line(r) for r in cells)])


def format_p(p: float) -> str:
    """A p-value to three places; one below 0.001 reads "< 0.001", not "0.000" (a bootstrap of
    10,000 resamples resolves p only to 0.0002, so no smaller figure is claimed)."""
    return "< 0.001" if p < 0.0005 else f"{p:.3f}"
