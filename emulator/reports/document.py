"""A small document model for reports: headings, text, tables and figures,
rendered to Markdown (figures linked by file name) and to one self-contained
HTML page (figures embedded as base64 PNG data).

``snnemu report`` and ``snnemu compare`` build one :class:`Document` each, so
the two formats always say the same thing.
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

__all__ = ["Document"]

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; max-width: 1100px;
       margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; border-bottom: 2px solid #0072B2; padding-bottom: .2em; }
h2 { font-size: 1.25em; margin-top: 1.8em; color: #0072B2; }
.table-wrap { overflow-x: auto; max-width: 100%; margin: .8em 0; scrollbar-width: auto; scrollbar-color: #999 #eee;
  /* a shadow on the side where more columns are hidden (it scrolls away with the content at either end) */
  background: linear-gradient(to right, #fff 30%, #fff0) left / 40px 100% no-repeat local,
    linear-gradient(to left, #fff 30%, #fff0) right / 40px 100% no-repeat local,
    radial-gradient(farthest-side at 0 50%, #0003, #0000) left / 14px 100% no-repeat scroll,
    radial-gradient(farthest-side at 100% 50%, #0003, #0000) right / 14px 100% no-repeat scroll; }
.table-wrap::-webkit-scrollbar { height: 11px; }
.table-wrap::-webkit-scrollbar-track { background: #eee; }
.table-wrap::-webkit-scrollbar-thumb { background: #999; border-radius: 5px; }
table { border-collapse: collapse; font-size: .92em; }
th, td { border: 1px solid #ccc; padding: .25em .6em; }
td { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.sortable th { cursor: pointer; user-select: none; }
table.sortable th::after { content: " ↕"; color: #aaa; }
table.sortable th[aria-sort="ascending"]::after { content: " ▲"; color: #0072B2; }
table.sortable th[aria-sort="descending"]::after { content: " ▼"; color: #0072B2; }
td.text { text-align: left; }
th { background: #f2f2f2; }
figure { margin: 1em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: .9em; color: #555; }
li { margin: .2em 0; }
"""


@dataclass
class Document:
    title: str
    blocks: list[tuple] = field(default_factory=list)

    def heading(self, text: str) -> None:
        self.blocks.append(("heading", text))

    def text(self, text: str) -> None:
        self.blocks.append(("text", text))

    def bullets(self, items: list[str]) -> None:
        self.blocks.append(("bullets", list(items)))

    def table(self, df: pd.DataFrame, sortable: bool = False) -> None:
        """A table of already formatted cells; the first column names the rows. ``sortable``: in the HTML page a
        click on a header sorts the rows by that column (the Markdown is the same either way)."""
        self.blocks.append(("table", df.astype(str), sortable))

    def figure(self, path: Path, caption: str) -> None:
        self.blocks.append(("figure", Path(path), caption))

    def to_markdown(self) -> str:
        out = [f"# {self.title}", ""]
        for kind, *args in self.blocks:
            if kind == "heading":
                out += [f"## {args[0]}", ""]
            elif kind == "text":
                out += [args[0], ""]
            elif kind == "bullets":
                out += [f"- {item}" for item in args[0]] + [""]
            elif kind == "table":
                df = args[0]
                out.append("| " + " | ".join(_md_cell(c) for c in df.columns) + " |")
                out.append("|" + "|".join("---:" if _numeric(df[c]) else "---" for c in df.columns) + "|")
                out += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
                out.append("")
            else:
                path, caption = args
                out += [f"![{caption}]({path.name})", "", f"*{caption}*", ""]
        return "\n".join(out)

    def to_html(self) -> str:
        esc = html.escape
        body = [f"<h1>{esc(self.title)}</h1>"]
        for kind, *args in self.blocks:
            if kind == "heading":
                body.append(f"<h2>{esc(args[0])}</h2>")
            elif kind == "text":
                body.append(f"<p>{esc(args[0])}</p>")
            elif kind == "bullets":
                body.append("<ul>" + "".join(f"<li>{esc(i)}</li>" for i in args[0]) + "</ul>")
            elif kind == "table":
                df, sortable = args
                hint = ' title="click to sort"' if sortable else ""
                head = "".join(f"<th{hint}>{esc(str(c))}</th>" for c in df.columns)
                left = ["" if _numeric(df[c]) else ' class="text"' for c in df.columns]
                rows = "".join("<tr>" + "".join(f"<td{a}>{esc(v)}</td>" for a, v in zip(left, row)) + "</tr>"
                               for row in df.itertuples(index=False))
                # the wrapper, not the table, scrolls: a wide table keeps its table layout and gets a scrollbar
                attrs = ' class="sortable"' if sortable else ""
                body.append(f'<div class="table-wrap"><table{attrs}>'
                            f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>")
            else:
                path, caption = args
                data = base64.b64encode(path.read_bytes()).decode("ascii")
                body.append(f'<figure><img src="data:image/png;base64,{data}" alt="{esc(caption)}">'
                            f"<figcaption>{esc(caption)}</figcaption></figure>")
        if any(kind == "table" and args[1] for kind, *args in self.blocks):
            body.append(f"<script>{_SORT_SCRIPT}</script>")
        return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<title>{esc(self.title)}</title><style>{_CSS}</style></head>\n<body>\n"
                + "\n".join(body) + "\n</body></html>\n")


# Sorts a table.sortable by the clicked column, ascending then descending: numerically where every cell but
# "n/a" reads as a number (thousands commas allowed), else as text; "n/a" and empty cells go last either way.
_SORT_SCRIPT = """
document.querySelectorAll("table.sortable").forEach(table => {
  const heads = [...table.tHead.rows[0].cells];
  heads.forEach((th, col) => th.addEventListener("click", () => {
    const body = table.tBodies[0], rows = [...body.rows];
    const cell = r => r.cells[col].textContent.trim();
    const missing = s => s === "" || s === "n/a";
    const number = s => Number(s.replace(/,/g, ""));
    const numeric = rows.every(r => missing(cell(r)) || !Number.isNaN(number(cell(r))));
    const up = th.getAttribute("aria-sort") !== "ascending";
    rows.sort((a, b) => {
      const x = cell(a), y = cell(b);
      if (missing(x) || missing(y)) return missing(x) - missing(y);
      const c = numeric ? number(x) - number(y) : x.localeCompare(y, undefined, {numeric: true});
      return up ? c : -c;
    });
    heads.forEach(h => h.removeAttribute("aria-sort"));
    th.setAttribute("aria-sort", up ? "ascending" : "descending");
    rows.forEach(r => body.appendChild(r));
  }));
});
"""

_NUMBER = re.compile(r"^(n/a|[-+]?[\d,]*\.?\d+(e[-+]?\d+)?)$")


def _numeric(col: pd.Series) -> bool:
    """A column of numbers (or n/a) is right-aligned; anything else is text."""
    return bool(len(col)) and all(_NUMBER.match(v) for v in col)


def _md_cell(value) -> str:
    return str(value).replace("|", "\\|")
