"""Inline SVG charts drawn by hand: no script, no font or image fetched, so a board paper
renders offline and prints the same. Each chart has a <title> and a <desc> (its text
alternative); the numbers themselves are also in a table next to it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

from reports.chart_frame import (
    BOTTOM,
    GREY,
    HEIGHT,
    LEFT,
    NHS_BLUE,
    RED,
    REFERENCE_MARGIN,
    RIGHT,
    SERIES_COLOURS,
    TOP,
    WIDTH,
    axis,
    days_axis,
    legend,
    nice_max,
    open_svg,
    percent_axis,
    ticks,
)


def grouped_bars(
    title: str,
    desc: str,
    groups: Sequence[tuple[str, Sequence[tuple[str, float | None]], float | None]],
    *,
    value_label: Callable[[float], str] = percent_axis,
    top_value: float = 1.0,
    target_name: str = "target",
) -> str:
    """Bars of values 0..top_value, grouped; each group may carry a target line. A missing
    value is written "no clocks" where its bar would be, never drawn as zero."""
    head, tail = open_svg(title, desc)
    bottom = HEIGHT - BOTTOM

    def scale(v: float) -> float:
        return bottom - (bottom - TOP) * min(v, top_value) / top_value

    series = [name for name, _ in groups[0][1]] if groups else []
    parts = [
        head,
        *axis(TOP, scale, ticks(top_value), value_label),
        legend(series, SERIES_COLOURS),
    ]
    group_width = (WIDTH - LEFT - RIGHT) / max(len(groups), 1)
    for index, (label, values, target) in enumerate(groups):
        x0 = LEFT + index * group_width
        bar = (group_width - 24) / max(len(values), 1)
        for position, (name, value) in enumerate(values):
            x = x0 + 12 + position * bar
            if value is None:
                parts.append(
                    f'<text x="{x + bar / 2:.1f}" y="{bottom - 6}" text-anchor="middle" '
                    f'class="none" transform="rotate(-90 {x + bar / 2:.1f} {bottom - 6})">'
                    f"{escape(name)}: no clocks</text>"
                )
                continue
            y = scale(value)
            parts.append(
                f'<rect x="{x + 2:.1f}" y="{y:.1f}" width="{bar - 4:.1f}" '
                f'height="{bottom - y:.1f}" fill="{SERIES_COLOURS[position % 4]}">'
                f"<title>{escape(f'{label}, {name}: {value_label(value)}')}</title></rect>"
                f'<text x="{x + bar / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle" '
                f'class="tick">{escape(value_label(value))}</text>'
            )
        if target is not None:
            # the target's value goes under the group's name: over the bars it would collide
            # with a bar's own value label whenever the two are close
            y = scale(target)
            parts.append(
                f'<line x1="{x0 + 6:.1f}" y1="{y:.1f}" x2="{x0 + group_width - 6:.1f}" '
                f'y2="{y:.1f}" stroke="{RED}" stroke-width="2" stroke-dasharray="6 3"/>'
                f'<text x="{x0 + group_width / 2:.1f}" y="{bottom + 34}" text-anchor="middle" '
                f'class="target">{escape(target_name)} {value_label(target)}</text>'
            )
        parts.append(
            f'<text x="{x0 + group_width / 2:.1f}" y="{bottom + 18}" '
            f'text-anchor="middle" class="label">{escape(label)}</text>'
        )
    return "".join([*parts, tail])


def lines(
    title: str,
    desc: str,
    x_labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    value_label: Callable[[float], str],
    top_value: float | None = None,
    references: Sequence[tuple[str, float]] = (),
) -> str:
    """One line per series over the x labels; a gap where a value is missing (no clocks)."""
    values = [v for _, vs in series for v in vs if v is not None]
    top = top_value or nice_max(max([*values, *(r for _, r in references), 1.0]) * 1.1)
    head, tail = open_svg(title, desc)
    bottom = HEIGHT - BOTTOM

    def scale(v: float) -> float:
        return bottom - (bottom - TOP) * min(v, top) / top

    # reference names sit right of the plot, where no point or line can run over them
    right = WIDTH - (REFERENCE_MARGIN if references else RIGHT)
    step = (right - LEFT) / max(len(x_labels), 1)
    parts = [
        head,
        *axis(TOP, scale, ticks(top), value_label, right=right),
        legend([name for name, _ in series], SERIES_COLOURS),
    ]
    placed: list[float] = []
    for name, level in sorted(references, key=lambda item: -item[1]):
        y = scale(level)
        text_y = max([y + 4, *(p + 12 for p in placed)])  # close levels: names one under another
        placed.append(text_y)
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" '
            f'stroke="{RED}" stroke-dasharray="6 3"/><text x="{right + 4}" '
            f'y="{text_y:.1f}" class="target">{escape(name)}</text>'
        )
    for index, label in enumerate(x_labels):
        parts.append(
            f'<text x="{LEFT + step * (index + 0.5):.1f}" y="{bottom + 18}" '
            f'text-anchor="middle" class="label">{escape(label)}</text>'
        )
    for position, (name, points) in enumerate(series):
        colour = SERIES_COLOURS[position % 4]
        run: list[str] = []
        for index, value in enumerate([*points, None]):
            if value is None:
                if len(run) > 1:
                    parts.append(
                        f'<polyline fill="none" stroke="{colour}" stroke-width="2.5" '
                        f'points="{" ".join(run)}"/>'
                    )
                run = []
                continue
            x, y = LEFT + step * (index + 0.5), scale(value)
            run.append(f"{x:.1f},{y:.1f}")
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"><title>'
                f"{escape(f'{name}, {x_labels[index]}: {value_label(value)}')}</title>"
                "</circle>"
            )
    return "".join([*parts, tail])


def histogram(
    title: str,
    desc: str,
    labels: Sequence[str],
    counts: Sequence[int],
    *,
    line_after: int,
    line_name: str,
    figure_prefix: str,
) -> str:
    """Columns of counts; a line after bin `line_after` (the limit falls on that edge)."""
    head, tail = open_svg(title, desc)
    bottom = HEIGHT - BOTTOM
    top = nice_max(max([*counts, 1]) * 1.1) if max([*counts, 0]) > 8 else 10.0

    def scale(v: float) -> float:
        return bottom - (bottom - TOP) * v / top

    step = (WIDTH - LEFT - RIGHT) / max(len(counts), 1)
    parts = [
        head,
        *axis(TOP, scale, ticks(top, 5 if top == 10 else 4), days_axis),
        f'<text x="{LEFT - 6}" y="{TOP - 12}" text-anchor="end" class="label">clocks</text>',
    ]
    for index, value in enumerate(counts):
        x, y = LEFT + index * step, scale(value)
        colour = NHS_BLUE if index <= line_after else GREY
        parts.append(
            f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{step - 2:.1f}" '
            f'height="{bottom - y:.1f}" fill="{colour}" '
            f'data-figure="{figure_prefix}.bin.{index}"><title>{escape(labels[index])}'
            f" days: {value}</title></rect>"
        )
        if index % 3 == 0 or index == len(counts) - 1:
            parts.append(
                f'<text x="{x + step / 2:.1f}" y="{bottom + 16}" text-anchor="middle" '
                f'class="tick">{escape(labels[index])}</text>'
            )
    x = LEFT + (line_after + 1) * step
    parts.append(
        f'<line x1="{x:.1f}" y1="{TOP - 8}" x2="{x:.1f}" y2="{bottom}" stroke="{RED}" '
        f'stroke-width="2" stroke-dasharray="6 3"/><text x="{x + 4:.1f}" y="{TOP}" '
        f'class="target">{escape(line_name)}</text>'
        f'<text x="{WIDTH / 2}" y="{HEIGHT - 8}" text-anchor="middle" class="label">days'
        "</text>"
    )
    return "".join([*parts, tail])


def horizontal_bars(
    title: str,
    desc: str,
    rows: Sequence[tuple[str, Sequence[float | None]]],
    series: Sequence[str],
    *,
    value_label: Callable[[float], str] = percent_axis,
) -> str:
    """Shares 0..1 as horizontal bars, one band per row (labels on the left fit long names)."""
    label_width, band = 200, 12 * max(len(series), 1) + 8
    height = TOP + band * len(rows) + 24
    head, tail = open_svg(title, desc, height)
    scale_width = WIDTH - label_width - RIGHT - 40
    parts = [head, legend(series, SERIES_COLOURS)]
    for tick in ticks(1.0):
        x = label_width + scale_width * tick
        parts.append(
            f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{height - 20}" '
            f'stroke="#E8EDEE"/><text x="{x:.1f}" y="{height - 6}" text-anchor="middle" '
            f'class="tick">{value_label(tick)}</text>'
        )
    for index, (label, values) in enumerate(rows):
        y0 = TOP + index * band
        parts.append(
            f'<text x="{label_width - 8}" y="{y0 + band / 2 + 4:.1f}" text-anchor="end" '
            f'class="label">{escape(label)}</text>'
        )
        for position, value in enumerate(values):
            if value is None:
                continue
            y = y0 + 4 + position * 12
            parts.append(
                f'<rect x="{label_width}" y="{y}" width="{scale_width * value:.1f}" '
                f'height="10" fill="{SERIES_COLOURS[position % 4]}"><title>'
                f"{escape(f'{label}, {series[position]}: {value_label(value)}')}"
                f'</title></rect><text x="{label_width + scale_width * value + 4:.1f}" '
                f'y="{y + 9}" class="tick">{value_label(value)}</text>'
            )
    return "".join([*parts, tail])
