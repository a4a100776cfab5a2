"""The HTML pieces every section of the report is built from: cells that carry a named
figure, column headers aligned with their columns, sections and figures."""

from __future__ import annotations

from collections.abc import Container
from html import escape


def cell(text: str, figure: str | None = None, *, header: bool = False, css: str = "") -> str:
    """One table cell; `figure` names the number for tests (`data-figure`)."""
    tag = "th" if header else "td"
    attributes = f' data-figure="{escape(figure)}"' if figure else ""
    attributes += f' class="{css}"' if css else ""
    attributes += ' scope="row"' if header else ""
    return f"<{tag}{attributes}>{escape(text)}</{tag}>"


def head_row(*names: str, numeric: Container[str] | None = None) -> str:
    """Column headers; those of number columns (`numeric`, default all but the first) are
    right-aligned like the numbers under them."""
    return (
        "<thead><tr>"
        + "".join(
            _head(name, num=index > 0 if numeric is None else name in numeric)
            for index, name in enumerate(names)
        )
        + "</tr></thead>"
    )


def _head(name: str, *, num: bool, css: str = "", span: str = "") -> str:
    classes = " ".join(c for c in (css, "num" if num else "") if c)
    attributes = f' class="{classes}"' if classes else ""
    return f'<th scope="col"{attributes}{span}>{escape(name)}</th>'


def wide(table: str) -> str:
    """A table that may be wider than a narrow screen scrolls sideways instead of being cut
    off (on screen only: printed, it breaks across pages as usual)."""
    return f'<div class="wide">{table}</div>'


def section(ident: str, title: str, body: str) -> str:
    return f'<section id="{ident}"><h2>{escape(title)}</h2>{body}</section>'


def figure(svg: str, caption: str) -> str:
    return f"<figure>{svg}<figcaption>{escape(caption)}</figcaption></figure>"


def grouped_head(first: str, groups: list[tuple[str, list[str]]]) -> str:
    """Two header rows: a name over each group of columns, then the columns' own short names
    (short names keep many columns within the page); a line starts each group."""
    top = _head(first, num=False, span=' rowspan="2"') + "".join(
        f'<th scope="colgroup" colspan="{len(names)}" class="group">{escape(label)}</th>'
        for label, names in groups
    )
    under = "".join(
        _head(name, num=True, css="" if index else "start")
        for _, names in groups
        for index, name in enumerate(names)
    )
    return f"<thead><tr>{top}</tr><tr>{under}</tr></thead>"
