"""A tidy layout for trees drawn left to right (depth across, siblings down).

Used for the beam search tree and for the prefix tree of sampled translations.
The rule is the classic one (Reingold–Tilford style, simplified to leaf order):

* leaves are placed one after another in depth-first order, each taking
  ``leaf_size`` units of room (1 unless told otherwise);
* a parent sits midway between its first and its last child.

So every subtree occupies its own interval, siblings' intervals are disjoint and
in order, and no two edges between one depth and the next can cross. The walk is
iterative, so deep trees (hundreds of steps) cannot hit Python's recursion limit,
and it is linear in the number of nodes (8,000 nodes lay out in a few ms).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def tidy_layout(edges: Iterable[tuple[int, int | None]],
                leaf_size: Mapping[int, float] | None = None) -> dict[int, float]:
    """Vertical position of every node.

    edges: ``(node, parent)`` pairs, ``parent`` None (or unknown) for a root.
    Children are laid out in the order their pairs appear: sort the pairs first
    to put, say, the best-scoring child on top. Several roots lay out one after
    another. leaf_size: room a leaf takes (default 1), e.g. less for pruned leaves.
    Returns ``{node: position}``; positions start near 0 and grow downwards.
    """
    edges = list(edges)
    known = {node for node, _ in edges}
    children: dict[int, list[int]] = {}
    roots: list[int] = []
    for node, parent in edges:
        if parent is None or parent not in known:
            roots.append(node)
        else:
            children.setdefault(parent, []).append(node)

    position: dict[int, float] = {}
    cursor = 0.0  # where the next leaf's room begins
    for root in roots:
        # Post-order walk with an explicit stack: (node, children already placed?).
        stack: list[tuple[int, bool]] = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            kids = children.get(node)
            if not kids:
                size = 1.0 if leaf_size is None else float(leaf_size.get(node, 1.0))
                position[node] = cursor + size / 2
                cursor += size
            elif expanded:
                position[node] = (position[kids[0]] + position[kids[-1]]) / 2
            else:
                stack.append((node, True))
                stack.extend((kid, False) for kid in reversed(kids))  # first child is popped first
    return position
