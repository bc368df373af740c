"""nmt_core.explain: AER and grow-diag-final-and worked by hand, word/piece mapping, attribution
(integrated gradients' completeness, the re-stated forward pass against the model's own), and the
align / evaluate-alignment commands end to end on a tiny trained model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nmt_core.__main__ import main
from nmt_core.explain.aer import AlignmentFormatError, alignment_scores, grow_diag_final_and, parse_links
from nmt_core.explain.align import align_pair, argmax_links, prepare_pair, word_scores
from nmt_core.explain.attribution import attribute
from nmt_core.explain.forced import attention_matrix, gold_log_prob, source_embeddings, target_batch
from nmt_core.explain.words import join_words, piece_words, split_words, word_matrix
from nmt_core.model import source_batch
from nmt_core.text import BOS_ID
from nmt_core.views.attention import word_groups

# -- AER, worked by hand --------------------------------------------------------------------------


def test_parse_links_sure_possible_and_one_based():
    sure, possible = parse_links("0-0 1p2 3-1")
    assert sure == {(0, 0), (3, 1)}
    assert possible == {(0, 0), (1, 2), (3, 1)}  # every sure link is also possible
    assert parse_links("1-1 2p3", one_based=True) == ({(0, 0)}, {(0, 0), (1, 2)})
    with pytest.raises(AlignmentFormatError, match="line 4"):
        parse_links("0-0 x-1", line_number=4)
    with pytest.raises(AlignmentFormatError, match="one-based"):
        parse_links("0-1", one_based=True)


def test_aer_on_a_hand_made_gold_set():
    # Sentence 1: S = {0-0, 1-1}, P = S + {2p2}; A = {0-0, 1-2, 2-2}:
    #   |A| = 3, |S| = 2, |A∩S| = 1 (0-0), |A∩P| = 2 (0-0, 2-2).
    # Sentence 2: S = {0-1, 1-0}, P = S; A = {0-1, 1-0}: |A| = 2, |S| = 2, |A∩S| = |A∩P| = 2.
    # Corpus: |A| = 5, |S| = 4, |A∩S| = 3, |A∩P| = 4.
    #   precision = 4/5, recall = 3/4, AER = 1 - (3 + 4) / (5 + 4) = 2/9.
    gold = [parse_links("0-0 1-1 2p2"), parse_links("0-1 1-0")]
    hypotheses = [parse_links("0-0 1-2 2-2")[0], parse_links("0-1 1-0")[0]]
    scores = alignment_scores(hypotheses, [s for s, _ in gold], [p for _, p in gold])
    assert scores.precision == pytest.approx(4 / 5)
    assert scores.recall == pytest.approx(3 / 4)
    assert scores.aer == pytest.approx(2 / 9)
    # The first sentence alone: 1 - (1 + 2) / (3 + 2) = 0.4.
    alone = alignment_scores(hypotheses[:1], [gold[0][0]], [gold[0][1]])
    assert alone.aer == pytest.approx(0.4)
    # A perfect hypothesis scores 0, an empty one 1.
    assert alignment_scores([{(0, 0), (1, 1)}], [{(0, 0), (1, 1)}], [{(0, 0), (1, 1)}]).aer == 0
    assert alignment_scores([set()], [{(0, 0)}], [{(0, 0)}]).aer == 1
    with pytest.raises(ValueError, match="lines"):
        alignment_scores([set()], [], [])


# -- grow-diag-final-and, worked by hand -------------------------------------------------------------


def test_grow_diag_final_and_hand_made():
    # forward (one link per target word): j0->0, j1->1, j2->3, j3->1
    forward = {(0, 0), (1, 1), (3, 2), (1, 3)}
    # backward (one link per source word): i0->0, i1->1, i2->3, i3->2
    backward = {(0, 0), (1, 1), (2, 3), (3, 2)}
    # Intersection {0-0, 1-1, 3-2}. Growing from (3, 2): its diagonal neighbour (2, 3) is in the union and
    # source word 2 is unaligned -> added. Then (1, 3) is in the union, next to (2, 3), but both source 1
    # and target 3 are aligned by now -> not added, and final-and needs both unaligned -> still not.
    assert grow_diag_final_and(forward, backward) == {(0, 0), (1, 1), (3, 2), (2, 3)}


def test_grow_diag_final_and_final_step_needs_both_words_unaligned():
    # (2, 2) is two cells from the intersection, so growing never reaches it; final-and adds it because
    # source 2 and target 2 are both unaligned. (0, 2) is refused: source 0 is aligned ("and", not "or").
    assert grow_diag_final_and({(0, 0), (2, 2), (0, 2)}, {(0, 0)}) == {(0, 0), (2, 2)}
    assert grow_diag_final_and(set(), set()) == set()
    assert grow_diag_final_and({(0, 0)}, {(0, 0)}) == {(0, 0)}


# -- words and pieces ------------------------------------------------------------------------------


def test_split_and_join_words_round_trip():
    words = split_words("¿Dónde está el niño? Sí, señor.")
    assert words == ["¿", "Dónde", "está", "el", "niño", "?", "Sí", ",", "señor", "."]
    text, spans = join_words(words, "spa")
    assert text == "¿Dónde está el niño? Sí, señor."
    assert [text[a:b] for a, b in spans] == words
    assert join_words(["Bonjour", "!"], "fra")[0] == "Bonjour !"  # French keeps its space
    assert split_words("L'homme n'est pas là.") == ["L'homme", "n'est", "pas", "là", "."]


def test_piece_words_and_word_matrix(translator):
    words = ["alpha", "beta", "gamma"]
    text, spans = join_words(words)
    ids, owners = piece_words(translator.src_tokenizer, text, spans)
    assert ids == translator.src_tokenizer.encode(text)
    assert owners == sorted(owners) and set(owners) == {0, 1, 2}
    # source pieces summed per word, target pieces averaged per word; owner -1 (</s>) dropped
    matrix = np.array([[0.1, 0.2, 0.7], [0.3, 0.3, 0.4], [0.5, 0.5, 0.0]])
    reduced = word_matrix(matrix, target_owner=[0, 0, 1], source_owner=[0, 0, -1], n_target=2, n_source=1)
    assert np.allclose(reduced, [[0.45], [1.0]])


# -- forced decoding and attribution ------------------------------------------------------------------


def _ids(translator, source: str, target: str):
    return translator.src_tokenizer.encode(source), translator.tgt_tokenizer.encode(target)


def test_forced_attention_rows_sum_to_one(translator):
    src, tgt = _ids(translator, "alpha beta gamma", "gamma beta alpha")
    rows = attention_matrix(translator.model, src, tgt)
    assert rows.shape == (len(tgt) + 1, len(src) + 1)
    assert np.allclose(rows.sum(axis=1), 1, atol=1e-5)


@pytest.mark.parametrize("fixture", ["tiny_checkpoint_dir", "tiny_transformer_dir"])
def test_restated_forward_matches_the_model(request, fixture):
    """gold_log_prob (from the source embeddings on) equals the model's own teacher-forced log-probs."""
    from nmt_core.checkpoint import load_checkpoint

    translator = load_checkpoint(request.getfixturevalue(fixture)).translator
    model = translator.model
    src_ids, tgt_ids = _ids(translator, "alpha beta gamma delta", "delta gamma beta alpha")
    src, lengths = source_batch([src_ids])
    tgt_in, tgt_out = target_batch(tgt_ids)
    T = tgt_in.size(1)
    with torch.inference_mode():
        logits, _ = model(src, lengths, tgt_in)
        expected = torch.log_softmax(logits.float(), -1)[0, torch.arange(T), tgt_out[0]]
        got = gold_log_prob(source_embeddings(model, src).expand(T, -1, -1), model, lengths.expand(T),
                            tgt_in.expand(T, -1), tgt_out.expand(T, -1), torch.arange(T))
    assert torch.allclose(got, expected, atol=1e-4)


