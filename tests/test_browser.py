"""Real-browser smoke test: `streamlit run app.py` driven by Playwright in Debian's Chromium.

One server (module-scoped) serves the tiny test checkpoint under two names, so Compare has two
models. Every page is opened twice, at 1400x1000 and in classroom mode (``?classroom=1``) at
1280x720; each waits for its own content (translation text, plotly figures, charts, tree), must show
no Streamlit exception box, no error alert and no "Page not found" dialog, and is saved as a
screenshot: ``<page>.png`` and ``classroom-<page>.png`` in the folder named by
ATTENTION_EXPLORER_SCREENSHOTS (e.g. ``screenshots/``, git-ignored), else in pytest's tmp folder.
The folder's path is printed.

Skipped where /usr/bin/chromium or playwright is missing (CI installs both; see .ci/run).
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt-get install)")

MODEL, SECOND_MODEL = "tiny-luong", "tiny-luong-b"  # the same tiny checkpoint under two names
SENTENCE, REVERSED = "alpha beta gamma", "gamma beta alpha"  # the tiny model learnt to reverse words
NORMAL_VIEWPORT = {"width": 1400, "height": 1000}
CLASSROOM_VIEWPORT = {"width": 1280, "height": 720}
CLASSROOM_MIN_FONT_PX = 20
TIMEOUT_MS = 30_000
VEGA = '[data-testid="stMain"] [data-testid="stVegaLiteChart"] :is(canvas, svg)'  # a drawn altair chart
# Text a page shows in its main area: in classroom mode all of it must be projector-sized.
MAIN_TEXT = ", ".join(f'[data-testid="stMain"] {kind}' for kind in (
    '[data-testid="stText"]', '[data-testid="stMarkdownContainer"] p', '[data-testid="stCaptionContainer"]',
    '[data-testid="stWidgetLabel"] p', '[data-testid="stMetricValue"]', '[data-testid="stMetricLabel"] p'))
FONT_SIZES_JS = """selector => [...document.querySelectorAll(selector)]
  .filter(e => e.offsetParent !== null && e.innerText.trim())
  .map(e => [e.innerText.trim().slice(0, 40), parseFloat(getComputedStyle(e).fontSize)])"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_checkpoint_dir):
    models = tmp_path_factory.mktemp("browser") / "models"
    for name in (MODEL, SECOND_MODEL):
        shutil.copytree(tiny_checkpoint_dir, models / name)
    port = free_port()
    env = {**os.environ, "ATTENTION_EXPLORER_CHECKPOINTS": str(models), "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.5)
    else:
        process.kill()
        pytest.fail("streamlit did not start")
    yield url
    process.terminate()
    process.wait(timeout=20)


@pytest.fixture(scope="module")
def browser(server):
    """One Chromium for every test. The fresh server's very first visit is a deep link: its first
    script run is Streamlit's legacy multipage mode (see app.py), which must still open the page the
    link names, keep its address, and show no "Page not found"."""
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )
        page = chromium.new_page(viewport=NORMAL_VIEWPORT)
        page.goto(f"{server}/step?{urlencode({'model': MODEL, 'text': SENTENCE, 'step': 2})}")
        page.get_by_role("heading", name="Step through").wait_for(timeout=60_000)
        page.locator('[data-testid="stSidebar"]').get_by_text("Sentence").wait_for(timeout=TIMEOUT_MS)
        assert urlparse(page.url).path == "/step" and parse_qs(urlparse(page.url).query)["step"] == ["2"]
        assert page.get_by_text("Page not found").count() == 0
        page.close()
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory, request) -> Path:
    """Where the screenshots go: $ATTENTION_EXPLORER_SCREENSHOTS, else a pytest tmp folder (printed)."""
    folder = os.environ.get("ATTENTION_EXPLORER_SCREENSHOTS")
    path = Path(folder).resolve() if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if capture is not None:
        with capture.global_and_fixture_disabled():  # shown even when pytest captures output
            print(f"\nbrowser screenshots: {path}")
    else:
        print(f"browser screenshots: {path}")
    return path


