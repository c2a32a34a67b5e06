"""Charts for the supervision dashboard, drawn on the server as small SVG strings.

No script, no outside resource, no inline event handler: the pictures are plain markup that a
strict Content-Security-Policy lets through and that print as they look. Each picture is a
``role="img"`` labelled by its ``<title>`` and a ``<desc>`` that says in words what it shows;
the numbers themselves are also in a table the template renders next to it. Every piece of
text goes through :func:`django.utils.html.escape`.

Sizes are in viewBox units and the width is ``100%``, so a chart scales to its container.
"""

import csv
import io
import math
import numbers
import re
import unicodedata
from collections.abc import Callable, Sequence
from decimal import ROUND_HALF_UP, Decimal

from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

#: Series colours: each has ≥ 3:1 contrast against white (WCAG 1.4.11) and every pair stays
#: ≥ 20 CIELAB ΔE apart under simulated protanopia, deuteranopia and tritanopia. Order within
#: a group and the legend repeat the same sequence, so colour is never the only cue.
PALETTE = ("#1d4f91", "#3d8ed6", "#b85c00", "#7a1f3d")
#: Line charts use the three darkest, and differ in dash and marker shape as well.
LINE_STYLES = (
    ("#1d4f91", "", "circle"),
    ("#b85c00", "6 3", "square"),
    ("#7a1f3d", "2 3", "triangle"),
)
REFERENCE_COLOUR = "#b85c00"
TEXT = "#1a1a1a"  # 17.4:1 on white
MUTED = "#444444"  # 9.7:1 on white
AXIS = "#767676"  # 4.5:1 on white
GRID = "#e3e3e3"  # decoration only
FONT_FAMILY = "system-ui, 'PingFang SC', 'Microsoft YaHei', 'Noto Sans CJK SC', sans-serif"
NO_DATA = "—"

WIDTH, PAD, FONT = 600, 8, 13
ROW_H, BAR_H = 28, 16
GROUP_BAR_H, GROUP_BAR_GAP, GROUP_GAP = 12, 2, 14
LINE_H = 260
LEGEND_ROW = 22

_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


# Numbers and text -----------------------------------------------------------------------------


def _missing(value) -> bool:
    """True for a value that stands for "no data": None, NaN or infinity."""
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def _one_decimal(value) -> Decimal:
    """``value`` rounded half up to one decimal, as people round (12.25 → 12.3, not 12.2)."""
    return Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def format_value(value) -> str:
    """A value as printed on a chart: integers whole, other numbers with one decimal, — if none."""
    if _missing(value):
        return NO_DATA
    if isinstance(value, numbers.Integral):
        return str(int(value))
    return str(_one_decimal(value))


def percent(part, whole) -> float | None:
    """``part`` as a percentage of ``whole`` to one decimal, or None when there is no base."""
    if _missing(part) or _missing(whole) or not whole:
        return None
    return float(_one_decimal(100 * Decimal(str(part)) / Decimal(str(whole))))


def _n(x: float) -> str:
    """A coordinate, short: one decimal at most, so that the markup stays small."""
    text = f"{x:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _text_width(text: str, size: float = FONT) -> float:
    """Roughly how wide ``text`` renders: Chinese characters a full em, the rest ~0.6 em."""
    return sum(size if unicodedata.east_asian_width(ch) in "WF" else size * 0.6 for ch in text)


def _clip(text: str, width: float, size: float = FONT) -> str:
    """``text`` shortened with … to fit ``width``; the full text goes in a <title> beside it."""
    if _text_width(text, size) <= width:
        return text
    kept = ""
    for ch in text:
        if _text_width(kept + ch + "…", size) > width:
            break
        kept += ch
    return kept + "…"


def _check_id(id_prefix: str) -> str:
    """The prefix, if it can be used in ids and in a space-separated aria-labelledby."""
    if not _ID.fullmatch(id_prefix):
        raise ValueError(f"id_prefix must match {_ID.pattern!r}: {id_prefix!r}")
    return id_prefix


def _values(values) -> list[float]:
    """The present values of ``values`` as floats, for scaling and summaries."""
    return [float(v) for v in values if not _missing(v)]


# Frame and legend -----------------------------------------------------------------------------


