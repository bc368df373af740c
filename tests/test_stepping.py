"""nmt_core.views.step: reading a trace one step at a time.

Hand-built traces check the arithmetic exactly; traces from the tiny trained
model check that the shaping agrees with what the decoder really did.
"""

from __future__ import annotations

import math

import pytest

from nmt_core.decoding import Candidate, DecodeSettings, Step, Trace
from nmt_core.text import BOS_ID, EOS_ID, PAD_ID
from nmt_core.views.step import (
    candidate_frame,
    compare_endings,
    ending_frame,
    force_options,
    forced_prefix,
    format_probability,
    pieces_text,
    step_count,
    stopped_trace,
    why_chosen,
)

SOURCE = ["▁<b>x</b>", "▁y", "</s>"]


def make_trace(tokens: list[tuple[int, str, float]], method: str = "greedy", attention: bool = True,
               candidates: list[list[Candidate]] | None = None, finished: bool = True, **settings) -> Trace:
    """A trace by hand: ``tokens`` are (id, piece, log-prob); attention rows move left to right."""
    steps = []
    for i, (token_id, token, logprob) in enumerate(tokens):
        row = [0.0] * len(SOURCE)
        row[min(i, len(SOURCE) - 1)] = 0.7
        row[(i + 1) % len(SOURCE)] += 0.3
        steps.append(Step(i, token_id, token, logprob, row if attention else None,
                          candidates[i] if candidates else [Candidate(token_id, token, math.exp(logprob), 1.0)]))
    return Trace(method, {"temperature": 1.0, **settings}, "x y", list(SOURCE), steps,
                 pieces_text([t for _, t, _ in tokens]), finished)


SIMPLE = [(10, "▁the", -0.1), (11, "▁ca", -0.5), (12, "t", -0.2), (EOS_ID, "</s>", -0.05)]


# -- reading a trace ------------------------------------------------------------------------------------------

def test_pieces_text_joins_word_pieces_and_drops_eos():
    assert pieces_text(["▁the", "▁ca", "t", "</s>"]) == "the cat"
    assert pieces_text([]) == ""


def test_steps_count_the_closing_eos():
    trace = make_trace(SIMPLE)
    assert step_count(trace) == 4


def test_candidate_frame_marks_the_chosen_token():
    candidates = [Candidate(11, "▁ca", 0.6, 0.9), Candidate(20, "▁dog", 0.3, 0.1), Candidate(21, "▁a", 0.1, 0.0)]
    trace = make_trace(SIMPLE)
    trace.steps[1].candidates = candidates
    frame = candidate_frame(trace, 2)
    assert list(frame["token"]) == ["▁ca", "▁dog", "▁a"]
    assert list(frame["rank"]) == [1, 2, 3]
    assert list(frame["chosen"]) == [True, False, False]
    assert list(frame["adjusted_prob"]) == [0.9, 0.1, 0.0]


def test_a_beam_prefix_step_without_candidates_still_shows_its_token():
    trace = make_trace(SIMPLE, method="beam")
    trace.steps[0].candidates = []
    frame = candidate_frame(trace, 1)
    assert list(frame["token"]) == ["▁the"] and bool(frame["chosen"].iloc[0]) and not bool(frame["in_top_k"].iloc[0])
    assert frame["prob"].iloc[0] == pytest.approx(math.exp(-0.1))
    assert frame["adjusted_prob"].iloc[0] == pytest.approx(math.exp(-0.1))  # beam scores with the model's own


def test_sampled_token_outside_top_k_gets_its_exact_chooser_probability(translator):
    """With one recorded candidate most sampled tokens fall outside it; their chooser
    probability is recovered from the top token and must equal the real one."""
    sentence = "alpha beta gamma delta"
    base = dict(method="sample", temperature=1.7, seed=3)
    narrow = translator.translate(sentence, DecodeSettings(**base, num_candidates=1))
    wide = translator.translate(sentence, DecodeSettings(**base, num_candidates=100))
    assert [s.token_id for s in narrow.steps] == [s.token_id for s in wide.steps]  # same draws
    outside = 0
    for t in range(1, step_count(narrow) + 1):
        frame = candidate_frame(narrow, t)
        chosen = frame[frame["chosen"]].iloc[0]
        truth = next(c for c in wide.steps[t - 1].candidates if c.token_id == chosen["token_id"])
        assert chosen["adjusted_prob"] == pytest.approx(truth.adjusted_prob, rel=1e-4)
        assert chosen["prob"] == pytest.approx(truth.prob, rel=1e-4)
        outside += not chosen["in_top_k"]
    assert outside > 0, "the check needs a token drawn outside the top-1"


# -- why a token was taken ------------------------------------------------------------------------------------

def test_why_greedy_is_argmax(translator):
    trace = translator.translate("alpha beta gamma", DecodeSettings(method="greedy"))
    for t in range(1, step_count(trace) + 1):
        reason = why_chosen(trace, t)
        assert reason.kind == "argmax" and reason.rank == 1
        assert reason.probability == pytest.approx(math.exp(trace.steps[t - 1].logprob), rel=1e-5)


