"""The Beam search page (AppTest): the tree component's data, the ranked beam; the plotly tree figure."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from nmt_core.decoding import BeamNode, BeamTrace, DecodeSettings, Hypothesis, Trace
from nmt_core.figures import COMPONENTS
from nmt_core.figures.trees import beam_tree_figure
from nmt_core.views.beam import beam_at_step, beam_settings, nodes_frame, step_range
from nmt_core.views.beam_data import beam_payload, node_ids, unpack
from pages.lib.style import CLASSROOM_FONT_SIZE
from tests.apphelpers import ROOT, component_js, run_page

SENTENCE = "alpha beta gamma delta"


def plotly_array(value):
    """A trace array from a figure's JSON: a list, or plotly's base64 typed array."""
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"])).tolist()
    return list(value)


def component(app):
    """The tree component's element and its data, every node of the search: sent as JSON bytes
    ``{"view": ..., "payload": ...}``, merged here as the component's shared.js merges them."""
    (element,) = [e for e in app.main if e.type == "bidi_component"]
    message = json.loads(element.proto.bytes)
    return element.proto, {**message["payload"], **message["view"]}


def expected_trace(translator, app, width=None):
    state = app.session_state
    settings = beam_settings(DecodeSettings(), width or state["beam"], state["lp"])
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
    return app.switch_page("pages/beam.py").run()


def url(app, name: str):
    value = app.query_params.get(name)
    return value[0] if isinstance(value, list) else value


def test_page_sends_the_whole_tree_once_and_the_translation(models_root, translator):
    app = page()
    assert not app.exception
    trace = expected_trace(translator, app)
    assert app.text[0].value == trace.translation
    proto, data = component(app)
    assert proto.component_name == "attention_explorer.beam" and not proto.isolate_styles
    assert node_ids(data) == [n.id for n in trace.beam.nodes]  # pruned ones included
    for row, node in zip(unpack(data), trace.beam.nodes, strict=True):
        assert row["step"] == node.step + 1  # 1-based steps: the start is 0, the first token step 1
        assert row["token"] == node.token
        assert row["score"] == round(node.score, 3)
    first, last = step_range(trace.beam)
    assert (data["first_step"], data["last_step"]) == (first + 1, last + 1)
    assert data["step"] == data["last_step"] and url(app, "step") == str(data["last_step"])
    assert node_ids(data)[data["node"]] == trace.beam.hypotheses[0].node_id
    # the JS and CSS by URL, fetched once per page, not their text in every new search's message
    assert (proto.js_source_path, proto.css_source_path, proto.js_content) == ("beam.js", "beam.css", "")


def test_beam_width_is_a_new_search(models_root, translator):
    app = page()
    app.slider(key="beam_page_width").set_value(2).run()
    assert not app.exception
    assert app.session_state["beam"] == 2  # the sidebar follows
    assert node_ids(component(app)[1]) == [n.id for n in expected_trace(translator, app, width=2).beam.nodes]


def test_sidebar_width_shows_on_the_page(models_root):
    app = page(beam="3")
    assert app.slider(key="beam_page_width").value == 3


def test_payload_is_small_for_a_wide_search(translator):
    trace = translator.translate("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu",
                                 beam_settings(DecodeSettings(), 16, 1.0))
    data = beam_payload(trace)
    size = len(json.dumps(data, separators=(",", ":")))
    assert size < 30 * len(trace.beam.nodes) + 20_000, size  # columns: tens of bytes per node, not kilobytes
    # one attention row per expanded parent, shared by its children
    parents = {n.parent for n in trace.beam.nodes if n.parent is not None}
    assert len(data["attention"]) == len(parents)


def test_payload_columns_read_back_as_the_search(translator):
    """Every node comes back from the columns: ids, parents, steps, tokens, statuses and n-best ranks exactly,
    scores to the 3 decimals the page prints; a pruned node's normalised score is recomputed by the search's rule."""
    for width, alpha in ((4, 1.0), (6, 0.6), (3, 0.0)):
        trace = translator.translate("alpha beta gamma delta epsilon", beam_settings(DecodeSettings(), width, alpha))
        data = beam_payload(trace)
        assert data["ids"] is None and "norm" in data  # a search's ids are its places: not sent
        ranks = {h.node_id: r + 1 for r, h in enumerate(trace.beam.hypotheses)}
        for row, node in zip(unpack(data), trace.beam.nodes, strict=True):
            parent = -1 if node.parent is None else node.parent
            status = 0 if node.parent is None else 3 if node.finished else 2 if node.pruned else 1
            assert (row["id"], row["parent"], row["step"], row["token"]) == (node.id, parent, node.step + 1, node.token)
            assert (row["status"], row["rank"]) == (status, ranks.get(node.id, 0))
            assert row["logprob"] == round(node.logprob, 3) and row["score"] == round(node.score, 3)
            assert abs(row["normalised"] - node.normalized_score) <= 0.0005 + 1e-9