def _frame(kind: str, id_prefix: str, title: str, desc: str, height: float, body: list[str]):
    """The <svg> element around ``body``, labelled by its title and description."""
    return "".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" role="img" '
            f'aria-labelledby="{id_prefix}-title {id_prefix}-desc" '
            f'viewBox="0 0 {WIDTH} {_n(height)}" width="100%" '
            f'font-family="{escape(FONT_FAMILY)}" font-size="{FONT}" fill="{TEXT}">',
            f'<title id="{id_prefix}-title">{escape(title)}</title>',
            f'<desc id="{id_prefix}-desc">{escape(desc)}</desc>',
            *body,
            "</svg>",
        ]
    )


def _empty_chart(kind: str, id_prefix: str, title: str) -> str:
    """A chart with nothing to show, saying so in its picture and its description."""
    message = _("暂无数据。")
    body = [f'<text x="{WIDTH / 2}" y="28" text-anchor="middle">{escape(message)}</text>']
    return _frame(kind, id_prefix, title, message, 44, body)


def _bar_swatch(colour: str) -> Callable[[float, float], str]:
    """A legend sample for bars of ``colour``."""
    return lambda x, y: (
        f'<rect x="{_n(x)}" y="{_n(y - 6)}" width="16" height="12" fill="{colour}"/>'
    )


def _line_swatch(colour: str, dash: str, shape: str | None) -> Callable[[float, float], str]:
    """A legend sample for a line (and its marker) in ``colour``."""

    def draw(x, y):
        dasharray = f' stroke-dasharray="{dash}"' if dash else ""
        marker = f'<g fill="{colour}">{_marker(shape, x + 8, y)}</g>' if shape else ""
        return (
            f'<line x1="{_n(x)}" y1="{_n(y)}" x2="{_n(x + 16)}" y2="{_n(y)}" stroke="{colour}" '
            f'stroke-width="2"{dasharray}/>{marker}'
        )

    return draw


def _legend(items: list[tuple[Callable[[float, float], str], str]], top: float):
    """Legend entries laid left to right, wrapping; returns (markup, height used)."""
    parts, x, y = ['<g class="legend">'], PAD, top + LEGEND_ROW / 2
    for swatch, label in items:
        label = _clip(label, WIDTH - 2 * PAD - 22)
        width = 22 + _text_width(label) + 18
        if x > PAD and x + width > WIDTH - PAD:
            x, y = PAD, y + LEGEND_ROW
        parts.append(swatch(x, y))
        parts.append(f'<text x="{_n(x + 22)}" y="{_n(y + 4.5)}">{escape(label)}</text>')
        x += width
    parts.append("</g>")
    return "".join(parts), y + LEGEND_ROW / 2 - top


def _value_text(value, end: float, y: float, reference_x: float | None = None) -> str:
    """A bar's value just past its end, or past the reference mark if it would cover it."""
    text = format_value(value)
    x = end + 4
    if reference_x is not None and x - 3 <= reference_x <= x + _text_width(text) + 1:
        x = reference_x + 5
    return f'<text x="{_n(x)}" y="{_n(y)}">{escape(text)}</text>'


def _reference_line(x: float, y1: float, y2: float, *, dashed: bool) -> str:
    """A reference mark, on a white underlay so that it stands out where it crosses a bar."""
    line = f'x1="{_n(x)}" y1="{_n(y1)}" x2="{_n(x)}" y2="{_n(y2)}"'
    dash = ' stroke-dasharray="5 3"' if dashed else ""
    return (
        f'<line {line} stroke="#fff" stroke-width="5"/>'
        f'<line class="ref" {line} stroke="{REFERENCE_COLOUR}" stroke-width="2.5"{dash}/>'
    )


# Horizontal bars ------------------------------------------------------------------------------


def _is_single(reference) -> bool:
    """True when ``reference`` is one number for every row rather than a list per row."""
    return isinstance(reference, numbers.Number) and not isinstance(reference, bool)


def _references(reference, count: int) -> list | None:
    """``reference`` as one value per row (None where a row has none), or None if absent."""
    if reference is None:
        return None
    if _is_single(reference):
        return [reference] * count
    references = list(reference)
    if len(references) != count:
        raise ValueError(f"reference has {len(references)} values for {count} rows")
    return references


