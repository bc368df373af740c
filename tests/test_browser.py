"""Real-browser smoke test: `streamlit run app.py` driven by Playwright in Debian's Chromium.

One server (session-scoped, tests/browserfixtures.py) serves the tiny test checkpoint under two names, so
Compare has two models. Every page is opened twice, at 1400x1000 and in classroom mode (``?classroom=1``) at
1280x720, each time once, with its 15-word link; each waits for its own content (translation text, plotly
figures, charts, tree), must show no Streamlit exception box, no error alert and no "Page not found" dialog,
and is saved as a screenshot: ``<page>.png`` and ``classroom-<page>.png`` in the folder named by
ATTENTION_EXPLORER_SCREENSHOTS (e.g. ``screenshots/``, git-ignored), else in pytest's tmp folder.
The folder's path is printed. The same load then gets the fit checks (:func:`check_fit`,
``<page>-15-words-<size>.png``), and at 1400x1000, on Translate, Compare and Explain, the words/pieces switch: one
tab and one page load per (page, size) (issue 17). The Explain page's test is here too (at the end), so that one
xdist worker runs every browser test (``--dist loadfile`` hands out whole files). Every test opens its tabs
in one shared browser context (tests/browserfixtures.py: ``tabs``), so Streamlit's JavaScript is fetched and compiled
once per test process, not once per page load.

Skipped where /usr/bin/chromium or playwright is missing (CI installs both; see .ci/run).
"""

import json
import os
import re
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse
from xml.etree import ElementTree

import pytest

from nmt_core.views.attention import word_groups, word_text
from nmt_core.views.probes import epoch_panel_payload
from tests.browserfixtures import (
    CHROMIUM,
    CLASSROOM_VIEWPORT,
    MODEL,
    NORMAL_VIEWPORT,
    REVERSED,
    SECOND_MODEL,
    SENTENCE,
    SERVED,
    TIMEOUT_MS,
    close_tabs,
    new_tab,
)

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt-get install)")]

CLASSROOM_MIN_FONT_PX = 20
VEGA = '[data-testid="stMain"] [data-testid="stVegaLiteChart"] :is(canvas, svg)'  # a drawn altair chart
# Text a page shows in its main area: in classroom mode all of it must be projector-sized.
MAIN_TEXT = ", ".join(f'[data-testid="stMain"] {kind}' for kind in (
    '[data-testid="stText"]', '[data-testid="stMarkdownContainer"] p', '[data-testid="stCaptionContainer"]',
    '[data-testid="stWidgetLabel"] p', '[data-testid="stMetricValue"]', '[data-testid="stMetricLabel"] p',
    # the browser-side components' own text
    '.ae-step :is(.ae-caption, .ae-sofar, .ae-cname, .ae-piece, .ae-why, .ae-label, .ae-chosen)',
    '.ae-beam :is(.ae-caption, .ae-label, .ae-h3, .ae-hypothesis, .ae-table td)',
    '.ae-heatmap :is(.ae-hm-toggle, .ae-hm-download, .ae-hm-readout, .ae-hm-rule)'))
FONT_SIZES_JS = """selector => [...document.querySelectorAll(selector)]
  .filter(e => e.offsetParent !== null && e.innerText.trim())
  .map(e => [e.innerText.trim().slice(0, 40), parseFloat(getComputedStyle(e).fontSize)])"""


def open_counting(tabs, server: str, path: str, viewport: dict, console: dict | None = None, **params):
    """A fresh session on ``/<path>`` that counts the websocket messages the page sends to the server (and, given a
    ``console`` record (:func:`new_console`), keeps what its console says from the first request on)."""
    page = new_tab(tabs, viewport)
    if console is not None:
        listen_to_console(page, console)
    sent = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(len(payload))))
    query = {"model": MODEL, "text": SENTENCE, **params}
    page.goto(f"{server}/{path}?{urlencode(query)}")
    return page, sent


def open_page(tabs, server: str, path: str, classroom: bool, console: dict | None = None, **params):
    """A fresh session (a new tab) on ``/<path>`` with the tiny model and sentence, at its size: (the tab, the
    sizes of the websocket messages it sends to the server), as :func:`open_counting`."""
    viewport = CLASSROOM_VIEWPORT if classroom else NORMAL_VIEWPORT
    return open_counting(tabs, server, path, viewport, console, classroom=int(classroom), **params)


def settle(page) -> None:
    """Wait until the app is idle: no run in progress, no faded (stale) element left from a rerun."""
    page.wait_for_function("""() => !document.querySelector('[data-testid="stStatusWidget"]')
        && !document.querySelector('[data-stale="true"]')""", timeout=TIMEOUT_MS)


# True once the boxes of ``selector``'s matches and of every element of the main area have kept still for
# ``frames`` animation frames in a row, the web fonts loaded (the state is kept on ``window`` between polls).
STEADY_JS = """([selector, frames]) => {
  const now = JSON.stringify([...document.querySelectorAll(
      `${selector}, [data-testid="stMain"] [data-testid="stElementContainer"]`)]
    .map(e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }));
  const state = window.__aeSteady || (window.__aeSteady = {same: 0, last: null});
  state.same = now === state.last ? state.same + 1 : 0;
  state.last = now;
  return state.same >= frames && document.fonts.status === "loaded";
}"""


def steady(page, selector: str, frames: int = 10) -> None:
    """Wait until the app is idle (:func:`settle`) and its layout has stopped moving: what the fit checks measure
    (``selector``) and the main area's elements keep their boxes for ``frames`` frames (a component lays itself
    out again when its fonts or its width arrive). It replaces a fixed half-second pause before each measure."""
    settle(page)
    page.evaluate("() => { delete window.__aeSteady; }")
    page.wait_for_function(STEADY_JS, arg=[selector, frames], polling="raf", timeout=TIMEOUT_MS)


def wait_visible(page, selector: str, count: int = 1) -> None:
    """Wait for ``count`` visible matches of ``selector`` (a figure is drawn once its svg/canvas exists)."""
    locator = page.locator(selector)
    for index in range(count):
        locator.nth(index).wait_for(state="visible", timeout=TIMEOUT_MS)


def plotly(key: str) -> str:
    """The drawn plotly figure of the element with widget key ``key``."""
    return f".st-key-{key} .js-plotly-plot .main-svg"


def heatmap(key: str) -> str:
    """The heatmap component (components/heatmap.js) mounted with key ``key``."""
    return f'.ae-heatmap[data-key="{key}"]'


def main_text(page, text: str):
    """st.text output in the main area (the sidebar's sentence box holds the same words)."""
    return page.locator('[data-testid="stMain"] [data-testid="stText"]', has_text=text).first


def url_param(page, name: str) -> str | None:
    return parse_qs(urlparse(page.url).query).get(name, [None])[0]


def wait_url_param(page, name: str, value) -> None:
    page.wait_for_function(f"new URLSearchParams(location.search).get({name!r}) === {str(value)!r}",
                           timeout=TIMEOUT_MS)


def expect_count(locator, count: int) -> None:
    expect(locator).to_have_count(count, timeout=TIMEOUT_MS)


def slider(page, container: str):
    """The range input of the st.slider inside ``container`` (Streamlit draws it with react-aria)."""
    return page.locator(f'{container} input[type="range"]')


def slider_value(page, container: str) -> int:
    return int(slider(page, container).input_value())


def shown_step(page, component: str) -> int:
    """The step a browser-side component (``.ae-step`` or ``.ae-beam``) shows."""
    return int(page.locator(component).get_attribute("data-step"))


def wait_step(page, component: str, step: int) -> None:
    page.wait_for_function(f"document.querySelector({component!r})?.dataset.step === {str(step)!r}",
                           timeout=TIMEOUT_MS)


def heatmap_mode(page) -> str:
    """The view Translate's heatmap component shows: "words" or "pieces"."""
    return page.locator(".ae-heatmap").get_attribute("data-mode")


def heatmap_rows(page):
    """The revealed rows of the Step component's heatmap."""
    return page.locator(".ae-step .ae-rowhead:not(.ae-hidden)")


# --- what each page must show (and, for some, what clicking must change) ---------------------------------------

# The pages open with the 15-word sentence (LONG_SENTENCE, below), "... lambda mu alpha beta gamma": the tiny
# model, trained on 2 to 7 words, reverses its last words ("gamma beta alpha mu lambda ...", each of those five
# at p > 0.9) and stops, so the translation shown starts with REVERSED, "gamma beta alpha", as the 3-word
# sentence's does. The checks below need no more of it than that.

def check_translate(page, classroom: bool) -> None:
    main_text(page, REVERSED).wait_for(timeout=TIMEOUT_MS)
    wait_visible(page, ".ae-heatmap .ae-hm-cell")  # the heatmap component, drawn
    # each token's probability beside its row, but on a projector (the essentials only)
    expect_count(page.locator(".ae-heatmap [data-ae=probability]"), 0 if classroom else int(
        page.locator(".ae-heatmap").get_attribute("data-rows")))
    page.locator(".ae-heatmap [data-ae=xlabel]", has_text="gamma").first.wait_for(timeout=TIMEOUT_MS)  # a source label
    # words first on a projector, pieces otherwise; the link says which
    assert heatmap_mode(page) == ("words" if classroom else "pieces")
    assert url_param(page, "words") == str(int(classroom))
    if not classroom:
        page.get_by_role("heading", name="Candidates").wait_for(timeout=TIMEOUT_MS)


