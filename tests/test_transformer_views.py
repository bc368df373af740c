"""A Transformer's attention, head by head: traces carry every layer and head, every view can choose
a head, a layer's mean or all of them, the grid and the self-attention maps, on the Translate page."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from nmt_core.checkpoint import load_checkpoint
from nmt_core.decoding import DecodeSettings, Trace, attention_maps
from nmt_core.figures.attention_heads import (
    GRID_TRACES_PER_HEAD,
    MASK_COLOR,
    clicked_head,
    head_grid_figure,
    panel_domains,
    self_attention_figure,
)
from nmt_core.figures.traces import label
from nmt_core.views.attention_heads import (
    ALL,
    HeadChoice,
    decoder_self_view,
    default_choice,
    display_layer,
    encoder_self_view,
    head_entropy,
    head_grid,
    head_options,
    head_shape,
    with_choice,
)
from tests.apphelpers import open_link
from tests.test_translate_page import array, heatmap

SENTENCE = "alpha beta gamma delta"
LAYERS, HEADS = 2, 4


@pytest.fixture(scope="module")
def transformer(tiny_transformer_dir):
    return load_checkpoint(tiny_transformer_dir)


@pytest.fixture(scope="module")
def traces(transformer) -> dict[str, Trace]:
    translator = transformer.translator
    return {method: translator.translate(SENTENCE, DecodeSettings(method=method, temperature=0.8, seed=1))
            for method in ("greedy", "sample", "beam")}


def per_head(trace: Trace) -> np.ndarray:
    """(L, h, T, S) from the trace's steps."""
    return np.asarray(trace.layer_attention, dtype=float).transpose(1, 2, 0, 3)


# --- the trace ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["greedy", "sample", "beam"])
def test_every_decoder_records_every_layer_and_head_and_the_default_row_is_the_last_layers_mean(traces, method):
    trace = traces[method]
    assert head_shape(trace) == (LAYERS, HEADS)
    weights = per_head(trace)
    assert weights.shape == (LAYERS, HEADS, len(trace.target_tokens), len(trace.source_tokens))
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(weights[-1].mean(axis=0), trace.attention, atol=1e-6)


def test_beam_search_keeps_per_head_rows_only_on_the_returned_hypotheses(traces):
    beam = traces["beam"].beam
    by_id = {n.id: n for n in beam.nodes}
    on_paths = set()
    for hypothesis in beam.hypotheses:
        node = by_id[hypothesis.node_id]
        while node.parent is not None:
            on_paths.add(node.id)
            node = by_id[node.parent]
    assert on_paths
    assert {n.id for n in beam.nodes if n.layer_attention is not None} == on_paths
    for node_id in on_paths:
        np.testing.assert_allclose(np.mean(by_id[node_id].layer_attention[-1], axis=0), by_id[node_id].attention,
                                   atol=1e-6)


def test_a_forced_prefix_and_the_stepper_record_them_too(transformer):
    translator = transformer.translator
    for method in ("greedy", "beam"):
        forced = translator.translate(SENTENCE, DecodeSettings(method=method), prefix="kappa")
        assert forced.steps[0].forced and head_shape(forced) == (LAYERS, HEADS)
    stepper = translator.stepper(SENTENCE)
    step = stepper.advance()
    assert np.asarray(step.layer_attention).shape == (LAYERS, HEADS, len(stepper.source.tokens))


def test_per_head_rows_round_trip_through_json_and_old_json_without_them_still_reads(traces):
    trace = traces["beam"]
    again = Trace.from_json(trace.to_json())
    assert again.layer_attention == trace.layer_attention
    assert [n.layer_attention for n in again.beam.nodes] == [n.layer_attention for n in trace.beam.nodes]
    old = json.loads(trace.to_json())
    for step in old["steps"]:
        del step["layer_attention"]
    for node in old["beam"]["nodes"]:
        del node["layer_attention"]
    legacy = Trace.from_dict(old)
    assert legacy.layer_attention is None and head_shape(legacy) is None
    assert legacy.attention == trace.attention
    assert with_choice(legacy, HeadChoice(0, 1)) is legacy  # nothing to choose: the trace as it is


