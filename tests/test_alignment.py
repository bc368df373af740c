"""Pieces -> words, argmax alignment, entropy, and which checkpoints the Compare page opens with."""

import math

import numpy as np
import pytest

from nmt_core.views.attention import (
    argmax_alignment,
    attention_view,
    common_prefix_length,
    entropy,
    merge_matrix,
    word_groups,
    word_text,
)
from nmt_core.views.compare import attention_type, default_selection, same_tokenizers


def random_attention(rows: int, columns: int, seed: int = 0) -> np.ndarray:
    """Rows that are distributions, as a decoder's attention rows are."""
    return np.random.default_rng(seed).dirichlet(np.ones(columns), size=rows)


# --- word groups ------------------------------------------------------------------------------------------


def test_pieces_group_into_words_at_the_word_marks():
    pieces = ["▁¿", "T", "odavía", "▁están", "▁en", "▁casa", "?", "</s>"]
    assert word_groups(pieces) == [[0, 1, 2], [3], [4], [5, 6], [7]]
    assert [word_text(pieces, g) for g in word_groups(pieces)] == ["¿Todavía", "están", "en", "casa?", "</s>"]


def test_a_first_piece_without_a_mark_and_special_tokens_start_words():
    assert word_groups(["ab", "c", "▁d"]) == [[0, 1], [2]]
    # </s> is never glued to the word before it, and a piece after it starts a new word.
    assert word_groups(["▁a", "</s>", "b"]) == [[0], [1], [2]]
    assert word_groups([]) == []


def test_a_lone_word_mark_stays_visible():
    assert word_text(["▁"], [0]) == "▁"


# --- merging ----------------------------------------------------------------------------------------------


def test_merge_sums_source_pieces_and_averages_target_pieces_by_hand():
    # 3 target pieces (words: [0, 1], [2]) x 4 source pieces (words: [0], [1, 2], [3]).
    matrix = np.array([
        [0.1, 0.2, 0.3, 0.4],
        [0.5, 0.1, 0.1, 0.3],
        [0.0, 0.0, 1.0, 0.0],
    ])
    merged = merge_matrix(matrix, [[0], [1, 2], [3]], [[0, 1], [2]])
    expected = np.array([
        [(0.1 + 0.5) / 2, (0.2 + 0.3 + 0.1 + 0.1) / 2, (0.4 + 0.3) / 2],
        [0.0, 1.0, 0.0],
    ])
    np.testing.assert_allclose(merged, expected)
    np.testing.assert_allclose(merged.sum(axis=1), 1.0)


@pytest.mark.parametrize("seed", range(5))
def test_merged_rows_still_sum_to_one(seed):
    source = ["▁a", "b", "▁c", "▁d", "e", "f", "</s>"]
    target = ["▁x", "y", "▁z", "w", "q", "▁v"]
    matrix = random_attention(len(target), len(source), seed)
    view = attention_view(source, target, matrix, merge_words=True)
    assert view.matrix.shape == (3, 4)
    np.testing.assert_allclose(view.matrix.sum(axis=1), 1.0)
    assert view.source == ["ab", "c", "def", "</s>"] and view.target == ["xy", "zwq", "v"]
    assert view.source_pieces[0] == ["▁a", "b"] and view.target_pieces[1] == ["▁z", "w", "q"]


def test_merging_whole_word_pieces_changes_nothing():
    source, target = ["▁a", "▁b", "</s>"], ["▁x", "▁y"]
    matrix = random_attention(2, 3)
    view = attention_view(source, target, matrix, merge_words=True)
    np.testing.assert_allclose(view.matrix, matrix)


def test_unmerged_view_keeps_pieces():
    view = attention_view(["▁a", "b"], ["▁x"], [[0.25, 0.75]])
    assert not view.merged and view.source == ["▁a", "b"] and view.source_pieces == [["▁a"], ["b"]]


def test_merge_rejects_groups_that_do_not_cover_the_matrix():
    with pytest.raises(ValueError):
        merge_matrix(np.ones((2, 3)) / 3, [[0], [1]], [[0], [1]])
    with pytest.raises(ValueError):
        merge_matrix(np.ones((2, 3)) / 3, [[0], [1], [2]], [[0, 1], [1]])


# --- alignment, entropy ----------------------------------------------------------------------


def test_argmax_alignment_picks_each_rows_largest_weight_first_on_ties():
    matrix = [[0.1, 0.7, 0.2], [0.5, 0.25, 0.25], [0.4, 0.2, 0.4]]
    assert argmax_alignment(matrix) == [1, 0, 0]
    assert argmax_alignment(np.zeros((0, 3))) == []


@pytest.mark.parametrize("n", [1, 2, 5, 17])
def test_entropy_of_uniform_attention_is_log_n(n):
    uniform = np.full((1, n), 1 / n)
    assert entropy(uniform, base=math.e)[0] == pytest.approx(math.log(n))
    assert entropy(uniform, base=2)[0] == pytest.approx(math.log2(n))