def _bar_desc(rows, value_label, references, single_reference, reference_label) -> str:
    """What a bar chart shows, in one or two sentences: extremes, gaps, rows over reference."""
    present = [(label, value) for label, value in rows if not _missing(value)]
    sentences = [
        ngettext("共 %(count)d 项。", "共 %(count)d 项。", len(rows)) % {"count": len(rows)}
    ]
    if present:
        high = max(present, key=lambda row: row[1])
        low = min(present, key=lambda row: row[1])
        sentences.append(
            _("%(measure)s最高：%(high)s，%(high_value)s；最低：%(low)s，%(low_value)s。")
            % {
                "measure": value_label,
                "high": high[0],
                "high_value": format_value(high[1]),
                "low": low[0],
                "low_value": format_value(low[1]),
            }
        )
    missing = len(rows) - len(present)
    if missing:
        sentences.append(
            ngettext("%(count)d 项无数据。", "%(count)d 项无数据。", missing) % {"count": missing}
        )
    if references is not None:
        over = sum(
            1
            for (_label, value), ref in zip(rows, references, strict=True)
            if not _missing(value) and not _missing(ref) and value > ref
        )
        if single_reference:
            text = _("%(name)s %(value)s，%(count)d 项超过。")
            values = {"value": format_value(references[0])}
        else:
            text = _("%(count)d 项超过各自的%(name)s。")
            values = {}
        sentences.append(text % {"name": reference_label, "count": over, **values})
    return "".join(sentences)


def bar_chart(
    rows: Sequence[tuple[str, float | int | None]],
    *,
    title: str,
    value_label: str,
    id_prefix: str,
    max_value: float | None = None,
    reference: float | Sequence[float | None] | None = None,
    reference_label: str | None = None,
) -> str:
    """Horizontal bars, one per (label, value) row; None is drawn as — (no data).

    The axis runs from 0 to ``max_value``, or to the largest value or reference; a value above
    ``max_value`` fills the width and still prints its own number. ``reference`` (say, the
    promised number of working days) is one number, drawn as a dashed line across the chart,
    or a list parallel to ``rows``, drawn as a mark on each row; ``reference_label`` names it in
    the legend. Values are expected to be non-negative.
    """
    _check_id(id_prefix)
    rows = list(rows)
    if not rows:
        return _empty_chart("bar", id_prefix, title)
    references = _references(reference, len(rows))
    single_reference = _is_single(reference)
    reference_label = reference_label or _("参考值")

    scale = max_value
    if scale is None:
        scale = max(_values(value for _label, value in rows) + _values(references or []), default=0)
    scale = float(scale) if scale and scale > 0 else 1.0

    label_w = min(max(_text_width(label) for label, _value in rows), WIDTH * 0.4)
    value_w = max(_text_width(format_value(value)) for _label, value in rows) + 8
    x0 = PAD + label_w + 8
    plot_w = WIDTH - PAD - value_w - x0

    def x_of(value) -> float:
        """Where ``value`` falls on the axis, clamped to the plot."""
        return x0 + plot_w * min(max(float(value), 0.0), scale) / scale

    legend_items = [(_bar_swatch(PALETTE[0]), value_label)]
    if references is not None:
        dash = "5 3" if single_reference else ""
        legend_items.append((_line_swatch(REFERENCE_COLOUR, dash, None), reference_label))
    legend, legend_h = _legend(legend_items, PAD)
    top = PAD + legend_h + 6
    bottom = top + ROW_H * len(rows)

    body, values = [legend, f'<g fill="{PALETTE[0]}">'], [f'<g fill="{TEXT}">']
    for i, (label, value) in enumerate(rows):
        y = top + i * ROW_H + (ROW_H - BAR_H) / 2
        ref = references[i] if references is not None else None
        tooltip = f"{label}：{format_value(value)}"
        if not _missing(ref):
            tooltip += f"（{reference_label}：{format_value(ref)}）"
        body.append(
            f"<g><title>{escape(tooltip)}</title>"
            f'<text x="{_n(x0 - 8)}" y="{_n(y + BAR_H - 3)}" text-anchor="end" fill="{TEXT}">'
            f"{escape(_clip(label, label_w))}</text>"
        )
        end = x0 if _missing(value) else x_of(value)
        if end > x0:
            body.append(
                f'<rect class="bar" x="{_n(x0)}" y="{_n(y)}" width="{_n(end - x0)}" '
                f'height="{BAR_H}"/>'
            )
        if not _missing(ref) and not single_reference:
            body.append(_reference_line(x_of(ref), y - 4, y + BAR_H + 4, dashed=False))
        body.append("</g>")
        values.append(_value_text(value, end, y + BAR_H - 3, None if _missing(ref) else x_of(ref)))
    body.append("</g>")
    body.append(
        f'<line x1="{_n(x0)}" y1="{_n(top)}" x2="{_n(x0)}" y2="{_n(bottom)}" stroke="{AXIS}"/>'
    )
    if single_reference and not _missing(references[0]):
        body.append(_reference_line(x_of(references[0]), top - 2, bottom + 2, dashed=True))
    # Values last, so that no reference line is painted over them.
    body += [*values, "</g>"]
    desc = _bar_desc(rows, value_label, references, single_reference, reference_label)
    return _frame("bar", id_prefix, title, desc, bottom + PAD, body)


