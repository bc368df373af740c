"""The Models page's "Attention as it formed" in a real browser (tests/browserfixtures.py's server and Chromium):
scrubbing the epochs of a probe sentence (the slider, its keys, play, a click on the curve) and the words/pieces
switch across epochs redraw the heatmap and its panel with no message to the server; the link keeps the epoch;
choosing another probe sentence is a server run, which opens at the same epoch.
"""

import json
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

import pytest

from nmt_core.views.attention import word_groups, word_text
from nmt_core.views.probes import epoch_panel_payload
from tests.browserfixtures import CHROMIUM, MODEL, NORMAL_VIEWPORT, TIMEOUT_MS, close_tabs, new_tab

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt-get install)")]

HEATMAP = f'.ae-heatmap[data-key="models_probe_heatmap_{MODEL}"]'
PANEL = ".ae-epochs"
TAB = "Attention as it formed"
# Remembers whether Streamlit's "running" indicator ever showed (a server run), from now on.
WATCH_RUNS_JS = """() => { window.__aeRunning = false;
  new MutationObserver(() => { if (document.querySelector('[data-testid="stStatusWidget"]'))
    window.__aeRunning = true; }).observe(document.body, {childList: true, subtree: true}); }"""
# What the heatmap shows: its epoch, view, labels and every cell's colour.
DRAWN_JS = """s => { const h = document.querySelector(s); return {
  epoch: h.dataset.epoch, mode: h.dataset.mode,
  rows: [...h.querySelectorAll('[data-ae=ylabel]')].map(e => e.textContent),
  columns: [...h.querySelectorAll('[data-ae=xlabel]')].map(e => e.textContent),
  ytitle: h.querySelector('[data-ae=ytitle]').textContent,
  cells: [...h.querySelectorAll('.ae-hm-cell')].map(e => e.style.background) }; }"""


def open_counting(tabs, server: str, **params):
    """The probe tab of the tiny model's card, in a fresh session that counts the websocket messages it sends."""
    page = new_tab(tabs, NORMAL_VIEWPORT)
    sent = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(len(payload))))
    page.goto(f"{server}/models?{urlencode({'model': MODEL, 'tab': TAB, **params})}")
    return page, sent


def settle(page) -> None:
    page.wait_for_function("""() => !document.querySelector('[data-testid="stStatusWidget"]')
        && !document.querySelector('[data-stale="true"]')""", timeout=TIMEOUT_MS)


def wait_drawn(page) -> None:
    page.locator(f"{HEATMAP} .ae-hm-cell").first.wait_for(state="visible", timeout=TIMEOUT_MS)
    page.locator(f"{PANEL} [data-ae=curve]").wait_for(state="visible", timeout=TIMEOUT_MS)
    settle(page)
    page.wait_for_timeout(500)


def drawn(page) -> dict:
    return page.evaluate(DRAWN_JS, HEATMAP)


def wait_epoch(page, epoch: int) -> None:
    """Both the heatmap and its panel show ``epoch``."""
    page.wait_for_function(f"""() => document.querySelector({HEATMAP!r})?.dataset.epoch === '{epoch}'
        && document.querySelector({PANEL!r})?.dataset.epoch === '{epoch}'""", timeout=TIMEOUT_MS)


def metric(page, name: str) -> tuple[str, str]:
    box = page.locator(f"{PANEL} [data-ae={name}]")
    return box.locator(".ae-ep-value").inner_text(), box.locator(".ae-ep-delta").inner_text()


def url_param(page, name: str) -> str | None:
    return parse_qs(urlparse(page.url).query).get(name, [None])[0]


def wait_url_param(page, name: str, value) -> None:
    page.wait_for_function(f"new URLSearchParams(location.search).get({name!r}) === {str(value)!r}",
                           timeout=TIMEOUT_MS)


