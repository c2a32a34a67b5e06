"""Pure functions over a bundle's dependency graph: ``{item_code: {predecessor codes}}``."""

from collections.abc import Iterable, Mapping

Dag = Mapping[str, frozenset[str] | set[str]]


def find_cycle(dag: Dag) -> list[str] | None:
    """Return one cycle as a list of codes (first == last), or None when the graph is a DAG."""
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(dag, white)
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = grey
        path.append(node)
        for pred in sorted(dag.get(node, ())):
            if colour.get(pred, black) == grey:
                return path[path.index(pred) :] + [pred]
            if colour.get(pred) == white:
                found = visit(pred)
                if found:
                    return found
        path.pop()
        colour[node] = black
        return None

    for node in sorted(dag):
        if colour[node] == white:
            found = visit(node)
            if found:
                return found
    return None


def topological_order(dag: Dag, tie_break: Mapping[str, int] | None = None) -> list[str]:
    """Codes with every predecessor before its successors; ties by ``tie_break`` then code."""
    rank = tie_break or {}
    remaining = {node: set(preds) & set(dag) for node, preds in dag.items()}
    order: list[str] = []
    while remaining:
        free = sorted(
            (n for n, preds in remaining.items() if not preds), key=lambda n: (rank.get(n, 0), n)
        )
        if not free:
            raise ValueError(f"dependency cycle: {' → '.join(find_cycle(dag) or [])}")
        for node in free:
            order.append(node)
            del remaining[node]
        for preds in remaining.values():
            preds.difference_update(free)
    return order


def restrict(dag: Dag, keep: Iterable[str]) -> dict[str, frozenset[str]]:
    """The graph on ``keep`` only: a dropped item's predecessors pass to its successors."""
    keep = set(keep)

    def kept_predecessors(node: str, seen: set[str]) -> set[str]:
        result: set[str] = set()
        for pred in dag.get(node, ()):
            if pred in seen:
                continue
            seen.add(pred)
            result |= {pred} if pred in keep else kept_predecessors(pred, seen)
        return result

    return {node: frozenset(kept_predecessors(node, set())) for node in dag if node in keep}


def longest_path(dag: Dag, weights: Mapping[str, int]) -> int:
    """The heaviest chain of items: a bundle's promised time when parallel work overlaps."""
    finish: dict[str, int] = {}
    for node in topological_order(dag):
        finish[node] = weights[node] + max((finish[p] for p in dag[node]), default=0)
    return max(finish.values(), default=0)
