"""What the Beam search page shows, as DataFrames: read from a trace's ``beam``.

* :func:`nodes_frame` -- every node with its status and its place in the tidy layout;
* :func:`beam_at_step` -- the beam after step t (1-based), ranked as the search ranks its n-best list;
* :func:`node_path`, :func:`hypothesis_text`, :func:`attention_row_frame` -- one node's
  hypothesis (root to node) and the attention row it was scored with.

Nothing here runs the model: the trace already holds every node ever expanded.
"""

from __future__ import annotations

import pandas as pd

from ..decoding import DecodeSettings
from ..decoding.trace import BeamNode, BeamTrace
from ..text import EOS_ID
from .tree_layout import tidy_layout

PRUNED_LEAF_SIZE = 0.35  # room a pruned leaf takes in the layout (a kept leaf takes 1): the search stays readable
NODE_COLUMNS = ["id", "parent", "step", "token_id", "token", "logprob", "score", "normalized_score", "status",
                "rank", "y"]


def beam_settings(settings: DecodeSettings, width: int, length_penalty: float) -> DecodeSettings:
    """Beam search with ``width`` and ``length_penalty``, keeping the sidebar's UNK penalty and length cap.

    Built exactly as the sidebar builds its beam settings (other fields at their defaults), so
    this page and the Translate page share one cached decode.
    """
    return DecodeSettings(method="beam", beam_size=width, n_best=width, length_penalty=length_penalty,
                          unk_penalty=settings.unk_penalty, max_tokens=settings.max_tokens)


def pieces_text(tokens: list[str]) -> str:
    """SentencePiece pieces -> text (``▁`` marks a word start); what the tokenizer's decode does."""
    return "".join(tokens).replace("▁", " ").strip()


def status(node: BeamNode) -> str:
    """"start" (the root), "finished" (ended with </s>), "pruned" (dropped from the beam) or "kept"."""
    if node.parent is None:
        return "start"
    if node.finished:
        return "finished"
    return "pruned" if node.pruned else "kept"


def nodes_frame(beam: BeamTrace, show_pruned: bool = True) -> pd.DataFrame:
    """One row per node (``NODE_COLUMNS``), with ``y`` its tidy-layout position.

    Siblings are ordered best score first (so the best continuation is on top);
    rank is the n-best rank (1 = the translation) of a hypothesis' last node, else 0.
    ``show_pruned=False`` leaves pruned nodes out (and lays out what remains).
    """
    nodes = [n for n in beam.nodes if show_pruned or not n.pruned]
    ranks = {h.node_id: i + 1 for i, h in enumerate(beam.hypotheses)}
    ordered = sorted(nodes, key=lambda n: (n.step, -n.score, n.id))  # parents before children, best first
    room = {n.id: PRUNED_LEAF_SIZE for n in nodes if n.pruned}
    y = tidy_layout(((n.id, n.parent) for n in ordered), room)
    rows = [(n.id, n.parent, n.step, n.token_id, n.token, n.logprob, n.score, n.normalized_score, status(n),
             ranks.get(n.id, 0), y[n.id]) for n in nodes]
    return pd.DataFrame(rows, columns=NODE_COLUMNS)


def step_range(beam: BeamTrace) -> tuple[int, int]:
    """First and last search step (node ``step`` values; equal when the search ran one step).

    ``beams[i]`` holds the nodes alive after search step ``first + i``; every search step
    expands nodes, so the deepest node is at step ``first + len(beams) - 1``. A forced
    prefix (single nodes before the search) comes before ``first``.
    """
    last = max((n.step for n in beam.nodes), default=0)
    if not beam.beams:
        return last, last
    return last - len(beam.beams) + 1, last


def node_path(beam: BeamTrace, node_id: int) -> list[BeamNode]:
    """The nodes from the first token to ``node_id`` (the root left out). KeyError for an unknown id."""
    by_id = {n.id: n for n in beam.nodes}
    node, chain = by_id[node_id], []
    while node.parent is not None:
        chain.append(node)
        node = by_id[node.parent]
    return chain[::-1]


def hypothesis_text(path: list[BeamNode]) -> str:
    """A (partial) hypothesis as text; a closing </s> is left out."""
    return pieces_text([n.token for n in path if n.token_id != EOS_ID])


BEAM_COLUMNS = ["rank", "hypothesis", "log-prob", "normalised", "status", "node"]


def beam_at_step(beam: BeamTrace, step: int) -> pd.DataFrame:
    """The beam after ``step`` (1-based, as every page counts: the first token is chosen at step 1),
    ranked as the search ranks its n-best list: by normalised score, the hypotheses still in the
    beam and those finished by then together (rank 1.. for every row, never missing).

    Columns ``BEAM_COLUMNS``.
    """
    first, _ = step_range(beam)
    by_id = {n.id: n for n in beam.nodes}
    index = step - 1 - first
    alive = [by_id[i] for i in beam.beams[index]] if 0 <= index < len(beam.beams) else []
    done = [n for n in beam.nodes if n.finished and n.step <= step - 1]
    ranked = sorted(alive + done, key=lambda n: (-n.normalized_score, n.id))
    rows = [(rank, hypothesis_text(node_path(beam, n.id)), n.score, n.normalized_score,
             f"finished at step {n.step + 1}" if n.finished else "in the beam", n.id)
            for rank, n in enumerate(ranked, start=1)]
    return pd.DataFrame(rows, columns=BEAM_COLUMNS)


def attention_row_frame(source_tokens: list[str], node: BeamNode) -> pd.DataFrame:
    """The attention the decoder paid to each source piece when it scored ``node``'s token.

    Columns source_index, source_token, weight; empty for the root or a model without attention.
    """
    weights = node.attention or []
    return pd.DataFrame({"source_index": list(range(len(weights))), "source_token": source_tokens[: len(weights)],
                         "weight": weights})