def test_why_sampled_shows_the_chooser_probability(translator):
    settings = DecodeSettings(method="sample", temperature=0.8, top_k=5, seed=1)
    trace = translator.translate("alpha beta gamma", settings)
    for t in range(1, step_count(trace) + 1):
        reason = why_chosen(trace, t)
        chosen = next(c for c in trace.steps[t - 1].candidates if c.token_id == trace.steps[t - 1].token_id)
        assert reason.kind == "sampled" and reason.probability == pytest.approx(chosen.adjusted_prob)
        assert "temperature 0.8, top-k 5" in reason.summary
        assert format_probability(chosen.adjusted_prob) in reason.summary


def test_why_beam_and_why_forced(translator):
    trace = translator.translate("alpha beta gamma", DecodeSettings(method="beam", beam_size=3, n_best=3))
    assert {why_chosen(trace, t).kind for t in range(1, step_count(trace) + 1)} == {"beam"}
    forced = translator.translate("alpha beta gamma", DecodeSettings(method="greedy"),
                                  prefix=forced_prefix(trace, 1, trace.steps[0].candidates[1].token_id))
    assert why_chosen(forced, 1).kind == "forced" and why_chosen(forced, 1).rank == 2
    assert why_chosen(forced, 2).kind == "argmax"


def test_a_beam_token_that_is_not_the_local_best_says_so():
    candidates = [[Candidate(10, "▁the", 0.9, 0.9)],
                  [Candidate(30, "▁dog", 0.5, 0.5), Candidate(11, "▁ca", 0.4, 0.4)], [Candidate(12, "t", 0.8, 0.8)],
                  [Candidate(EOS_ID, "</s>", 0.95, 0.95)]]
    reason = why_chosen(make_trace(SIMPLE, method="beam", candidates=candidates), 2)
    assert reason.kind == "beam" and reason.rank == 2 and "not the most likely" in reason.summary


# -- forcing a token ------------------------------------------------------------------------------------------

def test_force_options_leave_out_the_token_taken_and_non_outputs():
    candidates = [Candidate(11, "▁ca", 0.6, 1.0), Candidate(PAD_ID, "<pad>", 0.0, 0.0),
                  Candidate(BOS_ID, "<s>", 0.0, 0.0), Candidate(20, "▁dog", 0.3, 0.0), Candidate(22, "▁x", 0.0, 0.0)]
    trace = make_trace(SIMPLE)
    trace.steps[1].candidates = candidates
    assert [c.token_id for c in force_options(trace, 2)] == [20]


def test_forced_prefix_replays_earlier_steps_then_the_choice(translator):
    trace = translator.translate("alpha beta gamma", DecodeSettings(method="greedy"))
    alternative = force_options(trace, 2)[0]
    prefix = forced_prefix(trace, 2, alternative.token_id)
    assert prefix == [trace.steps[0].token_id, alternative.token_id]
    new = translator.translate("alpha beta gamma", DecodeSettings(method="greedy"), prefix=prefix)
    assert [s.token_id for s in new.steps[:2]] == prefix and new.steps[1].forced
    old_end, new_end = compare_endings(trace, new, 2)
    assert new_end.tokens[0] == alternative.token and old_end.tokens[0] == trace.steps[1].token
    assert old_end.sentence_score == pytest.approx(trace.score)
    # the forced token costs what the model said it would
    assert new_end.logprobs[0] == pytest.approx(math.log(alternative.prob), abs=1e-5)


def test_forcing_eos_ends_the_sentence_without_decoding():
    trace = make_trace(SIMPLE)
    stop = Candidate(EOS_ID, "</s>", 0.2, 0.0)
    stopped = stopped_trace(trace, 2, stop)
    assert [s.token for s in stopped.steps] == ["▁the", "</s>"] and stopped.finished
    assert stopped.translation == "the" and stopped.steps[-1].forced
    assert stopped.steps[-1].attention == trace.steps[1].attention  # attention comes before the choice
    assert stopped.score == pytest.approx(-0.1 + math.log(0.2))


def test_compare_endings_counts_the_shared_prefix_once():
    old = make_trace(SIMPLE)
    new = make_trace([(10, "▁the", -0.1), (20, "▁dog", -2.0), (EOS_ID, "</s>", -0.3)])
    old_end, new_end = compare_endings(old, new, 2)
    assert old_end.tokens == ["▁ca", "t", "</s>"] and new_end.tokens == ["▁dog", "</s>"]
    assert old_end.ending_score == pytest.approx(-0.75) and new_end.ending_score == pytest.approx(-2.3)
    assert old_end.sentence_score == pytest.approx(-0.85) and new_end.sentence_score == pytest.approx(-2.4)
    frame = ending_frame(new_end, 2)
    assert list(frame["position"]) == [2, 3] and list(frame["token"]) == ["▁dog", "</s>"]
    assert list(frame["probability"]) == pytest.approx([math.exp(-2.0), math.exp(-0.3)])
