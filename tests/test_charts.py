"""The dashboard's SVG charts and CSV export: pure functions, no database."""

import csv
import io
import math
import re
import xml.etree.ElementTree as ET

import pytest

from supervision import charts

SVG = "{http://www.w3.org/2000/svg}"
BUNDLES = ["新生儿出生一件事", "教育入学一件事", "退休一件事"]


def parse(svg: str) -> ET.Element:
    """The chart as an XML tree; fails the test if it is not well-formed."""
    return ET.fromstring(svg)  # noqa: S314  (our own output)


def texts(root: ET.Element) -> list[str]:
    """Every drawn <text>, as the reader sees it."""
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def assert_labelled(root: ET.Element, prefix: str, title: str):
    """role=img, labelled by its own <title> and a non-empty <desc>."""
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == f"{prefix}-title {prefix}-desc"
    assert root.get("width") == "100%"
    assert root.get("viewBox").startswith("0 0 ")
    assert root.find(f"{SVG}title").text == title
    assert root.find(f"{SVG}title").get("id") == f"{prefix}-title"
    desc = root.find(f"{SVG}desc")
    assert desc.get("id") == f"{prefix}-desc" and desc.text.strip()
    return desc.text


def assert_inert(svg: str):
    """No script, no handler, no outside reference."""
    lowered = svg.lower()
    assert "<script" not in lowered
    assert not re.search(r"\son\w+\s*=", lowered)  # no onload=, onclick=, …
    assert "http" not in lowered.replace('xmlns="http://www.w3.org/2000/svg"', "")


def bars(root: ET.Element) -> list[ET.Element]:
    return [r for r in root.iter(f"{SVG}rect") if r.get("class") == "bar"]


def refs(root: ET.Element) -> list[ET.Element]:
    return [line for line in root.iter(f"{SVG}line") if line.get("class") == "ref"]


# Numbers ---------------------------------------------------------------------------------------


def test_values_are_printed_whole_or_to_one_decimal():
    assert charts.format_value(7) == "7"
    assert charts.format_value(7.0) == "7.0"
    assert charts.format_value(3.46) == "3.5"
    assert charts.format_value(12.25) == "12.3"  # half up, as people round
    assert charts.format_value(None) == "—"
    assert charts.format_value(math.nan) == "—"


def test_percent():
    assert charts.percent(1, 3) == 33.3
    assert charts.percent(3, 3) == 100.0
    assert charts.percent(1, 0) is None
    assert charts.percent(None, 5) is None


def test_nice_ticks_cover_the_range_in_round_steps():
    assert charts.nice_ticks(0, 100) == [0, 25, 50, 75, 100]
    assert charts.nice_ticks(0, 3, whole=True) == [0, 1, 2, 3]
    assert charts.nice_ticks(0, 0) == [0, 0.25, 0.5, 0.75, 1]
    ticks = charts.nice_ticks(0, 28, whole=True)
    assert ticks[0] == 0 and ticks[-1] >= 28 and all(t == int(t) for t in ticks)


# Bar chart ---------------------------------------------------------------------------------------


def test_bar_chart_is_labelled_well_formed_and_inert():
    svg = charts.bar_chart(
        [(BUNDLES[0], 3.46), (BUNDLES[1], 7), (BUNDLES[2], None)],
        title="平均办理用时",
        value_label="平均用时（工作日）",
        id_prefix="avg-days",
    )
    root = parse(svg)
    desc = assert_labelled(root, "avg-days", "平均办理用时")
    assert_inert(svg)
    assert "教育入学一件事" in desc and "1 项无数据" in desc
    drawn = texts(root)
    assert "3.5" in drawn and "7" in drawn
    assert all(name in drawn for name in BUNDLES)
    assert len(svg.encode()) < 5000


def test_missing_values_are_shown_as_a_dash_not_as_zero():
    root = parse(
        charts.bar_chart([("有", 2), ("无", None)], title="t", value_label="v", id_prefix="m")
    )
    assert "—" in texts(root)
    assert len(bars(root)) == 1  # no bar for the missing row