def test_probe_epochs_scrub_in_the_browser(tabs, server, shots, tiny_checkpoint_dir):
    probes = json.loads((tiny_checkpoint_dir / "probes.json").read_text(encoding="utf-8"))["epochs"]
    panel = epoch_panel_payload(probes, 0)["epochs"]
    assert panel["epoch"] == [1, 2, 3, 4]
    page, sent = open_counting(tabs, server, words=0)
    try:
        wait_drawn(page)
        first = drawn(page)
        assert first["epoch"] == "1" and first["mode"] == "pieces" and first["ytitle"] == "epoch 1"
        assert first["columns"] == probes[0]["traces"][0]["source_tokens"]
        assert first["rows"] == probes[0]["traces"][0]["target_tokens"]
        assert metric(page, "bleu") == (f"{probes[0]['dev_bleu']:.2f}", "")  # no epoch before the first
        page.evaluate(WATCH_RUNS_JS)
        before = len(sent)

        # The slider: the last epoch's heatmap, translation, dev BLEU with its change, the curve's marker.
        marker = page.locator(f"{PANEL} [data-ae=current]").get_attribute("cx")
        page.locator(f"{PANEL} [data-ae=epoch]").fill("3")
        wait_epoch(page, 4)
        last = drawn(page)
        assert last["ytitle"] == "epoch 4" and last["cells"] != first["cells"]  # another epoch's attention
        assert len(last["cells"]) == len(last["rows"]) * len(last["columns"])
        assert last["rows"] == probes[3]["traces"][0]["target_tokens"]
        bleu, change = metric(page, "bleu")
        assert bleu == f"{probes[3]['dev_bleu']:.2f}"
        assert change.endswith(f"{abs(probes[3]['dev_bleu'] - probes[2]['dev_bleu']):.2f}"), change
        assert page.locator(f"{PANEL} [data-ae=translation]").inner_text() == probes[3]["traces"][0]["translation"]
        assert page.locator(f"{PANEL} [data-ae=current]").get_attribute("cx") != marker
        entropy = float(metric(page, "entropy")[0].removesuffix(" bits"))
        assert entropy == pytest.approx(panel["entropy"]["pieces"][3], abs=0.006)

        # The keyboard: the slider's own keys.
        page.locator(f"{PANEL} [data-ae=epoch]").focus()
        page.keyboard.press("ArrowLeft")
        wait_epoch(page, 3)
        page.keyboard.press("Home")
        wait_epoch(page, 1)
        assert drawn(page)["cells"] == first["cells"]  # the same epoch, the same drawing

        # Words, then another epoch: still words, that epoch's words view and entropy.
        page.locator(f"{HEATMAP} [data-ae=words]").check()
        page.locator(f"{PANEL} [data-ae=epoch]").fill("1")
        wait_epoch(page, 2)
        words = drawn(page)
        assert words["mode"] == "words" and page.locator(PANEL).get_attribute("data-mode") == "words"
        assert not any("\u2581" in label for label in words["columns"] + words["rows"])
        entropy = float(metric(page, "entropy")[0].removesuffix(" bits"))
        assert entropy == pytest.approx(panel["entropy"]["words"][1], abs=0.006)

        # A click on the curve's first epoch, then play: it runs to the last epoch, one a second.
        page.locator(f"{PANEL} .ae-ep-hit").first.click()
        wait_epoch(page, 1)
        page.locator(f"{PANEL} [data-ae=play]").click()
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
        wait_drawn(linked)
        wait_epoch(linked, 4)
        assert drawn(linked)["mode"] == "words"
        linked.close()

        # Another probe sentence is a server run; it opens at the epoch shown.
        page.locator(f".st-key-models_probe_{MODEL}").click()
        page.get_by_role("option", name=probes[-1]["traces"][1]["source"]).click()
        expect(page.locator(f"{PANEL} [data-ae=translation]")).to_have_text(
            probes[3]["traces"][1]["translation"], timeout=TIMEOUT_MS)
        settle(page)
        assert len(sent) > before
        wait_epoch(page, 4)
        wait_url_param(page, "epoch", 4)  # still in the link
        wait_url_param(page, "words", 1)
        other = drawn(page)
        source = probes[3]["traces"][1]["source_tokens"]
        assert other["mode"] == "words" and other["columns"] == [word_text(source, g) for g in word_groups(source)]
        assert page.locator('[data-testid="stException"]').count() == 0
    finally:
        close_tabs(page)


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