def check_step(page, classroom: bool) -> None:
    wait_visible(page, ".ae-step [data-ae=strip] .ae-cell")
    wait_visible(page, ".ae-step [data-ae=candidates] .ae-cname")
    wait_step(page, ".ae-step", 1)
    wait_url_param(page, "step", 1)
    assert page.locator(".ae-step [data-ae=sofar]").inner_text().strip() == "gamma"  # the translation so far
    if classroom:
        return
    page.get_by_text("Attention heatmap, rows 1 to 1").wait_for(timeout=TIMEOUT_MS)
    expect_count(heatmap_rows(page), 1)
    for step in (2, 3):
        page.locator(".ae-step [data-ae=next]").click()
        wait_step(page, ".ae-step", step)
        wait_url_param(page, "step", step)  # shareable: the browser keeps ?step= itself
        page.get_by_text(f"Attention heatmap, rows 1 to {step}").wait_for(timeout=TIMEOUT_MS)
        assert page.locator(".ae-step [data-ae=slider]").input_value() == str(step)
        expect_count(heatmap_rows(page), step)  # one more row revealed
    assert page.locator(".ae-step [data-ae=sofar]").inner_text().strip() == "gamma beta alpha"


def check_beam(page, classroom: bool) -> None:
    main_text(page, REVERSED).wait_for(timeout=TIMEOUT_MS)
    wait_visible(page, ".ae-beam .ae-node")
    assert page.locator(".ae-beam .ae-node").count() > 3  # the tree's nodes (dead branches fold into +k)
    last = int(url_param(page, "step"))
    assert shown_step(page, ".ae-beam") == last
    page.get_by_role("heading", name=f"The beam after step {last}").wait_for(timeout=TIMEOUT_MS)
    if classroom:
        return
    ranks = page.locator(".ae-beam [data-ae=beam-table] tr td:first-child").all_inner_texts()
    assert ranks == [str(i) for i in range(1, len(ranks) + 1)]  # every row ranked, finished ones included
    page.locator(".ae-beam [data-ae=step]").focus()
    page.keyboard.press("ArrowLeft")
    wait_url_param(page, "step", last - 1)
    page.get_by_role("heading", name=f"The beam after step {last - 1}").wait_for(timeout=TIMEOUT_MS)


def check_sampling(page, classroom: bool) -> None:
    page.get_by_role("heading", name="Sampled translations").wait_for(timeout=TIMEOUT_MS)
    main_text(page, REVERSED).wait_for(timeout=TIMEOUT_MS)  # a sample (the tiny model is sure of itself)
    wait_visible(page, VEGA)  # temperature panels
    wait_visible(page, plotly("sampling_page_samples"))
    wait_visible(page, plotly("sampling_page_beam"))
    expect_count(page.get_by_role("button", name="Replay"), 8)  # seeds 0 to 7 (the sidebar is not sampling)


def check_compare(page, classroom: bool) -> None:
    for name in (MODEL, SECOND_MODEL):
        if classroom:  # each column named on one line ("tiny-luong · luong-general"), above its heatmap
            page.locator('[data-testid="stMain"] [data-testid="stMarkdownContainer"] strong').get_by_text(
                name, exact=True).wait_for(timeout=TIMEOUT_MS)
        else:
            page.get_by_role("heading", name=name, exact=True).wait_for(timeout=TIMEOUT_MS)
        wait_visible(page, f"{heatmap(f'compare_heatmap_{name}')} .ae-hm-cell")
        wait_visible(page, plotly(f"compare_alignment_{name}"))
    expect_count(page.locator('[data-testid="stMain"] [data-testid="stText"]', has_text=REVERSED), 2)
    if not classroom:
        wait_visible(page, plotly("compare_entropy"))
        wait_visible(page, f"{heatmap('compare_difference')} .ae-hm-cell")


def check_models(page, classroom: bool) -> None:
    page.get_by_role("heading", name=MODEL).first.wait_for(timeout=TIMEOUT_MS)
    metric = page.locator('[data-testid="stMetric"]', has_text="Parameters")
    metric.wait_for(timeout=TIMEOUT_MS)
    assert int(metric.locator('[data-testid="stMetricValue"]').inner_text().replace(",", "")) > 1000
    wait_visible(page, '[data-testid="stMain"] .katex')  # the attention score formula
    # Lazy tabs: the click runs the page for that tab alone, and Streamlit's binding writes it into the link.
    assert page.locator(plotly(f"models_projection_{MODEL}")).count() == 0
    page.get_by_role("tab", name="Embeddings").click()
    wait_visible(page, plotly(f"models_projection_{MODEL}"))
    wait_url_param(page, "tab", "Embeddings")


# Each mode evaluates its own batch, so each presses the buttons (results are shared by every session).
EVALUATE_BATCHES = {
    False: ["alpha beta gamma", "delta epsilon", "zeta eta theta iota"],
    True: ["kappa lambda mu alpha", "beta delta epsilon", "iota theta eta zeta"],
}


def check_evaluate(page, classroom: bool) -> None:
    lines = EVALUATE_BATCHES[classroom]
    box = page.locator(".st-key-evaluate_text textarea")
    box.fill("\n".join(f"{line}\t{' '.join(reversed(line.split()))}" for line in lines))
    box.press("Control+Enter")  # Streamlit commits a text area on Ctrl+Enter or blur
    page.get_by_role("button", name=f"Translate {len(lines)} sentences").click()
    sentences = page.locator('[data-testid="stMetric"]', has_text="Sentences")
    sentences.wait_for(timeout=TIMEOUT_MS)
    assert sentences.locator('[data-testid="stMetricValue"]').inner_text() == str(len(lines))
    scores = {name: float(page.locator('[data-testid="stMetric"]', has_text=name).first
                          .locator('[data-testid="stMetricValue"]').inner_text()) for name in ("BLEU", "chrF")}
    assert scores["chrF"] > 50, scores  # the tiny model reverses words well (BLEU can be 0 on 3 short lines)
    wait_visible(page, '[data-testid="stMain"] [data-testid="stDataFrame"]')
    page.get_by_role("button", name="Compute the curve").click()
    wait_visible(page, VEGA)  # BLEU by beam width


# page name (and screenshot name) -> (URL path, extra URL parameters, check); every link has the 15-word sentence
# and step 4 (LINK), which Step's own parameter replaces (its check steps from 1, then goes on to 4: FIT_STEP)
PAGES = {
    "translate": ("", {}, check_translate),
    "step": ("step", {"step": 1}, check_step),
    "beam": ("beam", {}, check_beam),
    "sampling": ("sampling", {}, check_sampling),
    "compare": ("compare", {"models": f"{MODEL},{SECOND_MODEL}"}, check_compare),
    "models": ("models", {}, check_models),
    "evaluate": ("evaluate", {}, check_evaluate),
}


@pytest.mark.parametrize("classroom", [False, True], ids=["normal", "classroom"])
@pytest.mark.parametrize("name", list(PAGES))
def test_page_in_a_real_browser(tabs, server, shots, tiny_checkpoint_dir, name, classroom):
    """Each page at 1400x1000 and in classroom mode at 1280x720, loaded once, from its 15-word link: the page's
    own checks (below), its screenshot, then (:func:`check_fit`, for the pages with a main figure) the fit
    checks on the same load. At 1400x1000, Translate, Step and Beam first check their URL path and a quiet
    console (:func:`check_path_and_console`), Translate and Compare last check their words/pieces switch
    (:data:`WORDS_SWITCH`), and Translate, very last, that user text is shown as text
    (:func:`check_user_text_is_shown_as_text`).

    One load for all: they were separate tests, then two loads in one tab (3 then 15 words); the words switches
    and the URL paths had a page load each, on a 3- or 4-word sentence (issue 17: page loads, the server's runs
    and Chromium drawing them, are most of these tests' time)."""
    path, params, check = PAGES[name]
    console = new_console() if name in TITLES and not classroom else None
    page, sent = open_page(tabs, server, path, classroom, console, **{**LINK, **params})
    try:
        # The page's title, or (in classroom mode the pages give their title's height to the figure) its first
        # heading or text.
        page.locator('[data-testid="stMain"] :is(h1, h2, h3, [data-testid="stText"])').first.wait_for(
            timeout=TIMEOUT_MS)
        if console is not None:  # this load is also this URL path's console check
            check_path_and_console(page, path, TITLES[name], console)
        check(page, classroom)
        settle(page)
        assert page.locator('[data-testid="stException"]').count() == 0
        assert page.locator('[data-testid="stAlertContentError"]').count() == 0
        assert page.get_by_text("Page not found").count() == 0
        assert urlparse(page.url).path == f"/{path}"  # still on the page asked for
        if classroom:
            texts = page.evaluate(FONT_SIZES_JS, MAIN_TEXT)
            assert len(texts) >= (2 if name == "translate" else 3), texts  # Translate: no title there
            small = [(text, size) for text, size in texts if size < CLASSROOM_MIN_FONT_PX]
            assert not small, f"text under {CLASSROOM_MIN_FONT_PX}px in classroom mode: {small}"
        page.mouse.move(0, 0)  # no hover toolbar over a figure in the picture
        page.screenshot(path=str(shots / f"{'classroom-' if classroom else ''}{name}.png"))
        if name in FIT_PAGES:
            if name in STEPPED:  # the check stepped: back to the link's step, in the browser (no server run)
                go_to_step(page, STEPPED[name], FIT_STEP)
            check_fit(page, shots, tiny_checkpoint_dir, name, CLASSROOM_VIEWPORT if classroom else NORMAL_VIEWPORT)
        if not classroom and name in WORDS_SWITCH:  # the same load: the words/pieces switch, in the browser
            WORDS_SWITCH[name](page, sent, shots)
        if name == "translate" and not classroom:  # last: it types another sentence
            check_user_text_is_shown_as_text(page)
    finally:
        close_tabs(page)


