"""The tidy tree layout (nmt_core.views.tree_layout) on hand-made trees, and on real beam and sample trees."""

import random

import pytest

from nmt_core.decoding import DecodeSettings
from nmt_core.views.beam import nodes_frame
from nmt_core.views.sampling import prefix_tree, prefix_tree_frame, trace_tokens
from nmt_core.views.tree_layout import tidy_layout


def depths(edges):
    parent = dict(edges)
    depth = {}
    for node, _ in edges:
        d, p = 0, parent[node]
        while p is not None:
            d, p = d + 1, parent[p]
        depth[node] = d
    return depth


def crossings(edges, y):
    """Pairs of edges between the same two depths whose ends swap order (they cross)."""
    depth = depths(edges)
    links = [(depth[c], y[p], y[c]) for c, p in edges if p is not None]
    bad = []
    for i, (d1, p1, c1) in enumerate(links):
        for d2, p2, c2 in links[i + 1:]:
            if d1 == d2 and (p1 - p2) * (c1 - c2) < 0:
                bad.append(((p1, c1), (p2, c2)))
    return bad


def assert_tidy(edges, y, leaf_size=None):
    children = {}
    for node, parent in edges:
        if parent is not None:
            children.setdefault(parent, []).append(node)
    for parent, kids in children.items():
        assert y[parent] == pytest.approx((y[kids[0]] + y[kids[-1]]) / 2), f"node {parent} is not centred"
        assert [y[k] for k in kids] == sorted(y[k] for k in kids), f"children of {parent} out of order"
    assert not crossings(edges, y)
    # Leaves in depth-first order, each taking its room, one after another.
    leaves = [n for n, _ in dfs_order(edges) if n not in children]
    sizes = [1.0 if leaf_size is None else leaf_size.get(n, 1.0) for n in leaves]
    expected, cursor = [], 0.0
    for size in sizes:
        expected.append(cursor + size / 2)
        cursor += size
    assert [y[n] for n in leaves] == pytest.approx(expected)


def dfs_order(edges):
    children, roots = {}, []
    for node, parent in edges:
        (roots if parent is None else children.setdefault(parent, [])).append(node)
    order, stack = [], [(r, None) for r in reversed(roots)]
    while stack:
        node, parent = stack.pop()
        order.append((node, parent))
        stack.extend((k, node) for k in reversed(children.get(node, [])))
    return order


def test_chain_is_a_straight_line():
    edges = [(0, None), (1, 0), (2, 1), (3, 2)]
    y = tidy_layout(edges)
    assert len({y[n] for n in y}) == 1


def test_star_puts_the_parent_in_the_middle():
    edges = [(0, None), (1, 0), (2, 0), (3, 0)]
    y = tidy_layout(edges)
    assert [y[1], y[2], y[3]] == [0.5, 1.5, 2.5]
    assert y[0] == 1.5


def test_unbalanced_tree_by_hand():
    #        0
    #      /   \
    #     1     2
    #    / \     \
    #   3   4     5
    #  / \
    # 6   7
    edges = [(0, None), (1, 0), (2, 0), (3, 1), (4, 1), (5, 2), (6, 3), (7, 3)]
    y = tidy_layout(edges)
    assert (y[6], y[7], y[4], y[5]) == (0.5, 1.5, 2.5, 3.5)  # leaves in depth-first order
    assert y[3] == 1.0 and y[1] == (1.0 + 2.5) / 2 and y[2] == 3.5 and y[0] == (y[1] + y[2]) / 2
    assert_tidy(edges, y)


def test_children_follow_the_order_of_the_pairs():
    y = tidy_layout([(0, None), (2, 0), (1, 0)])
    assert y[2] < y[1]


def test_leaf_sizes_give_small_leaves_less_room():
    edges = [(0, None), (1, 0), (2, 0), (3, 0)]
    room = {2: 0.25}
    y = tidy_layout(edges, room)
    assert (y[1], y[2], y[3]) == (0.5, 1.125, 1.75)
    assert_tidy(edges, y, room)


def test_several_roots_lay_out_one_after_another():
    edges = [(0, None), (1, 0), (2, 0), (10, None), (11, 10)]
    y = tidy_layout(edges)
    assert max(y[0], y[1], y[2]) < min(y[10], y[11])


def test_a_deep_chain_needs_no_recursion():
    edges = [(0, None)] + [(i, i - 1) for i in range(1, 20_000)]
    assert len(tidy_layout(edges)) == 20_000


@pytest.mark.parametrize("seed", range(5))
def test_random_trees_are_tidy(seed):
    rng = random.Random(seed)
    edges, frontier = [(0, None)], [0]
    for node in range(1, 300):
        parent = rng.choice(frontier[-20:])
        edges.append((node, parent))
        frontier.append(node)
    edges = [edges[0]] + sorted(edges[1:], key=lambda e: (depths(edges)[e[0]], rng.random()))
    room = {n: rng.choice([0.35, 1.0]) for n, _ in edges}
    y = tidy_layout(edges, room)
    assert_tidy(edges, y, room)


def test_beam_tree_layout_is_tidy(translator):
    trace = translator.translate("alpha beta gamma delta", DecodeSettings(method="beam", beam_size=4, n_best=4))
    frame = nodes_frame(trace.beam)
    assert len(frame) == len(trace.beam.nodes)
    edges = [(int(r.id), None if r.parent != r.parent else int(r.parent)) for r in frame.itertuples()]
    y = dict(zip(frame["id"], frame["y"], strict=True))
    assert not crossings(edges, y)
    # Siblings are ordered best score first, the best on top (smallest y).
    for parent, group in frame[frame["parent"].notna()].groupby("parent"):
        assert list(group.sort_values("y")["score"]) == sorted(group["score"], reverse=True), parent
    # Without pruned nodes, only kept/finished ones remain and the layout is still tidy.
    kept = nodes_frame(trace.beam, show_pruned=False)
    assert set(kept["status"]) <= {"start", "kept", "finished"}
    assert len(kept) == sum(not n.pruned for n in trace.beam.nodes)


def test_prefix_tree_layout_is_tidy(translator):
    traces = [translator.translate("alpha beta gamma", DecodeSettings(method="sample", temperature=3.0, seed=s))
              for s in range(12)]
    frame = prefix_tree_frame(prefix_tree(trace_tokens(t) for t in traces))
    edges = [(int(r.id), None if r.parent != r.parent else int(r.parent)) for r in frame.itertuples()]
    assert not crossings(edges, dict(zip(frame["id"], frame["y"], strict=True)))
