"""The Beam search page (AppTest) and its figure (hover text, labels, escaping)."""

from __future__ import annotations

import base64
import json

import numpy as np
from streamlit.testing.v1 import AppTest

from nmt_core.beam_view import beam_at_step, beam_settings, nodes_frame, step_range
from nmt_core.decoding import DecodeSettings
from nmt_core.trace import BeamNode, BeamTrace, Hypothesis
from nmt_core.tree_figures import beam_tree_figure, nodes_trace_index
from pages.style import CLASSROOM_FONT_SIZE
from tests.apphelpers import ROOT, run_page

SENTENCE = "alpha beta gamma delta"


def plotly_array(value):
    """A trace array from a figure's JSON: a list, or plotly's base64 typed array."""
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"])).tolist()
    return list(value)


def tree_nodes(app, index: int = 0) -> list[int]:
    """Node ids drawn in the page's tree figure (its node trace's customdata)."""
    spec = json.loads(app.get("plotly_chart")[index].proto.spec)
    nodes = next(t for t in spec["data"] if t.get("name") == "nodes")
    return [int(i) for i in plotly_array(nodes["customdata"])]


def expected_trace(translator, app, width=None):
    state = app.session_state
    settings = beam_settings(DecodeSettings(), width or state["beam_input"], state["length_penalty_input"])
    return translator.translate(SENTENCE, settings)


def page(**params):
    """The page opened from a link: the sentence in the URL, like every other setting.

    (``run_page``'s own ``text`` argument types the sentence after the page opened, which is a
    new search for the page; a link opens on its sentence straight away.)
    """
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for key, value in {"text": SENTENCE, **params}.items():
        app.query_params[key] = value
    app.run()
    return app.switch_page("pages/beam_page.py").run()


def test_page_draws_the_whole_tree_and_the_translation(models_root, translator):
    app = page()
    assert not app.exception
    trace = expected_trace(translator, app)
    assert app.text[0].value == trace.translation
    assert sorted(tree_nodes(app)) == [n.id for n in trace.beam.nodes]  # pruned ones included


def test_beam_width_changes_the_tree(models_root, translator):
    app = page(beam="2")
    small = tree_nodes(app)
    app.slider(key="beam_page_width").set_value(4).run()
    assert not app.exception
    large = tree_nodes(app)
    assert len(large) > len(small)
    assert len(large) == len(expected_trace(translator, app, width=4).beam.nodes)
    # The page's width is the sidebar's: both moved together, and the URL followed.
    assert app.session_state["beam_input"] == 4 and app.sidebar.slider[0].value == 4
    assert app.query_params["beam"] in ("4", ["4"])


def test_sidebar_width_shows_on_the_page(models_root):
    app = page()
    app.sidebar.slider[0].set_value(3).run()
    assert app.slider(key="beam_page_width").value == 3


def test_step_slider_changes_the_ranked_beam(models_root, translator):
    app = page(beam="3")
    trace = expected_trace(translator, app)
    first, last = step_range(trace.beam)
    assert last > first
    shown = {}
    for step in (first, last):
        app.slider(key="beam_page_step").set_value(step).run()
        assert not app.exception
        table = app.dataframe[0].value
        shown[step] = table
        assert list(table["node"]) == list(beam_at_step(trace.beam, step)["node"])
        live = table[table["status"] == "in the beam"]
        assert list(live["rank"]) == list(range(1, len(live) + 1))
        assert table["rank"].isna().sum() == len(table) - len(live)  # finished ones have no beam rank
        assert list(live["node"]) == trace.beam.beams[step - first]  # the beam the search kept at that step
        assert app.query_params["step"] in (str(step), [str(step)])
    assert list(shown[first]["hypothesis"]) != list(shown[last]["hypothesis"])


def test_selecting_a_node_shows_its_hypothesis(models_root, translator):
    app = page(beam="3")
    trace = expected_trace(translator, app)
    # Opens on the translation itself.
    assert app.number_input(key="beam_page_node").value == trace.beam.hypotheses[0].node_id
    for hypothesis in trace.beam.hypotheses[1:]:
        app.number_input(key="beam_page_node").set_value(hypothesis.node_id).run()
        assert not app.exception
        assert app.text[1].value == hypothesis.translation
        assert app.query_params["node"] in (str(hypothesis.node_id), [str(hypothesis.node_id)])
    pruned = next(n for n in trace.beam.nodes if n.pruned)
    app.number_input(key="beam_page_node").set_value(pruned.id).run()
    assert "pruned" in " ".join(c.value for c in app.caption)
    assert len(app.get("vega_lite_chart")) == 1  # its attention row