def test_entropy_of_one_hot_attention_is_zero_and_zeros_are_ignored():
    one_hot = np.eye(4)
    assert entropy(one_hot) == [0.0] * 4
    assert entropy([[0.5, 0.5, 0.0]]) == [pytest.approx(1.0)]  # bits
    assert entropy(np.zeros((0, 3))) == []


def test_entropy_lies_between_zero_and_log_n():
    matrix = random_attention(20, 6, seed=3)
    values = entropy(matrix, base=2)
    assert all(0 < v < math.log2(6) for v in values)


def test_common_prefix_length():
    assert common_prefix_length([1, 2, 3], [1, 2, 4, 5]) == 2
    assert common_prefix_length([1, 2], [1, 2]) == 2
    assert common_prefix_length([], [1]) == 0


# --- which checkpoints to compare -------------------------------------------------------------------------


def config(src="spa", tgt="eng", attention="luong-general", src_hash="s", tgt_hash="t"):
    return {"source_language": src, "target_language": tgt, "model": {"attention": attention},
            "sha256": {"src.model": src_hash, "tgt.model": tgt_hash}}


def test_same_tokenizers_needs_both_files_identical():
    assert same_tokenizers(config(), config(attention="bahdanau"))
    assert not same_tokenizers(config(), config(src_hash="other"))
    assert not same_tokenizers(config(), config(tgt_hash="other"))
    assert not same_tokenizers(config(), None)
    assert not same_tokenizers({"sha256": {}}, {"sha256": {}})


def test_default_selection_prefers_the_same_pair_with_other_attention_types():
    configs = {
        "a-luong-2": config(attention="luong-general"),
        "deu-eng-luong": config(src="deu", attention="luong-general"),
        "eng-spa-luong": config(src="eng", tgt="spa"),
        "spa-eng-bahdanau": config(attention="bahdanau"),
        "spa-eng-luong": config(),
        "spa-eng-noattn": config(attention="none"),
    }
    chosen = default_selection("spa-eng-luong", configs)
    # New attention types first, then the same pair again, before other languages; laid out in the
    # order of the idea's history (no attention, Bahdanau, Luong), the sidebar's model first among equals.
    assert chosen == ["spa-eng-noattn", "spa-eng-bahdanau", "spa-eng-luong", "a-luong-2"]
    assert default_selection("spa-eng-luong", configs, limit=2) == ["spa-eng-bahdanau", "spa-eng-luong"]
    # Models reading another language are not fed the Spanish sentence by default.
    shipped = {name: configs[name] for name in ("spa-eng-luong", "spa-eng-bahdanau", "eng-spa-luong")}
    assert default_selection("spa-eng-luong", shipped) == ["spa-eng-bahdanau", "spa-eng-luong"]


def transformer_config(src="spa", tgt="eng"):
    """What training writes for a Transformer: no ``attention`` in ``model``, "multi-head" beside it."""
    return {"source_language": src, "target_language": tgt, "attention": "multi-head",
            "model": {"architecture": "transformer", "num_heads": 4}, "sha256": {}}


def test_a_transformers_attention_type_is_multi_head():
    assert attention_type(transformer_config()) == "multi-head"
    assert attention_type(config(attention="bahdanau")) == "bahdanau"
    assert attention_type(None) == "?" and attention_type({"model": "odd"}) == "?"


def test_compare_opens_on_the_whole_history_of_attention_for_one_spanish_sentence():
    """No attention, Bahdanau, Luong and Transformer, in that order, whichever of them the sidebar has."""
    configs = {
        "deu-eng-transformer": transformer_config(src="deu"),
        "eng-spa-luong": config(src="eng", tgt="spa"),
        "spa-eng-bahdanau": config(attention="bahdanau"),
        "spa-eng-luong": config(),
        "spa-eng-noattn": config(attention="none"),
        "spa-eng-transformer": transformer_config(),
    }
    history = ["spa-eng-noattn", "spa-eng-bahdanau", "spa-eng-luong", "spa-eng-transformer"]
    for current in history + [None]:
        assert default_selection(current, configs) == history
    # Without a Spanish Transformer the other three stay, and no German model is fed the Spanish sentence.
    del configs["spa-eng-transformer"]
    assert default_selection("spa-eng-luong", configs) == history[:3]


def test_default_selection_without_a_current_model_starts_from_spanish_english():
    configs = {"deu-eng": config(src="deu"), "spa-eng": config(), "unreadable": None}
    # No other model reads Spanish: the best of the rest keeps a comparison; unreadable configs come last.
    assert default_selection(None, configs) == ["spa-eng", "deu-eng"]
    assert default_selection(None, {}) == []