def open_page(browser, server: str, path: str, classroom: bool, **params):
    """A fresh session (own browser context) on ``/<path>`` with the tiny model and sentence."""
    context = browser.new_context(viewport=CLASSROOM_VIEWPORT if classroom else NORMAL_VIEWPORT)
    page = context.new_page()
    query = {"model": MODEL, "text": SENTENCE, "classroom": int(classroom), **params}
    page.goto(f"{server}/{path}?{urlencode(query)}")
    return page


def settle(page) -> None:
    """Wait until the app is idle: no run in progress, no faded (stale) element left from a rerun."""
    page.wait_for_function("""() => !document.querySelector('[data-testid="stStatusWidget"]')
        && !document.querySelector('[data-stale="true"]')""", timeout=TIMEOUT_MS)


def wait_visible(page, selector: str, count: int = 1) -> None:
    """Wait for ``count`` visible matches of ``selector`` (a figure is drawn once its svg/canvas exists)."""
    locator = page.locator(selector)
    for index in range(count):
        locator.nth(index).wait_for(state="visible", timeout=TIMEOUT_MS)


def plotly(key: str) -> str:
    """The drawn plotly figure of the element with widget key ``key``."""
    return f".st-key-{key} .js-plotly-plot .main-svg"


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


def heatmap_rows(page):
    """The row labels (target pieces) of the Step page's revealed heatmap."""
    return page.locator(f"{plotly('step_heatmap')} .yaxislayer-above g.ytick")


def slider(page, container: str):
    """The range input of the st.slider inside ``container`` (Streamlit draws it with react-aria)."""
    return page.locator(f'{container} input[type="range"]')


def slider_value(page, container: str) -> int:
    return int(slider(page, container).input_value())


# --- what each page must show (and, for some, what clicking must change) ---------------------------------------

def check_translate(page, classroom: bool) -> None:
    main_text(page, REVERSED).wait_for(timeout=TIMEOUT_MS)
    heatmap = '[data-testid="stMain"] [data-testid="stPlotlyChart"] .main-svg'
    wait_visible(page, heatmap)
    page.locator(f"{heatmap} text", has_text="gamma").first.wait_for(timeout=TIMEOUT_MS)  # a piece on an axis
    if not classroom:
        page.get_by_role("heading", name="Candidates").wait_for(timeout=TIMEOUT_MS)
        wait_visible(page, VEGA)  # how sure was the model


def check_step(page, classroom: bool) -> None:
    wait_visible(page, plotly("step_strip"))
    wait_visible(page, VEGA)  # the candidates chart (altair charts get no st-key class)
    assert url_param(page, "step") == "1"
    assert main_text(page, "gamma").inner_text().strip() == "gamma"  # the translation so far
    if classroom:
        return
    wait_visible(page, plotly("step_heatmap"))
    page.get_by_text("Attention heatmap, rows 1 to 1").wait_for(timeout=TIMEOUT_MS)
    expect_count(heatmap_rows(page), 1)
    for step in (2, 3):
        page.locator(".st-key-step_next button").click()
        wait_url_param(page, "step", step)
        page.get_by_text(f"Attention heatmap, rows 1 to {step}").wait_for(timeout=TIMEOUT_MS)
        settle(page)
        assert slider_value(page, f".st-key-step_slider_{step}") == step
        expect_count(heatmap_rows(page), step)  # one more row revealed
    assert main_text(page, "gamma beta alpha").is_visible()  # three steps: the whole translation so far


