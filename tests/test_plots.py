"""Figures from hand-made traces: heatmaps (pieces and words), probabilities, entropy, difference, alignment."""

import math

import numpy as np
import pytest

from nmt_core.decoding import Candidate, Step, Trace
from nmt_core.figures.sizing import image_config
from nmt_core.figures.traces import (
    alignment_figure,
    alignment_frame,
    entropy_chart,
    entropy_frame,
    label,
    nbest_frame,
    sized_figure,
)
from nmt_core.views.attention import attention_view, entropy
from nmt_core.views.heatmap_data import (
    CONTEXT_ROW,
    DECIMALS,
    context_payload,
    difference_payload,
    heatmap_payload,
    with_probabilities,
)

EOS_ID = 3


def make_trace(source, target, attention, finished=True, probs=None) -> Trace:
    """A trace as a decoder would return it: one step per target piece, then </s> when finished."""
    probs = probs or [0.5] * len(target)
    steps = []
    for i, (token, row, p) in enumerate(zip(target, attention or [None] * len(target), probs, strict=True)):
        candidates = [Candidate(10 + i, token, p, p), Candidate(99, "▁other", (1 - p) / 2, (1 - p) / 2)]
        steps.append(Step(i, 10 + i, token, math.log(p), None if row is None else list(row), candidates))
    if finished:
        last = None if attention is None else [0.0] * (len(source) - 1) + [1.0]
        steps.append(Step(len(target), EOS_ID, "</s>", math.log(0.9), last, [Candidate(EOS_ID, "</s>", 0.9, 0.9)]))
    translation = "".join(target).replace("▁", " ").strip()
    return Trace("greedy", {}, translation, list(source), steps, translation, finished)


SOURCE = ["▁the", "▁ca", "t", "▁the", "</s>"]
TARGET = ["▁el", "▁ga", "to", "▁el"]
ATTENTION = np.random.default_rng(0).dirichlet(np.ones(len(SOURCE)), size=len(TARGET)).tolist()


def test_font_size_reaches_the_alignment_figures_annotations():
    frame = alignment_frame(make_trace(SOURCE, TARGET, ATTENTION))
    assert {a.font.size for a in alignment_figure(frame, ["the", "cat", "the", "</s>"], 22).layout.annotations} == {22}


def test_font_size_reaches_every_text_of_a_figure_unless_it_has_its_own():
    figure = sized_figure([{"type": "heatmap", "z": [[1]]}, {"type": "heatmap", "z": [[1]], "showscale": False}],
                          {"xaxis2": {"title": {"text": "steps"}}, "yaxis": {"title": "bits"},
                           "legend": {"orientation": "h"},
                           "annotations": [{"text": "a"}, {"text": "b", "font": {"size": 9}}]}, 19)
    layout = figure.layout
    assert layout.font.size == layout.legend.font.size == 19 and layout.legend.orientation == "h"
    assert {layout[a].tickfont.size for a in ("xaxis", "yaxis", "xaxis2")} == {19}
    assert layout.xaxis2.title.font.size == 19 and layout.xaxis2.title.text == "steps"
    assert layout.yaxis.title.text == "bits" and layout.yaxis.title.font.size == 19  # a title given as a string
    assert [a.font.size for a in layout.annotations] == [19, 9]
    assert figure.data[0].colorbar.tickfont.size == 19 and figure.data[1].colorbar.tickfont.size is None


def test_labels_are_html_escaped_in_plotly_figures():
    source = ["▁<b>x</b>", "▁&", "</s>"]
    target = ["▁<script>"]
    trace = make_trace(source, target, [[0.2, 0.3, 0.5]])
    assert label("<b>") == "&lt;b&gt;"
    words = [a.text for a in alignment_figure(alignment_frame(trace), ["<b>x</b>", "&", "</s>"]).layout.annotations]
    assert "&lt;b&gt;x&lt;/b&gt;" in words and "&lt;script&gt;" in words and "<b>x</b>" not in words