# Grouped horizontal bars ----------------------------------------------------------------------


def _grouped_desc(categories, series) -> str:
    """What a grouped bar chart shows: for each series its total and its largest category."""
    sentences = [
        ngettext("共 %(count)d 个类别。", "共 %(count)d 个类别。", len(categories))
        % {"count": len(categories)}
    ]
    for name, values in series:
        present = [(c, v) for c, v in zip(categories, values, strict=True) if not _missing(v)]
        if not present:
            sentences.append(_("%(name)s：无数据。") % {"name": name})
            continue
        top_category, top_value = max(present, key=lambda pair: pair[1])
        total = sum(v for _c, v in present)
        sentences.append(
            _("%(name)s：合计 %(total)s，最多为%(category)s（%(value)s）。")
            % {
                "name": name,
                "total": format_value(total),
                "category": top_category,
                "value": format_value(top_value),
            }
        )
    return "".join(sentences)


def grouped_bar_chart(
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | int | None]]],
    *,
    title: str,
    id_prefix: str,
) -> str:
    """Horizontal bars grouped by category, one bar per series (at most four), with a legend.

    Meant for counts per bundle or department — received, completed, in progress, overdue.
    ``series`` is a list of (name, values) with one value per category; None is drawn as —.
    """
    _check_id(id_prefix)
    categories, series = list(categories), [(name, list(values)) for name, values in series]
    if len(series) > len(PALETTE):
        raise ValueError(f"at most {len(PALETTE)} series can be told apart, got {len(series)}")
    for name, values in series:
        if len(values) != len(categories):
            raise ValueError(f"series {name!r} has {len(values)} values for {len(categories)}")
    if not categories or not series:
        return _empty_chart("grouped", id_prefix, title)

    everything = [v for _name, values in series for v in values]
    scale = max(_values(everything), default=0.0)
    scale = scale if scale > 0 else 1.0
    label_w = min(max(_text_width(c) for c in categories), WIDTH * 0.4)
    value_w = max(_text_width(format_value(v)) for v in everything) + 8
    x0 = PAD + label_w + 8
    plot_w = WIDTH - PAD - value_w - x0

    legend, legend_h = _legend(
        [(_bar_swatch(PALETTE[i]), name) for i, (name, _values) in enumerate(series)], PAD
    )
    top = PAD + legend_h + 6
    block = len(series) * (GROUP_BAR_H + GROUP_BAR_GAP) - GROUP_BAR_GAP
    body = [legend]
    for c, category in enumerate(categories):
        y0 = top + c * (block + GROUP_GAP)
        shown = _clip(category, label_w)
        full = f"<title>{escape(category)}</title>" if shown != category else ""
        body.append(
            f'<text x="{_n(x0 - 8)}" y="{_n(y0 + block / 2 + 4.5)}" text-anchor="end">'
            f"{full}{escape(shown)}</text>"
        )
        for s, (name, values) in enumerate(series):
            value, y = values[c], y0 + s * (GROUP_BAR_H + GROUP_BAR_GAP)
            end = x0
            body.append(
                f"<g><title>{escape(f'{category} · {name}：{format_value(value)}')}</title>"
            )
            if not _missing(value):
                end = x0 + plot_w * min(max(float(value), 0.0), scale) / scale
                if end > x0:
                    body.append(
                        f'<rect class="bar" x="{_n(x0)}" y="{_n(y)}" width="{_n(end - x0)}" '
                        f'height="{GROUP_BAR_H}" fill="{PALETTE[s]}"/>'
                    )
            body.append(_value_text(value, end, y + GROUP_BAR_H - 2) + "</g>")
    bottom = top + len(categories) * (block + GROUP_GAP) - GROUP_GAP
    body.append(
        f'<line x1="{_n(x0)}" y1="{_n(top - 2)}" x2="{_n(x0)}" y2="{_n(bottom + 2)}" '
        f'stroke="{AXIS}"/>'
    )
    return _frame(
        "grouped", id_prefix, title, _grouped_desc(categories, series), bottom + PAD, body
    )


