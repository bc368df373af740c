"""The Beam-search component's data: every node of one search, compact, sent to the browser once.

The tree's step, node selection, folding of dead branches, pruned branches on/off, words/pieces,
zoom and pan all run in the browser (``components/beam.js``). Steps are 1-based, as on Step
through: the start is step 0 and the first token is chosen at step 1 (``node.step + 1``).

Compact on purpose: a width-12 search of a 15-word sentence expands ~3,300 nodes, nine in ten of them
pruned, and every new search sends them all. So the nodes go as columns, not one array per node
(:func:`beam_payload`; :func:`unpack` reads them back):

* ``parent``: ``i - parent`` per node (the root ``i + 1``): small numbers, since a node's parent is in the
  step before it. A node's step is its depth, so it is not sent;
* ``token``: an index into ``tokens``, the pieces once each, the most frequent first (short indices);
* ``logprob``: integers in thousandths (the page prints 3 decimals);
* ``score_delta``: one character per node, its cumulative score in thousandths less its parent's and its own
  log-prob's (``0``, ``1``, ``2`` for -1, 0, +1: the roundings' difference); it replaces a column of ~3,300
  five-digit numbers (~20 kB). ``score`` (thousandths) instead when that does not hold (a hand-made trace);
* ``status``: one character per node, ``0`` start, ``1`` kept, ``2`` pruned, ``3`` finished;
* ``norm``: the normalised score of the nodes that are not pruned, in order (thousandths): the ones the n-best
  list and the beam's table rank. A pruned node's (shown only in its tooltip) is recomputed in the browser as
  its score / ((5 + step) / 6)^α (``alpha``), the rule the search applied, from the rounded score: within 0.001
  of the search's. That spares a column of ~3,000 numbers. ``norm_all`` instead when a trace does not follow
  that rule (a hand-made one);
* ``ranked``: the n-best list's nodes, best first; ``ids``: each node's id, only where ids are not the nodes'
  places (a search's ids are);
* ``attention``: one row per *parent* (every child of a node is scored from the same decoder state, so
  siblings share it), keyed by the parent's place, weights in thousandths.

A width-12 tree of 15 words: 176 kB as one array per node with its id, 78 kB as columns, 68 kB with
``score_delta``.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from ..decoding.beam_rule import length_penalty
from ..decoding.trace import BeamTrace, Trace
from .step_data import trace_id, word_index

PAYLOAD_VERSION = 3
STATUS = {"start": 0, "kept": 1, "pruned": 2, "finished": 3}
SCALE = 1000  # scores and weights are sent as integers in thousandths
SEARCH_RANKING = ("Ranked as the search ranks its n-best list: by normalised score, log-prob / ((5 + length) / 6)^α, "
                  "finished hypotheses and those still in the beam together.")


def _milli(values) -> list[int]:
    """Values in thousandths, as Python ints: one numpy pass for a column (~3,300 numbers for a width-12 tree).
    ``np.rint`` rounds half to even on the same float64 product, exactly as ``round(v * 1000)`` does."""
    return np.rint(np.asarray(values, dtype=np.float64) * SCALE).astype(np.int64).tolist()


def _tokens(beam: BeamTrace) -> tuple[list[str], dict[str, int]]:
    """The pieces once each, the most frequent first (so most nodes' token index is one or two digits)."""
    counts = Counter(n.token for n in beam.nodes)
    tokens = sorted(counts, key=lambda t: (-counts[t], t))
    return tokens, {t: i for i, t in enumerate(tokens)}


def _depths(parents: list[int]) -> list[int]:
    """Each node's depth (the root 0), from its parent's place (-1 for none): the step the browser draws it at.
    One pass where parents come first (a search's nodes do); any order is walked up to a known depth."""
    depth = [-1] * len(parents)
    for i, parent in enumerate(parents):
        if parent < 0:
            depth[i] = 0
        elif depth[parent] >= 0:
            depth[i] = depth[parent] + 1
    if -1 not in depth:
        return depth
    for i in range(len(parents)):
        chain = []
        while depth[i] < 0:
            chain.append(i)
            i = parents[i]
            if len(chain) > len(parents):
                raise ValueError("the beam's parent links form a cycle")
        for j in reversed(chain):
            depth[j] = depth[parents[j]] + 1
    return depth


def _norms(columns: dict, depths: list[int], alpha: float) -> dict:
    """``norm`` for the nodes that are not pruned, or ``norm_all`` when a pruned node's normalised score is not
    its score over the length penalty of its depth (then the browser could not recompute it)."""
    penalty = np.array([length_penalty(d, alpha) for d in range(max(depths, default=0) + 1)])
    norm, pruned = columns["norm"], columns["status"] == STATUS["pruned"]
    off_rule = np.abs(columns["score"][pruned] / penalty[np.asarray(depths, dtype=np.int64)[pruned]] - norm[pruned])
    if not (off_rule < 1e-6).all():
        return {"norm_all": _milli(norm)}
    return {"norm": _milli(norm[~pruned])}


def _columns(beam: BeamTrace) -> dict[str, np.ndarray]:
    """The nodes' numbers as arrays, read from the nodes once (attribute reads are the per-node cost left)."""
    nodes = beam.nodes
    status = np.array([STATUS["start"] if n.parent is None else STATUS["finished"] if n.finished
                       else STATUS["pruned"] if n.pruned else STATUS["kept"] for n in nodes], dtype=np.uint8)
    return {"logprob": np.array([n.logprob for n in nodes], dtype=np.float64),
            "score": np.array([n.score for n in nodes], dtype=np.float64),
            "norm": np.array([n.normalized_score for n in nodes], dtype=np.float64), "status": status}


def _attention(beam: BeamTrace, parents: list[int]) -> dict[str, list[int]]:
    """One row per parent place (as a string), from its first child with a row, in the order of those children."""
    first: dict[int, list[float]] = {}
    for node, parent in zip(beam.nodes, parents, strict=True):
        if parent >= 0 and parent not in first and node.attention is not None:
            first[parent] = node.attention
    if not first:
        return {}
    rows = list(first.values())
    if len({len(r) for r in rows}) == 1:  # a search's rows: one length, one numpy pass
        return dict(zip(map(str, first), np.rint(np.array(rows, dtype=np.float64) * SCALE).astype(np.int64).tolist(),
                        strict=True))
    return {str(parent): _milli(row) for parent, row in first.items()}


def _scores(score: list[int], logprob: list[int], parents: list[int]) -> dict:
    """``score_delta`` where every parent comes before its children and each node's score (thousandths) is its
    parent's plus its own log-prob's, give or take the rounding's one thousandth; ``score`` otherwise."""
    places, parent = np.arange(len(parents)), np.asarray(parents, dtype=np.int64)
    if not (parent < places).all():
        return {"score": score}
    milli = np.asarray(score, dtype=np.int64)
    delta = milli - np.where(parent >= 0, milli[parent], 0) - np.asarray(logprob, dtype=np.int64)
    if len(delta) and not ((delta >= -1) & (delta <= 1)).all():
        return {"score": score}
    return {"score_delta": (delta + ord("1")).astype(np.uint8).tobytes().decode("ascii")}


def _places(beam: BeamTrace):
    """Where each node id sits in the payload's arrays: (``ids``, ``place``, ``known``, ``parents``).

    A search numbers its nodes 0..N-1 in order, so a node's id is its place and ``ids`` is None (not sent);
    otherwise ``ids`` lists them and ``place`` maps an id to its place. ``known(id)``: whether the id is a node
    here. ``parents``: each node's parent's place, -1 for the root or a parent not in the trace.
    """
    ids = [n.id for n in beam.nodes]
    parent_ids = [n.parent for n in beam.nodes]
    if ids == list(range(len(ids))):
        parents = [-1 if p is None or not 0 <= p < len(ids) else p for p in parent_ids]
        return None, (lambda node_id: node_id), range(len(ids)).__contains__, parents
    index = {node_id: i for i, node_id in enumerate(ids)}
    parents = [index.get(p, -1) if p is not None else -1 for p in parent_ids]
    return ids, index.__getitem__, index.__contains__, parents


def beam_payload(trace: Trace) -> dict:
    """The component's ``data`` for a beam-search ``trace`` (pure: no streamlit)."""
    beam: BeamTrace = trace.beam
    ids, place, known, parents = _places(beam)
    tokens, token_index = _tokens(beam)
    depths = _depths(parents)
    alpha = float(trace.settings.get("length_penalty", 1.0) or 0.0)
    columns = _columns(beam)
    logprob = _milli(columns["logprob"])
    last = max((n.step for n in beam.nodes), default=0) + 1
    first = last - len(beam.beams) + 1 if beam.beams else last
    ranked = [place(h.node_id) for h in beam.hypotheses if known(h.node_id)]
    return {
        "version": PAYLOAD_VERSION,
        "id": trace_id(trace),
        "ids": ids,
        "tokens": tokens,
        "parent": [i - p if p >= 0 else i + 1 for i, p in enumerate(parents)],
        "token": [token_index[n.token] for n in beam.nodes],
        "logprob": logprob,
        **_scores(_milli(columns["score"]), logprob, parents),
        "status": (columns["status"] + ord("0")).tobytes().decode("ascii"),
        **_norms(columns, depths, alpha),
        "alpha": alpha,
        "ranked": ranked,
        "attention": _attention(beam, parents),
        "beams": [[place(i) for i in alive] for alive in beam.beams],
        "first_step": first,
        "last_step": last,
        # the search's best hypothesis leads its ranked list (one not among the nodes: the first node)
        "best": place(beam.hypotheses[0].node_id) if beam.hypotheses and known(beam.hypotheses[0].node_id) else 0,
        "source": list(trace.source_tokens),
        "source_words": word_index(list(trace.source_tokens)),
        "translation": trace.translation,
        "ranking": SEARCH_RANKING,
    }


def node_ids(payload: dict) -> list[int]:
    """Each node's id, by its place in the payload."""
    return payload["ids"] if payload.get("ids") is not None else list(range(len(payload["status"])))


def node_place(payload: dict, node_id: int) -> int | None:
    """Where node ``node_id`` is in the payload's columns; None for no such node."""
    if payload.get("ids") is None:
        return node_id if 0 <= node_id < len(payload["status"]) else None
    return next((i for i, n in enumerate(payload["ids"]) if n == node_id), None)


def _unpack_scores(payload: dict, parents: list[int]) -> list[int]:
    """Each node's score in thousandths, from ``score`` or ``score_delta`` (parents first: one pass)."""
    if "score" in payload:
        return payload["score"]
    milli: list[int] = []
    for i, (parent, logprob, delta) in enumerate(zip(parents, payload["logprob"], payload["score_delta"], strict=True)):
        milli.append((milli[parent] if 0 <= parent < i else 0) + logprob + ord(delta) - ord("1"))
    return milli


def unpack(payload: dict) -> list[dict]:
    """The nodes as the browser reads them back (beam.js's ``unpack``): one dict per node with ``id``, ``parent``
    (a place, -1 for the root), ``step`` (1-based), ``token``, ``logprob``, ``score``, ``normalised``, ``status``
    and ``rank`` (n-best rank, 0 for none). For the tests, and for anyone reading a payload."""
    ids, alpha = node_ids(payload), payload["alpha"]
    ranks = {i: r + 1 for r, i in enumerate(payload["ranked"])}
    parents = [i - delta for i, delta in enumerate(payload["parent"])]
    steps: list[int | None] = [None] * len(parents)

    def step_of(i: int) -> int:  # depth, iteratively: a deep tree must not hit the recursion limit
        chain = []
        while steps[i] is None and parents[i] >= 0:
            chain.append(i)
            i = parents[i]
        base = steps[i] if steps[i] is not None else 0
        steps[i] = base
        for depth, j in enumerate(reversed(chain), start=1):
            steps[j] = base + depth
        return steps[chain[0]] if chain else base

    norms = iter(payload.get("norm", []))
    nodes: list[dict] = []
    milli = _unpack_scores(payload, parents)
    for i, status in enumerate(payload["status"]):
        step, score = step_of(i), milli[i] / SCALE
        if "norm_all" in payload:
            norm = payload["norm_all"][i] / SCALE
        else:
            norm = next(norms) / SCALE if int(status) != STATUS["pruned"] else score / length_penalty(step, alpha)
        nodes.append({"id": ids[i], "parent": parents[i], "step": step,
                      "token": payload["tokens"][payload["token"][i]], "logprob": payload["logprob"][i] / SCALE,
                      "score": score, "normalised": norm, "status": int(status), "rank": ranks.get(i, 0)})
    return nodes
