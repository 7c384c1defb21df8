"""Paste into README.md the tables it copies from results files.

    .venv/bin/python scripts/paste_tables.py

Each block `<!-- table: PATH -->` ... `<!-- end table -->` of README.md is replaced by the
Markdown table (the lines starting with "|") of PATH, read from the repository root. Run it after
a benchmark rewrites a table; tests/test_readme_tables.py fails until it has run.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"(<!-- table: (\S+) -->\n)(.*?)(<!-- end table -->)", re.S)


def sources(text: str) -> list[str]:
    """The results files the text's table blocks copy, in order."""
    return [match.group(2) for match in BLOCK.finditer(text)]


def pasted(text: str) -> str:
    """The text with every table block holding its file's table."""

    def paste(match: re.Match[str]) -> str:
        source = REPO / match.group(2)
        if not source.is_file():
            raise FileNotFoundError(f"README.md: {match.group(2)} (named by a table block) does not exist")
        rows = [line for line in source.read_text(encoding="utf-8").splitlines() if line.startswith("|")]
        return match.group(1) + "".join(row + "\n" for row in rows) + match.group(4)

    return BLOCK.sub(paste, text)


def main() -> None:
    readme = REPO / "README.md"
    text = readme.read_text(encoding="utf-8")
    try:
        new = pasted(text)
    except FileNotFoundError as error:
        sys.exit(str(error))
    readme.write_text(new, encoding="utf-8")
    print(f"README.md: {len(sources(text))} table(s) pasted, {'changed' if new != text else 'unchanged'}")


if __name__ == "__main__":
    main()