def test_an_rnn_trace_has_no_per_head_rows(translator):
    trace = translator.translate(SENTENCE, DecodeSettings(method="beam"))
    assert trace.layer_attention is None and head_shape(trace) is None and head_grid(trace) is None
    assert all(s.layer_attention is None for s in trace.steps)
    assert all(n.layer_attention is None for n in trace.beam.nodes)
    assert attention_maps(translator, trace) is None


# --- choosing a layer and head ---------------------------------------------------------------------------


def test_choice_keys_parse_label_and_reject_what_the_model_lacks():
    assert head_options(2, 2) == ["L1", "L1H1", "L1H2", "L2", "L2H1", "L2H2", ALL]
    for key in head_options(3, 4):
        assert HeadChoice.parse(key, 3, 4).key == key
    assert HeadChoice.parse("L2H3", 2, 4) == HeadChoice(1, 2)
    assert HeadChoice.parse("all", 2, 4) == HeadChoice()
    for bad in ("L3", "L1H5", "L0", "H1", "l1", "", "L1H1x"):
        assert HeadChoice.parse(bad, 2, 4) is None
    assert HeadChoice(1, 2).label(4) == "layer 2, head 3"
    assert HeadChoice(0).label(4) == "layer 1, mean of its 4 heads"
    assert "every layer" in HeadChoice().label(4)
    with pytest.raises(ValueError):
        HeadChoice(None, 1)


def test_select_is_one_head_a_layers_mean_or_the_mean_of_all():
    weights = np.arange(2 * 3 * 5, dtype=float).reshape(2, 3, 5)
    np.testing.assert_array_equal(HeadChoice(1, 2).select(weights), weights[1, 2])
    np.testing.assert_array_equal(HeadChoice(0).select(weights), weights[0].mean(axis=0))
    np.testing.assert_array_equal(HeadChoice().select(weights), weights.reshape(6, 5).mean(axis=0))


def test_the_default_choice_is_the_display_layer():
    assert display_layer({"display_layer": 0}, 3) == 0
    assert display_layer({}, 3) == 2 and display_layer(None, 3) == 2
    assert display_layer({"display_layer": 7}, 3) == 2  # out of range: the documented default
    assert default_choice({"display_layer": -2}, 3) == HeadChoice(1)


@pytest.mark.parametrize("method", ["greedy", "beam"])
def test_every_choice_gives_its_rows_and_the_default_gives_the_traces_own(traces, transformer, method):
    trace = traces[method]
    weights = per_head(trace)
    for key in head_options(LAYERS, HEADS):
        choice = HeadChoice.parse(key, LAYERS, HEADS)
        expected = choice.select(weights)
        chosen = with_choice(trace, choice)
        np.testing.assert_allclose(chosen.attention, expected, atol=1e-9)
        np.testing.assert_allclose(np.asarray(chosen.attention).sum(-1), 1.0, atol=1e-5)
        assert chosen.target_tokens == trace.target_tokens and chosen.translation == trace.translation
    default = with_choice(trace, default_choice(transformer.config["model"], LAYERS))
    np.testing.assert_allclose(default.attention, trace.attention, atol=1e-6)
    np.testing.assert_allclose(with_choice(trace, None).attention, trace.attention)


def test_choosing_never_changes_the_cached_trace(traces):
    trace = traces["greedy"]
    before = json.dumps(trace.to_dict())
    with_choice(trace, HeadChoice(0, 0))
    assert json.dumps(trace.to_dict()) == before


def test_the_grid_holds_every_head_by_pieces_or_words(traces):
    trace = traces["greedy"]
    grid = head_grid(trace)
    assert (grid.layers, grid.heads) == (LAYERS, HEADS)
    np.testing.assert_allclose(grid.weights, per_head(trace), atol=1e-9)
    assert grid.source == trace.source_tokens and grid.target == trace.target_tokens
    words = head_grid(trace, merge_words=True)
    assert words.source[-1] == "</s>" and "▁" not in "".join(words.source)
    np.testing.assert_allclose(words.weights.sum(-1), 1.0, atol=1e-5)
    entropy = head_entropy(grid)
    assert entropy.shape == (LAYERS, HEADS)
    assert np.all(entropy >= 0) and np.all(entropy <= np.log2(len(trace.source_tokens)) + 1e-9)


