"""What every chart of the report shares: size, margins, NHS colours, the <svg> element
with its text alternative, axes, legend and axis labels."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape
from itertools import count

NHS_BLUE, DARK_BLUE, LIGHT_BLUE, GREY, WARM_YELLOW, RED = (
    "#005EB8",
    "#003087",
    "#41B6E6",
    "#768692",
    "#FFB81C",
    "#DA291C",
)
SERIES_COLOURS = (NHS_BLUE, LIGHT_BLUE, DARK_BLUE, GREY)
WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 28, 52  # margins round the plot area
REFERENCE_MARGIN = 76  # right margin of a line chart with named reference lines
_ids = count(1)


def percent_axis(value: float) -> str:
    """A share in whole percent, except that only all reads 100% and only none 0% (99.9% of
    milestones entered in time is not "100%")."""
    text = f"{value * 100:.0f}%"
    if text in ("0%", "100%") and value not in (0.0, 1.0):
        return f"{value * 100:.1f}%"
    return text


def days_axis(value: float) -> str:
    return f"{value:,.0f}"


def open_svg(title: str, desc: str, height: int = HEIGHT) -> tuple[str, str]:
    """The <svg> start tag with its accessible name and description, and the closing tag. A
    chart taller than usual is marked "tall": the page lets it keep its text size rather than
    shrinking it to the usual chart height."""
    ident = f"chart{next(_ids)}"
    tall = " tall" if height > HEIGHT else ""
    head = (
        f'<svg class="chart{tall}" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{ident}-t {ident}-d">'
        f'<title id="{ident}-t">{escape(title)}</title><desc id="{ident}-d">{escape(desc)}</desc>'
    )
    return head, "</svg>"


def axis(
    top: float,
    scale: Callable[[float], float],
    ticks: Sequence[float],
    label: Callable[[float], str],
    height: int = HEIGHT,
    right: float = WIDTH - RIGHT,
) -> list[str]:
    parts = [
        f'<line x1="{LEFT}" y1="{top}" x2="{LEFT}" y2="{height - BOTTOM}" stroke="{GREY}"/>',
        f'<line x1="{LEFT}" y1="{height - BOTTOM}" x2="{right}" '
        f'y2="{height - BOTTOM}" stroke="{GREY}"/>',
    ]
    for tick in ticks:
        y = scale(tick)
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" '
            f'stroke="#E8EDEE"/><text x="{LEFT - 6}" y="{y + 4:.1f}" '
            f'text-anchor="end" class="tick">{escape(label(tick))}</text>'
        )
    return parts


def legend(names: Sequence[str], colours: Sequence[str]) -> str:
    parts, x = [], LEFT
    for name, colour in zip(names, colours, strict=False):
        parts.append(
            f'<rect x="{x}" y="8" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + 14}" y="17" class="tick">{escape(name)}</text>'
        )
        x += 24 + 7 * len(name)
    return "".join(parts)


def ticks(top_value: float, steps: int = 4) -> list[float]:
    return [top_value * i / steps for i in range(steps + 1)]


def nice_max(value: float) -> float:
    """A round axis maximum at or above `value`: 10, 20, 25, 50, 100, 200, 250, 500, ..."""
    magnitude = 10.0
    while True:
        for factor in (1.0, 2.0, 2.5, 5.0):
            if magnitude * factor >= value:
                return magnitude * factor
        magnitude *= 10
