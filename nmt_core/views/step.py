"""Data shaping for the Step-through page: a decode read one token at a time.

Everything here reads a finished :class:`~nmt_core.decoding.trace.Trace`; nothing runs
the model. Steps are counted from 1 as the page shows them: step ``t`` is the
decision that emitted ``trace.steps[t - 1]`` (its attention row, its top-k
candidates, the token taken). A trace of ``n`` steps (the closing ``</s>``
included when reached) has steps ``1..n``.

Forcing a different token at step ``t`` is a new decode with the prefix
:func:`forced_prefix` (the tokens of steps ``1..t-1`` plus the chosen one);
:func:`compare_endings` then lines up the decoder's ending and the forced one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import pandas as pd

from ..decoding.trace import Candidate, Step, Trace
from ..text import BOS_ID, EOS_ID, PAD_ID

WORD_MARKER = "\u2581"  # SentencePiece's "a word starts here" (▁)
EOS_PIECE = "</s>"

CANDIDATE_COLUMNS = ["rank", "token_id", "token", "prob", "adjusted_prob", "chosen", "in_top_k"]
ENDING_COLUMNS = ["position", "token", "log-prob", "probability"]


def format_probability(p: float) -> str:
    """0.639 -> "0.639"; tiny values keep their digits: 0.000183 -> "1.8e-04"."""
    return f"{p:.3f}" if p >= 0.001 or p == 0 else f"{p:.1e}"


def step_count(trace: Trace) -> int:
    """How many steps the page can show: every emitted token, ``</s>`` included."""
    return len(trace.steps)


def step_at(trace: Trace, t: int) -> Step:
    """The step the page shows at ``t`` (1-based)."""
    if not 1 <= t <= step_count(trace):
        raise IndexError(f"step {t} is outside 1..{step_count(trace)}")
    return trace.steps[t - 1]


def pieces_text(tokens: list[str]) -> str:
    """Target pieces as text, the way SentencePiece joins them (``</s>`` left out).

    ["▁the", "▁ca", "t", "</s>"] -> "the cat"
    """
    return "".join(t for t in tokens if t != EOS_PIECE).replace(WORD_MARKER, " ").strip()


def candidate_frame(trace: Trace, t: int) -> pd.DataFrame:
    """The top-k next tokens at step ``t``, most likely first, and the one taken.

    Columns: rank (1 = most likely; None for a token outside the recorded top-k),
    token_id, token, prob (the model's probability), adjusted_prob (what the
    chooser used after temperature/top-k/top-p; NaN when unknown), chosen (bool),
    in_top_k (bool). A chosen token outside the top-k (a sampled long shot, or a
    forced beam prefix, which records no candidates) is added as a last row so
    the chart always shows what was taken.
    """
    step = step_at(trace, t)
    rows = [{"rank": r + 1, "token_id": c.token_id, "token": c.token, "prob": c.prob,
             "adjusted_prob": c.adjusted_prob, "chosen": c.token_id == step.token_id, "in_top_k": True}
            for r, c in enumerate(step.candidates)]
    if not any(row["chosen"] for row in rows):
        prob = math.exp(step.logprob)
        rows.append({"rank": None, "token_id": step.token_id, "token": step.token, "prob": prob,
                     "adjusted_prob": _adjusted_outside_top_k(trace, step), "chosen": True, "in_top_k": False})
    frame = pd.DataFrame(rows, columns=CANDIDATE_COLUMNS)
    frame["rank"] = frame["rank"].astype("Int64")
    return frame


def _adjusted_outside_top_k(trace: Trace, step: Step) -> float:
    """The chooser's probability of a taken token that the top-k list did not record.

    Beam search scores with the model's own probabilities. Sampling draws from
    p^(1/T), renormalised over the tokens top-k/top-p kept; the most likely
    token is always kept, so the ratio to it recovers the value exactly:
    q(x) = q(top) * exp((log p(x) - log p(top)) / T). NaN when it cannot be known.
    """
    if trace.method == "beam":
        return math.exp(step.logprob)
    temperature = float(trace.settings.get("temperature", 1.0) or 0.0)
    top = step.candidates[0] if step.candidates else None
    if trace.method != "sample" or temperature <= 0 or top is None or top.prob <= 0 or top.adjusted_prob <= 0:
        return math.nan
    return top.adjusted_prob * math.exp((step.logprob - math.log(top.prob)) / temperature)


@dataclass
class Reason:
    """Why the token at a step was taken.

    kind: "forced", "argmax", "sampled" or "beam"; summary: one plain-text line
    for people; probability: the probability that decided it (the chooser's
    for sampling, the model's otherwise; None when not recorded); rank: the
    token's place among the candidates (None outside the recorded top-k).
    """

    kind: str
    summary: str
    probability: float | None
    rank: int | None


def _chosen(trace: Trace, t: int) -> tuple[int | None, float, float]:
    """The token taken at step ``t``: its rank among the candidates (None outside the recorded top-k), the
    model's probability and the chooser's. The row :func:`candidate_frame` marks ``chosen``, without pandas:
    the Step-through payload asks this for every step of every decode, and a DataFrame per step cost more
    server CPU than the decode itself."""
    step = step_at(trace, t)
    for r, c in enumerate(step.candidates):
        if c.token_id == step.token_id:
            return r + 1, float(c.prob), math.nan if c.adjusted_prob is None else float(c.adjusted_prob)
    return None, math.exp(step.logprob), float(_adjusted_outside_top_k(trace, step))


def why_chosen(trace: Trace, t: int) -> Reason:
    """Classify the decision at step ``t``: forced, greedy argmax, sampled or beam."""
    step = step_at(trace, t)
    rank, model_p, adjusted = _chosen(trace, t)
    p = format_probability(model_p)
    where = f"rank {rank} of {len(step.candidates)}" if rank else "outside the recorded top candidates"
    if step.forced:
        return Reason("forced", f"Forced: chosen by the user, not the decoder. The model gave it probability {p} "
                                f"({where}).", model_p, rank)
    if trace.method == "greedy":
        return Reason("argmax", f"Greedy: the most likely token (argmax), probability {p}.", model_p, rank)
    if trace.method == "sample":
        known = not math.isnan(adjusted)
        drawn = f"probability {format_probability(adjusted)}" if known else "an unrecorded probability"
        return Reason("sampled", f"Sampled: drawn at random with {drawn} after {sampling_recipe(trace.settings)} "
                                 f"(model probability {p}, {where}).", adjusted if known else None, rank)
    summary = f"Beam search: this token is on the best hypothesis's path ({where}, probability {p})."
    if rank != 1:
        summary += " It is not the most likely next token: the whole sentence through it scored better."
    return Reason("beam", summary, model_p, rank)


def sampling_recipe(settings: dict) -> str:
    """ "temperature 0.7, top-k 5, top-p 0.9" (filters that are off are left out)."""
    recipe = f"temperature {settings.get('temperature', 1.0):g}"
    if settings.get("top_k"):
        recipe += f", top-k {settings['top_k']}"
    if settings.get("top_p", 1.0) < 1.0:
        recipe += f", top-p {settings['top_p']:g}"
    return recipe


def force_options(trace: Trace, t: int) -> list[Candidate]:
    """The candidates a user may force at step ``t``: every recorded one but the token taken.

    ``<pad>`` and ``<s>`` are never valid outputs, and a zero-probability
    token is not a real alternative, so they are left out.
    """
    step = step_at(trace, t)
    return [c for c in step.candidates
            if c.token_id != step.token_id and c.token_id not in (PAD_ID, BOS_ID) and c.prob > 0]


def forced_prefix(trace: Trace, t: int, token_id: int) -> list[int]:
    """Target ids to force for "take ``token_id`` at step ``t``": steps 1..t-1, then it."""
    step_at(trace, t)  # range check
    return [s.token_id for s in trace.steps[: t - 1]] + [int(token_id)]


def stopped_trace(trace: Trace, t: int, candidate: Candidate) -> Trace:
    """Forcing ``</s>`` at step ``t`` needs no decode: the sentence ends right there.

    (A decoder cannot take ``</s>`` as a forced prefix.) The new last step keeps
    step ``t``'s attention and candidates: both come before the choice.
    """
    step = step_at(trace, t)
    stop = replace(step, token_id=candidate.token_id, token=candidate.token,
                   logprob=math.log(candidate.prob) if candidate.prob > 0 else -math.inf, forced=True)
    steps = list(trace.steps[: t - 1]) + [stop]
    return replace(trace, steps=steps, finished=True, beam=None,
                   translation=pieces_text([s.token for s in steps[:-1]]))


def is_stop(candidate: Candidate) -> bool:
    return candidate.token_id == EOS_ID


@dataclass
class Ending:
    """A translation from step ``t`` on.

    tokens/logprobs: the pieces of steps t..end (``</s>`` included when reached);
    ending_score: their summed log-prob; sentence_score: the shared prefix's
    score plus the ending's; translation: the whole sentence; finished: ended
    with ``</s>`` rather than the length limit.
    """

    tokens: list[str]
    logprobs: list[float]
    ending_score: float
    sentence_score: float
    translation: str
    finished: bool


def ending(trace: Trace, t: int, prefix_score: float) -> Ending:
    steps = trace.steps[t - 1:]
    score = sum(s.logprob for s in steps)
    return Ending([s.token for s in steps], [s.logprob for s in steps], score, prefix_score + score,
                  trace.translation, trace.finished)


def compare_endings(old: Trace, new: Trace, t: int) -> tuple[Ending, Ending]:
    """The decoder's ending and the forced one, both from step ``t``.

    Both sentences share steps 1..t-1; their score is counted once, from the
    original trace, so the two sentence scores differ exactly by their endings.
    """
    prefix_score = sum(s.logprob for s in old.steps[: t - 1])
    return ending(old, t, prefix_score), ending(new, t, prefix_score)


def ending_frame(end: Ending, t: int) -> pd.DataFrame:
    """Per-token scores of an ending. Columns: position (step number), token, log-prob, probability."""
    return pd.DataFrame(
        [{"position": t + i, "token": token, "log-prob": lp, "probability": math.exp(lp)}
         for i, (token, lp) in enumerate(zip(end.tokens, end.logprobs, strict=True))],
        columns=ENDING_COLUMNS,
    )
