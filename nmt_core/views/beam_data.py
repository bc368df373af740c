"""The Beam-search component's data: every node of one search, compact, sent to the browser once.

The tree's step, node selection, folding of dead branches, pruned branches on/off, words/pieces,
zoom and pan all run in the browser (``components/beam.js``). Steps are 1-based, as on Step
through: the start is step 0 and the first token is chosen at step 1 (``node.step + 1``).

Compact on purpose: a width-16 search of a 20-word sentence expands ~6,000 nodes. Each node is one
array ``[parent, step, token, logprob, score, normalised, status, rank]`` (``token`` indexes
``tokens``; status 0 start, 1 kept, 2 pruned, 3 finished; rank: n-best rank, 0 for none), and an
attention row is stored once per *parent* (every child of a node is scored from the same decoder
state, so siblings share it): ~250 kB instead of megabytes.
"""

from __future__ import annotations

from ..decoding.trace import BeamTrace, Trace
from .step_data import trace_id, word_index

STATUS = {"start": 0, "kept": 1, "pruned": 2, "finished": 3}
SEARCH_RANKING = ("Ranked as the search ranks its n-best list: by normalised score, log-prob / ((5 + length) / 6)^α, "
                  "finished hypotheses and those still in the beam together.")


def _status(node) -> int:
    if node.parent is None:
        return STATUS["start"]
    if node.finished:
        return STATUS["finished"]
    return STATUS["pruned"] if node.pruned else STATUS["kept"]


def beam_payload(trace: Trace, digits: int = 3) -> dict:
    """The component's ``data`` for a beam-search ``trace`` (pure: no streamlit)."""
    beam: BeamTrace = trace.beam
    index = {n.id: i for i, n in enumerate(beam.nodes)}
    tokens: list[str] = []
    token_index: dict[str, int] = {}
    ranks = {h.node_id: r + 1 for r, h in enumerate(beam.hypotheses)}
    nodes, attention = [], {}
    for node in beam.nodes:
        if node.token not in token_index:
            token_index[node.token] = len(tokens)
            tokens.append(node.token)
        parent = index.get(node.parent, -1) if node.parent is not None else -1
        nodes.append([parent, node.step + 1, token_index[node.token], round(node.logprob, digits),
                      round(node.score, digits), round(node.normalized_score, digits), _status(node),
                      ranks.get(node.id, 0)])
        if parent >= 0 and node.attention is not None and str(parent) not in attention:
            attention[str(parent)] = [round(w, digits) for w in node.attention]
    last = max((n.step for n in beam.nodes), default=0) + 1
    first = last - len(beam.beams) + 1 if beam.beams else last
    return {
        "version": 1,
        "id": trace_id(trace),
        "ids": [n.id for n in beam.nodes],
        "tokens": tokens,
        "nodes": nodes,
        "attention": attention,
        "beams": [[index[i] for i in alive] for alive in beam.beams],
        "first_step": first,
        "last_step": last,
        "best": index.get(beam.hypotheses[0].node_id, 0) if beam.hypotheses else 0,
        "source": list(trace.source_tokens),
        "source_words": word_index(list(trace.source_tokens)),
        "translation": trace.translation,
        "ranking": SEARCH_RANKING,
    }
