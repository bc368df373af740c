"""Property tests (hypothesis) on decoding with the tiny trained checkpoint.

Whatever text a person types, decoding either works or says cleanly that there is nothing to
translate; what it returns keeps the trace's invariants: attention rows are distributions over
the source, beam scores add up along the tree, and the n-best list is sorted.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nmt_core.decoding import MAX_SOURCE_PIECES, DecodeSettings, InputError
from nmt_core.decoding.beam_rule import length_penalty
from nmt_core.text import EOS_ID, normalize
from tests.conftest import WORDS

# Modest example counts keep CI fast; the tiny model decodes in milliseconds.
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Any text at all (every Unicode category but surrogates), and sentence-like text: the model's
# own words mixed with arbitrary characters, which reaches the decoder far more often.
any_text = st.text(max_size=80)
sentences = st.lists(st.one_of(st.sampled_from(WORDS), st.text(min_size=1, max_size=6)), min_size=1,
                     max_size=12).map(" ".join)
methods = st.sampled_from(["greedy", "sample", "beam"])


def decode(translator, text: str, method: str, seed: int = 0):
    """Translate, or None when the text normalises to nothing (then InputError is the contract)."""
    config = DecodeSettings(method=method, beam_size=3, n_best=3, temperature=1.5, seed=seed)
    if not normalize(text):
        with pytest.raises(InputError, match="empty"):
            translator.translate(text, config)
        return None
    return translator.translate(text, config)


def assert_distribution(row: list[float], source_length: int):
    assert len(row) == source_length
    assert all(w >= 0 and math.isfinite(w) for w in row)
    assert sum(row) == pytest.approx(1.0, abs=1e-4)


@FAST
@given(text=st.one_of(any_text, sentences), method=methods)
def test_any_text_decodes_or_is_a_clean_input_error(translator, text, method):
    trace = decode(translator, text, method)
    if trace is None:
        return
    assert isinstance(trace.translation, str) and trace.steps
    assert trace.source_tokens[-1] == "</s>"
    assert len(trace.source_tokens) <= MAX_SOURCE_PIECES + 1
    assert normalize(text).startswith(trace.source_text)  # what was translated is (a prefix of) the input
    assert all(isinstance(w, str) and w for w in trace.warnings)


@FAST
@given(text=sentences, method=methods, seed=st.integers(0, 2**31 - 1))
def test_attention_rows_are_distributions_over_the_source(translator, text, method, seed):
    trace = decode(translator, text, method, seed)
    if trace is None:
        return
    for step in trace.steps:
        assert_distribution(step.attention, len(trace.source_tokens))
    if trace.beam is not None:
        for node in trace.beam.nodes[1:]:  # the root stands for the start and attends nowhere
            assert_distribution(node.attention, len(trace.source_tokens))


@FAST
@given(text=sentences, beam_size=st.integers(1, 6), alpha=st.floats(0, 2), data=st.data())
def test_beam_scores_add_up_along_the_tree_and_n_best_is_sorted(translator, text, beam_size, alpha, data):
    if not normalize(text):
        return
    n_best = data.draw(st.integers(1, beam_size), label="n_best")
    trace = translator.translate(text, DecodeSettings(method="beam", beam_size=beam_size, n_best=n_best,
                                                      length_penalty=alpha))
    nodes = {node.id: node for node in trace.beam.nodes}
    root = trace.beam.nodes[0]
    assert root.parent is None and root.score == 0.0
    for node in trace.beam.nodes[1:]:
        parent = nodes[node.parent]
        # cumulative score = parent's cumulative score + this token's log-prob
        assert node.score == pytest.approx(parent.score + node.logprob, abs=1e-4)
        assert node.logprob <= 1e-6 and node.step == parent.step + 1
        assert node.normalized_score == pytest.approx(node.score / length_penalty(node.step + 1, alpha), abs=1e-4)

    hypotheses = trace.beam.hypotheses
    assert 1 <= len(hypotheses) <= n_best
    ranked = [h.normalized_score for h in hypotheses]
    assert ranked == sorted(ranked, reverse=True)
    for hypothesis in hypotheses:
        path, node = [], nodes[hypothesis.node_id]
        while node.parent is not None:
            path.append(node)
            node = nodes[node.parent]
        path.reverse()
        assert hypothesis.score == pytest.approx(sum(n.logprob for n in path), abs=1e-4)
        assert hypothesis.token_ids == [n.token_id for n in path if n.token_id != EOS_ID]
        assert hypothesis.finished == (path[-1].token_id == EOS_ID)
    assert trace.translation == hypotheses[0].translation


@FAST
@given(text=sentences, seed=st.integers(0, 2**31 - 1))
def test_a_seed_replays_the_same_sample(translator, text, seed):
    first = decode(translator, text, "sample", seed)
    if first is None:
        return
    assert decode(translator, text, "sample", seed).to_dict() == first.to_dict()


settings_values = st.builds(
    DecodeSettings,
    method=methods,
    beam_size=st.integers(1, 8),
    n_best=st.just(1),
    length_penalty=st.floats(0, 5),
    temperature=st.one_of(st.just(0.0), st.floats(1e-3, 100)),
    top_k=st.integers(0, 60),
    top_p=st.floats(1e-6, 1, exclude_min=False),
    seed=st.integers(-(2**63), 2**63 - 1),
    unk_penalty=st.one_of(st.floats(0, 1e6), st.just(math.inf)),
    max_length_ratio=st.floats(0.01, 10),
    max_length_extra=st.integers(0, 100),
    max_tokens=st.integers(0, 250),
    num_candidates=st.integers(1, 100),
)


@FAST
@given(text=sentences, config=settings_values)
def test_any_valid_settings_decode(translator, text, config):
    """Whatever passes DecodeSettings.validate() decodes (no NaN distributions, no crash)."""
    if not normalize(text):
        return
    trace = translator.translate(text, config.validate())
    assert trace.steps or config.max_length(len(trace.source_tokens)) == 0
    assert all(math.isfinite(c.prob) and math.isfinite(c.adjusted_prob) for s in trace.steps for c in s.candidates)
