"""A bundle's DAG as an SVG picture, drawn on the server (no outside service, no script).

Items stand in columns by their depth (the longest chain of predecessors before them), so
every arrow points right: read left to right, the picture is the order of work.
"""

from dataclasses import dataclass

from django.utils.html import escape
from django.utils.translation import gettext as _

from . import dag as dag_utils

BOX_W, BOX_H, GAP_X, GAP_Y, PAD = 184, 58, 56, 18, 12

#: Fill and stroke by status, for pictures of an application's progress.
STATUS_COLOURS = {
    "approved": ("#e6f4ea", "#1e7b34"),
    "rejected": ("#fde8e8", "#b3121b"),
    "cancelled": ("#eeeeee", "#6b6b6b"),
    "failed": ("#fde8e8", "#b3121b"),
    "supplement_requested": ("#fff4e0", "#8a5300"),
}
DEFAULT_COLOURS = ("#ffffff", "#1d4f91")


@dataclass(frozen=True)
class Node:
    code: str
    title: str
    subtitle: str = ""
    status: str = ""
    status_label: str = ""
    optional: bool = False


def _depths(dag) -> dict[str, int]:
    depth: dict[str, int] = {}
    for code in dag_utils.topological_order(dag):
        depth[code] = 1 + max((depth[p] for p in dag[code]), default=-1)
    return depth


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def svg(nodes: list[Node], dag, title: str, id_prefix: str = "dag") -> str:
    """The picture; ``nodes`` in the bundle's order, ``dag`` maps code → predecessor codes."""
    depth = _depths(dag)
    columns: dict[int, list[Node]] = {}
    for node in nodes:
        columns.setdefault(depth[node.code], []).append(node)
    place = {}
    for column, members in columns.items():
        for row, node in enumerate(members):
            place[node.code] = (PAD + column * (BOX_W + GAP_X), PAD + row * (BOX_H + GAP_Y))
    width = PAD * 2 + len(columns) * BOX_W + max(len(columns) - 1, 0) * GAP_X
    height = PAD * 2 + max((len(m) for m in columns.values()), default=1) * (BOX_H + GAP_Y) - GAP_Y
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="dag" role="img" '
        f'aria-labelledby="{id_prefix}-title" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}">',
        f'<title id="{id_prefix}-title">{escape(title)}</title>',
        f'<defs><marker id="{id_prefix}-arrow" viewBox="0 0 10 10" refX="9" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z" fill="#555"/>'
        "</marker></defs>",
    ]
    for node in nodes:
        x, y = place[node.code]
        for pred in sorted(dag[node.code]):
            px, py = place[pred]
            start, end = (px + BOX_W, py + BOX_H / 2), (x, y + BOX_H / 2)
            middle = (start[0] + end[0]) / 2
            parts.append(
                f'<path d="M{start[0]},{start[1]} C{middle},{start[1]} {middle},{end[1]} '
                f'{end[0] - 2},{end[1]}" fill="none" stroke="#555" stroke-width="1.5" '
                f'marker-end="url(#{id_prefix}-arrow)"/>'
            )
    for node in nodes:
        x, y = place[node.code]
        fill, stroke = STATUS_COLOURS.get(node.status, DEFAULT_COLOURS)
        dash = ' stroke-dasharray="5 3"' if node.optional else ""
        parts.append(
            f'<g class="dag-node" data-code="{escape(node.code)}">'
            f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="6" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="2"{dash}/>'
            f'<text x="{x + 10}" y="{y + 22}" font-size="14" font-weight="bold" fill="#1a1a1a">'
            f"{escape(_clip(node.title, 12))}</text>"
            f'<text x="{x + 10}" y="{y + 42}" font-size="12" fill="#333">'
            f"{escape(_clip(' · '.join(p for p in (node.subtitle, node.status_label) if p), 16))}"
            "</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def bundle_svg(bundle) -> str:
    bundle_items = bundle.bundle_items()
    nodes = [
        Node(
            code=bi.item.code,
            title=bi.item.name + (_("（选办）") if bi.optional else ""),
            subtitle=bi.item.department.name,
            optional=bi.optional,
        )
        for bi in bundle_items
    ]
    return svg(
        nodes, bundle.dag(bundle_items), _("%(name)s：事项及先后顺序") % {"name": bundle.name}
    )