def check_user_text_is_shown_as_text(page) -> None:
    """User text is shown as text (``page``: Translate at 1400x1000, showing the tiny model's translation of the
    15-word sentence)."""
    main_text(page, REVERSED).wait_for(timeout=TIMEOUT_MS)
    # User text is shown as text: a <b> tag typed into the box must not become bold markup.
    box = page.get_by_label("Sentence")
    box.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("<b>alpha</b> beta")
    page.keyboard.press("Control+Enter")  # Streamlit commits a text area on Ctrl+Enter or blur
    page.wait_for_function("decodeURIComponent(location.search.replace(/\\+/g, ' ')).includes('<b>alpha')",
                           timeout=TIMEOUT_MS)  # the app reran with the new sentence
    page.wait_for_selector("text=Candidates", timeout=TIMEOUT_MS)
    settle(page)
    assert page.locator("b", has_text="alpha").count() == 0
    assert page.locator('[data-testid="stException"]').count() == 0


# --- issue 13: the browser steps, labels stay legible, classroom fits 1280x720 ---------------------------------

LONG_SENTENCE = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu alpha beta gamma"  # 15 words
TWENTY_WORDS = LONG_SENTENCE + " delta epsilon zeta eta theta"

BOXES_JS = """selector => [...document.querySelectorAll(selector)].filter(e => e.getClientRects().length).map(e => {
  const r = e.getBoundingClientRect();
  return {text: e.textContent, x: r.left, y: r.top, right: r.right, bottom: r.bottom,
          size: parseFloat(getComputedStyle(e).fontSize),
          // SVG text has no scroll box (Chrome reports a line box taller than its client box): it is
          // checked against the drawing's bounds instead (see the beam tree's test).
          clipped: !(e instanceof SVGElement)
            && (e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1)};
})"""


def boxes(page, selector: str) -> list[dict]:
    """Bounding boxes (page pixels) of the visible matches of ``selector``, with whether each clips its text."""
    return page.evaluate(BOXES_JS, selector)


def overlaps(items: list[dict], slack: float = 0.5) -> list[tuple[str, str]]:
    """Pairs of boxes that overlap by more than ``slack`` pixels both ways."""
    found = []
    ordered = sorted(items, key=lambda b: b["x"])
    for i, a in enumerate(ordered):
        for b in ordered[i + 1:]:
            if b["x"] >= a["right"] - slack:
                break
            if min(a["bottom"], b["bottom"]) - max(a["y"], b["y"]) > slack:
                found.append((a["text"], b["text"]))
    return found


def within_glyphs(box: dict, outer: dict) -> bool:
    """:func:`within` for SVG text: vertically its letters only (0.8 of its font size about its box's centre),
    since Chrome reports a line box taller than the letters (see :func:`crowded`)."""
    middle, half = (box["y"] + box["bottom"]) / 2, 0.4 * box["size"]
    return within({**box, "y": middle - half, "bottom": middle + half}, outer)


def crowded(columns: list[dict], share: float = 0.9) -> list[tuple[str, str]]:
    """Neighbouring upright (rotated -90) labels closer than ``share`` of their font size, centre to centre.

    Chrome gives rotated SVG text a box a line tall across (~1.3 x the font), wider than the glyphs: two
    such boxes may touch while their letters stand well apart, so upright labels are spaced by their centres."""
    ordered = sorted(columns, key=lambda b: b["x"] + b["right"])
    return [(a["text"], b["text"]) for a, b in zip(ordered, ordered[1:], strict=False)
            if (b["x"] + b["right"] - a["x"] - a["right"]) / 2 < share * max(a["size"], b["size"])]


def inside(box: dict, width: int, height: int) -> bool:
    return box["x"] >= -0.5 and box["y"] >= -0.5 and box["right"] <= width + 0.5 and box["bottom"] <= height + 0.5


def within(box: dict, outer: dict) -> bool:
    return (box["x"] >= outer["x"] - 0.5 and box["right"] <= outer["right"] + 0.5
            and box["y"] >= outer["y"] - 0.5 and box["bottom"] <= outer["bottom"] + 0.5)


@pytest.mark.slow
def test_step_through_steps_without_the_server(tabs, server, shots):
    page, sent = open_counting(tabs, server, "step", NORMAL_VIEWPORT, step=1, method="greedy")
    try:
        wait_visible(page, ".ae-step [data-ae=strip] .ae-cell")
        settle(page)
        page.wait_for_timeout(500)
        before = len(sent)
        nxt, back = page.locator(".ae-step [data-ae=next]"), page.locator(".ae-step [data-ae=back]")
        nxt.click()
        nxt.click()
        wait_step(page, ".ae-step", 3)
        back.click()
        wait_step(page, ".ae-step", 2)
        page.locator(".ae-step [data-ae=slider]").fill("3")
        wait_step(page, ".ae-step", 3)
        page.locator(".ae-step [data-ae=pieces]").check()  # pieces one toggle away, in the browser
        assert page.locator(".ae-step").get_attribute("data-mode") == "pieces"
        assert "\u2581" in page.locator(".ae-step [data-ae=strip]").inner_text()
        page.locator(".ae-step [data-ae=pieces]").uncheck()
        assert "\u2581" not in page.locator(".ae-step [data-ae=strip]").inner_text()  # words by default
        page.locator(".ae-step [data-ae=play]").click()  # play from step 3 runs to the end, one step a second
        page.wait_for_function("document.querySelector('.ae-step').dataset.step === "
                               "document.querySelector('.ae-step').dataset.steps", timeout=TIMEOUT_MS)
        page.wait_for_timeout(300)
        assert len(sent) == before, "stepping sent messages to the server"
        n = shown_step(page, ".ae-step")
        wait_url_param(page, "step", n)

        # A shared link reopens the same step.
        linked = page.context.new_page()
        linked.goto(page.url)
        wait_step(linked, ".ae-step", n)
        linked.close()

        # "What if?" is the one thing that asks the server: a forced token, both endings side by side.
        page.locator(".ae-step [data-ae=back]").click()
        wait_step(page, ".ae-step", n - 1)
        page.locator(".ae-step [data-ae=force]:not([hidden])").first.click()
        page.get_by_text("What if? Step").first.wait_for(timeout=TIMEOUT_MS)
        page.get_by_text("Forced ending").wait_for(timeout=TIMEOUT_MS)
        assert url_param(page, "force") is not None and url_param(page, "step") == str(n - 1)
        assert len(sent) > before
        settle(page)
        assert page.locator('[data-testid="stException"]').count() == 0
        page.mouse.move(0, 0)
        page.screenshot(path=str(shots / "step-what-if.png"), full_page=True)
        page.locator(".ae-step [data-ae=next]").click()  # another step: that step's "what if" is hidden
        expect(page.get_by_text("Forced ending")).to_be_hidden(timeout=TIMEOUT_MS)
    finally:
        close_tabs(page)


def label_texts(page, which: str) -> list[str]:
    return page.locator(f".ae-heatmap [data-ae={which}]").all_inner_texts()