# Lines over time ------------------------------------------------------------------------------


def nice_ticks(low: float, high: float, count: int = 5, *, whole: bool = False) -> list[float]:
    """About ``count`` round tick values (steps of 1, 2, 2.5 or 5 × 10ⁿ) covering low…high.

    ``whole`` keeps the step at 1 or more, for counts that cannot be fractional.
    """
    if high <= low:
        high = low + 1
    raw = (high - low) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    # 2.5 only where fractions are fine: whole counts step by 1, 2, 5, 10…
    multiples = (1, 2, 5, 10) if whole else (1, 2, 2.5, 5, 10)
    step = next(m * magnitude for m in multiples if m * magnitude >= raw)
    if whole:
        step = max(round(step), 1)
    start = math.floor(low / step) * step
    intervals = math.ceil(round((high - start) / step, 9))
    return [round(start + i * step, 9) for i in range(intervals + 1)]


def _tick_label(value: float) -> str:
    """A tick value without a useless .0."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _marker(shape: str, x: float, y: float, tooltip: str | None = None) -> str:
    """A data point's marker (circle, square or triangle), coloured by its enclosing group.

    Its <title> child shows the value on hover.
    """
    if shape == "square":
        tag, geometry = "rect", f'x="{_n(x - 4)}" y="{_n(y - 4)}" width="8" height="8"'
    elif shape == "triangle":
        tag, geometry = "path", f'd="M{_n(x)},{_n(y - 5)}l5,9h-10z"'
    else:
        tag, geometry = "circle", f'cx="{_n(x)}" cy="{_n(y)}" r="4.5"'
    if not tooltip:
        return f"<{tag} {geometry}/>"
    return f"<{tag} {geometry}><title>{escape(tooltip)}</title></{tag}>"


def _line_desc(points, names) -> str:
    """What a trend shows: the period covered and, per series, first, last and highest values."""
    first, last = points[0][0], points[-1][0]
    sentences = [
        ngettext(
            "%(first)s 至 %(last)s，共 %(count)d 期。",
            "%(first)s 至 %(last)s，共 %(count)d 期。",
            len(points),
        )
        % {"first": first, "last": last, "count": len(points)}
    ]
    for s, name in enumerate(names):
        present = [(period, values[s]) for period, values in points if not _missing(values[s])]
        if not present:
            sentences.append(_("%(name)s：无数据。") % {"name": name})
            continue
        high = max(present, key=lambda pair: pair[1])
        sentences.append(
            _("%(name)s：首期 %(first)s，末期 %(last)s，最高 %(high)s（%(period)s）。")
            % {
                "name": name,
                "first": format_value(present[0][1]),
                "last": format_value(present[-1][1]),
                "high": format_value(high[1]),
                "period": high[0],
            }
        )
    return "".join(sentences)


def _series(points, s: int, name: str, x_of, y_of) -> str:
    """The s-th series of a line chart: its line, broken where a value is missing, and markers."""
    colour, dash, shape = LINE_STYLES[s]
    path, pen_down = [], False
    for i, (_period, values) in enumerate(points):
        if _missing(values[s]):
            pen_down = False
            continue
        path.append(f"{'L' if pen_down else 'M'}{_n(x_of(i))},{_n(y_of(values[s]))}")
        pen_down = True
    dasharray = f' stroke-dasharray="{dash}"' if dash else ""
    parts = [f'<g class="series"><title>{escape(name)}</title>']
    if path:
        parts.append(
            f'<path d="{"".join(path)}" fill="none" stroke="{colour}" stroke-width="2"{dasharray}/>'
        )
    # Colour and white outline once for all markers, to keep a long series small.
    parts.append(f'<g fill="{colour}" stroke="#fff">')
    parts += [
        _marker(shape, x_of(i), y_of(v), f"{period} · {name}：{format_value(v)}")
        for i, (period, values) in enumerate(points)
        if not _missing(v := values[s])
    ]
    parts.append("</g></g>")
    return "".join(parts)


def line_chart(
    points: Sequence[tuple[str, Sequence[float | int | None]]],
    *,
    title: str,
    id_prefix: str,
    series_names: Sequence[str] | None = None,
    max_value: float | None = None,
) -> str:
    """A trend over periods: up to three series, each a line with its own dash and marker.

    ``points`` is a list of (period label, [value per series]); None leaves a gap in the line.
    The y axis starts at 0 (lower if a value is negative) and reaches at least ``max_value``
    (say 100 for percentages). Each marker carries its value in a <title> for hover.
    """
    _check_id(id_prefix)
    points = [(period, list(values)) for period, values in points]
    width = len(series_names) if series_names is not None else len(points[0][1]) if points else 0
    if width > len(LINE_STYLES):
        raise ValueError(f"at most {len(LINE_STYLES)} series, got {width}")
    for period, values in points:
        if len(values) != width:
            raise ValueError(f"{period!r} has {len(values)} values for {width} series")
    names = list(series_names) if series_names is not None else []
    names += [_("系列 %(number)d") % {"number": i + 1} for i in range(len(names), width)]
    if not points or not width:
        return _empty_chart("line", id_prefix, title)

    present = _values(v for _period, values in points for v in values)
    high = max([*present, float(max_value or 0), 0.0])
    low = min([*present, 0.0])
    whole = all(
        isinstance(v, numbers.Integral) for _p, values in points for v in values if not _missing(v)
    )
    ticks = nice_ticks(low, high, whole=whole)
    low, high = ticks[0], ticks[-1]

    legend, legend_h = _legend(
        [(_line_swatch(*LINE_STYLES[i]), name) for i, name in enumerate(names)], PAD
    )
    top = PAD + legend_h + 10
    bottom = LINE_H - PAD - 22
    label_w = min(max(_text_width(period) for period, _values in points), 110)
    tick_w = max(_text_width(_tick_label(t)) for t in ticks)
    left = PAD + max(tick_w + 8, label_w / 2)
    right = WIDTH - PAD - label_w / 2
    plot_w = right - left

    def x_of(i: int) -> float:
        """Where the i-th period sits."""
        return left + plot_w / 2 if len(points) == 1 else left + plot_w * i / (len(points) - 1)

    def y_of(value) -> float:
        """Where ``value`` sits on the y axis."""
        return bottom - (bottom - top) * (float(value) - low) / (high - low)

    body = [legend, f'<g stroke="{GRID}">']
    body += [
        f'<line x1="{_n(left)}" y1="{_n(y_of(t))}" x2="{_n(right)}" y2="{_n(y_of(t))}"/>'
        for t in ticks
    ]
    body.append(f'</g><g fill="{MUTED}" text-anchor="end">')
    body += [
        f'<text x="{_n(left - 6)}" y="{_n(y_of(t) + 4.5)}">{_tick_label(t)}</text>' for t in ticks
    ]
    body.append(
        f'</g><line x1="{_n(left)}" y1="{_n(bottom)}" x2="{_n(right)}" y2="{_n(bottom)}" '
        f'stroke="{AXIS}"/>'
    )
    # Thin the period labels so that they never overlap; every period keeps its marker.
    spacing = plot_w / max(len(points) - 1, 1)
    every = max(1, math.ceil((label_w + 8) / spacing)) if spacing > 0 else len(points)
    body.append(f'<g fill="{MUTED}" text-anchor="middle">')
    body += [
        f'<text x="{_n(x_of(i))}" y="{_n(bottom + 17)}">{escape(_clip(period, label_w))}</text>'
        for i, (period, _values) in enumerate(points)
        if i % every == 0
    ]
    body.append("</g>")
    for s, name in enumerate(names):
        body.append(_series(points, s, name, x_of, y_of))
    return _frame("line", id_prefix, title, _line_desc(points, names), LINE_H, body)


# CSV ------------------------------------------------------------------------------------------

#: A cell starting with one of these is read by spreadsheets as a formula (CSV injection);
#: the full-width forms are included in case a spreadsheet normalises them.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def _csv_cell(value):
    """One cell: numbers left as numbers, None empty, text defused against formula injection."""
    if value is None:
        return ""
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def to_csv(header: Sequence, rows: Sequence[Sequence]) -> str:
    """CSV text for a download, starting with a UTF-8 byte-order mark.

    Excel on Chinese Windows reads a BOM-less file as GBK and garbles the names; with the BOM
    it reads UTF-8. Rows end in CRLF, as Excel writes them. Encode the result as UTF-8.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([_csv_cell(cell) for cell in header])
    writer.writerows([_csv_cell(cell) for cell in row] for row in rows)
    return "\ufeff" + buffer.getvalue()