def test_labels_are_escaped_and_stay_text():
    nasty = '<script>alert("x")</script> & "一件事"'
    svg = charts.bar_chart([(nasty, 1)], title=nasty, value_label=nasty, id_prefix="x")
    root = parse(svg)
    assert "<script" not in svg
    assert root.find(f"{SVG}script") is None
    assert root.find(f"{SVG}title").text == nasty
    assert nasty in texts(root)


def test_bar_lengths_follow_the_values():
    root = parse(
        charts.bar_chart([("a", 2), ("b", 8), ("c", 4)], title="t", value_label="v", id_prefix="s")
    )
    widths = [float(r.get("width")) for r in bars(root)]
    assert widths[0] / widths[1] == pytest.approx(0.25, abs=0.01)
    assert widths[2] / widths[1] == pytest.approx(0.5, abs=0.01)


def test_max_value_and_a_single_reference_share_the_scale():
    root = parse(
        charts.bar_chart(
            [("a", 5), ("b", 12)],
            title="t",
            value_label="用时",
            id_prefix="r",
            max_value=10,
            reference=10,
            reference_label="承诺时限",
        )
    )
    half, over = bars(root)
    x0 = float(half.get("x"))
    (line,) = refs(root)
    full = float(line.get("x1")) - x0  # the reference sits at max_value: the full width
    assert float(half.get("width")) == pytest.approx(full / 2, abs=0.1)
    assert float(over.get("width")) == pytest.approx(full, abs=0.1)  # clamped, not overflowing
    assert "12" in texts(root)  # but its own number is still printed
    assert "承诺时限" in texts(root)
    assert "1 项超过" in root.find(f"{SVG}desc").text


def test_reference_beyond_the_values_widens_the_scale():
    root = parse(
        charts.bar_chart([("a", 3)], title="t", value_label="v", id_prefix="w", reference=6)
    )
    (bar,) = bars(root)
    (line,) = refs(root)
    assert float(line.get("x1")) - float(bar.get("x")) == pytest.approx(
        2 * float(bar.get("width")), abs=0.1
    )


def test_per_row_references_mark_each_row():
    root = parse(
        charts.bar_chart(
            [("a", 4), ("b", 8), ("c", 2)],
            title="t",
            value_label="v",
            id_prefix="p",
            reference=[8, None, 4],
        )
    )
    a, b, c = bars(root)
    marks = refs(root)
    assert len(marks) == 2  # none for the row without a reference
    x0 = float(a.get("x"))
    assert float(marks[0].get("x1")) - x0 == pytest.approx(float(b.get("width")), abs=0.1)
    assert float(marks[1].get("x1")) - x0 == pytest.approx(float(a.get("width")), abs=0.1)
    assert "0 项超过" in root.find(f"{SVG}desc").text


def test_reference_list_must_match_the_rows():
    with pytest.raises(ValueError):
        charts.bar_chart([("a", 1)], title="t", value_label="v", id_prefix="e", reference=[1, 2])


def test_unsafe_id_prefix_is_refused():
    with pytest.raises(ValueError):
        charts.bar_chart([("a", 1)], title="t", value_label="v", id_prefix='x" onload="y')


def test_empty_charts_say_so():
    for svg in (
        charts.bar_chart([], title="空", value_label="v", id_prefix="e1"),
        charts.grouped_bar_chart([], [], title="空", id_prefix="e2"),
        charts.line_chart([], title="空", id_prefix="e3"),
    ):
        root = parse(svg)
        assert root.find(f"{SVG}desc").text == "暂无数据。"


# Grouped bars ------------------------------------------------------------------------------------


def test_grouped_bar_chart():
    series = [
        ("已受理", [120, 45, 30]),
        ("已办结", [100, 40, None]),
        ("办理中", [15, 5, 0]),
        ("已超期", [5, 0, 2]),
    ]
    svg = charts.grouped_bar_chart(BUNDLES, series, title="办理量", id_prefix="counts")
    root = parse(svg)
    desc = assert_labelled(root, "counts", "办理量")
    assert_inert(svg)
    assert "已受理：合计 195" in desc and "新生儿出生一件事" in desc
    drawn = texts(root)
    assert all(name in drawn for name, _values in series)  # the legend
    assert "—" in drawn and "120" in drawn
    rects = bars(root)
    assert len(rects) == 9  # none for the two zeros and the one missing value
    assert len({r.get("fill") for r in rects}) == 4
    widest = max(float(r.get("width")) for r in rects)
    fifteen = next(r for r in rects if r.get("fill") == charts.PALETTE[2])
    assert float(fifteen.get("width")) == pytest.approx(widest * 15 / 120, abs=0.1)


