"""Markdown tables."""

from __future__ import annotations

from lfd_tcmen.report.tables import format_p, markdown_table


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


def test_a_p_value_below_the_bootstraps_resolution_is_not_printed_as_zero():
    assert format_p(0.0) == "< 0.001"
    assert format_p(0.0004) == "< 0.001"
    assert format_p(0.0006) == "0.001"
    assert format_p(0.0123) == "0.012"
    assert format_p(1.0) == "1.000"
