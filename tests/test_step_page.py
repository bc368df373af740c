"""The Step-through page in streamlit.testing's AppTest, on the tiny reverse-task model.

Expected values come from decoding the same checkpoint directly with the
settings the page used (``app.session_state["settings"]``), never hard-coded.
Stepping itself runs in the browser (nmt_core/figures/components/step.js; see
tests/test_browser.py): here the page must hand the component the whole trace,
once, and decode only for a forced token.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from nmt_core.checkpoint import load_checkpoint
from nmt_core.decoding import Translator
from nmt_core.text import EOS_ID
from nmt_core.views.step import force_options, forced_prefix, pieces_text
from nmt_core.views.step_data import step_payload, unpack_steps, word_index
from tests.apphelpers import ROOT, component_js
from tests.conftest import tiny_config
from tests.test_beam_page import NEEDS_NODE, run_in_node

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
    return app.switch_page("pages/step.py").run()


def page_trace(app, models_root, name: str = "tiny-luong", prefix=None):
    """What the page decoded, decoded again directly (same checkpoint, sentence, settings)."""
    translator = load_checkpoint(models_root / name).translator
    return translator.translate(app.session_state["sentence"], app.session_state["settings"], prefix=prefix)


def url(app, name: str):
    value = app.query_params.get(name)
    return value[0] if isinstance(value, list) else value


def component(app):
    """The Step component's element and its data, the trace: sent as JSON bytes
    ``{"view": ..., "payload": ...}``, merged here as the component's shared.js merges them, with the steps
    unpacked as step.js unpacks them."""
    (element,) = [e for e in app.main if e.type == "bidi_component"]
    message = json.loads(element.proto.bytes)
    return element.proto, {**message["payload"], **message["view"], "steps": unpack_steps(message["payload"])}


@pytest.fixture
def decode_calls(monkeypatch) -> list:
    """The forced prefix (or None) of every Translator.translate call from here on, the page's included."""
    calls = []
    original = Translator.translate

    def counting(self, text, settings=None, prefix=None):
        calls.append(prefix)
        return original(self, text, settings, prefix)

    monkeypatch.setattr(Translator, "translate", counting)
    return calls


def texts(app) -> list[str]:
    return [t.value for t in app.text]


def test_page_sends_the_whole_trace_once(models_root):
    app = step_app()
    assert not app.exception
    trace = page_trace(app, models_root)
    proto, data = component(app)
    assert proto.component_name == "attention_explorer.step" and not proto.isolate_styles
    assert data["step"] == 1 and url(app, "step") == "1"
    assert len(data["steps"]) == len(trace.steps)  # every step: the browser needs no second message
    assert data["source"] == trace.source_tokens
    for shown, step in zip(data["steps"], trace.steps, strict=True):
        assert shown["token"] == step.token and shown["token_id"] == step.token_id
        assert shown["attention"] == pytest.approx(step.attention, abs=1e-4)
        assert [c[0] for c in shown["candidates"]][: len(step.candidates)] == [c.token_id for c in step.candidates]
    assert data["has_attention"] and not data["show_adjusted"]
    assert len(proto.json) < 20_000  # kilobytes, not megabytes


def test_payload_is_compact_and_reads_back(translator):
    """Each piece once, numbers in ten-thousandths, only what the browser reads: a width-5 trace's steps come
    back whole (tokens, candidates and probabilities to 4 decimals, attention, forcible tokens, reasons)."""
    from nmt_core.decoding import DecodeSettings
    from nmt_core.views.step import why_chosen

    trace = translator.translate("alpha beta gamma delta epsilon", DecodeSettings(method="beam", beam_size=5))
    data = step_payload(trace)
    assert not {"pieces", "step", "classroom", "font_size", "force"} & set(data)  # the view's fields, laid over it
    assert len(json.dumps(data, separators=(",", ":"))) < 120 * sum(len(s.candidates) for s in trace.steps) + 2_000
    for t, (shown, step) in enumerate(zip(unpack_steps(data), trace.steps, strict=True), start=1):
        assert (shown["token_id"], shown["token"]) == (step.token_id, step.token)
        assert shown["why"] == why_chosen(trace, t).summary
        assert shown["attention"] == pytest.approx(step.attention, abs=5e-5)
        listed = shown["candidates"][: len(step.candidates)]
        assert [(c[0], c[1]) for c in listed] == [(c.token_id, c.token) for c in step.candidates]
        assert [c[2] for c in listed] == pytest.approx([c.prob for c in step.candidates], abs=5e-5)
        assert [c[3] for c in listed] == [c[2] for c in listed]  # beam search: the chooser's is the model's
        assert shown["forcible"] == [c.token_id for c in force_options(trace, t)]