def check_beam(page, classroom: bool) -> None:
    main_text(page, REVERSED).wait_for(timeout=TIMEOUT_MS)
    wait_visible(page, plotly("beam_page_tree"))
    assert page.locator(".st-key-beam_page_tree .main-svg .scatterlayer .point").count() > 10  # the tree's nodes
    last = int(url_param(page, "step"))
    assert slider_value(page, ".st-key-beam_page_step") == last
    if classroom:
        return
    page.get_by_role("heading", name=f"The beam after step {last}").wait_for(timeout=TIMEOUT_MS)
    slider(page, ".st-key-beam_page_step").focus()
    page.keyboard.press("ArrowLeft")
    wait_url_param(page, "step", last - 1)
    page.get_by_role("heading", name=f"The beam after step {last - 1}").wait_for(timeout=TIMEOUT_MS)
    settle(page)
    wait_visible(page, plotly("beam_page_tree"))


def check_sampling(page, classroom: bool) -> None:
    page.get_by_role("heading", name="Sampled translations").wait_for(timeout=TIMEOUT_MS)
    main_text(page, REVERSED).wait_for(timeout=TIMEOUT_MS)  # a sample (the tiny model is sure of itself)
    wait_visible(page, VEGA)  # temperature panels
    wait_visible(page, plotly("sampling_page_samples"))
    wait_visible(page, plotly("sampling_page_beam"))
    expect_count(page.get_by_role("button", name="Replay"), 8)  # seeds 0 to 7 (the sidebar is not sampling)


def check_compare(page, classroom: bool) -> None:
    for name in (MODEL, SECOND_MODEL):
        page.get_by_role("heading", name=name, exact=True).wait_for(timeout=TIMEOUT_MS)
        wait_visible(page, plotly(f"compare_heatmap_{name}"))
        wait_visible(page, plotly(f"compare_alignment_{name}"))
    expect_count(page.locator('[data-testid="stMain"] [data-testid="stText"]', has_text=REVERSED), 2)
    if not classroom:
        wait_visible(page, plotly("compare_entropy"))
        wait_visible(page, plotly("compare_difference"))


def check_models(page, classroom: bool) -> None:
    page.get_by_role("heading", name=MODEL).first.wait_for(timeout=TIMEOUT_MS)
    metric = page.locator('[data-testid="stMetric"]', has_text="Parameters")
    metric.wait_for(timeout=TIMEOUT_MS)
    assert int(metric.locator('[data-testid="stMetricValue"]').inner_text().replace(",", "")) > 1000
    wait_visible(page, '[data-testid="stMain"] .katex')  # the attention score formula
    page.get_by_role("tab", name="Embeddings").click()
    wait_visible(page, plotly(f"models_projection_{MODEL}"))


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


# page name (and screenshot name) -> (URL path, extra URL parameters, check)
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
def test_page_in_a_real_browser(browser, server, shots, name, classroom):
    path, params, check = PAGES[name]
    page = open_page(browser, server, path, classroom, **params)
    try:
        page.get_by_role("heading", level=1).first.wait_for(timeout=TIMEOUT_MS)
        check(page, classroom)
        settle(page)
        assert page.locator('[data-testid="stException"]').count() == 0
        assert page.locator('[data-testid="stAlertContentError"]').count() == 0
        assert page.get_by_text("Page not found").count() == 0
        assert urlparse(page.url).path == f"/{path}"  # still on the page asked for
        if classroom:
            texts = page.evaluate(FONT_SIZES_JS, MAIN_TEXT)
            assert len(texts) >= 3, texts
            small = [(text, size) for text, size in texts if size < CLASSROOM_MIN_FONT_PX]
            assert not small, f"text under {CLASSROOM_MIN_FONT_PX}px in classroom mode: {small}"
        page.mouse.move(0, 0)  # no hover toolbar over a figure in the picture
        page.screenshot(path=str(shots / f"{'classroom-' if classroom else ''}{name}.png"))
    finally:
        page.context.close()


def test_user_text_is_shown_as_text(browser, server):
    page = open_page(browser, server, "", False)
    try:
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
    finally:
        page.context.close()