def test_no_attention_trace_has_a_uniform_context_bar_instead():
    trace = make_trace(SOURCE, TARGET, None)
    assert trace.attention is None
    bar = context_payload(trace)  # the heatmap component's data (pages/compare.py)
    assert bar["pieces"]["target"] == [CONTEXT_ROW] and bar["pieces"]["source"] == SOURCE
    np.testing.assert_allclose(bar["pieces"]["matrix"], [[1 / len(SOURCE)] * len(SOURCE)], atol=10**-DECIMALS)
    assert bar["words"]["source"] == ["the", "cat", "the", "</s>"] and bar["words"]["target"] == [CONTEXT_ROW]
    np.testing.assert_allclose(bar["words"]["matrix"], [[0.25] * 4], atol=10**-DECIMALS)


def test_each_row_carries_the_probability_of_its_token_and_the_runner_up():
    """Translate's heatmap rows (pieces: each token of the translation) with the model's probability of the token
    and, on hover, the best other candidate; a word's probability is the product of its pieces' (the chain rule)."""
    trace = make_trace(SOURCE, TARGET, ATTENTION, probs=[0.9, 0.6, 0.3, 0.8])
    payload = with_probabilities(heatmap_payload(trace), trace)
    pieces, words = payload["pieces"], payload["words"]
    np.testing.assert_allclose(pieces["probability"], [0.9, 0.6, 0.3, 0.8])
    assert pieces["forced"] == [0] * 4 and len(pieces["probability_notes"]) == len(pieces["target"])
    assert pieces["probability_notes"][1] == "p(▁ga) = 0.600 · runner-up ▁other 0.200"
    assert words["target"] == ["el", "gato", "el"]
    np.testing.assert_allclose(words["probability"], [0.9, 0.6 * 0.3, 0.8], atol=1e-3)
    assert words["probability_notes"][1] == "p(gato) = 0.180 = ▁ga 0.600 × to 0.300"
    assert words["probability_notes"][0] == "p(el) = 0.900 · runner-up ▁other 0.050"  # one piece: its runner-up
    assert payload["id"] == heatmap_payload(trace)["id"] and payload["words"]["matrix"] == words["matrix"]


def test_entropy_frame_in_bits_per_model_without_attention_left_out():
    traces = {"luong": make_trace(SOURCE, TARGET, ATTENTION), "none": make_trace(SOURCE, TARGET, None)}
    frame = entropy_frame(traces)
    assert frame["model"].unique().tolist() == ["luong"]
    np.testing.assert_allclose(frame["entropy"], entropy(ATTENTION, base=2))
    np.testing.assert_allclose(frame["uniform"], math.log2(len(SOURCE)))
    figure = entropy_chart(frame)
    assert [t.name for t in figure.data] == ["luong"]
    assert figure.layout.shapes[0].y0 == pytest.approx(math.log2(5))


def test_difference_of_a_trace_with_itself_is_zero_and_rows_sum_to_zero():
    a = make_trace(SOURCE, TARGET, ATTENTION)
    other = np.random.default_rng(1).dirichlet(np.ones(len(SOURCE)), size=len(TARGET) + 1)
    b = make_trace(SOURCE, TARGET + ["▁más"], other.tolist())
    np.testing.assert_allclose(difference_payload(a, a, 4)["pieces"]["matrix"], 0.0)
    payload = difference_payload(a, b, 4)  # the heatmap component's data (pages/compare.py)
    matrix = np.asarray(payload["pieces"]["matrix"])
    np.testing.assert_allclose(matrix, np.array(ATTENTION) - other[:4], atol=10**-DECIMALS)
    np.testing.assert_allclose(matrix.sum(axis=1), 0.0, atol=1e-2)
    assert payload["words"]["target"] == ["el", "gato", "el"]
    # merging is linear: the words view of A − B is A's words view less B's
    words = attention_view(SOURCE, TARGET, np.array(ATTENTION) - other[:4], True).matrix
    np.testing.assert_allclose(payload["words"]["matrix"], words, atol=10**-DECIMALS)
    np.testing.assert_allclose(words, attention_view(SOURCE, TARGET, ATTENTION, True).matrix
                               - attention_view(SOURCE, TARGET, other[:4], True).matrix, atol=1e-12)


