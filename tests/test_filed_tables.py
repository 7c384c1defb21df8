"""Every benchmark table under results/ is rebuilt, cell for cell, from the per-seed folders git
keeps beside it (issue 34: a number the README shows must rerun from the repository).

For each ``results/<name>/table.md`` with a ``benchmarks/<name>.yaml`` and a ``runs/`` folder, and
for each table ``benchmarks/rows_table.sh`` wrote there (its first line names the rows), the rows
whose every seed is in git (the reference's too) are rebuilt by ``benchmark --report-only`` on a
copy of their folders, and each of the file's cells must come back as it is. Nothing is trained,
but the benchmark's data is read for its folds: a table whose feature store is not prepared here
is skipped, saying so. Two cells are not compared, for a stated reason: the train time of a table
that a full benchmark wrote (a refiled seed's training is timed again, on another day's machine),
and the Holm-adjusted p of a table rebuilt from fewer rows than it holds (the adjustment counts
the rows beside it).
"""

from __future__ import annotations

import re
import shutil
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

import pytest

from git_files import REPO, tracked
from lfd_tcmen.cli import main
from lfd_tcmen.config.benchmark import load_benchmark

ROWS_TABLE = re.compile(
    r"^<!-- bash benchmarks/rows_table\.sh (\S+)\s.*from the seed folders under (\S+) -->"
)
SEED_ENSEMBLE = " (seed ensemble)"
TRAIN_TIME = "train time (s)"


def parse(text: str) -> dict[tuple[str, str], dict[str, str]]:
    """The first Markdown table of ``text``: (method, protocol) -> {column: cell}."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    rows = {}
    for line in lines[2:]:
        cells = dict(zip(header, (cell.strip() for cell in line.strip("|").split("|")), strict=True))
        rows[cells["method"], cells["protocol"]] = cells
    return rows


def folder(protocol_cell: str) -> str:
    """A table's protocol cell as its run folders spell it: "leaky-best-epoch (LEAKY)" -> the first word."""
    return protocol_cell.split()[0]


@dataclass(frozen=True)
class Table:
    path: Path  # the file, under results/<name>/
    config: Path  # benchmarks/<name>.yaml
    rows: tuple[str, ...]  # the rows it holds (a full benchmark's table: every method in it)
    full_benchmark: bool  # written by `benchmark` itself (its train times are the original run's)

    @property
    def runs(self) -> str:
        return f"{self.path.parent.relative_to(REPO)}/runs"


def tables() -> list[Table]:
    found = []
    for runs in sorted((REPO / "results").glob("*/runs")):
        config = REPO / "benchmarks" / f"{runs.parent.name}.yaml"
        if not config.is_file():
            continue
        for path in sorted(runs.parent.glob("*.md")):
            first = path.read_text(encoding="utf-8").splitlines()[0]
            made = ROWS_TABLE.match(first)
            if made and made[2].rstrip("/") == f"{runs.parent.relative_to(REPO)}/runs":
                found.append(Table(path, config, tuple(made[1].split(",")), full_benchmark=False))
            elif path.name == "table.md":
                shown = parse(path.read_text(encoding="utf-8"))
                methods = tuple(dict.fromkeys(m.removesuffix(SEED_ENSEMBLE) for m, _ in shown))
                found.append(Table(path, config, methods, full_benchmark=True))
    return found


def filed(table: Table, method: str, protocols: set[str], seeds: tuple[int, ...]) -> bool:
    """Every seed of ``method`` in git under ``table.runs``, for every protocol the table shows."""
    return all(
        f"{table.runs}/{method}__{protocol}/seed{k}/metrics.json" in tracked()
        for protocol in protocols
        for k in seeds
    )


@pytest.mark.parametrize("table", tables(), ids=lambda t: str(t.path.relative_to(REPO)))
def test_a_results_table_is_rebuilt_from_its_filed_seeds(table, tmp_path):
    bench = load_benchmark(table.config)
    trained = {m.name for m in bench.methods}  # a declared ensemble is rebuilt beside its members
    shown = parse(table.path.read_text(encoding="utf-8"))
    protocols = {folder(p) for _, p in shown}
    rebuilt_rows = [m for m in table.rows if m in trained and filed(table, m, protocols, bench.seeds)]
    if bench.reference and bench.reference not in rebuilt_rows:
        pytest.skip(f"the reference {bench.reference} has seeds missing from git under {table.runs}")
    whole = set(rebuilt_rows) >= {m for m in table.rows if m in trained}
    for method in rebuilt_rows:
        for protocol in protocols:
            shutil.copytree(
                REPO / table.runs / f"{method}__{protocol}", tmp_path / "runs" / f"{method}__{protocol}"
            )
    out, err = StringIO(), StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main([
            "benchmark", "--config", str(table.config), "--methods", ",".join(rebuilt_rows),
            "--report-only", "--out", str(tmp_path), "--no-progress", "-q",
        ])  # fmt: skip
    if code != 0 and "data folder not found" in err.getvalue():  # the rows' sample list comes from the data
        pytest.skip(
            f"{err.getvalue().strip()} (not prepared here: `lfd-tcmen prepare`, or the benchmark's --root and --annotations, makes it)"
        )
    assert code == 0, err.getvalue()
    rebuilt = parse((tmp_path / "table.md").read_text(encoding="utf-8"))

    compared = 0
    for (method, protocol), cells in shown.items():
        if method.removesuffix(SEED_ENSEMBLE) not in rebuilt_rows:
            continue
        again = rebuilt[method, protocol]
        for column, cell in cells.items():
            if column == TRAIN_TIME and table.full_benchmark:
                continue
            if column.startswith("ΔUF1") and not whole:
                cell, again_cell = cell.split(", p")[0], again[column].split(", p")[0]
            else:
                again_cell = again[column]
            assert again_cell == cell, f"{table.path.name}: {method}, {protocol}, {column}"
            compared += 1
    assert compared >= 10 * len(rebuilt_rows), "too few cells compared: the table did not parse"


def test_the_composite_table_is_checked_for_most_of_its_rows():
    """The tables above are found, and the composite's has its filed rows among them."""
    found = {str(t.path.relative_to(REPO)): t for t in tables()}
    assert {"results/megc2019/table.md", "results/megc2019/flagship.md", "results/casme2/table.md"} <= set(
        found
    )
    composite = found["results/megc2019/table.md"]
    bench = load_benchmark(composite.config)
    rows = [m for m in composite.rows if filed(composite, m, {"honest", "leaky-best-epoch"}, bench.seeds)]
    assert {"lfd_tcmen", "off_apexnet_shared", "no_recon"} <= set(rows), rows
