import gc
import math

import pytest
import torch

from nmt_core.decoding import DecodeSettings, InputError, Trace, sampling_distribution

from .stub import EOS_ID, A, B, C, stub_translator


def beam(width=2, alpha=0.0, **kw):
    return DecodeSettings(method="beam", beam_size=width, n_best=width, length_penalty=alpha, **kw)


def test_beam_search_by_hand():
    translator = stub_translator()
    trace = translator.translate("a", beam(2, alpha=0.0))
    nodes = {n.id: n for n in trace.beam.nodes}
    by_path = {}
    for node in trace.beam.nodes[1:]:
        path, cur = [], node
        while cur.parent is not None:
            path.append(cur.token)
            cur = nodes[cur.parent]
        by_path[" ".join(reversed(path))] = node

    # step 0: a and b kept, c pruned; </s> (0.04) was not among the 3 proposals
    assert {p for p, n in by_path.items() if n.step == 0} == {"a", "b", "c"}
    assert by_path["c"].pruned and not by_path["a"].pruned and not by_path["b"].pruned
    # step 1 ranking: b a (.36) kept, a </s> (.30) finished, a b (.15) kept, the rest pruned
    assert math.isclose(by_path["b a"].score, math.log(0.36), rel_tol=1e-6)
    assert by_path["a </s>"].finished and math.isclose(by_path["a </s>"].score, math.log(0.30), rel_tol=1e-6)
    assert not by_path["a b"].pruned and not by_path["a b"].finished
    assert by_path["b </s>"].pruned and by_path["a c"].pruned and by_path["b c"].pruned
    assert by_path["b a"].parent == by_path["b"].id and by_path["a b"].parent == by_path["a"].id
    # step 2: both </s> proposals finish, the search stops with 3 finished hypotheses
    assert by_path["b a </s>"].finished and by_path["a b </s>"].finished
    assert math.isclose(by_path["b a </s>"].score, math.log(0.252), rel_tol=1e-6)
    assert len(trace.beam.nodes) == 1 + 3 + 6 + 6
    assert trace.beam.beams == [[by_path["a"].id, by_path["b"].id], [by_path["b a"].id, by_path["a b"].id],
                                [by_path["b a c"].id, by_path["b a a"].id]]
    # alpha 0 ranks by raw log-prob: "a" (.30) beats "b a" (.252) and "a b" (.135)
    assert [h.translation for h in trace.beam.hypotheses] == ["a", "b a"]
    assert trace.translation == "a"
    assert trace.target_tokens == ["a"] and trace.finished


def test_length_penalty_changes_the_winner():
    trace = stub_translator().translate("a", beam(2, alpha=2.0))
    # GNMT lp: ((5+2)/6)^2 = 1.361 for "a </s>", ((5+3)/6)^2 = 1.778 for "b a </s>"
    assert trace.translation == "b a"
    best = trace.beam.hypotheses[0]
    assert math.isclose(best.normalized_score, math.log(0.252) / (8 / 6) ** 2, rel_tol=1e-6)


def test_beam_is_batched_one_decoder_call_per_step():
    translator = stub_translator()
    translator.translate("a", beam(2))
    assert translator.model.calls == [1, 2, 2]


def test_unk_penalty_and_forced_prefix_with_beam():
    translator = stub_translator({(): {1: 0.7, A: 0.3}, (A,): {EOS_ID: 1.0}, (1,): {EOS_ID: 1.0}})
    assert translator.translate("a", beam(2)).target_tokens == ["<unk>"]
    assert translator.translate("a", beam(2, unk_penalty=5.0)).target_tokens == ["a"]
    forced = stub_translator().translate("a", beam(2), prefix=[C])
    assert forced.steps[0].token == "c" and forced.steps[0].forced
    assert math.isclose(forced.steps[0].logprob, math.log(0.06), rel_tol=1e-6)
    # the forced step still records what the model preferred there, most likely first
    alternatives = forced.steps[0].candidates
    assert [c.token for c in alternatives[:3]] == ["a", "b", "c"]
    assert math.isclose(alternatives[0].prob, 0.5, rel_tol=1e-6)