def check_translate_words_switch(page, sent: list, shots) -> None:
    """Translate's heatmap component: words/pieces redraw in the browser (no message to the server, the running
    indicator never shows) and go into the link; the hover names the cell; PNG and SVG are drawn in the page.

    ``page``: Translate at 1400x1000 with the 15-word sentence, in pieces (the default there), its other checks
    done; ``sent``: the sizes of the websocket messages it has sent (:func:`open_page`)."""
    settle(page)
    assert heatmap_mode(page) == "pieces" and url_param(page, "words") == "0"
    pieces = label_texts(page, "xlabel")
    assert pieces[:4] == ["\u2581alpha", "\u2581beta", "\u2581gamma", "\u2581delta"], pieces
    page.evaluate("""() => { window.__aeRunning = false;
      new MutationObserver(() => { if (document.querySelector('[data-testid="stStatusWidget"]'))
        window.__aeRunning = true; }).observe(document.body, {childList: true, subtree: true}); }""")
    before = len(sent)
    switch = page.locator(".ae-heatmap [data-ae=words]")
    switch.check()
    assert heatmap_mode(page) == "words"
    assert label_texts(page, "xlabel")[:4] == ["alpha", "beta", "gamma", "delta"]
    assert "sum" in page.locator(".ae-heatmap [data-ae=rule]").inner_text()  # the merge rule, shown
    wait_url_param(page, "words", 1)  # shareable: the browser keeps ?words= itself
    page.locator(".ae-heatmap .ae-hm-cell").first.hover()
    readout = page.locator(".ae-heatmap [data-ae=readout]").inner_text()
    assert "\u2190 alpha" in readout and "attention: " in readout, readout  # target ← source, weight
    page.locator(".ae-heatmap [data-ae=probability]").first.hover()  # each row's probability, beside it
    readout = page.locator(".ae-heatmap [data-ae=readout]").inner_text()
    assert readout.startswith("p(") and "runner-up" in readout, readout
    expect_count(page.locator(".ae-heatmap [data-ae=probability]"), int(
        page.locator(".ae-heatmap").get_attribute("data-rows")))
    page.mouse.move(0, 0)
    switch.uncheck()
    assert heatmap_mode(page) == "pieces" and label_texts(page, "xlabel") == pieces
    wait_url_param(page, "words", 0)
    switch.check()
    page.wait_for_timeout(300)  # time for a message the switch might send (it must not)
    assert len(sent) == before, "the words/pieces switch sent messages to the server"
    assert page.evaluate("() => window.__aeRunning") is False, "the switch made the server run"

    # The image, drawn in the browser from the view shown (words now): PNG by default.
    with page.expect_download(timeout=TIMEOUT_MS) as info:
        page.locator(".ae-heatmap [data-ae=download]").click()
    download = info.value
    assert download.suggested_filename == f"attention-{MODEL}-words.png"
    png = Path(download.path()).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 2000
    assert len(sent) == before  # saving needs no server either

    # SVG, chosen with the page's radio (a server run), keeps the view the user switched to.
    page.get_by_text("SVG", exact=True).click()
    expect(page.locator(".ae-heatmap [data-ae=download]")).to_have_text("Download SVG", timeout=TIMEOUT_MS)
    settle(page)
    assert heatmap_mode(page) == "words"
    with page.expect_download(timeout=TIMEOUT_MS) as info:
        page.locator(".ae-heatmap [data-ae=download]").click()
    assert info.value.suggested_filename == f"attention-{MODEL}-words.svg"
    svg = ElementTree.fromstring(Path(info.value.path()).read_bytes())  # well-formed XML
    texts = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    for word in ("alpha", "beta", "gamma", "delta", "</s>", "source", "translation", "attention"):
        assert word in texts, (word, texts)
    rows, columns = int(page.locator(".ae-heatmap").get_attribute("data-rows")), len(LONG_SENTENCE.split()) + 1
    cells = [r for r in svg.iter("{http://www.w3.org/2000/svg}rect") if r.get("fill", "").startswith("rgb(")]
    assert len(cells) == rows * columns  # one per cell, a column per word and </s> (the background is white,
    # the scale a gradient)

    # The link, with ?words=1, reopens the words view.
    linked = page.context.new_page()
    linked.goto(page.url)
    wait_visible(linked, ".ae-heatmap .ae-hm-cell")
    assert heatmap_mode(linked) == "words"
    linked.close()
    page.mouse.move(0, 0)
    page.screenshot(path=str(shots / "translate-words.png"))


def check_compare_words_switch(page, sent: list, shots) -> None:
    """Compare's heatmaps (a column per model and the difference) follow the first column's switch together, with
    no message to the server; their rows stay side by side; the link keeps ?words=.

    ``page``: Compare at 1400x1000 with the 15-word sentence through both models, in pieces (the default there),
    its other checks done; ``sent``: the sizes of the websocket messages it has sent (:func:`open_page`)."""
    keys = [f"compare_heatmap_{MODEL}", f"compare_heatmap_{SECOND_MODEL}", "compare_difference"]
    expect_count(page.locator('[data-testid="stMain"] [data-testid="stText"]', has_text=REVERSED), 2)  # both decoded
    for key in keys:
        wait_visible(page, f"{heatmap(key)} .ae-hm-cell")
    settle(page)
    assert [page.locator(heatmap(k)).get_attribute("data-mode") for k in keys] == ["pieces"] * 3
    switches = page.locator(".ae-heatmap [data-ae=words]:visible")
    expect_count(switches, 1)  # one switch, in the first column
    before = len(sent)
    page.locator(f"{heatmap(keys[0])} [data-ae=words]").check()
    for key in keys:
        page.wait_for_function(f"document.querySelector({heatmap(key)!r}).dataset.mode === 'words'",
                               timeout=TIMEOUT_MS)
        labels = page.locator(f"{heatmap(key)} [data-ae=xlabel]").all_inner_texts()
        assert labels[:4] == ["alpha", "beta", "gamma", "delta"], (key, labels)
    wait_url_param(page, "words", 1)
    tops = first_rows(page, keys[:2])
    assert max(tops) - min(tops) < 1, tops  # still row for row
    page.locator(f"{heatmap(keys[1])} .ae-hm-cell").first.hover()
    readout = page.locator(f"{heatmap(keys[1])} [data-ae=readout]").inner_text()
    assert "\u2190 alpha" in readout and "attention: " in readout, readout
    page.locator(f"{heatmap('compare_difference')} .ae-hm-cell").first.hover()
    assert "A \u2212 B: " in page.locator(f"{heatmap('compare_difference')} [data-ae=readout]").inner_text()
    page.mouse.move(0, 0)
    page.screenshot(path=str(shots / "compare-words.png"), full_page=True)
    page.locator(f"{heatmap(keys[0])} [data-ae=words]").uncheck()
    page.wait_for_function(f"document.querySelector({heatmap(keys[2])!r}).dataset.mode === 'pieces'",
                           timeout=TIMEOUT_MS)
    wait_url_param(page, "words", 0)
    page.wait_for_timeout(300)  # time for a message the switch might send (it must not)
    assert len(sent) == before, "the words/pieces switch sent messages to the server"
    with page.expect_download(timeout=TIMEOUT_MS) as info:  # each column saves its own image
        page.locator(f"{heatmap(keys[1])} [data-ae=download]").click()
    assert info.value.suggested_filename == f"attention-{SECOND_MODEL}.png"


# The pages whose words/pieces switch is checked on their 1400x1000 load (test_page_in_a_real_browser).
WORDS_SWITCH = {"translate": check_translate_words_switch, "compare": check_compare_words_switch}


@pytest.mark.slow
def test_beam_tree_labels_never_overlap_and_the_tree_steps_in_the_browser(tabs, server, shots):
    page, sent = open_counting(tabs, server, "beam", NORMAL_VIEWPORT, text=TWENTY_WORDS, beam=16)
    try:
        wait_visible(page, ".ae-beam .ae-node")
        settle(page)
        page.wait_for_timeout(500)
        labels = boxes(page, ".ae-beam .ae-tlabel")
        assert len(labels) > 20
        assert not overlaps(labels), overlaps(labels)[:5]
        # Beam 16 on 20 words: the edges are drawn, and the best path runs from the start to the translation
        # (an orange line through one point per step), which is the one red diamond.
        assert page.locator(".ae-beam .ae-node path[fill='#d62728']").count() == 1  # the translation
        edges = page.evaluate("""() => [...document.querySelectorAll('.ae-beam .ae-tree > g > path[fill=none]')]
          .map(p => [p.getAttribute('stroke'), (p.getAttribute('d') || '').split('L').length - 1])""")
        drawn = dict(edges)
        assert drawn["#8aa9c8"] > 20 and drawn["#dddddd"] > 0, edges  # kept and pruned edges
        assert drawn["#ff7f0e"] >= 3, edges  # the best path: one segment per step, start to </s>
        path_box = page.locator(".ae-beam .ae-tree > g > path[stroke='#ff7f0e']").bounding_box()
        assert path_box["width"] > 100 and path_box["height"] >= 0
        # Zoom for detail: "+" scales the tree up, "1:1" back.
        page.locator(".ae-beam .ae-button", has_text="+").click()
        assert "scale(1.25)" in page.locator(".ae-beam .ae-tree > g").get_attribute("transform")
        page.locator(".ae-beam .ae-button", has_text="1:1").click()
        assert "scale(1)" in page.locator(".ae-beam .ae-tree > g").get_attribute("transform")
        before = len(sent)
        last = shown_step(page, ".ae-beam")
        page.locator(".ae-beam [data-ae=back]").click()
        wait_step(page, ".ae-beam", last - 1)
        wait_url_param(page, "step", last - 1)
        markers = page.locator(".ae-beam .ae-marker")
        count = page.locator(".ae-beam .ae-node").count()
        markers.first.click()  # a folded branch opens
        page.wait_for_function(f"document.querySelectorAll('.ae-beam .ae-node').length > {count}",
                               timeout=TIMEOUT_MS)
        labels = boxes(page, ".ae-beam .ae-tlabel")
        assert not overlaps(labels), overlaps(labels)[:5]
        page.locator(".ae-beam .ae-node").nth(3).click()  # node selection
        page.locator(".ae-beam [data-ae=pruned]").uncheck()  # pruned branches off
        page.locator(".ae-beam [data-ae=pieces]").check()
        page.wait_for_timeout(300)
        assert len(sent) == before, "the tree's step, node, folding and toggles sent messages to the server"
        node = url_param(page, "node")
        assert node == page.locator(".ae-beam").get_attribute("data-node")
        page.mouse.move(0, 0)
        page.screenshot(path=str(shots / "beam-16.png"))
    finally:
        close_tabs(page)


