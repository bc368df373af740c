"""The Step-through page in streamlit.testing's AppTest, on the tiny reverse-task model.

Expected values come from decoding the same checkpoint directly with the
settings the page used (``app.session_state["settings"]``), never hard-coded.
"""

from __future__ import annotations

import base64
import json
import shutil

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from nmt_core.checkpoint import load_checkpoint
from nmt_core.decoding import Translator
from nmt_core.stepping import force_options, forced_prefix, pieces_text
from nmt_core.text import EOS_ID
from tests.apphelpers import ROOT
from tests.conftest import tiny_config

SENTENCE = "alpha beta gamma delta"


def step_app(text: str = SENTENCE, **params) -> AppTest:
    """The Step page opened from a link carrying the sentence (and whatever else is given).

    As tests.apphelpers.run_page, but the sentence travels in the URL (``?text=``)
    like a copied link: the page's step must survive that first run.
    """
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for key, value in {"text": text, **params}.items():
        app.query_params[key] = value
    app.run()
    return app.switch_page("pages/step_page.py").run()


def page_trace(app, models_root, name: str = "tiny-luong", prefix=None):
    """What the page decoded, decoded again directly (same checkpoint, sentence, settings)."""
    translator = load_checkpoint(models_root / name).translator
    return translator.translate(app.session_state["sentence"], app.session_state["settings"], prefix=prefix)


def url(app, name: str):
    value = app.query_params.get(name)
    return value[0] if isinstance(value, list) else value


def plotly_specs(app) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]


def z_of(spec: dict) -> np.ndarray:
    z = spec["data"][0]["z"]
    if isinstance(z, dict):  # plotly writes numpy arrays as typed binary data
        shape = tuple(int(n) for n in z["shape"].split(","))
        return np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"]).reshape(shape)
    return np.array(z, dtype=float)


def heatmap(app) -> dict:
    (spec,) = [s for s in plotly_specs(app) if s["layout"].get("yaxis", {}).get("visible", True)]
    return spec


def strip(app) -> dict:
    (spec,) = [s for s in plotly_specs(app) if s["layout"].get("yaxis", {}).get("visible") is False]
    return spec


def bar_chart(app) -> dict:
    (chart,) = app.get("vega_lite_chart")
    return json.loads(chart.proto.spec)


def texts(app) -> list[str]:
    return [t.value for t in app.text]


def slider(app):
    (widget,) = app.main.slider
    return widget


def test_page_runs_and_shows_step_1(models_root):
    app = step_app()
    assert not app.exception
    trace = page_trace(app, models_root)
    assert url(app, "step") == "1" and slider(app).value == 1
    assert slider(app).max == len(trace.steps)
    assert z_of(heatmap(app)).shape == (1, len(trace.source_tokens))
    assert trace.steps[0].token in [c.value for c in app.code]  # the chosen token
    assert app.selectbox(key="step_force_1") is not None  # the "what if" picker


def test_slider_reveals_heatmap_rows(models_root):
    app = step_app()
    trace = page_trace(app, models_root)
    n = len(trace.steps)
    for t in (n, 2):
        slider(app).set_value(t).run()
        assert not app.exception
        assert url(app, "step") == str(t)
        spec = heatmap(app)
        assert z_of(spec).shape == (t, len(trace.source_tokens))  # rows 1..t, the whole source axis
        assert np.allclose(z_of(spec), [s.attention for s in trace.steps[:t]], atol=1e-6)
        assert len(spec["layout"]["yaxis"]["ticktext"]) == t


def test_next_and_back_move_one_step(models_root):
    app = step_app()
    trace = page_trace(app, models_root)
    app.button(key="step_next").click().run()
    app.button(key="step_next").click().run()
    assert url(app, "step") == "3" and slider(app).value == 3
    assert z_of(heatmap(app)).shape[0] == 3
    assert texts(app)[0] == pieces_text([s.token for s in trace.steps[:3]])  # translation so far
    app.button(key="step_back").click().run()
    assert url(app, "step") == "2" and z_of(heatmap(app)).shape[0] == 2
    assert app.button(key="step_back").click().run().button(key="step_back").disabled  # step 1: no way back