def test_a_beam_wider_than_the_vocabulary_records_no_banned_proposal():
    """Width 8 on the stub's 7 tokens: <pad>, <s> (banned) and <unk> (probability 0) are proposed at -inf, rank
    last and become no node."""
    trace = stub_translator().translate("a", beam(8))
    assert all(math.isfinite(n.score) for n in trace.beam.nodes)
    assert {n.token for n in trace.beam.nodes[1:]} <= {"<unk>", "</s>", "a", "b", "c"}
    step_one = [n for n in trace.beam.nodes if n.step == 0]
    assert [(n.token, n.finished, n.pruned) for n in step_one] == [
        ("a", False, False), ("b", False, False), ("c", False, False), ("</s>", True, False)]


def test_beam_search_leaves_the_garbage_collector_as_it_found_it():
    """The traced search pauses Python's collector while it builds its nodes, and only switches back on
    what it switched off."""
    translator = stub_translator()
    translator.translate("a", beam(3))
    assert gc.isenabled()
    gc.disable()
    try:
        translator.translate("a", beam(3))
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_greedy_and_stepper():
    translator = stub_translator()
    trace = translator.translate("a", DecodeSettings(method="greedy"))
    assert trace.target_tokens == ["a"] and trace.steps[-1].token == "</s>"
    assert [c.token for c in trace.steps[0].candidates[:3]] == ["a", "b", "c"]
    stepper = translator.stepper("a", DecodeSettings(method="greedy"))
    assert stepper.peek()[0].token == "a"
    stepper.advance(B)  # what if we force "b"?
    assert stepper.steps[0].forced
    assert stepper.advance().token == "a"
    assert stepper.advance().token == "</s>" and stepper.finished
    with pytest.raises(InputError):
        stepper.advance()
    assert stepper.trace().translation == "b a"


def test_trace_json_round_trip():
    trace = stub_translator().translate("a", beam(2))
    again = Trace.from_json(trace.to_json())
    assert again == trace
    assert again.to_dict() == trace.to_dict()


def test_sampling_filters():
    log_probs = torch.log(torch.tensor([0.5, 0.3, 0.15, 0.05]))
    probs = sampling_distribution(log_probs, DecodeSettings(method="sample", top_k=2))
    assert torch.allclose(probs, torch.tensor([0.625, 0.375, 0, 0]))
    probs = sampling_distribution(log_probs, DecodeSettings(method="sample", top_p=0.8))
    assert torch.allclose(probs, torch.tensor([0.625, 0.375, 0, 0]))  # 0.5 + 0.3 reaches 0.8
    probs = sampling_distribution(log_probs, DecodeSettings(method="sample", top_p=0.81))
    assert probs[2] > 0 and probs[3] == 0
    hot = sampling_distribution(log_probs, DecodeSettings(method="sample", temperature=2.0))
    assert hot[3] > 0.05 and torch.isclose(hot.sum(), torch.tensor(1.0))


@pytest.mark.parametrize(
    "settings, message",
    [
        (DecodeSettings(method="beam", beam_size=0), "beam size"),
        (DecodeSettings(method="beam", beam_size=500), "beam size"),
        (DecodeSettings(temperature=-1), "temperature"),
        (DecodeSettings(top_p=0), "top-p"),
        (DecodeSettings(top_k=-3), "top-k"),
        (DecodeSettings(method="nope"), "method"),
    ],
)
def test_out_of_range_settings_are_clear_errors(settings, message):
    with pytest.raises(InputError, match=message):
        stub_translator().translate("a", settings)


@pytest.mark.parametrize("text, message", [("", "empty"), ("   \n", "empty"), ("\u200b\u200d", "empty")])
def test_bad_sentences_are_clear_errors(text, message):
    with pytest.raises(InputError, match=message):
        stub_translator().translate(text)


def test_beam_step_candidates_are_each_steps_siblings_best_first():
    """A beam trace's steps list, as candidates, every proposal of the chosen node's parent (its siblings, found
    in the step's range of nodes), most likely first; the pieces come from the tokenizer (remembered per id)."""
    translator = stub_translator()
    trace = translator.translate("a", beam(2))
    nodes = trace.beam.nodes
    for step in trace.steps:
        chosen = next(n for n in nodes if n.step == step.index and n.token_id == step.token_id
                      and math.isclose(n.logprob, step.logprob))
        siblings = sorted((n for n in nodes if n.parent == chosen.parent), key=lambda n: n.logprob, reverse=True)
        assert [c.token_id for c in step.candidates] == [n.token_id for n in siblings]
        assert [c.prob for c in step.candidates] == pytest.approx([math.exp(n.logprob) for n in siblings])
    assert all(n.token == translator.tgt_tokenizer.pieces([n.token_id])[0] for n in nodes)
