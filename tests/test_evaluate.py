import io
import re
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest

from nmt_core.decoding import DecodeSettings
from nmt_core.evaluate import (
    EvalInputError,
    EvalRow,
    corpus_scores,
    decode_upload,
    parse_eval_text,
    read_eval_tsv,
    reference_streams,
    scores_by_source_length,
    translate_many,
)
from nmt_core.views.evaluation import beam_curve, results_csv, sentence_frame, translate_link


def test_perfect_and_multi_reference_scores():
    hyps = ["are you still at home ?", "the cat sat on the mat"]
    assert corpus_scores(hyps, [[h] for h in hyps]).bleu == pytest.approx(100.0)
    one_ref = corpus_scores(hyps, [["are you still at home ?"], ["a cat was sitting on a mat"]])
    refs = [["are you still at home ?"], ["a cat was sitting on a mat", "the cat sat on the mat"]]
    two_refs = corpus_scores(hyps, refs)
    assert two_refs.bleu > one_ref.bleu
    assert two_refs.bleu == pytest.approx(100.0)
    assert 0 < one_ref.chrf < 100


def test_variable_reference_counts_become_padded_streams():
    assert reference_streams([["a"], ["b", "c"]]) == [["a", "b"], [None, "c"]]


def test_read_eval_tsv(tmp_path):
    path = tmp_path / "eval.tsv"
    path.write_text("hola\thello\thi\n\nadiós\tbye\n", encoding="utf-8")
    assert read_eval_tsv(path) == [("hola", ["hello", "hi"]), ("adiós", ["bye"])]
    path.write_text("only a source\n", encoding="utf-8")
    with pytest.raises(ValueError, match=":1: expected"):
        read_eval_tsv(path)


# --------------------------------------------------------------------------- batches for the Evaluate page



def test_parse_with_and_without_references():
    rows = parse_eval_text("\ufeffhola\thello\thi\r\n\n  adiós \t bye \t\t\n")
    assert rows == [EvalRow(1, "hola", ["hello", "hi"]), EvalRow(3, "adiós", ["bye"])]
    assert parse_eval_text("uno\n\ndos\n") == [EvalRow(1, "uno", []), EvalRow(3, "dos", [])]


@pytest.mark.parametrize("text, line, words", [
    ("hola\thello\n\thello\n", 2, "source (before the first tab) is empty"),
    ("hola\thello\nadiós\t \t\n", 2, "nothing after the tab"),
    ("hola\thello\nadiós\n", 2, "no reference, but line 1 has one"),
    ("hola\nadiós\tbye\n", 2, "a reference, but line 1 has none"),
    ("\u200b\n", 1, "source (before the first tab) is empty"),
    ("ok\n" + "x" * 1001 + "\n", 2, "1,001 characters"),
])
def test_parse_names_the_bad_line(text, line, words):
    with pytest.raises(EvalInputError, match=re.escape(words)) as caught:
        parse_eval_text(text)
    assert caught.value.line == line
    assert str(caught.value).startswith(f"Line {line}: ")


def test_parse_limits_and_empty_input():
    with pytest.raises(EvalInputError, match="more than 3 sentences") as caught:
        parse_eval_text("a\nb\n\nc\nd\n", max_lines=3)
    assert caught.value.line == 5
    assert len(parse_eval_text("a\nb\nc\n", max_lines=3)) == 3
    for text in ("", "\n  \n\t\n"):
        with pytest.raises(EvalInputError, match="No sentences"):
            parse_eval_text(text)
    with pytest.raises(EvalInputError, match="no tab and reference"):
        parse_eval_text("hola\n", require_references=True)


