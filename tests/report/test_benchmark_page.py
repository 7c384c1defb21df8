"""A benchmark's report.html opens with its answer: one sentence with the interval, the honest rows
ranked, the reference named, the leaky rows apart; bars.png zooms to the data and draws the
published figures; both are rebuilt from results.json alone."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import cv2
import pytest

from lfd_tcmen.config.benchmark import benchmark_from_dict
from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.report.benchmark_page import finding, write_benchmark_report
from lfd_tcmen.report.benchmark_plot import plot_benchmark_bars, rank_groups
from lfd_tcmen.report.benchmark_table import rewrite_pages

BROWSER_TIMEOUT_S = 120
# method -> honest mean, its sd, its difference from "ref" with the 95% interval; leaky rows score
# higher and in another order, so a leaky row in the honest table would show.
HONEST = {
    "ref": (0.70, 0.010, None),
    "better": (0.74, 0.011, (0.040, 0.010, 0.070, 0.011)),
    "same": (0.71, 0.008, (0.010, -0.020, 0.040, 0.570)),
    "worse": (0.60, 0.016, (-0.093, -0.139, -0.046, 0.0004)),
}
LEAKY_UF1 = {"ref": 0.83, "better": 0.80, "same": 0.86, "worse": 0.66}


def _delta(d):
    return None if d is None else {"uf1": dict(zip(("delta", "ci_low", "ci_high", "p"), d))}


def _rows():
    rows = []
    for method, (uf1, sd, d) in HONEST.items():
        common = {"method": method, "kind": "method", "epochs": 30, "status": "done", "folds": "4/4"}
        mean = {**common, "protocol": "honest", "uf1": uf1, "uf1_std": sd, "uar": uf1, "uar_std": sd}
        mean.update(seeds=5, per_seed={str(s): {"uf1": uf1 + (s - 2) * sd / 2} for s in range(5)})
        ensemble = {**common, "protocol": "honest", "variant": "seed ensemble", "uf1": uf1 + 0.02, "uar": uf1}
        leaky = {**common, "protocol": "leaky-best-epoch", "uf1": LEAKY_UF1[method], "uf1_std": sd}
        leaky.update(uar=LEAKY_UF1[method], uar_std=sd, seeds=5)
        for row in (mean, ensemble, leaky):
            if _delta(d) and "variant" not in row:
                row["vs_reference"] = _delta(d)
        rows += [mean, ensemble, leaky]
    return rows


PUBLISHED = [
    {"name": "STSTNet", "uf1": 0.7353, "uar": 0.7605, "protocol": "honest", "note": "last epoch"},
    {"name": "HTNet", "uf1": 0.8603, "uar": 0.8475, "protocol": "leaky-best-epoch", "note": ""},
]


def _ranked(html: str, table_id: str) -> list[str]:
    """The method cell of each row of the table ``table_id``, in page order."""
    body = html[html.index(f'id="{table_id}"') :]
    body = body[: body.index("</table>")]
    return [
        re.sub(r"<[^>]+>", "", m).replace(" (reference)", "")
        for m in re.findall(r"<tr><td[^>]*>\d+</td><td[^>]*>(.*?)</td>", body)
    ]


def test_the_finding_names_the_top_row_the_reference_and_the_interval():
    honest = [r for r in _rows() if r["protocol"] == "honest"]
    text = finding(honest, "ref")
    assert text.startswith("Honest protocol, 5 seeds: better ranks first with UF1 0.7400 ± 0.0110, above")
    assert (
        "the reference ref (0.7000 ± 0.0100): ΔUF1 +0.0400 [+0.010, +0.070] (95% interval), p 0.011" in text
    )
    assert "1 row is above (better), 1 is below (worse) and 1 is not distinguishable" in text
    no_better = [r for r in honest if r["method"] != "better"]
    assert "same ranks first with UF1 0.7100 ± 0.0080, not distinguishable from the reference ref" in finding(
        no_better, "ref"
    )
    top_is_ref = [r for r in no_better if r["method"] != "same"]
    assert "ref ranks first with UF1 0.7000 ± 0.0100, the reference itself" in finding(top_is_ref, "ref")
    assert "no reference method is set" in finding(honest, None)


def test_the_page_opens_with_the_ranked_honest_rows_and_keeps_the_leaky_apart(tmp_path):
    (tmp_path / "runs" / "ref__honest").mkdir(parents=True)  # a kept run folder: linked
    page = write_benchmark_report(
        tmp_path, "toy", [{**r, "run": f"runs/{r['method']}__{r['protocol']}"} for r in _rows()],
        ["a note"], (4, 4), reference="ref", published=PUBLISHED,
    ).read_text()  # fmt: skip
    finding_at, honest_at, leaky_at = (
        page.index(k) for k in ('id="finding"', 'id="honest-ranked"', 'id="leaky-ranked"')
    )
    assert finding_at < honest_at < leaky_at  # the answer, then the honest ranking, the leaky rows last
    assert _ranked(page, "honest-ranked") == ["better", "same", "ref", "worse"]
    assert _ranked(page, "leaky-ranked") == ["same", "ref", "better", "worse"]
    honest_table = page[honest_at:leaky_at]
    assert "LEAKY" not in honest_table[: honest_table.index("</table>")]
    assert "<strong>ref</strong> (reference)" in honest_table and "ΔUF1 vs ref [95% CI]" in honest_table
    assert '<td class="nowrap">0.7400 ± 0.0110</td>' in honest_table  # mean ± sd never wraps
    assert "Every line: 5 seeds, 4/4 folds." in honest_table  # a column all alike is a sentence
    assert page.count("run folder</a>") == 1 and "run report" not in page  # only folders that exist
    assert "STSTNet" in page and "0.7353" in page and 'class="swatch"' not in page
    assert not re.search(r"https?://", page)


def test_a_page_whose_run_folders_are_gone_has_no_files_column(tmp_path):
    rows = [{**r, "run": f"runs/{r['method']}__{r['protocol']}"} for r in _rows()]
    page = write_benchmark_report(tmp_path, "toy", rows, [], (4, 4), reference="ref").read_text()
    assert "<th>files</th>" not in page and "run folder" not in page
    (tmp_path / "runs" / "ref__honest").mkdir(parents=True)
    page = write_benchmark_report(tmp_path, "toy", rows, [], (4, 4), reference="ref").read_text()
    assert page.count("<th>files</th>") == 1  # the honest table's; the leaky one links nothing


def test_bars_zoom_to_the_data_and_fit_a_page(tmp_path):
    rows = _rows()
    assert rank_groups(rows) == ["better", "same", "ref", "worse"]
    path = plot_benchmark_bars(rows, tmp_path / "bars.png", reference="ref", published=PUBLISHED)
    height, width = cv2.imread(str(path)).shape[:2]
    assert width <= 1200 and height < 1.2 * width
    many = [
        {"method": f"method_{i:02d}_with_a_long_name", "protocol": p, "uf1": 0.5 + i / 100, "uar": 0.4}
        for i in range(14)
        for p in ("honest", "leaky-best-epoch")
    ]
    height, width = cv2.imread(str(plot_benchmark_bars(many, tmp_path / "many.png"))).shape[:2]
    assert width <= 1200 and height > width / 2  # grows down, not sideways


def _bench(name: str = "toy"):
    raw = {
        "name": name,
        "seeds": [0, 1, 2, 3, 4],
        "reference": "ref",
        "data": {"source": "store", "path": "x", "face_size": 16, "flow_size": 8},
        "methods": [{"name": m, "model": "lfd_tcmen"} for m in HONEST],
        "published": PUBLISHED,
    }
    return benchmark_from_dict(raw)


def test_pages_are_rebuilt_from_results_json_alone(tmp_path):
    (tmp_path / "results.json").write_text(
        json.dumps({"name": "toy", "seeds": [0, 1, 2, 3, 4], "reference": "ref", "folds": ["a", "b", "c", "d"],
                    "fingerprint": "f00d", "rows": _rows()})
    )  # fmt: skip
    page = rewrite_pages(_bench(), tmp_path).read_text()
    assert (tmp_path / "bars.png").is_file() and not (tmp_path / "table.md").exists()
    assert "better ranks first" in page and "data fingerprint f00d" in page and "4 of 4 folds" in page
    with pytest.raises(LFDError, match="holds benchmark 'toy', not 'other'"):
        rewrite_pages(_bench("other"), tmp_path)
    with pytest.raises(LFDError, match="no benchmark results here"):
        rewrite_pages(_bench(), tmp_path / "empty")


def test_the_page_answers_in_headless_chromium(tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip(
            "chromium not installed (Debian: apt-get install -y chromium); the browser check is skipped"
        )
    (tmp_path / "results.json").write_text(
        json.dumps({"name": "toy", "seeds": [0, 1, 2, 3, 4], "reference": "ref", "folds": ["a", "b", "c", "d"],
                    "fingerprint": "f00d", "rows": _rows()})
    )  # fmt: skip
    url = rewrite_pages(_bench(), tmp_path).resolve().as_uri()
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    dom = subprocess.run(
        [*flags, "--dump-dom", url], capture_output=True, text=True, timeout=BROWSER_TIMEOUT_S
    ).stdout
    assert _ranked(dom, "honest-ranked") == ["better", "same", "ref", "worse"]
    sentence = re.search(r'<p class="finding" id="finding">(.*?)</p>', dom).group(1)
    assert "better ranks first" in sentence and "+0.0400 [+0.010, +0.070]" in sentence
