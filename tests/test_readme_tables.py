"""Every table the README copies from a results file is that file's table, row for row.

A block `<!-- table: PATH -->` ... `<!-- end table -->` in README.md holds the Markdown table
of PATH (a file a benchmark wrote, committed under results/); its other lines are prose. When a
benchmark is rerun and its table changes, this fails until `scripts/paste_tables.py` pastes it again.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"<!-- table: (\S+) -->\n(.*?)<!-- end table -->", re.S)


def table_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("|")]


def blocks() -> list[tuple[str, str]]:
    return BLOCK.findall((REPO / "README.md").read_text(encoding="utf-8"))


def test_the_readme_copies_at_least_one_results_table():
    assert blocks(), "README.md: no <!-- table: PATH --> block"


def test_each_copied_table_matches_its_file():
    for path, copied in blocks():
        source = REPO / path
        assert source.is_file(), f"README.md copies {path}, which does not exist"
        assert table_rows(copied) == table_rows(source.read_text(encoding="utf-8")), (
            f"README.md's copy of {path} differs from the file: run scripts/paste_tables.py"
        )


def test_a_changed_row_is_caught():
    path, copied = blocks()[0]
    rows = table_rows(copied)
    changed = copied.replace(rows[-1], rows[-1].replace("|", "| x", 1))
    assert table_rows(changed) != table_rows((REPO / path).read_text(encoding="utf-8"))