# Widget labels and markdown lines that a narrow column would cut with an ellipsis ("Words instea…"):
# Streamlit sets text-overflow on the label's markdown container.
CUT_TEXT = ('[data-testid="stMain"] [data-testid="stWidgetLabel"] [data-testid="stMarkdownContainer"], '
            '[data-testid="stMain"] [data-testid="stText"]')
FIT_STEP = 4  # the step the fit checks see (the pages that show one step)
LINK = {"text": LONG_SENTENCE, "step": FIT_STEP}  # every page's link (test_page_in_a_real_browser)
STEPPED = {"step": ".ae-step", "beam": ".ae-beam"}  # the pages whose check steps in the browser: their component
# Scrolled back to the top, as the link opened it (a check may have scrolled a figure into view).
SCROLL_TOP_JS = """() => { window.scrollTo(0, 0);
  for (const e of document.querySelectorAll('[data-testid="stAppViewContainer"], [data-testid="stMain"]'))
    e.scrollTop = 0; }"""


def go_to_step(page, component: str, step: int) -> None:
    """Step the browser-side ``component`` (``.ae-step`` or ``.ae-beam``) to ``step`` with its buttons."""
    for _ in range(50):
        shown = shown_step(page, component)
        if shown == step:
            break
        page.locator(f"{component} [data-ae={'next' if shown < step else 'back'}]").click()
        wait_step(page, component, shown + (1 if shown < step else -1))
    assert shown_step(page, component) == step
    wait_url_param(page, "step", step)


def translation_rows(page, eos: bool) -> int:
    """Rows of a words heatmap of the tiny model's translation (shown as text, or as "Translation: ..."):
    its words, and </s> when the heatmap has a row for it (``eos``)."""
    shown = page.locator('[data-testid="stMain"] :is([data-testid="stText"], [data-testid="stMarkdownContainer"] p)',
                         has_text="gamma beta alpha").first
    return len(shown.inner_text().removeprefix("Translation:").split()) + int(eos)


def fit_heatmaps(page, keys: list[str], classroom: bool, eos: bool) -> tuple[list[dict], list[dict]]:
    """The heatmap components side by side (their boxes) and their labels, checked: every row and column
    labelled (none dropped) and, in classroom mode, in words, every source word and </s>; no label on another,
    none cut, none outside its grid, no grid scrolled sideways."""
    for key in keys:
        wait_visible(page, f"{heatmap(key)} [data-ae=ylabel]")
    steady(page, ", ".join(f"{heatmap(key)} :is([data-ae=ylabel], [data-ae=xlabel])" for key in keys))
    figures, labels = [], []
    for key in keys:
        main = heatmap(key)
        rows, columns = boxes(page, f"{main} [data-ae=ylabel]"), boxes(page, f"{main} [data-ae=xlabel]")
        assert rows and not overlaps(rows), (key, overlaps(rows)[:5])
        assert not overlaps(columns), (key, overlaps(columns)[:5])
        shown = page.locator(main)
        assert len(rows) == int(shown.get_attribute("data-rows")), (key, [b["text"] for b in rows])
        assert len(columns) == int(shown.get_attribute("data-columns")), (key, [b["text"] for b in columns])
        if classroom:  # words on a projector: the 15 words and </s>, one label each; a row per target word
            assert len(columns) == 16, (key, [b["text"] for b in columns])
            assert len(rows) == translation_rows(page, eos), (key, [b["text"] for b in rows])
            assert not any("\u2581" in b["text"] for b in rows + columns), key
        (grid,) = boxes(page, f"{main} [data-ae=heatmap]")
        outside = [b["text"] for b in rows + columns if not within(b, grid)]
        assert not outside, (key, outside)
        assert page.evaluate("s => { const g = document.querySelector(s); return g.scrollWidth <= g.clientWidth + 1; }",
                             f"{main} [data-ae=heatmap]"), key  # nothing scrolled out of view
        clipped = [b["text"] for b in rows + columns if b["clipped"]]
        assert not clipped, (key, clipped)
        (figure,) = boxes(page, main)
        figures.append(figure)
        labels += rows + columns
    return figures, labels


def first_rows(page, keys: list[str]) -> list[float]:
    """The top of each heatmap's first row label (side by side, they line up)."""
    return [boxes(page, f"{heatmap(key)} [data-ae=ylabel]")[0]["y"] for key in keys]


def measure_compare(page, classroom: bool, **_) -> list[dict]:
    keys = [f"compare_heatmap_{name}" for name in (MODEL, SECOND_MODEL)]
    figures, _ = fit_heatmaps(page, keys, classroom, eos=False)  # a row per emitted token but </s>
    tops = first_rows(page, keys)
    assert max(tops) - min(tops) < 1, tops  # side by side, row for row
    return figures


def measure_explain(page, classroom: bool, **_) -> list[dict]:
    # a row per decoding step, the one that emitted </s> included
    keys = ["explain_attention", "explain_attribution"]
    figures, _ = fit_heatmaps(page, keys, classroom, eos=True)
    tops = first_rows(page, keys)
    assert max(tops) - min(tops) < 1, tops
    return figures


def measure_models(page, classroom: bool, probe: dict, **_) -> list[dict]:
    """The probe heatmap (epoch 1, first probe), once its tab is open (a click, no scrolling)."""
    page.get_by_role("tab", name="Attention as it formed").click()
    key = f"models_probe_heatmap_{MODEL}"
    wait_visible(page, f"{heatmap(key)} [data-ae=ylabel]")
    steady(page, f"{heatmap(key)} :is([data-ae=ylabel], [data-ae=xlabel])")
    (figure,) = boxes(page, heatmap(key))
    rows, columns = boxes(page, f"{heatmap(key)} [data-ae=ylabel]"), boxes(page, f"{heatmap(key)} [data-ae=xlabel]")
    assert len(rows) == len(probe["target_tokens"]) and len(columns) == len(probe["source_tokens"]), (rows, columns)
    assert not overlaps(rows) and not overlaps(columns), (overlaps(rows), overlaps(columns))
    (grid,) = boxes(page, f"{heatmap(key)} [data-ae=heatmap]")
    assert all(within(b, grid) for b in rows + columns)
    assert not [b["text"] for b in rows + columns if b["clipped"]]
    assert classroom == (not any("\u2581" in b["text"] for b in columns))  # words on a projector, else pieces
    return [figure]


def measure_sampling(page, classroom: bool, **_) -> list[dict]:
    """The temperature panels (altair, drawn as SVG): every token label there, whole, inside the chart."""
    chart = '[data-testid="stMain"] [data-testid="stVegaLiteChart"]'
    wait_visible(page, f"{chart} svg text")
    steady(page, f"{chart} svg text")
    (figure,) = boxes(page, chart)[:1]
    texts = boxes(page, f"{chart} svg text")
    tokens = [b for b in texts if b["text"][:1].isdigit() and ". " in b["text"] or b["text"] == "(all other tokens)"]
    assert len(tokens) == 9, [b["text"] for b in texts]  # the eight likeliest tokens and all the others
    assert not overlaps(tokens), overlaps(tokens)
    assert not any(b["text"].endswith("…") for b in texts), texts  # Vega cuts a long label with an ellipsis
    assert all(within_glyphs(b, figure) for b in texts), [b["text"] for b in texts if not within_glyphs(b, figure)]
    assert classroom == (not any("\u2581" in b["text"] for b in tokens))  # words on a projector, else pieces
    return [figure]


# The labels check_fit measures itself, per page (the others measure theirs in MEASURE).
FIT_LABELS = {"translate": ".ae-heatmap :is([data-ae=ylabel], [data-ae=xlabel], [data-ae=xtitle], [data-ae=ytitle])",
              "step": ".ae-step :is(.ae-piece, .ae-cname, .ae-colhead, .ae-rowhead)",
              "beam": ".ae-beam :is(.ae-tlabel, .ae-tree)"}
MEASURE = {"compare": measure_compare, "explain": measure_explain, "models": measure_models,
           "sampling": measure_sampling}


FIT_PAGES = ["translate", "step", "beam", "compare", "sampling", "models", "explain"]


