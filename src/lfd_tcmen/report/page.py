"""Building blocks of a self-contained HTML page: escaped tables, inline PNG figures, banners.

Nothing here refers to anything outside the page: no scripts, no style sheets, no fonts, no
links to the network; figures are embedded as base64 data URIs. Every text is escaped.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222;
       max-width: 1100px; margin: 1.5em auto; padding: 0 1em; background: #fff; }
h1 { font-size: 1.6em; margin-bottom: .2em; } h2 { border-bottom: 1px solid #ddd; margin-top: 1.6em; }
table { border-collapse: collapse; margin: .6em 0; } th, td { padding: 3px 9px; border: 1px solid #ddd; }
th { background: #f4f4f4; text-align: left; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.banner { padding: .7em 1em; margin: .8em 0; border-radius: 4px; font-weight: 600; }
.honest { background: #e6f4ea; border: 2px solid #2e7d32; color: #1b5e20; }
.leaky { background: #fdecea; border: 2px solid #c62828; color: #b71c1c; }
.partial { background: #fff4e5; border: 2px solid #ef6c00; color: #a84300; }
.note { color: #555; font-size: .92em; } .leaky-cell { color: #b71c1c; font-weight: 600; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
pre { background: #f7f7f7; padding: .8em; overflow-x: auto; font-size: 12px; }
.nowrap { white-space: nowrap; } table.ranked { font-size: .92em; }
.finding { font-size: 1.15em; font-weight: 600; background: #f4f8fc; border-left: 4px solid #1f77b4;
           padding: .6em .9em; margin: .8em 0; }
.swatch { display: inline-block; width: .9em; height: .9em; margin-right: .4em; vertical-align: -1px;
          border-radius: 2px; }
"""


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def number(value: Any, digits: int = 4) -> str:
    """A score as the page shows it (and as tests look for it): 4 decimals; '-' for none."""
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return esc(value)
    if isinstance(value, int):
        return f"{value:,}"
    return "-" if value != value else f"{value:.{digits}f}"  # nan != nan


def table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[tuple[str, str]],
    raw: Sequence[str] = (),
    nowrap: Sequence[str] = (),
) -> str:
    """An HTML table of ``rows`` with (key, header) ``columns``; numbers right-aligned with
    ``number``; keys in ``raw`` hold HTML already made safe; cells of keys in ``nowrap`` stay on
    one line (a score with its sd or interval)."""
    head = "".join(f"<th>{esc(title)}</th>" for _, title in columns)
    body = []
    for row in rows:
        cells = []
        for key, _ in columns:
            value = row.get(key)
            keep = ' class="nowrap"' if key in nowrap else ""
            if key in raw:
                cells.append(f"<td{keep}>{value if value is not None else ''}</td>")
            elif isinstance(value, int | float) and not isinstance(value, bool):
                cells.append(f'<td class="num">{number(value)}</td>')
            else:
                cells.append(f"<td{keep}>{esc('' if value is None else value)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def figure(path: Path, alt: str) -> str:
    """The PNG at ``path`` inline (a base64 data URI); a note when there is none."""
    if not path.is_file():
        return f'<p class="note">No figure {esc(path.name)}.</p>'
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<p><img alt="{esc(alt)}" src="data:image/png;base64,{data}"></p>'


def banner(kind: str, text: str) -> str:
    """A coloured box: kind "honest" (green), "leaky" (red) or "partial" (orange)."""
    return f'<div class="banner {esc(kind)}">{esc(text)}</div>'


def swatch(color: str) -> str:
    return f'<span class="swatch" style="background:{esc(color)}"></span>'


def section(title: str, body: str) -> str:
    return f"<section><h2>{esc(title)}</h2>\n{body}\n</section>"


def page(title: str, parts: Sequence[str]) -> str:
    """The whole document: one style block, no external resource."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(title)}</title><style>{STYLE}</style></head>\n<body>\n"
        + "\n".join(parts)
        + "\n</body></html>\n"
    )
