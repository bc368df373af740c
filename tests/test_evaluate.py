import pytest

from nmt_core.evaluate import corpus_scores, read_eval_tsv, reference_streams


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
