"""What a decode saw, as plain values (no tensors), with a JSON round-trip.

A :class:`Trace` is everything the app shows about one translation: the
source and target pieces, each step's attention row and top alternatives,
and for beam search every node that was expanded (kept, finished or pruned).
Stepping through a translation in the UI is reading a trace, not recomputing.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field


@dataclass
class Candidate:
    """One of the most likely next tokens at a step.

    ``prob`` is the model's probability (temperature 1, before any filtering,
    over the tokens it may emit: ``<pad>``/``<s>`` excluded, UNK penalty applied);
    ``adjusted_prob`` is the probability the chooser actually used, after the
    UNK penalty, temperature, top-k and top-p (0 when filtered out).
    """

    token_id: int
    token: str
    prob: float
    adjusted_prob: float


@dataclass
class Step:
    """One emitted target token.

    index: 0-based target position; logprob: model log-prob of the token;
    attention: one weight per source piece (None for a model without attention);
    candidates: the top alternatives, most likely first; forced: supplied by the
    user (forced prefix or an override in the stepper), not chosen by the decoder;
    layer_attention: a Transformer's cross-attention of every decoder layer and head,
    layers x heads x source pieces (None for an RNN). ``attention`` stays the one
    documented default row (the mean over the heads of the model's display layer),
    which every view reads unless a layer or head is chosen (nmt_core.views.attention_heads).
    """

    index: int
    token_id: int
    token: str
    logprob: float
    attention: list[float] | None
    candidates: list[Candidate] = field(default_factory=list)
    forced: bool = False
    layer_attention: list[list[list[float]]] | None = None  # (layers, heads, source), Transformers only


@dataclass
class BeamNode:
    """A node of the beam search tree. The root (id 0) stands for the start.

    score: cumulative log-prob from the root; normalized_score: score divided by
    the length penalty (what finished hypotheses are ranked by); finished: ended
    with ``</s>``; pruned: expanded but dropped from the beam; layer_attention:
    every decoder layer's and head's cross-attention (layers x heads x source), kept
    only on the nodes of the returned hypotheses of a Transformer (None elsewhere,
    so that a wide beam's trace stays small).
    """

    id: int
    parent: int | None
    step: int
    token_id: int
    token: str
    logprob: float
    score: float
    normalized_score: float
    attention: list[float] | None
    finished: bool = False
    pruned: bool = False
    layer_attention: list[list[list[float]]] | None = None


@dataclass
class Hypothesis:
    node_id: int
    token_ids: list[int]
    tokens: list[str]
    translation: str
    score: float
    normalized_score: float
    finished: bool


@dataclass
class BeamTrace:
    """nodes: every node ever expanded; beams: the node ids alive after each step;
    hypotheses: the n-best list, best first."""

    nodes: list[BeamNode]
    beams: list[list[int]]
    hypotheses: list[Hypothesis]


@dataclass
class Trace:
    method: str  # "greedy", "sample" or "beam"
    settings: dict
    source_text: str
    source_tokens: list[str]  # pieces the encoder read, ending with </s>
    steps: list[Step]  # every emitted token, the final </s> included when reached
    translation: str
    finished: bool  # True when the decoder emitted </s> (not cut by the length limit)
    beam: BeamTrace | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def output_steps(self) -> list[Step]:
        """The steps that are part of the translation (the closing </s> left out)."""
        return self.steps[:-1] if self.finished else self.steps

    @property
    def target_tokens(self) -> list[str]:
        return [s.token for s in self.output_steps]

    @property
    def target_ids(self) -> list[int]:
        return [s.token_id for s in self.output_steps]

    @property
    def attention(self) -> list[list[float]] | None:
        """One row per target token (over ``source_tokens``), or None without attention."""
        if not self.steps or self.steps[0].attention is None:
            return None
        return [s.attention for s in self.output_steps]

    @property
    def layer_attention(self) -> list[list[list[list[float]]]] | None:
        """(target, layers, heads, source): every layer's and head's row per target token, or None
        when the model recorded none (an RNN, or a trace saved before they were recorded)."""
        steps = self.output_steps
        if not steps or any(s.layer_attention is None for s in steps):
            return None
        return [s.layer_attention for s in steps]

    @property
    def score(self) -> float:
        return sum(s.logprob for s in self.steps)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["target_tokens"] = self.target_tokens
        data["attention"] = self.attention
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict) -> Trace:
        beam = data.get("beam")
        if beam is not None:
            beam = BeamTrace(
                nodes=[BeamNode(**n) for n in beam["nodes"]],
                beams=beam["beams"],
                hypotheses=[Hypothesis(**h) for h in beam["hypotheses"]],
            )
        steps = [Step(**{**s, "candidates": [Candidate(**c) for c in s["candidates"]]}) for s in data["steps"]]
        return cls(
            method=data["method"],
            settings=data["settings"],
            source_text=data["source_text"],
            source_tokens=data["source_tokens"],
            steps=steps,
            translation=data["translation"],
            finished=data["finished"],
            beam=beam,
            warnings=data.get("warnings", []),
        )

    @classmethod
    def from_json(cls, text: str) -> Trace:
        return cls.from_dict(json.loads(text))