def test_difference_needs_the_same_source_pieces_and_enough_rows():
    a = make_trace(SOURCE, TARGET, ATTENTION)
    with pytest.raises(ValueError):
        difference_payload(a, make_trace(SOURCE[1:], TARGET, [row[1:] for row in ATTENTION]), 4)
    with pytest.raises(ValueError):
        difference_payload(a, a, 5)
    with pytest.raises(ValueError):
        difference_payload(a, make_trace(SOURCE, TARGET, None), 4)


def test_alignment_links_each_target_word_to_its_argmax_source_word():
    source = ["▁the", "▁ca", "t", "</s>"]
    target = ["▁el", "▁ga", "to"]
    attention = [[0.8, 0.1, 0.05, 0.05], [0.1, 0.3, 0.5, 0.1], [0.2, 0.2, 0.2, 0.4]]
    frame = alignment_frame(make_trace(source, target, attention))
    assert frame["target_word"].tolist() == ["el", "gato"]
    assert frame["source_word"].tolist() == ["the", "cat"]
    np.testing.assert_allclose(frame["weight"], [0.8, (0.8 + 0.4) / 2])
    figure = alignment_figure(frame, ["the", "cat", "</s>"])
    lines = [t for t in figure.data if t.mode == "lines"]
    assert len(lines) == 2
    assert all(list(t.y) == [0, 1] for t in lines)  # target row at the bottom, source row on top
    assert lines[0].line.width > lines[1].line.width  # more weight, thicker line
    assert alignment_frame(make_trace(source, target, None)).empty


def test_image_config_sets_the_modebar_download_format():
    config = image_config("attention-spa/eng <x>", "svg")
    assert config["toImageButtonOptions"]["format"] == "svg"
    assert config["toImageButtonOptions"]["filename"] == "attention-spa_eng__x_"


def test_nbest_frame_of_a_greedy_trace_is_its_one_output():
    trace = make_trace(SOURCE, TARGET, ATTENTION)
    frame = nbest_frame(trace)
    assert frame["translation"].tolist() == [trace.translation]
    assert frame["log-prob"].iloc[0] == pytest.approx(trace.score)


def test_an_empty_hypothesis_is_named_not_left_blank(translator):
    from dataclasses import replace

    from nmt_core.decoding import DecodeSettings
    from nmt_core.figures.traces import EMPTY_HYPOTHESIS

    trace = translator.translate("alpha beta", DecodeSettings(method="beam", beam_size=3, n_best=3))
    # A hypothesis that emitted </s> first has no words: the table must say so rather than show a blank.
    trace.beam.hypotheses[1] = replace(trace.beam.hypotheses[1], translation="", tokens=[], token_ids=[])
    frame = nbest_frame(trace)
    assert frame["translation"].tolist()[1] == EMPTY_HYPOTHESIS
    assert frame["translation"].tolist()[0] == trace.beam.hypotheses[0].translation != ""


def test_a_classroom_heatmap_fits_its_height_shrinking_rows_and_labels_together():
    from nmt_core.figures.sizing import CLASSROOM_ROW_HEIGHT, FIGURE_CHROME, MIN_CLASSROOM_ROW_HEIGHT, fitted_rows

    assert fitted_rows(4, 540, 22) == (CLASSROOM_ROW_HEIGHT, 22)  # a short sentence keeps the big rows
    row_height, font_size = fitted_rows(17, 540, 22)  # a 15-word sentence: every row on the screen
    assert FIGURE_CHROME + 17 * row_height <= 540 and font_size == min(22, row_height - 2)
    assert fitted_rows(60, 540, 22) == (MIN_CLASSROOM_ROW_HEIGHT, MIN_CLASSROOM_ROW_HEIGHT - 2)  # never unreadable