def test_url_step_reopens_that_step(models_root):
    app = step_app(step="3", method="greedy")
    assert not app.exception
    trace = page_trace(app, models_root)
    assert slider(app).value == 3 and z_of(heatmap(app)).shape[0] == 3
    assert trace.steps[2].token in [c.value for c in app.code]
    assert any(t.startswith("Greedy: the most likely token") for t in texts(app))


@pytest.mark.parametrize("step", ["0", "999", "abc", "-5"])
def test_a_bad_url_step_is_clamped(models_root, step):
    app = step_app(step=step)
    assert not app.exception
    n = len(page_trace(app, models_root).steps)
    assert 1 <= slider(app).value <= n


def test_chart_specs_carry_the_right_tokens(models_root):
    app = step_app(step="2", method="sample", temperature="0.7", seed="5")
    assert not app.exception
    trace = page_trace(app, models_root)
    step = trace.steps[1]
    bars = bar_chart(app)["layer"][0]
    assert bars["encoding"]["y"]["sort"][:len(step.candidates)] == [c.token for c in step.candidates]
    assert {"model", "after temperature / top-k / top-p"} <= set(bars["encoding"]["yOffset"]["sort"])
    strip_spec = strip(app)
    assert strip_spec["layout"]["xaxis"]["ticktext"] == [t.replace("<", "&lt;").replace(">", "&gt;")
                                                          for t in trace.source_tokens]
    assert np.allclose(z_of(strip_spec)[0], step.attention, atol=1e-6)


def test_forcing_a_token_changes_the_ending(models_root):
    app = step_app(step="1", method="greedy")
    trace = page_trace(app, models_root)
    alternative = next(c for c in force_options(trace, 1) if c.token_id != EOS_ID)
    app.selectbox(key="step_force_1").set_value(alternative.token_id).run()
    assert not app.exception
    assert url(app, "force") == str(alternative.token_id)
    forced = page_trace(app, models_root, prefix=forced_prefix(trace, 1, alternative.token_id))
    shown = texts(app)
    assert trace.translation in shown and forced.translation in shown  # old ending beside the new one
    assert forced.translation != trace.translation
    scores = [m.value for m in app.get("metric")]
    assert scores == [f"{trace.score:.2f}", f"{forced.score:.2f}"]  # forced at step 1: no shared prefix
    tables = [d.value for d in app.dataframe]
    assert list(tables[1]["token"]) == [s.token for s in forced.steps]
    # moving on to another step drops the forced token (it belonged to step 1)
    app.button(key="step_next").click().run()
    assert url(app, "force") is None and not app.get("metric")


def test_a_forced_link_reopens_the_forced_ending(models_root):
    app = step_app(step="2", method="greedy")
    trace = page_trace(app, models_root)
    alternative = next(c for c in force_options(trace, 2) if c.token_id != EOS_ID)
    linked = step_app(step="2", method="greedy", force=str(alternative.token_id))
    assert not linked.exception
    forced = page_trace(linked, models_root, prefix=forced_prefix(trace, 2, alternative.token_id))
    assert linked.selectbox(key="step_force_2").value == alternative.token_id
    assert forced.translation in texts(linked)


def test_stepping_reads_the_cached_trace_without_decoding(models_root, monkeypatch):
    calls = []
    original = Translator.translate

    def counting(self, text, settings=None, prefix=None):
        calls.append(prefix)
        return original(self, text, settings, prefix)

    monkeypatch.setattr(Translator, "translate", counting)
    app = step_app()
    assert calls, "the page decodes through Translator.translate, so the counter sees it"
    trace = page_trace(app, models_root)
    calls.clear()
    slider(app).set_value(len(trace.steps)).run()
    app.button(key="step_back").click().run()
    app.button(key="step_next").click().run()
    slider(app).set_value(1).run()
    assert not app.exception and url(app, "step") == "1"
    assert calls == []  # moving through the steps decoded nothing
    alternative = next(c for c in force_options(trace, 1) if c.token_id != EOS_ID)
    app.selectbox(key="step_force_1").set_value(alternative.token_id).run()
    assert len(calls) == 1 and calls[0] == [alternative.token_id]  # forcing decodes once, from the prefix
    slider(app).set_value(2).run()
    slider(app).set_value(1).run()
    app.selectbox(key="step_force_1").set_value(alternative.token_id).run()
    assert len(calls) == 1  # the forced ending is cached too