def check_fit(page, shots, tiny_checkpoint_dir, path: str, viewport: dict) -> None:
    """Each page's main figure for a 15-word sentence: whole on a 1280x720 projector without scrolling
    (classroom mode), every tick label drawn (none dropped), none on another, none cut; words by default
    there. Compare: both heatmaps, row for row; Sampling: the temperature panels; Models: the probe heatmap
    (its tab opened); Explain: attention and attribution side by side.

    ``page``: a tab of ``viewport``'s size showing ``/<path>``, opened with its 15-word link (in classroom mode at
    1280x720) and, on Step and Beam, at step FIT_STEP; its own checks done, it is checked scrolled to the top."""
    classroom = viewport == CLASSROOM_VIEWPORT
    assert page.viewport_size == viewport
    assert urlparse(page.url).path == f"/{PAGES[path][0] if path in PAGES else path}"  # Translate's is "/"
    assert url_param(page, "text") == LONG_SENTENCE
    assert url_param(page, "classroom") == str(int(classroom))
    if path in STEPPED:
        assert shown_step(page, STEPPED[path]) == FIT_STEP and url_param(page, "step") == str(FIT_STEP)
    page.evaluate(SCROLL_TOP_JS)
    figures = None
    if path in MEASURE:
        probes = json.loads((tiny_checkpoint_dir / "probes.json").read_text(encoding="utf-8"))
        figures = MEASURE[path](page, classroom, probe=probes["epochs"][0]["traces"][0])
        labels = []  # SVG text, checked above (Chrome misreports its height for the clipping check)
    elif path == "translate":
        wait_visible(page, ".ae-heatmap [data-ae=ylabel]")
    else:
        component = ".ae-step" if path == "step" else ".ae-beam"
        wait_visible(page, f"{component} {'.ae-cell' if path == 'step' else '.ae-node'}")
    if figures is None:  # what the checks below measure, once it keeps still
        steady(page, FIT_LABELS[path])
    if path == "translate":
        main = ".ae-heatmap"
        rows, columns = boxes(page, f"{main} [data-ae=ylabel]"), boxes(page, f"{main} [data-ae=xlabel]")
        titles = boxes(page, f"{main} :is([data-ae=xtitle], [data-ae=ytitle])")
        labels = rows + columns + titles  # HTML text: checked for clipping below
        assert rows and not overlaps(rows), overlaps(rows)[:5]  # rows labelled, none on another
        assert not overlaps(columns), overlaps(columns)[:5]
        assert [b["text"] for b in titles] == ["source", "translation"]
        shown = page.locator(main)
        # none dropped: a label for every row and column the component drew
        assert len(rows) == int(shown.get_attribute("data-rows")), [b["text"] for b in rows]
        assert len(columns) == int(shown.get_attribute("data-columns")), [b["text"] for b in columns]
        if classroom:  # words by default on a projector: every source word and </s> has its label
            assert len(columns) == 16, [b["text"] for b in columns]
            assert len(rows) == translation_rows(page, eos=False), [b["text"] for b in rows]
            assert not any("\u2581" in b["text"] for b in rows + columns)
        (grid,) = boxes(page, f"{main} [data-ae=heatmap]")
        outside = [b["text"] for b in rows + columns if not within(b, grid)]
        assert not outside, outside  # none cut off by the grid's edge ...
        assert page.evaluate("s => { const g = document.querySelector(s); return g.scrollWidth <= g.clientWidth + 1; }",
                             f"{main} [data-ae=heatmap]")  # ... nor scrolled out of view
    elif path == "step":
        main = ".ae-step" if classroom else ".ae-step [data-ae=strip]"
        labels = boxes(page, ".ae-step .ae-piece, .ae-step .ae-cname, .ae-step .ae-colhead, .ae-step .ae-rowhead")
        assert len(boxes(page, ".ae-step .ae-piece")) == 16  # every source word and </s>: none dropped
        assert not overlaps(boxes(page, ".ae-step .ae-colhead"))
    elif path == "beam":
        main = ".ae-beam .ae-viewport"
        labels = boxes(page, ".ae-beam .ae-tlabel")
        assert not overlaps(labels)
        (tree,) = boxes(page, ".ae-beam .ae-tree")  # every label inside the drawing (pan to reach it)
        outside = [b["text"] for b in labels if not within(b, tree)]
        assert not outside, outside
    if figures is None:
        (figure, *_) = boxes(page, main)
        figures = [figure]
    if path in MEASURE:  # no widget label or text line of the page cut short ("Words instea…")
        labels = boxes(page, CUT_TEXT)
    page.mouse.move(0, 0)
    size = f"{viewport['width']}x{viewport['height']}"
    page.screenshot(path=str(shots / f"{'classroom-' if classroom else ''}{path}-15-words-{size}.png"))
    if classroom:  # the main figure on one projector screen, without scrolling
        for figure in figures:
            assert inside(figure, viewport["width"], viewport["height"]), figure
    clipped = [b["text"] for b in labels if b["clipped"]]
    assert not clipped, clipped
    if path == "step":
        assert all(inside(b, viewport["width"], 10**6) for b in labels)  # nothing cut at the right edge


# The pages whose URL path's own load is checked for a quiet console (:func:`check_path_and_console`): their title.
# Translate, Step and Beam at 1400x1000 are checked on test_page_in_a_real_browser's loads, /translate (Translate's
# other path) by test_every_url_path_opens_its_page_and_the_console_is_quiet.
TITLES = {"translate": "Translate", "step": "Step through", "beam": "Beam search"}


def new_console() -> dict:
    """What a tab's console says (:func:`listen_to_console`): errors (and uncaught exceptions), warnings, and the
    addresses that answered 404."""
    return {"errors": [], "warnings": [], "missing": []}


def listen_to_console(page, console: dict) -> None:
    page.on("console", lambda message: console["errors" if message.type == "error" else "warnings"].append(
        message.text) if message.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: console["errors"].append(f"uncaught: {error}"))
    page.on("response", lambda response: console["missing"].append(response.url) if response.status == 404 else None)


def check_path_and_console(page, path: str, heading: str, console: dict) -> None:
    """A fresh session opened on ``/<path>`` (``console``: what it said from its first request, :func:`new_console`)
    shows its page, by its ``heading``, and stays there; its console logs no error and it throws nothing; no Deploy
    button (issue 13).

    One known exception, Streamlit's own (streamlit/streamlit#7074, open): a link straight to a page,
    ``/step``, first probes ``/step/_stcore/health`` and ``/step/_stcore/host-config``, which answer 404,
    before the real ``/_stcore/...``. Those two 404s, and only those, are allowed on a deep link."""
    page.get_by_role("heading", name=heading, level=1).wait_for(timeout=TIMEOUT_MS)
    settle(page)
    assert page.get_by_text("Page not found").count() == 0
    assert urlparse(page.url).path == f"/{path}"
    assert page.get_by_role("button", name="Deploy").count() == 0  # client.toolbarMode = "viewer"
    page.wait_for_timeout(300)  # time for a late console message
    probes, errors = console["missing"], console["errors"]
    known = [url for url in probes if path and urlparse(url).path in
             (f"/{path}/_stcore/health", f"/{path}/_stcore/host-config")]
    assert len(known) == len(probes), probes  # no other missing resource
    left = list(errors)
    for _ in known:
        left.remove(next(e for e in left if "status of 404" in e))
    assert not left, (path, left)
    if not path:
        assert not errors, errors  # the app's own start-up: not one console error
    if console["warnings"]:
        print("console warnings:", path, console["warnings"])


@pytest.mark.slow
def test_every_url_path_opens_its_page_and_the_console_is_quiet(tabs, server):
    """Each URL path opens its page and the console stays quiet (:func:`check_path_and_console`): ``/translate``
    here; ``/``, ``/step`` and ``/beam`` (:data:`TITLES`) on their 1400x1000 loads in test_page_in_a_real_browser
    (issue 17: a page load fewer each)."""
    assert {PAGES[name][0] for name in TITLES} == {"", "step", "beam"}
    console = new_console()
    page, _ = open_counting(tabs, server, "translate", NORMAL_VIEWPORT, console)
    try:
        check_path_and_console(page, "translate", "Translate", console)
    finally:
        close_tabs(page)


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2 if hasattr(os, "sched_getaffinity") else True,
                    reason="needs Linux and two usable cores")
def test_the_server_keeps_its_threads_on_one_core(tabs, server):
    """`streamlit run app.py` pins every thread it has, the sessions' script threads included (pages/lib/cores.py)."""
    allowed = set()
    for task in Path(f"/proc/{SERVED['pid']}/task").iterdir():
        try:
            status = (task / "status").read_text()
        except OSError:  # a script thread that has just ended
            continue
        allowed |= {line.split(":")[1].strip() for line in status.splitlines() if line.startswith("Cpus_allowed_list")}
    assert len(allowed) == 1 and allowed.pop().isdigit(), allowed


# --- the Explain page (/explain) ----------------------------------------------------------------------------------
# Here, not in a file of its own: pytest-xdist (--dist loadfile) hands out whole files, and a second browser file
# could go to the other worker, which then starts a second server and Chromium for it (~15 s idle, issue 17).

def after_text(page) -> str:
    """The intervention's new translation: the last st.text of the main area (the "After" column)."""
    return page.locator('[data-testid="stMain"] [data-testid="stText"]').last.inner_text().strip()


def choose(page, label: str, option: str) -> None:
    """Pick ``option`` in the st.selectbox labelled ``label``, one of them if the list has it more than once (its
    list can miss a click made during a rerun: open it again until the option shows)."""
    box = page.locator('[data-testid="stSelectbox"]', has_text=label)
    box.scroll_into_view_if_needed()
    wanted = page.get_by_role("option", name=option, exact=True).first
    for _ in range(5):
        settle(page)
        box.locator('[role="combobox"], input').first.click()
        try:
            wanted.wait_for(timeout=5_000)
            break
        except sync_api.TimeoutError:
            page.keyboard.press("Escape")
    wanted.click()