def test_grouped_series_must_fit_the_categories():
    with pytest.raises(ValueError):
        charts.grouped_bar_chart(["a", "b"], [("s", [1])], title="t", id_prefix="g")
    with pytest.raises(ValueError):
        charts.grouped_bar_chart(["a"], [(str(i), [1]) for i in range(5)], title="t", id_prefix="g")


# Lines ------------------------------------------------------------------------------------------


def test_line_chart():
    points = [(f"2026-W{week}", [10 + week % 3, 8 + week % 2]) for week in range(40, 53)]
    points[2] = (points[2][0], [None, 9])
    svg = charts.line_chart(
        points, title="每周受理与办结", id_prefix="trend", series_names=["受理", "办结"]
    )
    root = parse(svg)
    desc = assert_labelled(root, "trend", "每周受理与办结")
    assert_inert(svg)
    assert "2026-W40 至 2026-W52" in desc and "受理" in desc
    tooltips = [t.text for t in root.iter(f"{SVG}title")]
    assert "2026-W40 · 受理：11" in tooltips
    assert not any(t.startswith("2026-W42 · 受理") for t in tooltips)  # the gap has no marker
    paths = [p for p in root.iter(f"{SVG}path") if p.get("fill") == "none"]
    assert paths[0].get("d").count("M") == 2  # the gap splits the line
    assert len({p.get("stroke-dasharray") for p in paths}) == 2  # told apart without colour
    drawn = texts(root)
    assert "受理" in drawn and "办结" in drawn
    assert len(svg.encode()) < 8000


def test_line_chart_scale_reaches_max_value():
    root = parse(
        charts.line_chart(
            [("2026-01", [50.0]), ("2026-02", [100.0])],
            title="满意度",
            id_prefix="sat",
            max_value=100,
        )
    )
    drawn = texts(root)
    assert "0" in drawn and "100" in drawn
    circles = list(root.iter(f"{SVG}circle"))[-2:]  # after the legend's own marker
    ys = [float(c.get("cy")) for c in circles]
    baseline = float(
        next(line for line in root.iter(f"{SVG}line") if line.get("stroke") == charts.AXIS).get(
            "y1"
        )
    )
    assert baseline - ys[0] == pytest.approx((baseline - ys[1]) / 2, abs=0.1)
    assert "系列 1" in drawn  # a default name when none is given


def test_line_chart_refuses_more_than_three_series():
    with pytest.raises(ValueError):
        charts.line_chart([("p", [1, 2, 3, 4])], title="t", id_prefix="l")


def test_palette_contrast_against_white():
    def luminance(hex_colour):
        def channel(c):
            c /= 255
            return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

        r, g, b = (channel(int(hex_colour[i : i + 2], 16)) for i in (1, 3, 5))
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    def contrast(colour):
        return 1.05 / (luminance(colour) + 0.05)

    for colour in (*charts.PALETTE, charts.REFERENCE_COLOUR, charts.AXIS):
        assert contrast(colour) >= 3
    for colour in (charts.TEXT, charts.MUTED, charts.AXIS):
        assert contrast(colour) >= 4.5


# CSV ---------------------------------------------------------------------------------------------


def test_csv_has_a_bom_and_keeps_chinese():
    text = charts.to_csv(["一件事", "受理", "平均用时"], [["新生儿出生一件事", 120, 3.5]])
    assert text.startswith("\ufeff")
    data = text.encode("utf-8")
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [["一件事", "受理", "平均用时"], ["新生儿出生一件事", "120", "3.5"]]
    assert "\r\n" in text


def test_csv_neutralises_formulas():
    cells = ['=HYPERLINK("http://x")', "+1", "-1+2", "@SUM(A1)", "\tx", "\rx", "普通", "a=b"]
    text = charts.to_csv(["h"], [cells, [-5, None, 0]])
    first, second = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))[1:]
    assert first[:6] == ["'" + c for c in cells[:6]]
    assert first[6:] == ["普通", "a=b"]
    assert second == ["-5", "", "0"]  # numbers stay numbers
