"""The report as one self-contained HTML page: tables inline, every picture embedded as base64,
no external asset (the page opens offline and can be mailed as one file)."""

from __future__ import annotations

import base64
import html

from s3gan.report.figures import Figure
from s3gan.report.tables import Table

_STYLE = """
body { font-family: sans-serif; margin: 2em; max-width: 72em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.6em; text-align: left; }
th { background: #eee; }
figure { margin: 1.5em 0; }
figcaption, .note { color: #555; font-size: 0.9em; }
img { max-width: 100%; image-rendering: pixelated; border: 1px solid #ddd; }
.error { color: #a00; }
"""


def _table(table: Table) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in table.header)
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                   for row in table.rows)
    return (f"<h2>{html.escape(table.title)}</h2><table><tr>{head}</tr>{rows}</table>"
            f"<p class='note'>{html.escape(table.note)}</p>")


def _figure(figure: Figure) -> str:
    data = base64.b64encode(figure.png).decode()
    return (f"<figure><img alt='{html.escape(figure.title)}' src='data:image/png;base64,{data}'>"
            f"<figcaption><b>{html.escape(figure.title)}.</b> {html.escape(figure.caption)}"
            f"</figcaption></figure>")


def render(title: str, summary: list[str], tables: list[Table],
           sections: list[tuple[str, list[Figure], str]]) -> str:
    """``sections`` are (heading, figures, what is missing and why — empty when nothing is)."""
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
             f"</title><style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>"]
    parts.append("<ul>" + "".join(f"<li>{html.escape(s)}</li>" for s in summary) + "</ul>")
    parts += [_table(t) for t in tables]
    for heading, figures, missing in sections:
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        parts += [_figure(f) for f in figures]
        if missing:
            parts.append(f"<p class='note'>{html.escape(missing)}</p>")
    parts.append("</body></html>")
    return "\n".join(parts)
