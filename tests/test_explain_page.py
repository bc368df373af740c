"""The Explain page in streamlit.testing's AppTest, on the tiny reverse-task model."""

from __future__ import annotations

from tests.apphelpers import run_page


def test_explain_page_shows_attribution_inside_attention_and_intervention(models_root):
    app = run_page("explain", text="alpha beta gamma delta", method="saliency", step="1",
                   word="0", mode="focus")
    assert not app.exception
    titles = [s.value for s in app.subheader]
    assert any("Inside attention at step 1" in t for t in titles)
    assert any("Intervention" in t for t in titles)
    # the intervention moved step 1's attention to "alpha": the reversing model now starts with it
    assert app.text[-1].value.startswith("alpha")
    assert app.text[-2].value == "delta gamma beta alpha"
    assert app.query_params["method"] in ("saliency", ["saliency"])


def test_explain_page_other_method_and_bad_url(models_root):
    app = run_page("explain", text="alpha beta", method="integrated-gradients", step="99",
                   word="-5", mode="nonsense")
    assert not app.exception
    app = run_page("explain", text="   ")
    assert not app.exception