def test_integrated_gradients_completeness(translator):
    """Sundararajan et al.'s completeness axiom: each row's attributions sum to f(x) - f(baseline)."""
    src, tgt = _ids(translator, "alpha beta gamma delta", "delta gamma beta alpha")
    result = attribute(translator.model, src, tgt, "integrated-gradients", ig_steps=32)
    difference = result.output - result.baseline_output
    assert result.source.shape == (len(tgt) + 1, len(src) + 1)
    assert np.abs(difference).max() > 0.1  # a real difference to explain
    assert np.allclose(result.source.sum(axis=1), difference, atol=2e-3 * np.abs(difference).max() + 1e-4)


def test_gradient_methods_leave_the_shared_model_untouched(translator):
    model = translator.model
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    src, tgt = _ids(translator, "alpha beta", "beta alpha")
    with torch.inference_mode():  # as the app calls it: attribution still works
        for method in ("saliency", "input-x-gradient", "integrated-gradients"):
            result = attribute(model, src, tgt, method)
            assert np.isfinite(result.source).all()
            if result.prefix is not None:  # step t reads inputs 0..t only
                assert np.allclose(np.triu(result.prefix, k=1), 0)
    assert all(p.grad is None for p in model.parameters())
    assert all(torch.equal(before[name], p) for name, p in model.named_parameters())
    assert not model.training