def test_decode_upload():
    assert decode_upload("\ufeffhola\thello\n".encode()) == "hola\thello\n"
    with pytest.raises(EvalInputError, match="empty"):
        decode_upload(b"")
    with pytest.raises(EvalInputError, match="limit is"):
        decode_upload(b"a\n" * 600, max_bytes=1000)
    with pytest.raises(EvalInputError, match="not valid UTF-8") as caught:
        decode_upload(b"uno\tone\ndos\ttwo\n" + "tr\u00e9s\tthree\n".encode("latin-1"))
    assert caught.value.line == 3 and str(caught.value).startswith("Line 3: ")


def test_read_eval_tsv_reports_encoding_and_line_problems(tmp_path):
    path = tmp_path / "eval.tsv"
    path.write_bytes("adiós\tbye\n".encode("latin-1"))
    with pytest.raises(ValueError, match="not valid UTF-8"):
        read_eval_tsv(path)
    path.write_text("hola\thello\n\tbye\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"eval\.tsv:2: expected .* source \(before the first tab\) is empty"):
        read_eval_tsv(path)


def test_translate_many_matches_single_decodes_and_reports_progress(translator):
    sources = ["alpha beta gamma", "mu eta", "kappa lambda mu iota", "delta"] * 40  # more than two chunks
    for beam in (1, 3):
        calls: list[tuple[int, int]] = []
        results = translate_many(translator, sources, beam, 1.0,
                                 lambda done, total, calls=calls: calls.append((done, total)))
        settings = DecodeSettings(method="beam", beam_size=beam, n_best=1, length_penalty=1.0)
        # One single decode per distinct sentence (a decode is deterministic): the 160-line batch is still
        # compared line by line, without 160 single beam searches (~2 s).
        alone = {source: translator.translate(source, settings).translation for source in set(sources)}
        assert results == [alone[source] for source in sources]
        assert calls[0] == (0, len(sources)) and calls[-1] == (len(sources), len(sources))
        assert [done for done, _ in calls] == sorted(done for done, _ in calls)
        assert len(calls) > 2  # progress moves during the batch, not only at its ends
    assert translate_many(translator, [], 4, 1.0) == []


def test_sentence_frame_is_worst_first_with_links():
    rows = [EvalRow(1, "uno", ["one"]), EvalRow(2, "dos", ["two", "2"]), EvalRow(4, "tres & más", ["three more"])]
    frame = sentence_frame(rows, ["one", "none", "three"], "spa-eng", 4, 0.5)
    assert frame["line"].tolist() == [2, 4, 1]
    assert frame["bleu"].tolist() == sorted(frame["bleu"]) and frame["bleu"].iloc[-1] == pytest.approx(100.0)
    assert frame.loc[frame.line == 2, "reference"].item() == "two | 2"
    link = frame.loc[frame.line == 4, "link"].item()
    assert link.startswith("./?")  # the Translate page is the app's root
    query = parse_qs(urlsplit(link).query)
    assert query == {"model": ["spa-eng"], "text": ["tres & más"], "method": ["beam"], "beam": ["4"], "lp": ["0.5"]}
    unscored = sentence_frame([EvalRow(3, "b", []), EvalRow(1, "a", [])], ["B", "A"], "m", 1, 1.0)
    assert unscored["line"].tolist() == [3, 1] and unscored["bleu"].isna().all()


def test_translate_link_escapes_everything():
    link = translate_link("m", "a&b=c#d?", 5, 1.0)
    assert parse_qs(urlsplit(link).query)["text"] == ["a&b=c#d?"] and "#" not in link


def test_results_csv_round_trip():
    rows = [EvalRow(1, 'dijo "hola", y', ["he said \"hi\", and"]), EvalRow(2, "año\tñ", ["year"])]
    frame = sentence_frame(rows, ["he said hi, and", "year"], "m", 2, 1.0)
    data = results_csv(frame)
    assert data.startswith("\ufeff".encode())
    back = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")
    assert list(back.columns) == ["line", "source", "translation", "reference", "bleu", "chrf"]
    original = frame.set_index("line")
    for _, row in back.iterrows():
        assert row["source"] == original.loc[row["line"], "source"]
        assert row["reference"] == original.loc[row["line"], "reference"]
        assert row["bleu"] == pytest.approx(original.loc[row["line"], "bleu"], abs=0.01)


def test_beam_curve(translator):
    rows = [EvalRow(i + 1, s, [" ".join(reversed(s.split()))])
            for i, s in enumerate(["alpha beta gamma", "mu eta", "kappa lambda mu iota"])]
    calls = []
    curve = beam_curve(translator, rows, (1, 2), 1.0, lambda done, total: calls.append((done, total)))
    assert curve["beam"].tolist() == [1, 2] and list(curve.columns) == ["beam", "bleu", "chrf", "seconds"]
    hypotheses = translate_many(translator, [r.source for r in rows], 2, 1.0)
    assert curve["bleu"].iloc[1] == pytest.approx(corpus_scores(hypotheses, [r.references for r in rows]).bleu)
    assert calls[-1] == (6, 6) and {total for _, total in calls} == {6}
    with pytest.raises(ValueError, match="needs a reference"):
        beam_curve(translator, [EvalRow(1, "alpha", [])])


def test_scores_by_source_length_buckets_each_sentence_once():
    sources = ["a b", "a b c d", "a b c d e", "w " * 9 + "w", "w " * 20 + "w"]  # 2, 4, 5, 10, 21 words
    hypotheses = ["x y", "x y z", "p q r s t", "one two three four", "same"]
    references = [["x y"], ["x y z"], ["p q r s t"], ["one two three four"], ["different"]]
    buckets = scores_by_source_length(sources, hypotheses, references)
    assert [b.label for b in buckets] == ["1-4", "5-8", "9-12", "17+"]  # 13-16 holds nothing: left out
    assert [b.sentences for b in buckets] == [2, 1, 1, 1]
    assert buckets[1].bleu == pytest.approx(100.0) and buckets[-1].bleu < 1.0


def test_scores_by_source_length_refuses_mismatched_lists():
    with pytest.raises(ValueError, match="2 sources, 1 hypotheses"):
        scores_by_source_length(["a", "b"], ["x"], [["x"], ["y"]])


def test_coverage_columns_read_the_attention_the_decoder_had(translator):
    """forced_trace gives the greedy decode's own attention rows; coverage_columns flags from them and
    rank_by_coverage puts the most flagged first."""
    from nmt_core.explain.coverage import coverage_flags
    from nmt_core.views.evaluation import coverage_columns, forced_trace, rank_by_coverage

    greedy = translator.translate("alpha beta gamma delta", DecodeSettings(method="greedy"))
    forced = forced_trace(translator, "alpha beta gamma delta", greedy.translation)
    assert forced.source_tokens == greedy.source_tokens
    assert __import__("numpy").allclose(forced.attention, greedy.attention, atol=1e-5)
    assert forced_trace(translator, "alpha", "") is None and forced_trace(translator, "   ", "beta") is None
    rows = [EvalRow(1, "alpha beta", ["beta alpha"]), EvalRow(2, "alpha beta gamma delta", ["x"]),
            EvalRow(3, "   ", ["y"])]
    frame = sentence_frame(rows, ["beta alpha", greedy.translation, ""], "tiny", 1, 1.0)
    thresholds = {"under": 2.0, "over": 100.0, "content": 100.0}  # every word with letters: under
    coverage = coverage_columns(translator, frame, {"metrics": {"coverage_thresholds": thresholds}})
    assert coverage.index.equals(frame.index)
    ranked = rank_by_coverage(frame, coverage)
    assert ranked["line"].tolist() == [2, 1, 3] and ranked["flags"].tolist() == [4, 2, 0]
    assert ranked["flagged"].tolist()[2] == ""
    assert len(coverage_flags(forced, thresholds, translator.src_tokenizer)) == 4
    csv_text = results_csv(ranked).decode("utf-8-sig")
    assert csv_text.splitlines()[0].endswith('"flags","flagged"')
