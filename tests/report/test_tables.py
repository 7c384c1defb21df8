"""Markdown tables."""

from __future__ import annotations

from lfd_tcmen.report.tables import markdown_table


def test_markdown_table_formats_and_aligns():
    rows = [
        {"model": "lfd_tcmen", "uf1": 0.712345, "n": 442, "note": "a|b"},
        {"model": "ststnet", "uf1": float("nan"), "n": 12},
        {"model": "x", "uf1": None, "n": 3},
    ]
    text = markdown_table(rows, ["model", ("uf1", "UF1"), "n", "note"], floatfmt=".3f")
    assert text.splitlines() == [
        "| model     |   UF1 |   n | note |",
        "|-----------|------:|----:|------|",
        "| lfd_tcmen | 0.712 | 442 | a\\|b |",
        "| ststnet   |   nan |  12 |      |",
        "| x         |       |   3 |      |",
    ]
