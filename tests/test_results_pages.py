"""The benchmark pages committed under results/ link only to what git keeps beside them (issue 34:
a page that links a run report present only on the machine that drew it is a broken link for
everyone else). Run folders' own report.html are git-ignored, so a committed page is drawn with
`benchmark --pages-only` where they are absent and links each kept run folder instead."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import PurePosixPath

from git_files import REPO, tracked

HREF = re.compile(r'href="([^"]*)"')


def broken_links(files: list[str], read: Callable[[str], str]) -> tuple[list[str], int]:
    """Each HTML page among ``files``: its links into the repository (not anchors, data or the
    web) that name neither a file of ``files`` nor, ending in "/", a folder holding one; and how
    many links were looked at."""
    kept = set(files)
    folders = {str(p) for f in files for p in PurePosixPath(f).parents}
    broken, looked = [], 0
    for page in (f for f in files if f.endswith(".html")):
        for href in HREF.findall(read(page)):
            if href.startswith(("#", "data:", "http:", "https:", "mailto:")):
                continue
            looked += 1
            target = str(PurePosixPath(page).parent / href.rstrip("/"))
            if not (target in kept or (href.endswith("/") and target in folders)):
                broken.append(f"{page}: {href}")
    return broken, looked


def test_every_link_of_a_committed_results_page_is_in_git():
    files = [f for f in tracked() if f.startswith("results/")]
    assert "results/megc2019/report.html" in files
    broken, looked = broken_links(files, lambda page: (REPO / page).read_text(encoding="utf-8"))
    assert not broken, "links to what git does not keep:\n" + "\n".join(broken)
    assert looked >= 20  # the composite's filed rows alone link a dozen folders


def test_a_link_to_an_ignored_run_report_is_caught():
    files = ["results/b/report.html", "results/b/runs/x__honest/seed0/metrics.json"]
    page = (
        '<a href="runs/x__honest/">run folder</a><a href="runs/x__honest/report.html">run report</a>'
        '<a href="runs/y__honest/">gone</a><a href="#top">top</a><a href="https://example.org">web</a>'
    )
    broken, looked = broken_links(files, lambda _: page)
    assert broken == [
        "results/b/report.html: runs/x__honest/report.html",
        "results/b/report.html: runs/y__honest/",
    ]
    assert looked == 3