def check_explain_words_switch(page, sent: list, shots) -> None:
    """The attention heatmap's switch turns both heatmaps (and the attribution's correlations) to words and back
    with no message to the server; the link keeps ?words=.

    ``page``: Explain at 1400x1000 with the 15-word sentence and saliency, in pieces (the default there), both
    heatmaps drawn; ``sent``: the sizes of the websocket messages it has sent (:func:`open_page`)."""
    keys = ("explain_attention", "explain_attribution")
    settle(page)
    assert [page.locator(heatmap(k)).get_attribute("data-mode") for k in keys] == ["pieces", "pieces"]
    notes = page.locator(f"{heatmap('explain_attribution')} .ae-hm-note").all_inner_texts()
    assert len(notes) == int(page.locator(heatmap("explain_attribution")).get_attribute("data-rows"))
    before = len(sent)
    assert page.locator(f"{heatmap('explain_attribution')} [data-ae=words]").is_hidden()  # one switch for both
    switch = page.locator(f"{heatmap('explain_attention')} [data-ae=words]")
    switch.check()
    for key in keys:
        page.wait_for_function(f"document.querySelector({heatmap(key)!r}).dataset.mode === 'words'",
                               timeout=TIMEOUT_MS)
        labels = page.locator(f"{heatmap(key)} [data-ae=xlabel]").all_inner_texts()
        assert labels[:4] == ["alpha", "beta", "gamma", "delta"], (key, labels)
    page.wait_for_function("new URLSearchParams(location.search).get('words') === '1'", timeout=TIMEOUT_MS)
    page.locator(f"{heatmap('explain_attribution')} .ae-hm-cell").first.hover()
    readout = page.locator(f"{heatmap('explain_attribution')} [data-ae=readout]").inner_text()
    assert "\u2190 alpha" in readout and "|score|: " in readout, readout
    page.mouse.move(0, 0)
    page.screenshot(path=str(shots / "explain-words.png"))
    switch.uncheck()
    page.wait_for_function(f"document.querySelector({heatmap(keys[1])!r}).dataset.mode === 'pieces'",
                           timeout=TIMEOUT_MS)
    wait_url_param(page, "words", 0)
    page.wait_for_timeout(300)  # time for a message the switch might send (it must not)
    assert len(sent) == before, "the words/pieces switch sent messages to the server"


@pytest.mark.parametrize("classroom", [False, True], ids=["normal", "classroom"])
def test_explain_page_in_a_real_browser(tabs, server, shots, tiny_checkpoint_dir, classroom):
    """The Explain page, opened once per size with the 15-word sentence: both heatmaps (attention and attribution)
    drawn, the intervention's new continuation beside the old one, no exception or error; at 1400x1000 the words
    switch (:func:`check_explain_words_switch`) and a change of source word (kept in the URL); then, on the same
    load, the fit checks (:func:`check_fit`: attention and attribution side by side, labels, the projector).
    Screenshots: ``explain.png`` (the heatmaps), ``explain-words.png``, ``explain-intervention.png`` and
    ``classroom-explain.png``, and the fit checks' ``explain-15-words-*.png``.

    The sentence ends "alpha beta gamma" and the tiny model's translation starts "gamma beta alpha": all attention
    on a source word at step 1 makes it emit that word; "beta" is there twice (words 1 and 13): either."""
    page, sent = open_page(tabs, server, "explain", classroom, text=LONG_SENTENCE, step=1, word=0, mode="focus",
                           attribution="saliency")
    viewport = page.viewport_size
    assert viewport == (CLASSROOM_VIEWPORT if classroom else NORMAL_VIEWPORT)
    try:
        if classroom:  # no title on a projector (its height goes to the heatmaps): the translation comes first
            page.locator('[data-testid="stMain"] strong', has_text="Translation:").wait_for(timeout=TIMEOUT_MS)
        else:
            page.get_by_role("heading", name="Explain", level=1).wait_for(timeout=TIMEOUT_MS)
        # the whole page first (attribution and the intervention take the longest): a figure is hidden while
        # a rerun redraws it, and a shared CI machine can take more than TIMEOUT_MS for all of it
        page.get_by_role("heading", name="Intervention: does the output follow the attention?").wait_for(
            timeout=3 * TIMEOUT_MS)
        settle(page)
        for key in ("explain_attention", "explain_attribution"):  # both heatmaps drawn
            page.locator(f"{heatmap(key)} .ae-hm-cell").first.wait_for(state="visible", timeout=3 * TIMEOUT_MS)
        for key in ("explain_attention", "explain_attribution"):  # labels on the axes, </s> shown as text
            for piece in ("gamma", "</s>"):
                page.locator(f"{heatmap(key)} [data-ae=xlabel]", has_text=piece).first.wait_for(timeout=TIMEOUT_MS)
        page.get_by_role("heading", name="Inside attention at step 1").wait_for(timeout=TIMEOUT_MS)
        main_text(page, REVERSED).wait_for(timeout=TIMEOUT_MS)  # "Before": the model's own translation
        settle(page)
        # step 1's attention all on "alpha": the reversing model now starts with it
        assert after_text(page).startswith("alpha"), after_text(page)
        assert page.get_by_text("before,").count() >= 1  # P(old token) before and after
        prefix = "classroom-" if classroom else ""
        if not classroom:
            check_explain_words_switch(page, sent, shots)  # in the browser: before the server reruns
            choose(page, "Source word", "beta")
            page.wait_for_function("['1', '13'].includes(new URLSearchParams(location.search).get('word'))",
                                   timeout=TIMEOUT_MS)  # "beta" is source word 1 and 13: either, in the URL
            settle(page)
            assert after_text(page).startswith("beta"), after_text(page)  # the output follows the attention
            page.mouse.move(0, 0)
            page.screenshot(path=str(shots / "explain-intervention.png"))  # scrolled to the intervention
        assert page.locator('[data-testid="stException"]').count() == 0
        assert page.locator('[data-testid="stAlertContentError"]').count() == 0
        page.locator(heatmap("explain_attention")).first.scroll_into_view_if_needed()  # the two heatmaps in the picture
        page.mouse.move(0, 0)  # no hover toolbar over a figure in the picture
        page.screenshot(path=str(shots / f"{prefix}explain.png"))
        check_fit(page, shots, tiny_checkpoint_dir, "explain", viewport)
    finally:
        close_tabs(page)


# --- Models: attention as it formed, scrubbed in the browser -------------------------------------------------
# The Models page's "Attention as it formed" in a real browser (tests/browserfixtures.py's server and Chromium):
# scrubbing the epochs of a probe sentence (the slider, its keys, play, a click on the curve) and the words/pieces
# switch across epochs redraw the heatmap and its panel with no message to the server; the link keeps the epoch;
# choosing another probe sentence is a server run, which opens at the same epoch.

PROBE_HEATMAP = f'.ae-heatmap[data-key="models_probe_heatmap_{MODEL}"]'
PROBE_PANEL = ".ae-epochs"
PROBE_TAB = "Attention as it formed"
# Remembers whether Streamlit's "running" indicator ever showed (a server run), from now on.
WATCH_RUNS_JS = """() => { window.__aeRunning = false;
  new MutationObserver(() => { if (document.querySelector('[data-testid="stStatusWidget"]'))
    window.__aeRunning = true; }).observe(document.body, {childList: true, subtree: true}); }"""
# What the heatmap shows: its epoch, view, labels and every cell's colour.
PROBE_DRAWN_JS = """s => { const h = document.querySelector(s); return {
  epoch: h.dataset.epoch, mode: h.dataset.mode,
  rows: [...h.querySelectorAll('[data-ae=ylabel]')].map(e => e.textContent),
  columns: [...h.querySelectorAll('[data-ae=xlabel]')].map(e => e.textContent),
  ytitle: h.querySelector('[data-ae=ytitle]').textContent,
  cells: [...h.querySelectorAll('.ae-hm-cell')].map(e => e.style.background) }; }"""


def open_probe_tab(tabs, server: str, **params):
    """The probe tab of the tiny model's card, in a fresh session that counts the websocket messages it sends."""
    page = new_tab(tabs, NORMAL_VIEWPORT)
    sent = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(len(payload))))
    page.goto(f"{server}/models?{urlencode({'model': MODEL, 'tab': PROBE_TAB, **params})}")
    return page, sent


def wait_probe_drawn(page) -> None:
    page.locator(f"{PROBE_HEATMAP} .ae-hm-cell").first.wait_for(state="visible", timeout=TIMEOUT_MS)
    page.locator(f"{PROBE_PANEL} [data-ae=curve]").wait_for(state="visible", timeout=TIMEOUT_MS)
    settle(page)
    page.wait_for_timeout(500)


def probe_drawn(page) -> dict:
    return page.evaluate(PROBE_DRAWN_JS, PROBE_HEATMAP)


def wait_epoch(page, epoch: int) -> None:
    """Both the heatmap and its panel show ``epoch``."""
    page.wait_for_function(f"""() => document.querySelector({PROBE_HEATMAP!r})?.dataset.epoch === '{epoch}'
        && document.querySelector({PROBE_PANEL!r})?.dataset.epoch === '{epoch}'""", timeout=TIMEOUT_MS)


def probe_metric(page, name: str) -> tuple[str, str]:
    box = page.locator(f"{PROBE_PANEL} [data-ae={name}]")
    return box.locator(".ae-ep-value").inner_text(), box.locator(".ae-ep-delta").inner_text()