@NEEDS_NODE
def test_the_browser_unpacks_the_steps_as_python_does(translator, tmp_path):
    """step.js's ``unpackSteps`` (run in Node) reads a payload as :func:`unpack_steps` does, sampling included."""
    from nmt_core.decoding import DecodeSettings

    for settings in (DecodeSettings(method="sample", temperature=0.7, seed=3), DecodeSettings(method="greedy")):
        data = step_payload(translator.translate("alpha beta gamma delta", settings))
        # the same doubles: both divide the same integers
        assert run_in_node("step.js", "unpackSteps", data, tmp_path) == unpack_steps(data)


def test_the_js_and_css_are_files_the_browser_fetches_once():
    """The element names its JS and CSS by URL (fetched once per page), instead of carrying ~20 kB of their text."""
    proto, _ = component(step_app())
    assert (proto.js_source_path, proto.css_source_path) == ("step.js", "step.css")
    assert not proto.js_content and not proto.css_content
    assert len(proto.SerializeToString()) < len(proto.bytes) + 1_000


def test_the_js_puts_text_in_the_page_only_as_text():
    js = component_js("step.js")
    for sink in (".innerHTML", ".outerHTML", "insertAdjacentHTML", "document.write", "createContextualFragment"):
        assert sink not in js, sink
    assert "textContent" in js


def test_payload_matches_the_stepping_helpers(translator):
    from nmt_core.decoding import DecodeSettings
    from nmt_core.views.step import why_chosen

    trace = translator.translate("alpha beta gamma", DecodeSettings(method="sample", temperature=0.7, seed=3))
    data = step_payload(trace)
    assert data["show_adjusted"]
    for t, shown in enumerate(unpack_steps(data), start=1):
        assert shown["why"] == why_chosen(trace, t).summary
        assert shown["token_id"] in [c[0] for c in shown["candidates"]]  # the token taken is always listed
        assert shown["forcible"] == [c.token_id for c in force_options(trace, t)]
    json.dumps(data)  # plain JSON
    assert word_index(["\u2581the", "\u2581ca", "t", "</s>"]) == [0, 1, 1, 2]


def test_url_step_reopens_that_step(models_root):
    app = step_app(step="3", method="greedy")
    assert not app.exception
    _, data = component(app)
    assert data["step"] == 3
    assert data["steps"][2]["why"].startswith("Greedy: the most likely token")


@pytest.mark.parametrize("step", ["0", "999", "abc", "-5"])
def test_a_bad_url_step_is_clamped(models_root, step):
    app = step_app(step=step)
    assert not app.exception
    n = len(page_trace(app, models_root).steps)
    assert 1 <= component(app)[1]["step"] <= n


def test_sampling_sends_both_probabilities(models_root):
    app = step_app(step="2", method="sample", temperature="0.7", seed="5")
    assert not app.exception
    trace = page_trace(app, models_root)
    _, data = component(app)
    assert data["show_adjusted"]
    step, shown = trace.steps[1], data["steps"][1]
    for (token_id, token, prob, adjusted), candidate in zip(shown["candidates"], step.candidates, strict=False):
        assert (token_id, token) == (candidate.token_id, candidate.token)
        assert prob == pytest.approx(candidate.prob, abs=1e-4)
        assert adjusted == pytest.approx(candidate.adjusted_prob, abs=1e-4)
    assert "temperature 0.7" in shown["why"]