def test_align_pair_finds_the_reversal(translator):
    """The tiny model learned to reverse: its attention aligns source word i with target word n-1-i."""
    source = "alpha beta gamma delta epsilon".split()
    target = list(reversed(source))
    truth = {(i, len(source) - 1 - i) for i in range(len(source))}
    links = align_pair(translator, source, target, "attention")
    assert len(links & truth) >= 4
    pair = prepare_pair(translator, source, target)
    assert word_scores(translator, pair, "saliency").shape == (5, 5)
    assert len(argmax_links(word_scores(translator, pair, "saliency")) & truth) >= 3


# -- the commands ---------------------------------------------------------------------------------


def test_align_command_end_to_end(tiny_checkpoint_dir, tmp_path, capsys):
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("alpha beta gamma ||| gamma beta alpha\n"
                     "no separator here\n"
                     " ||| \n"
                     "beta delta ||| delta beta\n", encoding="utf-8")
    for method in ("attention", "shift", "input-x-gradient"):
        code = main(["align", "-c", str(tiny_checkpoint_dir), "--method", method, str(pairs)])
        out, err = capsys.readouterr()
        lines = out.split("\n")[:-1]
        assert code == 1 and len(lines) == 4  # one output line per input line, whatever happens
        assert lines[1] == "" and lines[2] == ""
        assert "error: line 2:" in err and "Traceback" not in err
        for line in (lines[0], lines[3]):
            assert line and all(token.count("-") == 1 for token in line.split())
    # a "reverse" model must translate the other way: this one does not, so one error line
    code = main(["align", "-c", str(tiny_checkpoint_dir), "--reverse-checkpoint", str(tiny_checkpoint_dir),
                 str(pairs)])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and err.startswith("error: --reverse-checkpoint must translate")


def test_symmetrised_alignment(translator):
    """The reverse task is its own inverse, so the tiny model can serve as its own reverse model."""
    source = "alpha beta gamma delta".split()
    target = list(reversed(source))
    links = align_pair(translator, source, target, "attention", reverse=translator)
    assert len(links & {(i, 3 - i) for i in range(4)}) >= 3