def test_play_steps_to_the_end_and_stops(models_root):
    app = step_app()
    n = len(page_trace(app, models_root).steps)
    app.button(key="step_play").click().run()
    assert app.session_state["step_playing"] and app.button(key="step_pause") is not None
    assert url(app, "step") == "1"  # the current step stays up for one beat first
    seen = []
    for _ in range(n + 2):
        app.session_state["step_play_last"] = 0.0  # the beat has passed (AppTest has no timer)
        app.run()
        assert not app.exception
        seen.append(int(url(app, "step")))
        if not app.session_state["step_playing"]:
            break
    assert seen == list(range(2, n + 1))  # one step per beat, stopping at the last
    assert app.button(key="step_play") is not None  # the button says "Play" again
    app.button(key="step_play").click().run()  # play at the end starts again from step 1
    assert url(app, "step") == "1" and app.session_state["step_playing"]


def test_pause_stops_play(models_root):
    app = step_app()
    app.button(key="step_play").click().run()
    app.session_state["step_play_last"] = 0.0
    app.run()
    app.button(key="step_pause").click().run()
    assert not app.session_state["step_playing"]
    step = url(app, "step")
    app.session_state["step_play_last"] = 0.0
    app.run()
    assert url(app, "step") == step == "2"


def test_a_new_sentence_starts_again_at_step_1(models_root):
    app = step_app(step="3")
    assert slider(app).value == 3
    app.sidebar.text_area[0].set_value("mu eta").run()
    assert not app.exception and url(app, "step") == "1"


def test_classroom_mode_shows_only_the_essentials(models_root):
    app = step_app(step="2", classroom="1")
    assert not app.exception
    trace = page_trace(app, models_root)
    assert len(plotly_specs(app)) == 1  # the source strip, no heatmap
    assert strip(app)["layout"]["xaxis"]["tickfont"]["size"] >= 22
    assert bar_chart(app)["layer"][0]["encoding"]["y"]["axis"]["labelFontSize"] >= 22
    assert trace.steps[1].token in texts(app)  # the chosen token, large
    assert not app.main.selectbox  # no "what if" in class
    assert not [s for s in app.get("subheader") if "What if" in s.value]


def test_user_text_is_not_markup(models_root):
    app = step_app("<b>alpha</b> <script>x</script>")
    assert not app.exception
    assert not any("<script>" in m.value for m in app.markdown)


def test_empty_sentence_is_a_message(models_root):
    app = step_app("   ")
    assert not app.exception and "empty" in app.warning[0].value


@pytest.fixture(scope="module")
def no_attention_dir(tmp_path_factory, reverse_corpus):
    """A model with attention "none" (one quick epoch: only its shape matters here)."""
    from nmt_core.train import train

    out = tmp_path_factory.mktemp("ckpt") / "tiny-none"
    assert train(tiny_config(reverse_corpus, out, epochs=1, model={"attention": "none"}))["finished"]
    return out


def test_a_model_without_attention_says_so_and_shows_the_rest(models_root, no_attention_dir):
    shutil.copytree(no_attention_dir, models_root / "tiny-none")
    app = step_app(model="tiny-none", step="2", method="greedy")
    assert not app.exception
    assert any("no attention" in i.value for i in app.info)
    assert not plotly_specs(app)  # no strip, no heatmap
    trace = page_trace(app, models_root, name="tiny-none")
    assert trace.attention is None
    bars = bar_chart(app)["layer"][0]
    tokens = [c.token for c in trace.steps[1].candidates]
    assert bars["encoding"]["y"]["sort"][: len(tokens)] == tokens
    assert app.selectbox(key="step_force_2") is not None
