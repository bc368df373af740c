"""The browser tests' shared fixtures (a pytest plugin, loaded by tests/conftest.py): one ``streamlit run`` server
with the tiny checkpoint under two names, one Chromium, and the screenshots folder, per test process.

Session-scoped and defined once here, so that every browser test shares them (they are all in tests/test_browser.py,
so that pytest-xdist's --dist loadfile gives them to one worker): with module-scoped fixtures each browser-test
module started its own server and Chromium (~30 s each).
Playwright is imported only when a fixture is built.
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
MODEL, SECOND_MODEL = "tiny-luong", "tiny-luong-b"  # the same tiny checkpoint under two names
SENTENCE, REVERSED = "alpha beta gamma", "gamma beta alpha"  # the tiny model learnt to reverse words
NORMAL_VIEWPORT = {"width": 1400, "height": 1000}
CLASSROOM_VIEWPORT = {"width": 1280, "height": 720}
TIMEOUT_MS = 30_000
SERVED: dict = {}  # the session's server: its "pid" (the server fixture fills it)
# Streamlit's loading placeholders (stSkeleton) pulse until their element arrives (an infinite CSS animation): while
# a test waits for the server, Chromium drew every frame of it in software (the GPU process, SwiftShader) and in the
# renderer: 8 page loads took 107 s of Chromium CPU with it, 52 s without (GPU process 1-12 s a load, then 0.2-0.3 s;
# measured on the loaded 2-core machine, issue 17).
# Every tab new_tab opens shows them still; nothing the tests check is a placeholder.
STILL_SKELETONS_JS = """document.addEventListener("DOMContentLoaded", () => {
  const style = document.createElement("style");
  style.textContent = '[data-testid="stSkeleton"] { animation: none !important; }';
  document.head.append(style);
});"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server(tmp_path_factory, tiny_checkpoint_dir):
    models = tmp_path_factory.mktemp("browser") / "models"
    for name in (MODEL, SECOND_MODEL):
        shutil.copytree(tiny_checkpoint_dir, models / name)
    port = free_port()
    env = {**os.environ, "ATTENTION_EXPLORER_CHECKPOINTS": str(models), "OMP_NUM_THREADS": "1"}
    env.pop("ATTENTION_EXPLORER_SERVER_CORES", None)  # served as by default: on one core
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
    SERVED["pid"] = process.pid
    yield url
    process.terminate()
    process.wait(timeout=20)


@pytest.fixture(scope="session")
def browser():
    """One Chromium for every test."""
    from playwright import sync_api

    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def tabs(browser, server):
    """One browser context for every test's tabs (:func:`new_tab`). Each tab is a fresh Streamlit session (its own
    websocket), but the context's HTTP and compiled-code caches are shared: a new context per test fetched and
    compiled Streamlit's JavaScript again, ~1-3 s of Chromium CPU a page load on this machine.

    The fresh server's very first visit, in this context (so that it also fills its caches for the tests): a deep
    link, whose first script run is Streamlit's legacy multipage mode (see app.py), which must still open the page
    the link names, keep its address, and show no "Page not found"."""
    context = browser.new_context(viewport=NORMAL_VIEWPORT)
    page = new_tab(context, NORMAL_VIEWPORT)
    page.goto(f"{server}/step?{urlencode({'model': MODEL, 'text': SENTENCE, 'step': 2})}")
    page.get_by_role("heading", name="Step through").wait_for(timeout=60_000)
    page.locator('[data-testid="stSidebar"]').get_by_text("Sentence").wait_for(timeout=TIMEOUT_MS)
    assert urlparse(page.url).path == "/step" and parse_qs(urlparse(page.url).query)["step"] == ["2"]
    assert page.get_by_text("Page not found").count() == 0
    page.close()
    yield context
    context.close()


def new_tab(tabs, viewport: dict):
    """A new tab of the shared context, at ``viewport`` (1400x1000 or the projector's 1280x720), whose loading
    placeholders do not pulse (:data:`STILL_SKELETONS_JS`)."""
    page = tabs.new_page()
    page.add_init_script(STILL_SKELETONS_JS)
    page.set_viewport_size(viewport)
    return page


def close_tabs(page) -> None:
    """Close ``page`` and any tab the test opened beside it (a share link's), keeping the shared context."""
    for tab in page.context.pages:
        tab.close()


@pytest.fixture(scope="session")
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
