"""Every table the README copies from a results file is that file's table, row for row.

A block `<!-- table: PATH -->` ... `<!-- end table -->` in README.md holds the Markdown table
of PATH (a file a benchmark wrote, committed under results/). When a benchmark is rerun and its
table changes, this fails until `scripts/paste_tables.py` pastes it again.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("paste_tables", REPO / "scripts" / "paste_tables.py")
assert _spec is not None and _spec.loader is not None
paste_tables = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(paste_tables)


def readme() -> str:
    return (REPO / "README.md").read_text(encoding="utf-8")


def test_the_readme_copies_at_least_one_results_table():
    assert "results/megc2019/table.md" in paste_tables.sources(readme())


def test_each_copied_table_matches_its_file():
    text = readme()
    assert paste_tables.pasted(text) == text, (
        "README.md's tables differ from their files: run scripts/paste_tables.py"
    )


def test_a_changed_row_is_caught():
    text = readme()
    start = text.index("<!-- table: ")
    row = text.index("\n|", start) + 1  # the first row of the first copied table
    changed = text[:row] + "| x " + text[row:]
    assert paste_tables.pasted(changed) == text != changed


def test_a_block_naming_a_missing_file_is_an_error():
    with pytest.raises(FileNotFoundError, match="results/no_such/table.md"):
        paste_tables.pasted("<!-- table: results/no_such/table.md -->\n| a |\n<!-- end table -->")