def test_the_grid_figure_has_a_panel_per_head_and_a_click_opens_it(traces):
    grid = head_grid(traces["greedy"])
    figure = head_grid_figure(grid, HeadChoice(1, 2), entropy=head_entropy(grid))
    assert len(figure.data) == LAYERS * HEADS * GRID_TRACES_PER_HEAD
    heatmaps = [t for t in figure.data if t.type == "heatmap"]
    np.testing.assert_allclose(heatmaps[HEADS + 2].z, grid.weights[1, 2], rtol=1e-6)  # layer 2, head 3 (float32)
    assert [a.text.split(" · ")[0] for a in figure.layout.annotations][:2] == ["L1 H1", "L1 H2"]
    assert len(figure.layout.shapes) == 1  # the selected head is framed
    for layer in range(LAYERS):
        for head in range(HEADS):
            curve = GRID_TRACES_PER_HEAD * (layer * HEADS + head) + 1
            assert figure.data[curve].type == "scatter"
            assert tuple(figure.data[curve].customdata[0]) == (layer, head)
            assert clicked_head({"curve_number": curve, "point_index": 0}, HEADS) == HeadChoice(layer, head)
            assert clicked_head({"customdata": [layer, head]}, HEADS) == HeadChoice(layer, head)
    assert clicked_head({"curve_number": 0}, HEADS) is None  # a heatmap itself, not the click layer
    assert clicked_head({}, HEADS) is None
    assert not head_grid_figure(grid, HeadChoice(0)).layout.shapes  # a layer's mean: no single panel


def test_grid_panels_tile_the_figure_row_by_row_from_the_top_left():
    domains = list(panel_domains(3, 4))
    assert len(domains) == 12
    for x0, x1, y0, y1 in domains:
        assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1
    assert domains[0][0] == 0 and domains[0][3] == 1 and domains[3][1] == pytest.approx(1)  # top left, top right
    assert domains[-1][2] == pytest.approx(0)  # the last row reaches the bottom
    tops = [d[3] for d in domains]
    assert tops[:4] == [tops[0]] * 4 and tops[4] < tops[0]  # row by row, downwards
    widths = {round(x1 - x0, 9) for x0, x1, _, _ in domains}
    gaps = {round(domains[i + 1][0] - domains[i][1], 9) for i in (0, 1, 2)}
    assert len(widths) == 1 and gaps == {0.02}


def test_every_grid_panel_and_title_takes_the_font_size(traces):
    grid = head_grid(traces["greedy"])
    whole = head_grid_figure(grid, font_size=22, entropy=head_entropy(grid)).to_dict()
    figure, data = whole["layout"], whole["data"]
    axes = [name for name in figure if name.startswith(("xaxis", "yaxis"))]
    assert len(axes) == 2 * LAYERS * HEADS
    assert {figure[name]["tickfont"]["size"] for name in axes} == {22}
    assert {a["font"]["size"] for a in figure["annotations"]} == {20}  # panel titles: a little smaller
    for l in range(LAYERS):  # each panel's heatmap and click layer sit on that panel's own axes
        for k in range(HEADS):
            panel = l * HEADS + k + 1
            suffix = "" if panel == 1 else str(panel)
            x0, x1, y0, y1 = figure[f"xaxis{suffix}"]["domain"] + figure[f"yaxis{suffix}"]["domain"]
            for trace in data[GRID_TRACES_PER_HEAD * (panel - 1):GRID_TRACES_PER_HEAD * panel]:
                assert (trace.get("xaxis", "x"), trace.get("yaxis", "y")) == (f"x{suffix}", f"y{suffix}")
            title = figure["annotations"][panel - 1]
            assert title["text"].startswith(f"L{l + 1} H{k + 1}") and title["x"] == pytest.approx((x0 + x1) / 2)
            assert title["y"] == pytest.approx(y1)