def test_a_forced_link_shows_both_endings(models_root):
    app = step_app(step="1", method="greedy")
    trace = page_trace(app, models_root)
    alternative = next(c for c in force_options(trace, 1) if c.token_id != 3)
    assert alternative.token_id in component(app)[1]["steps"][0]["forcible"]
    linked = step_app(step="1", method="greedy", force=str(alternative.token_id))
    assert not linked.exception
    forced = page_trace(linked, models_root, prefix=forced_prefix(trace, 1, alternative.token_id))
    shown = texts(linked)
    assert trace.translation in shown and forced.translation in shown  # old ending beside the new one
    scores = [m.value for m in linked.get("metric")]
    assert scores == [f"{trace.score:.2f}", f"{forced.score:.2f}"]  # forced at step 1: no shared prefix
    tables = [d.value for d in linked.dataframe]
    assert list(tables[1]["token"]) == [s.token for s in forced.steps]
    assert component(linked)[1]["force"] == {"step": 1, "token_id": alternative.token_id}
    assert any("What if" in s.value for s in linked.get("subheader"))


def test_forcing_end_of_sentence_needs_no_decode(models_root, decode_calls):
    """Forcing </s> at a step ends the translation there: the page shows the prefix as the forced ending
    without a second decode. The step is the first one (before the model's own </s>) where </s> is a
    recorded alternative, found by decoding, not assumed."""
    calls = decode_calls
    app = step_app(method="greedy")
    trace = page_trace(app, models_root)
    steps = [t for t in range(1, len(trace.steps)) if EOS_ID in {c.token_id for c in force_options(trace, t)}]
    assert steps, "the tiny model records </s> among the alternatives at some step before its own </s>"
    t = steps[0]
    calls.clear()
    linked = step_app(method="greedy", step=str(t), force=str(EOS_ID))
    assert not linked.exception
    assert all(prefix is None for prefix in calls), "forcing </s> decodes nothing from a prefix"
    stopped = pieces_text([s.token for s in trace.steps[: t - 1]])
    shown = texts(linked)
    assert trace.translation in shown and (stopped or "(empty)") in shown
    assert component(linked)[1]["force"] == {"step": t, "token_id": EOS_ID}


def test_rerunning_decodes_nothing(models_root, decode_calls):
    calls = decode_calls
    app = step_app()
    assert calls, "the page decodes through Translator.translate, so the counter sees it"
    trace = page_trace(app, models_root)
    calls.clear()
    app.run()
    app.run()
    assert not app.exception and calls == []
    alternative = next(c for c in force_options(trace, 1) if c.token_id != EOS_ID)
    app.query_params["force"] = str(alternative.token_id)
    app.run()
    assert calls == [[alternative.token_id]]  # forcing decodes once, from the prefix
    app.run()
    assert len(calls) == 1  # the forced ending is cached too


def test_a_new_sentence_starts_again_at_step_1(models_root):
    app = step_app(step="3")
    assert component(app)[1]["step"] == 3
    app.sidebar.text_area[0].set_value("mu eta").run()
    assert not app.exception and url(app, "step") == "1" and component(app)[1]["step"] == 1


def test_classroom_mode_is_large(models_root):
    app = step_app(step="2", classroom="1")
    assert not app.exception
    _, data = component(app)
    assert data["classroom"] and data["font_size"] >= 22


def test_user_text_is_not_markup(models_root):
    app = step_app("<b>alpha</b> <script>x</script>")
    assert not app.exception
    assert not any("<script>" in m.value for m in app.markdown)
    _, data = component(app)
    assert any("<" in piece for piece in data["source"])  # sent as data, drawn with textContent


def test_empty_sentence_is_a_message(models_root):
    app = step_app("   ")
    assert not app.exception and "empty" in app.warning[0].value


@pytest.fixture(scope="module")
def no_attention_dir(tmp_path_factory, reverse_corpus):
    """A model with attention "none" (one quick epoch: only its shape matters here)."""
    from tests.conftest import trained

    return trained(tmp_path_factory, "tiny-none-1", tiny_config(reverse_corpus, Path("unused"), epochs=1,
                                                                model={"attention": "none"}))


def test_a_model_without_attention_says_so_and_shows_the_rest(models_root, no_attention_dir):
    shutil.copytree(no_attention_dir, models_root / "tiny-none")
    app = step_app(model="tiny-none", step="2", method="greedy")
    assert not app.exception
    assert any("no attention" in i.value for i in app.info)
    _, data = component(app)
    assert not data["has_attention"] and data["steps"][1]["attention"] is None
    trace = page_trace(app, models_root, name="tiny-none")
    assert [c[0] for c in data["steps"][1]["candidates"]][:3] == [c.token_id for c in trace.steps[1].candidates][:3]