def test_align_command_bad_input(tiny_checkpoint_dir, tmp_path, capsys):
    assert main(["align", "-c", str(tmp_path / "missing"), str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("error:")
    assert main(["align", "-c", str(tiny_checkpoint_dir), str(tmp_path / "nope.txt")]) == 2
    assert "cannot read" in capsys.readouterr().err
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\xff\xfe alpha ||| beta \x00\n" + b"alpha " * 400 + b"||| beta\n")
    assert main(["align", "-c", str(tiny_checkpoint_dir), str(binary)]) == 1
    out, err = capsys.readouterr()
    assert len(out.split("\n")[:-1]) == 2 and "Traceback" not in err


def test_evaluate_alignment_command(tmp_path, capsys):
    hyp, gold = tmp_path / "hyp.txt", tmp_path / "gold.txt"
    hyp.write_text("0-0 1-2 2-2\n0-1 1-0\n")
    gold.write_text("1-1 2-2 3p3\n1-2 2-1\n")  # the same gold as above, counted from 1
    assert main(["evaluate-alignment", str(hyp), str(gold), "--one-based", "--json"]) == 0
    result = __import__("json").loads(capsys.readouterr().out)
    assert result["aer"] == pytest.approx(2 / 9, abs=1e-4)
    assert main(["evaluate-alignment", str(hyp), str(gold)]) == 0  # 0-based reading: a worse score, no crash
    assert "AER" in capsys.readouterr().out
    short = tmp_path / "short.txt"
    short.write_text("0-0\n")
    assert main(["evaluate-alignment", str(short), str(gold), "--one-based"]) == 2
    assert "error:" in capsys.readouterr().err
    bad = tmp_path / "bad.txt"
    bad.write_text("0-0 zz\n0-1\n")
    assert main(["evaluate-alignment", str(bad), str(gold), "--one-based"]) == 2
    assert "line 1" in capsys.readouterr().err


# -- intervention and inside attention ----------------------------------------------------------------


def test_inside_attention_reproduces_the_trace(translator):
    from nmt_core.decoding import DecodeSettings
    from nmt_core.explain.intervene import inside_attention

    trace = translator.translate("alpha beta gamma delta", DecodeSettings(method="greedy"))
    for t in range(len(trace.steps)):
        inside = inside_attention(translator, trace, t)
        assert np.allclose(inside["weights"], trace.steps[t].attention, atol=1e-5)
        e = np.array(inside["scores"])  # α = softmax(e)
        assert np.allclose(np.exp(e - e.max()) / np.exp(e - e.max()).sum(), inside["weights"], atol=1e-5)
        # Luong general: e = ‖q‖ ‖k‖ cos(q, k)
        assert np.allclose(e, inside["query_norm"] * np.array(inside["key_norms"]) * np.array(inside["cosines"]),
                           rtol=1e-3, atol=1e-3)


def test_an_intervention_changes_the_output(translator):
    """Moving step 0's attention from the last source word to the first makes the reversing model
    start with the first word: the output follows the attention."""
    from nmt_core.decoding import DecodeSettings
    from nmt_core.explain.intervene import intervene, override_row

    trace = translator.translate("alpha beta gamma delta", DecodeSettings(method="greedy"))
    assert trace.translation == "delta gamma beta alpha"
    new = intervene(translator, trace, 0, 0, "focus")
    record = new.settings["intervention"]
    assert record["word"] == "alpha" and record["step"] == 0
    assert new.translation != trace.translation and new.translation.startswith("alpha")
    assert record["old_token_prob_after"] < record["old_token_prob_before"]
    assert new.steps[0].attention == pytest.approx(record["attention_after"])
    assert "Intervention at step 1" in new.warnings[-1]
    # the natural decode is untouched by the override argument's default
    assert translator.translate("alpha beta gamma delta", DecodeSettings(method="greedy")).translation == \
        trace.translation
    row = np.array([0.5, 0.3, 0.2])
    assert override_row(row, [1], "remove").tolist() == pytest.approx([0.5 / 0.7, 0, 0.2 / 0.7])
    assert override_row(row, [0, 1], "focus").tolist() == pytest.approx([0.5, 0.5, 0])


def test_coverage_flags_on_a_hand_made_trace():
    from nmt_core.decoding.trace import Step, Trace
    from nmt_core.explain.coverage import coverage_flags, coverage_notice, source_coverage

    source = ["▁hermano", "▁de", "▁mi", "▁amigo", "</s>"]
    rows = [[0.1, 0.1, 0.1, 0.6, 0.1], [0.2, 0.2, 0.1, 0.4, 0.1], [0.05, 0.05, 0.1, 0.7, 0.1]]
    steps = [Step(index=i, token_id=5 + i, token=f"▁w{i}", logprob=-0.1, attention=row) for i, row in enumerate(rows)]
    trace = Trace("greedy", {}, "hermano de mi amigo", source, steps, "w0 w1 w2", False)
    words = source_coverage(trace)
    assert [w.word for w in words] == ["hermano", "de", "mi", "amigo", "</s>"]
    assert words[0].coverage == pytest.approx(0.35) and words[0].peak == pytest.approx(0.2)
    thresholds = {"under": 0.3, "over": 1.5, "content": 1.0}  # no tokenizer: every word with letters is content
    flagged = coverage_flags(trace, thresholds)
    assert {(w.word, w.flag) for w in flagged} == {("hermano", "under"), ("de", "under"), ("mi", "under"),
                                                   ("amigo", "over")}
    assert "“hermano”" in coverage_notice(trace, {"metrics": {"coverage_thresholds": thresholds}})


@pytest.mark.skipif(not __import__("pathlib").Path("checkpoints/spa-eng-luong/config.json").is_file(),
                    reason="the shipped flagship is not here")
def test_coverage_flag_names_hermano_on_the_flagship():
    """Issue 15: the flagship drops "hermano" (beam search, its tuned length penalty), and the flag says so."""
    from nmt_core.checkpoint import load_checkpoint
    from nmt_core.decoding import DecodeSettings
    from nmt_core.explain.coverage import coverage_flags, coverage_notice, thresholds_of

    checkpoint = load_checkpoint("checkpoints/spa-eng-luong")
    penalty = checkpoint.config["decoding_defaults"]["length_penalty"]
    trace = checkpoint.translator.translate("El hombre que vi ayer en el parque era el hermano de mi mejor amiga.",
                                            DecodeSettings(method="beam", beam_size=5, length_penalty=penalty))
    assert "brother" not in trace.translation
    flagged = coverage_flags(trace, thresholds_of(checkpoint.config), checkpoint.translator.src_tokenizer)
    assert "hermano" in [w.word for w in flagged if w.flag == "under"]
    assert "“hermano”" in coverage_notice(trace, checkpoint.config, checkpoint.translator.src_tokenizer)


# -- attend_to_source_end=False: the model's own mask, and refused interventions -------------------------


@pytest.fixture(scope="module")
def no_end_translator(translator):
    """An untrained tiny Luong model that never attends to the source </s> (the property holds for any weights),
    with the tiny checkpoint's tokenisers."""
    from nmt_core.decoding import Translator
    from nmt_core.model import ModelConfig, Seq2Seq

    torch.manual_seed(0)
    vocab = translator.src_tokenizer.vocab_size
    cfg = ModelConfig(src_vocab_size=vocab, tgt_vocab_size=translator.tgt_tokenizer.vocab_size, embedding_dim=16,
                      hidden_size=24, output_size=16, attention_size=12, attention="luong-general", dropout=0.0,
                      attend_to_source_end=False)
    return Translator(Seq2Seq(cfg).freeze_for_inference(), translator.src_tokenizer, translator.tgt_tokenizer)


def test_inside_attention_uses_the_models_mask(no_end_translator):
    from nmt_core.decoding import DecodeSettings
    from nmt_core.explain.intervene import inside_attention

    trace = no_end_translator.translate("alpha beta gamma", DecodeSettings(method="greedy", max_length_ratio=0.5))
    assert trace.steps
    for t in range(len(trace.steps)):
        inside = inside_attention(no_end_translator, trace, t)
        assert inside["weights"][-1] == 0  # the source </s>: exactly what the model gives it
        assert np.allclose(inside["weights"], trace.steps[t].attention, atol=1e-6)
        assert sum(inside["weights"]) == pytest.approx(1, abs=1e-5)
        assert np.isfinite(inside["scores"]).all()  # the raw score is still shown


def test_interventions_on_the_source_end_are_refused_when_the_model_cannot_attend_there(no_end_translator):
    from nmt_core.decoding import DecodeSettings, InputError
    from nmt_core.explain.intervene import intervene, override_row

    trace = no_end_translator.translate("alpha beta gamma", DecodeSettings(method="greedy", max_length_ratio=0.5))
    end = len(word_groups(trace.source_tokens)) - 1
    with pytest.raises(InputError, match="never attends to the source </s>"):
        intervene(no_end_translator, trace, 0, end, "focus")
    new = intervene(no_end_translator, trace, 0, 0, "focus")  # an ordinary word: fine
    assert new.steps[0].attention[0] == pytest.approx(1)
    # remove whose fallback would put everything on </s>
    with pytest.raises(InputError, match="never attends"):
        override_row(np.array([0.0, 1.0, 0.0]), [1], "remove", np.array([True, True, False]))
    assert override_row(np.array([0.0, 1.0, 0.0]), [1], "remove").tolist() == [0, 0, 1]  # a model that can
    one_word = no_end_translator.translate("alpha", DecodeSettings(method="greedy", max_length_ratio=0.5))
    if len(one_word.source_tokens) == 2:  # one piece + </s>: taking it away leaves only </s>
        with pytest.raises(InputError, match="never attends"):
            intervene(no_end_translator, one_word, 0, 0, "remove")


# -- the Transformer: one layer's heads overridden, inside attention per head -------------------------------


@pytest.fixture(scope="module")
def transformer_translator(tiny_transformer_dir):
    from nmt_core.checkpoint import load_checkpoint

    return load_checkpoint(tiny_transformer_dir).translator


def test_transformer_override_equal_to_its_own_weights_changes_nothing(transformer_translator):
    from nmt_core.decoding import layer_attention

    model = transformer_translator.model
    source = transformer_translator.prepare("alpha beta gamma delta")
    with torch.inference_mode():
        memory, state = transformer_translator.encode(source)
        prev = torch.tensor([BOS_ID])
        for _ in range(3):
            logits, row, new_state = model.step_logits(prev, state, memory)
            for layer in range(model.cfg.decoder_layers):
                own = new_state.cross_attention[layer]  # (1, h, S)
                same_logits, same_row, same_state = model.step_logits(prev, state, memory, own, override_layer=layer)
                assert torch.allclose(same_logits, logits, atol=1e-5)
                assert torch.allclose(same_row, row, atol=1e-6)
                assert torch.allclose(layer_attention(same_state), layer_attention(new_state), atol=1e-6)
            prev, state = logits.argmax(-1), new_state
        # the default layer is the display layer, and a (B, S) override gives every head that row
        focus = torch.zeros_like(row)
        focus[0, 0] = 1
        _, moved, moved_state = model.step_logits(prev, state, memory, focus)
        assert torch.allclose(moved, focus) and torch.allclose(moved_state.cross_attention[-1][0], focus.expand(4, -1))
        with pytest.raises(ValueError, match="override_layer"):
            model.step_logits(prev, state, memory, focus, override_layer=5)


def test_transformer_intervention_changes_the_output(transformer_translator):
    """Every head of one decoder layer made to look at one source word, at one step: the reversing model
    follows the last layer's attention somewhere in the first two steps (the tiny model: at step 2, all on
    "alpha" gives "delta alpha ..."), and the record says which layer and heads were changed."""
    from nmt_core.decoding import DecodeSettings
    from nmt_core.explain.intervene import intervene

    trace = transformer_translator.translate("alpha beta gamma delta", DecodeSettings(method="greedy"))
    assert trace.translation == "delta gamma beta alpha"
    changed = []
    for layer in (None, 0):  # the display (last) layer, then the first
        for t in (0, 1):
            for word in range(4):
                new = intervene(transformer_translator, trace, t, word, "focus", layer=layer)
                record = new.settings["intervention"]
                assert record["layer"] == (1 if layer is None else 0) and record["step"] == t
                assert len(record["heads_after"]) == 4
                assert all(h[word] == pytest.approx(1) for h in record["heads_after"])
                assert new.steps[t].layer_attention[record["layer"]][0][word] == pytest.approx(1)
                assert f"decoder layer {record['layer'] + 1}" in new.warnings[-1]
                assert [s.token_id for s in new.steps[:t]] == [s.token_id for s in trace.steps[:t]]
                if layer is None:
                    assert new.steps[t].attention == pytest.approx(record["attention_after"])
                if new.translation != trace.translation:
                    changed.append((record["layer"], t, word))
                    assert record["old_token_prob_after"] < record["old_token_prob_before"]
    assert any(layer == 1 for layer, _, _ in changed)  # the output follows the last layer's attention
    assert any(layer == 0 for layer, _, _ in changed)  # and the first layer's
    removed = intervene(transformer_translator, trace, 1, 2, "remove")  # "gamma" at step 2 taken away
    heads = np.array(removed.settings["intervention"]["heads_after"])
    assert np.allclose(heads[:, 2], 0) and np.allclose(heads.sum(axis=1), 1)
    assert transformer_translator.translate("alpha beta gamma delta", DecodeSettings(method="greedy")).translation \
        == trace.translation


def test_transformer_inside_attention_matches_the_trace(transformer_translator):
    from nmt_core.decoding import DecodeSettings
    from nmt_core.explain.intervene import inside_attention

    trace = transformer_translator.translate("alpha beta gamma delta", DecodeSettings(method="greedy"))
    for t in range(len(trace.steps)):
        for layer in (None, 0):
            inside = inside_attention(transformer_translator, trace, t, layer)
            index = 1 if layer is None else 0
            assert inside["layer"] == index and inside["heads"] == 4
            assert np.allclose(inside["weights"], trace.steps[t].layer_attention[index], atol=1e-5)
            e = np.array(inside["scores"])  # α_h = softmax(e_h), e_h = ‖q‖ ‖k‖ cos / √d
            soft = np.exp(e - e.max(axis=1, keepdims=True))
            assert np.allclose(soft / soft.sum(axis=1, keepdims=True), inside["weights"], atol=1e-5)
            product = (np.array(inside["query_norm"])[:, None] * np.array(inside["key_norms"])
                       * np.array(inside["cosines"]) / inside["scale"])
            assert np.allclose(e, product, rtol=1e-3, atol=1e-3)
            assert len(inside["context_norm"]) == 4


@pytest.mark.parametrize(("options", "formula"), [
    ({}, "e(t,i) = vᵀ tanh(W₁ s(t-1) + W₂ h̄ᵢ)"),
    ({"attention_key_prior": "remove"}, "e(t,i) = vᵀ tanh(W₁ s(t-1) + W₂ h̄ᵢ) − vᵀ tanh(W₂ h̄ᵢ)"),
    ({"attention_query": "current"}, "e(t,i) = vᵀ tanh(W₁ h(t) + W₂ h̄ᵢ)"),
    ({"attention_score": "general"}, "e(t,i) = s(t-1)ᵀ W_a h̄ᵢ"),
])
def test_inside_attention_follows_issue_16s_bahdanau_options(translator, options, formula):
    """The ablation options change the score or its query: inside_attention states each as the model computes it,
    and its weights are the trace's."""
    from nmt_core.decoding import DecodeSettings, Translator
    from nmt_core.explain.intervene import inside_attention
    from nmt_core.model import ModelConfig, Seq2Seq

    torch.manual_seed(0)
    cfg = ModelConfig(src_vocab_size=translator.src_tokenizer.vocab_size,
                      tgt_vocab_size=translator.tgt_tokenizer.vocab_size, embedding_dim=16, hidden_size=24,
                      output_size=16, attention_size=12, attention="bahdanau", dropout=0.0, **options)
    model = Translator(Seq2Seq(cfg).freeze_for_inference(), translator.src_tokenizer, translator.tgt_tokenizer)
    trace = model.translate("alpha beta gamma", DecodeSettings(method="greedy", max_length_ratio=0.5))
    assert trace.steps
    for t in range(len(trace.steps)):
        inside = inside_attention(model, trace, t)
        assert inside["formula"] == formula
        assert np.allclose(inside["weights"], trace.steps[t].attention, atol=1e-5)
        assert ("query_term_norm" in inside) == ("general" not in options.values())
        assert ("cosines" in inside) == ("general" in options.values())