def test_probe_epochs_scrub_in_the_browser(tabs, server, shots, tiny_checkpoint_dir):
    probes = json.loads((tiny_checkpoint_dir / "probes.json").read_text(encoding="utf-8"))["epochs"]
    panel = epoch_panel_payload(probes, 0)["epochs"]
    assert panel["epoch"] == [1, 2, 3, 4]
    page, sent = open_probe_tab(tabs, server, words=0)
    try:
        wait_probe_drawn(page)
        first = probe_drawn(page)
        assert first["epoch"] == "1" and first["mode"] == "pieces" and first["ytitle"] == "epoch 1"
        assert first["columns"] == probes[0]["traces"][0]["source_tokens"]
        assert first["rows"] == probes[0]["traces"][0]["target_tokens"]
        assert probe_metric(page, "bleu") == (f"{probes[0]['dev_bleu']:.2f}", "")  # no epoch before the first
        page.evaluate(WATCH_RUNS_JS)
        before = len(sent)

        # The slider: the last epoch's heatmap, translation, dev BLEU with its change, the curve's marker.
        marker = page.locator(f"{PROBE_PANEL} [data-ae=current]").get_attribute("cx")
        page.locator(f"{PROBE_PANEL} [data-ae=epoch]").fill("3")
        wait_epoch(page, 4)
        last = probe_drawn(page)
        assert last["ytitle"] == "epoch 4" and last["cells"] != first["cells"]  # another epoch's attention
        assert len(last["cells"]) == len(last["rows"]) * len(last["columns"])
        assert last["rows"] == probes[3]["traces"][0]["target_tokens"]
        bleu, change = probe_metric(page, "bleu")
        assert bleu == f"{probes[3]['dev_bleu']:.2f}"
        assert change.endswith(f"{abs(probes[3]['dev_bleu'] - probes[2]['dev_bleu']):.2f}"), change
        translation = page.locator(f"{PROBE_PANEL} [data-ae=translation]").inner_text()
        assert translation == probes[3]["traces"][0]["translation"]
        assert page.locator(f"{PROBE_PANEL} [data-ae=current]").get_attribute("cx") != marker
        entropy = float(probe_metric(page, "entropy")[0].removesuffix(" bits"))
        assert entropy == pytest.approx(panel["entropy"]["pieces"][3], abs=0.006)

        # The keyboard: the slider's own keys.
        page.locator(f"{PROBE_PANEL} [data-ae=epoch]").focus()
        page.keyboard.press("ArrowLeft")
        wait_epoch(page, 3)
        page.keyboard.press("Home")
        wait_epoch(page, 1)
        assert probe_drawn(page)["cells"] == first["cells"]  # the same epoch, the same drawing

        # Words, then another epoch: still words, that epoch's words view and entropy.
        page.locator(f"{PROBE_HEATMAP} [data-ae=words]").check()
        page.locator(f"{PROBE_PANEL} [data-ae=epoch]").fill("1")
        wait_epoch(page, 2)
        words = probe_drawn(page)
        assert words["mode"] == "words" and page.locator(PROBE_PANEL).get_attribute("data-mode") == "words"
        assert not any("\u2581" in label for label in words["columns"] + words["rows"])
        entropy = float(probe_metric(page, "entropy")[0].removesuffix(" bits"))
        assert entropy == pytest.approx(panel["entropy"]["words"][1], abs=0.006)

        # A click on the curve's first epoch, then play: it runs to the last epoch, one a second.
        page.locator(f"{PROBE_PANEL} .ae-ep-hit").first.click()
        wait_epoch(page, 1)
        page.locator(f"{PROBE_PANEL} [data-ae=play]").click()
        wait_epoch(page, 4)
        page.wait_for_timeout(300)
        assert len(sent) == before, "scrubbing the epochs sent messages to the server"
        assert page.evaluate("() => window.__aeRunning") is False, "scrubbing made the server run"
        wait_url_param(page, "epoch", 4)
        wait_url_param(page, "words", 1)
        page.mouse.move(0, 0)
        page.screenshot(path=str(shots / "models-epoch-4-words.png"))

        # A link reopens the same epoch and view.
        linked = page.context.new_page()
        linked.goto(page.url)
        wait_probe_drawn(linked)
        wait_epoch(linked, 4)
        assert probe_drawn(linked)["mode"] == "words"
        linked.close()

        # Another probe sentence is a server run; it opens at the epoch shown.
        page.locator(f".st-key-models_probe_{MODEL}").click()
        page.get_by_role("option", name=probes[-1]["traces"][1]["source"]).click()
        expect(page.locator(f"{PROBE_PANEL} [data-ae=translation]")).to_have_text(
            probes[3]["traces"][1]["translation"], timeout=TIMEOUT_MS)
        settle(page)
        assert len(sent) > before
        wait_epoch(page, 4)
        wait_url_param(page, "epoch", 4)  # still in the link
        wait_url_param(page, "words", 1)
        other = probe_drawn(page)
        source = probes[3]["traces"][1]["source_tokens"]
        assert other["mode"] == "words" and other["columns"] == [word_text(source, g) for g in word_groups(source)]
        assert page.locator('[data-testid="stException"]').count() == 0
    finally:
        close_tabs(page)


def test_one_probe_switch_redraws_every_models_card(tabs, server):
    """Models, all models: every card's probe heatmap follows one card's words/pieces switch, in the browser
    (heatmap.js's ``follow``), with no message to the server."""
    page, sent = open_probe_tab(tabs, server, show="all", words=0)
    second = f'.ae-heatmap[data-key="models_probe_heatmap_{SECOND_MODEL}"]'
    try:
        # The sidebar's model's card opens unfolded; each card's probe tab is a server run of its own.
        for name, heatmap in ((MODEL, PROBE_HEATMAP), (SECOND_MODEL, second)):
            card = page.locator(f"details:has(summary:has-text('{name} '))").first
            if card.get_attribute("open") is None:
                card.locator("summary").click()
            card.get_by_role("tab", name=PROBE_TAB).click()
            page.locator(f"{heatmap} .ae-hm-cell").first.wait_for(state="visible", timeout=TIMEOUT_MS)
            settle(page)
        assert [page.locator(s).get_attribute("data-mode") for s in (PROBE_HEATMAP, second)] == ["pieces", "pieces"]
        page.evaluate(WATCH_RUNS_JS)
        before = len(sent)
        page.locator(f"{PROBE_HEATMAP} [data-ae=words]").check()
        page.wait_for_function(f"() => document.querySelector({second!r}).dataset.mode === 'words'",
                               timeout=TIMEOUT_MS)
        assert page.locator(f"{second} [data-ae=words]").is_checked()
        labels = page.locator(f"{second} [data-ae=xlabel]").all_inner_texts()
        assert labels and not any("\u2581" in label for label in labels)
        page.locator(f"{second} [data-ae=words]").uncheck()  # and back, from the other card
        page.wait_for_function(f"() => document.querySelector({PROBE_HEATMAP!r}).dataset.mode === 'pieces'",
                               timeout=TIMEOUT_MS)
        page.wait_for_timeout(300)
        assert len(sent) == before, "the switch sent messages to the server"
        assert page.evaluate("() => window.__aeRunning") is False, "the switch made the server run"
    finally:
        close_tabs(page)


def test_a_pages_html_names_its_components_modules_and_the_server_serves_them(server):
    """pages/lib/preload.py on the real server: each page's HTML announces its component's JS modules (and
    Streamlit's chunks for them and for the sidebar's widgets), and every one of them is served."""
    for path, component in (("/", "heatmap"), ("/step", "step"), ("/beam", "beam")):
        html = urllib.request.urlopen(f"{server}{path}", timeout=10).read().decode("utf-8")
        hrefs = re.findall(r'<link rel="modulepreload" crossorigin href="\./([^"]+)">', html)
        ours = [h for h in hrefs if h.startswith("_stcore/bidi-components/")]
        assert ours and all(h.startswith(f"_stcore/bidi-components/attention_explorer.{component}/") for h in ours)
        assert any(h.startswith("static/js/BidiComponent.") for h in hrefs)
        for href in hrefs:
            assert urllib.request.urlopen(f"{server}/{href}", timeout=10).status == 200, href


def test_a_server_run_keeps_the_switched_view_in_the_link(tabs, server):
    """heatmap.js, on any page: a run after the words/pieces switch (Translate: another sentence) rewrites the address
    bar from the server's copy of the query string, which never heard of the switch; the heatmap writes ?words=
    back, so the link still opens the view shown."""
    page = new_tab(tabs, NORMAL_VIEWPORT)
    try:
        page.goto(f"{server}/?{urlencode({'model': MODEL, 'text': 'alpha beta gamma', 'words': 0})}")
        page.locator(".ae-heatmap .ae-hm-cell").first.wait_for(state="visible", timeout=TIMEOUT_MS)
        settle(page)
        page.locator(".ae-heatmap [data-ae=words]").check()
        wait_url_param(page, "words", 1)
        box = page.locator('[data-testid="stSidebar"] textarea').first
        box.fill("gamma beta alpha")
        box.press("Control+Enter")
        page.wait_for_function("new URLSearchParams(location.search).get('text') === 'gamma beta alpha'",
                               timeout=TIMEOUT_MS)
        settle(page)
        page.wait_for_timeout(500)
        assert page.locator(".ae-heatmap").get_attribute("data-mode") == "words"
        assert url_param(page, "words") == "1"
    finally:
        close_tabs(page)