def test_a_link_opens_the_same_step_and_node(models_root, translator):
    app = page(beam="3", step="1", node="4")
    assert not app.exception
    assert app.slider(key="beam_page_step").value == 1
    assert app.number_input(key="beam_page_node").value == 4
    assert app.subheader[-1].value == "Node 4"


def test_a_new_search_starts_again_at_its_translation(models_root, translator):
    app = page(beam="3", node="4")
    app.slider(key="beam_page_width").set_value(2).run()
    assert app.number_input(key="beam_page_node").value == expected_trace(translator, app).beam.hypotheses[0].node_id


def test_runs_beam_search_whatever_the_sidebar_method(models_root, translator):
    app = page(method="greedy", beam="2")
    assert not app.exception
    assert any("always runs beam search" in m.value for m in app.info)
    assert len(tree_nodes(app)) == len(expected_trace(translator, app).beam.nodes)


def test_bad_urls_are_clamped(models_root):
    app = page(step="999", node="-5")
    assert not app.exception
    assert app.number_input(key="beam_page_node").value == 0


def test_classroom_mode_uses_large_figure_text(models_root):
    app = page(classroom="1")
    assert not app.exception
    spec = json.loads(app.get("plotly_chart")[0].proto.spec)
    assert spec["layout"]["font"]["size"] == CLASSROOM_FONT_SIZE
    assert not any("Click a node" in c.value for c in app.caption)  # essentials only


def test_empty_sentence_is_a_message(models_root):
    app = run_page("beam_page", "   ")
    assert not app.exception
    assert "empty" in app.warning[0].value


# The figure itself, on a hand-made search whose tokens look like HTML.

def hand_made_beam() -> BeamTrace:
    node = BeamNode
    nodes = [
        node(0, None, -1, 2, "<s>", 0.0, 0.0, 0.0, None),
        node(1, 0, 0, 10, "<b>bold</b>", -0.1, -0.1, -0.1, [1.0]),
        node(2, 0, 0, 11, "a&b", -1.0, -1.0, -1.0, [1.0]),
        node(3, 0, 0, 12, "pruned", -3.0, -3.0, -3.0, [1.0], pruned=True),
        node(4, 1, 1, 3, "</s>", -0.2, -0.3, -0.25, [1.0], finished=True),
        node(5, 2, 1, 3, "</s>", -0.5, -1.5, -1.2, [1.0], finished=True),
    ]
    hypotheses = [Hypothesis(4, [10], ["<b>bold</b>"], "<b>bold</b>", -0.3, -0.25, True),
                  Hypothesis(5, [11], ["a&b"], "a&b", -1.5, -1.2, True)]
    return BeamTrace(nodes, [[1, 2], []], hypotheses)


def test_hover_text_and_labels_are_right_and_escaped():
    beam = hand_made_beam()
    figure = beam_tree_figure(nodes_frame(beam), step=0, selected=4)
    trace = figure.data[nodes_trace_index(figure)]
    by_id = dict(zip(trace.customdata.tolist(), zip(trace.hovertext, trace.text, strict=True), strict=True))
    hover, text = by_id[1]
    assert "&lt;b&gt;bold&lt;/b&gt;" in hover and "<b>bold" not in hover
    assert "log-prob -0.100" in hover and "score -0.100" in hover and "node 1" in hover and "kept" in hover
    assert text == "&lt;b&gt;bold&lt;/b&gt;"
    assert "a&amp;b" in by_id[2][0] and by_id[2][1] == "a&amp;b"
    assert "pruned" in by_id[3][0] and by_id[3][1] == ""  # pruned nodes: hover only
    # Finished hypotheses show their rank and normalised score.
    assert by_id[4][1] == "#1 -0.25" and "n-best #1" in by_id[4][0] and "normalised -0.250" in by_id[4][0]
    assert by_id[5][1] == "#2 -1.20"
    assert by_id[0][1] == "start" and "&lt;s&gt;" in by_id[0][0]
    # The selected node's path (start -> 1 -> 4) is drawn over the tree.
    path = [t for t in figure.data if t.line.color == "#ff7f0e"]
    assert len(path) == 1 and list(path[0].x) == [-1, 0, 1]


def test_edges_join_each_node_to_its_parent():
    beam = hand_made_beam()
    frame = nodes_frame(beam)
    figure = beam_tree_figure(frame)
    y = dict(zip(frame["id"], frame["y"], strict=True))
    segments = set()
    for trace in figure.data[: nodes_trace_index(figure)]:
        xs, ys = list(trace.x), list(trace.y)
        for i in range(0, len(xs), 3):
            segments.add((xs[i], ys[i], xs[i + 1], ys[i + 1]))
    expected = {(-1, y[0], 0, y[n]) for n in (1, 2, 3)} | {(0, y[1], 1, y[4]), (0, y[2], 1, y[5])}
    assert segments == expected