# --- self-attention ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["greedy", "beam"])
def test_one_forced_pass_gives_the_decoders_own_rows_and_a_causal_decoder(transformer, traces, method):
    trace = traces[method]
    maps = attention_maps(transformer.translator, trace)
    S, T = len(trace.source_tokens), len(trace.target_tokens)
    assert maps.encoder_self.shape == (LAYERS, HEADS, S, S)
    assert maps.decoder_self.shape == (LAYERS, HEADS, T, T) and maps.cross.shape == (LAYERS, HEADS, T, S)
    np.testing.assert_allclose(maps.cross, per_head(trace), atol=1e-5)
    assert maps.decoder_inputs == ["<s>"] + trace.target_tokens[:-1]
    assert np.all(maps.decoder_self[..., np.triu(np.ones((T, T), dtype=bool), k=1)] == 0)
    np.testing.assert_allclose(maps.encoder_self.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(maps.decoder_self.sum(-1), 1.0, atol=1e-5)


def test_self_attention_views_choose_a_head_and_draw_the_mask(transformer, traces):
    maps = attention_maps(transformer.translator, traces["greedy"])
    encoder = encoder_self_view(maps.encoder_self, maps.source_tokens, HeadChoice(0, 3))
    np.testing.assert_array_equal(encoder.matrix, maps.encoder_self[0, 3])
    assert not encoder.mask.any() and encoder.rows == encoder.columns == maps.source_tokens
    decoder = decoder_self_view(maps.decoder_self, maps.target_tokens, maps.decoder_inputs, HeadChoice())
    np.testing.assert_allclose(decoder.matrix, maps.decoder_self.mean(axis=(0, 1)))
    T = len(maps.target_tokens)
    assert decoder.mask.sum() == T * (T - 1) // 2 and not decoder.mask[np.tril_indices(T)].any()
    figure = self_attention_figure(decoder, row_title="writing", column_title="inputs")
    weights, mask = figure.data
    assert mask.colorscale[0][1] == MASK_COLOR
    z = np.asarray(weights.z, dtype=float)
    assert np.all(np.isnan(z[decoder.mask])) and not np.isnan(z[~decoder.mask]).any()
    assert "causal mask" in mask.text[0][T - 1]
    assert list(figure.layout.xaxis.ticktext) == [label(t) for t in maps.decoder_inputs]
    assert len(self_attention_figure(encoder, row_title="a", column_title="b").data) == 1  # no mask layer


# --- the Translate page ----------------------------------------------------------------------------------


@pytest.fixture
def transformer_root(models_root, tiny_transformer_dir):
    """The tiny RNN (tiny-luong) and the tiny Transformer (tiny-transformer) in one checkpoints folder."""
    shutil.copytree(tiny_transformer_dir, models_root / "tiny-transformer")
    return models_root


def charts(app) -> dict[str, dict]:
    """Plotly figures by the key the page gave them ("" for one without a key)."""
    found = {}
    for element in app.get("plotly_chart"):
        parts = element.proto.id.split("-", 2)
        found[parts[2] if len(parts) == 3 else ""] = json.loads(element.proto.spec)
    return found


def main_heatmap(app) -> np.ndarray:
    """The matrix Translate's heatmap component draws (its pieces view)."""
    return np.asarray(heatmap(app)["pieces"]["matrix"], dtype=float)


def test_translate_page_chooses_a_layer_and_head_for_a_transformer(transformer_root, transformer):
    app = open_link("translate", text=SENTENCE, model="tiny-transformer")
    assert not app.exception and not app.error
    trace = transformer.translator.translate(SENTENCE, app.session_state["settings"])
    picker = app.selectbox(key="translate_heads")
    assert picker.value == "L2" and picker.options == [HeadChoice.parse(k, LAYERS, HEADS).label(HEADS)
                                                       for k in head_options(LAYERS, HEADS)]
    np.testing.assert_allclose(main_heatmap(app), trace.attention, atol=5e-4)
    # the head grid below follows words/pieces: this heatmap's switch asks the server for a run
    assert heatmap(app)["sync_words"] is True
    for key in ("L1H3", "L1", ALL):
        picker.set_value(key).run()
        assert not app.exception
        expected = HeadChoice.parse(key, LAYERS, HEADS).select(per_head(trace))
        np.testing.assert_allclose(main_heatmap(app), expected, atol=5e-4)
        assert app.query_params["heads"] in (key, [key])
    reopened = open_link("translate", text=SENTENCE, model="tiny-transformer", heads="L1H2")
    assert reopened.selectbox(key="translate_heads").value == "L1H2"
    np.testing.assert_allclose(main_heatmap(reopened), per_head(trace)[0, 1], atol=5e-4)
    assert open_link("translate", text=SENTENCE, model="tiny-transformer", heads="L9H9").selectbox(
        key="translate_heads").value == "L2"  # a head the model lacks: its default


def test_translate_page_shows_the_head_grid_and_both_self_attentions(transformer_root, transformer):
    app = open_link("translate", text=SENTENCE, model="tiny-transformer")
    trace = transformer.translator.translate(SENTENCE, app.session_state["settings"])
    figures = charts(app)
    grid = figures["translate_head_grid"]
    assert sum(t["type"] == "heatmap" for t in grid["data"]) == LAYERS * HEADS
    encoder, decoder = figures["translate_encoder_self"], figures["translate_decoder_self"]
    assert encoder["layout"]["xaxis"]["ticktext"] == [label(t) for t in trace.source_tokens]
    assert decoder["layout"]["yaxis"]["ticktext"] == [label(t) for t in trace.target_tokens]
    assert decoder["layout"]["xaxis"]["ticktext"] == [label(t) for t in ["<s>"] + trace.target_tokens[:-1]]
    assert len(decoder["data"]) == 2 and len(encoder["data"]) == 1  # the causal mask is a layer of its own
    app.selectbox(key="translate_encoder_heads").set_value("L1H1").run()
    assert not app.exception
    maps = attention_maps(transformer.translator, trace)
    np.testing.assert_allclose(array(charts(app)["translate_encoder_self"]["data"][0]["z"]),
                               maps.encoder_self[0, 0], atol=1e-6)


def test_translate_page_of_an_rnn_has_no_head_controls(transformer_root):
    app = open_link("translate", text=SENTENCE, model="tiny-luong")
    assert not app.exception
    assert "translate_heads" not in [s.key for s in app.selectbox]
    assert not app.get("plotly_chart")  # no grid, no self-attention
    assert heatmap(app)["sync_words"] is False  # the words/pieces switch stays in the browser


# --- attention as it forms (probes.json) -------------------------------------------------------------------


def test_probe_views_follow_the_recorded_epochs(tiny_transformer_dir):
    from nmt_core.checkpoint import read_probes
    from nmt_core.views.probes import probe_epochs, probe_payload, probe_sources, probe_view

    probes = read_probes(tiny_transformer_dir)
    assert probe_epochs(probes) == [1, 2, 3]
    assert probe_sources(probes) == [t["source"] for t in probes[0]["traces"]]
    for entry in probes:
        for index, recorded in enumerate(entry["traces"]):
            view = probe_view(probes, entry["epoch"], index)
            assert view.attention == recorded["attention"] and view.translation == recorded["translation"]
            assert view.dev_bleu == entry["dev_bleu"]
            rows = np.asarray(recorded["attention"])
            bits = -(np.where(rows > 0, rows * np.log2(np.where(rows > 0, rows, 1)), 0)).sum(1).mean()
            assert view.entropy == pytest.approx(bits, abs=1e-9)
    assert probe_view(probes, 9, 0) is None and probe_view(probes, 1, 99) is None
    words = probe_view(probes, 3, 0, merge_words=True)
    assert "▁" not in "".join(words.source_tokens) and np.allclose(np.sum(words.attention, axis=1), 1, atol=0.01)
    heatmap = probe_payload(probes, 2, 1)  # the heatmap component's data, both views
    np.testing.assert_allclose(heatmap["pieces"]["matrix"], probes[1]["traces"][1]["attention"], atol=1e-3)
    assert heatmap["pieces"]["target"] == probes[1]["traces"][1]["target_tokens"]
    assert heatmap["words"]["source"] == probe_view(probes, 2, 1, merge_words=True).source_tokens
    assert probe_payload(probes, 9, 0) is None