def test_a_hand_made_search_keeps_its_ids_and_scores():
    """Ids that are not places travel; normalised scores that do not follow the search's rule travel whole."""
    beam = hand_made_beam()
    beam.nodes = [replace(n, id=n.id + 10, parent=None if n.parent is None else n.parent + 10) for n in beam.nodes]
    beam.nodes[3].normalized_score = -2.0  # a pruned node off the rule (its score is -3.0 at length 1)
    beam.hypotheses = [replace(h, node_id=h.node_id + 10) for h in beam.hypotheses]
    beam.beams = [[i + 10 for i in alive] for alive in beam.beams]
    data = beam_payload(Trace("beam", {"length_penalty": 1.0}, "x", ["x", "</s>"], [], "<b>bold</b>", True, beam=beam))
    assert data["ids"] == [n.id for n in beam.nodes] and "norm_all" in data
    assert [r["normalised"] for r in unpack(data)] == [n.normalized_score for n in beam.nodes]
    assert data["best"] == 4 and data["ranked"] == [4, 5]


NEEDS_NODE = pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js to run the component's module")


def run_in_node(module: str, export: str, argument, folder: Path):
    """``export(argument)`` from the component module ``module`` (components/<module>), run in Node.js: the
    browser's own code, without a browser. Its result, read back from JSON."""
    runner = folder / f"{export}.mjs"
    runner.write_text('import { readFileSync } from "node:fs";\n'
                      f'const {{ {export} }} = await import({json.dumps((COMPONENTS / module).as_uri())});\n'
                      f'process.stdout.write(JSON.stringify({export}(JSON.parse(readFileSync(0, "utf8")))));\n')
    out = subprocess.run(["node", str(runner)], input=json.dumps(argument), capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@NEEDS_NODE
def test_the_browser_unpacks_the_columns_as_python_does(translator, tmp_path):
    """beam.js's ``unpack`` (run in Node) reads a payload exactly as :func:`unpack` does."""
    trace = translator.translate("alpha beta gamma delta", beam_settings(DecodeSettings(), 5, 0.6))
    data = beam_payload(trace)
    for js, py in zip(run_in_node("beam.js", "unpack", data, tmp_path), unpack(data), strict=True):
        assert js[:3] == [py["parent"], py["step"], data["tokens"].index(py["token"])]
        assert js[6:] == [py["status"], py["rank"]]
        assert js[3:6] == pytest.approx([py["logprob"], py["score"], py["normalised"]], abs=1e-9)


def test_beam_at_step_ranks_by_the_search_score_with_finished_ones(translator):
    trace = translator.translate(SENTENCE, beam_settings(DecodeSettings(), 3, 1.0))
    first, last = step_range(trace.beam)
    for step in range(first + 1, last + 2):
        table = beam_at_step(trace.beam, step)
        assert list(table["rank"]) == list(range(1, len(table) + 1))  # never missing
        assert list(table["normalised"]) == sorted(table["normalised"], reverse=True)
    final = beam_at_step(trace.beam, last + 1)
    assert final["node"].iloc[0] == trace.beam.hypotheses[0].node_id  # rank 1 is the translation
    assert any(s.startswith("finished at step") for s in final["status"])


def test_a_link_opens_the_same_step_and_node(models_root, translator):
    app = page(beam="3", step="1", node="4")
    assert not app.exception
    _, data = component(app)
    assert data["step"] == 1 and node_ids(data)[data["node"]] == 4


def test_a_new_search_starts_again_at_its_translation(models_root, translator):
    app = page(beam="3", node="4", step="1")
    app.slider(key="beam_page_width").set_value(2).run()
    _, data = component(app)
    assert node_ids(data)[data["node"]] == expected_trace(translator, app).beam.hypotheses[0].node_id
    assert data["step"] == data["last_step"]


def test_runs_beam_search_whatever_the_sidebar_method(models_root, translator):
    app = page(method="greedy", beam="2")
    assert not app.exception
    assert any("always runs beam search" in m.value for m in app.info)
    assert len(component(app)[1]["status"]) == len(expected_trace(translator, app).beam.nodes)


def test_bad_urls_are_clamped(models_root):
    app = page(step="999", node="-5")
    assert not app.exception
    _, data = component(app)
    assert data["step"] == data["last_step"] and node_ids(data)[data["node"]] == 0


def test_classroom_mode_uses_large_figure_text(models_root):
    app = page(classroom="1")
    assert not app.exception
    _, data = component(app)
    assert data["font_size"] == CLASSROOM_FONT_SIZE and data["classroom"]


def test_the_js_puts_text_in_the_page_only_as_text():
    js = component_js("beam.js")
    for sink in (".innerHTML", ".outerHTML", "insertAdjacentHTML", "document.write", "createContextualFragment"):
        assert sink not in js, sink


def test_empty_sentence_is_a_message(models_root):
    app = run_page("beam", "   ")
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
    trace = next(t for t in figure.data if t.name == "nodes")
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
    for trace in figure.data[: [t.name for t in figure.data].index("nodes")]:  # the edges come first
        xs, ys = list(trace.x), list(trace.y)
        for i in range(0, len(xs), 3):
            segments.add((xs[i], ys[i], xs[i + 1], ys[i + 1]))
    expected = {(-1, y[0], 0, y[n]) for n in (1, 2, 3)} | {(0, y[1], 1, y[4]), (0, y[2], 1, y[5])}
    assert segments == expected


def test_payload_numbers_round_as_python_rounds():
    """The columns are rounded with numpy (one pass each): half to even, as round(v * 1000), negatives too;
    attention rows of different lengths (a hand-made trace) each keep their own."""
    from nmt_core.views.beam_data import _attention, _milli

    values = [0.0005, 0.0015, -0.0025, -1.2345, 2.5e-4, -0.0004999, 12.3456789, 0.0]
    assert _milli(values) == [round(v * 1000) for v in values]
    assert all(type(v) is int for v in _milli(values))
    nodes = [BeamNode(0, None, -1, 1, "<s>", 0.0, 0.0, 0.0, None),
             BeamNode(1, 0, 0, 5, "a", -0.5, -0.5, -0.5, [0.25, 0.7505]),
             BeamNode(2, 0, 0, 6, "b", -0.9, -0.9, -0.9, [0.5, 0.5]),
             BeamNode(3, 1, 1, 6, "b", -0.2, -0.7, -0.7, [0.1, 0.2, 0.7])]
    beam = BeamTrace(nodes, [[1]], [])
    assert _attention(beam, [-1, 0, 0, 1]) == {"0": [250, 750], "1": [100, 200, 700]}
    nodes[3].attention = [0.3, 0.7]
    assert _attention(beam, [-1, 0, 0, 1]) == {"0": [250, 750], "1": [300, 700]}


@NEEDS_NODE
def test_scores_travel_as_deltas_and_read_back_alike_in_python_and_the_browser(translator, tmp_path):
    """A search's scores go as one character per node (score less parent's and own log-prob, in thousandths);
    a tree whose parents do not come first, or whose scores are not sums, sends them whole. Both read back to
    the same thousandths, in Python and in beam.js (run in Node)."""
    trace = translator.translate("alpha beta gamma delta", beam_settings(DecodeSettings(), 6, 1.0))
    data = beam_payload(trace)
    assert "score" not in data and set(data["score_delta"]) <= set("012")
    assert len(data["score_delta"]) == len(trace.beam.nodes)
    assert [r["score"] for r in unpack(data)] == [round(n.score * 1000) / 1000 for n in trace.beam.nodes]
    beam = hand_made_beam()
    beam.nodes = beam.nodes[:1] + beam.nodes[1:][::-1]  # children before their parents
    whole = beam_payload(Trace("beam", {"length_penalty": 1.0}, "x", ["x", "</s>"], [], "x", True, beam=beam))
    assert "score_delta" not in whole and whole["score"] == [round(n.score * 1000) for n in beam.nodes]
    sums = hand_made_beam()
    sums.nodes[2].score = -7.0  # not its parent's score plus its log-prob
    off = beam_payload(Trace("beam", {"length_penalty": 1.0}, "x", ["x", "</s>"], [], "x", True, beam=sums))
    assert "score_delta" not in off
    for payload in (data, whole, off):
        for js, py in zip(run_in_node("beam.js", "unpack", payload, tmp_path), unpack(payload), strict=True):
            assert js[4] == pytest.approx(py["score"], abs=1e-12)
