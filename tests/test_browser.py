"""Real-browser smoke test: `streamlit run app.py` driven by Playwright in Debian's Chromium.

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

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt-get install)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path, tiny_checkpoint_dir):
    shutil.copytree(tiny_checkpoint_dir, tmp_path / "models" / "tiny-luong")
    port = free_port()
    env = {**os.environ, "ATTENTION_EXPLORER_CHECKPOINTS": str(tmp_path / "models"), "OMP_NUM_THREADS": "1"}
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


def test_app_in_a_real_browser(server, tmp_path):
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{server}/?text=alpha%20beta%20gamma")
        page.wait_for_selector("text=Candidates", timeout=60_000)
        page.get_by_text("gamma beta alpha").first.wait_for(timeout=30_000)
        page.locator(".js-plotly-plot").first.wait_for(timeout=30_000)
        page.screenshot(path=str(tmp_path / "translate.png"), full_page=True)

        # User text is shown as text: a <b> tag typed into the box must not become bold markup.
        box = page.get_by_label("Sentence")
        box.click()
        page.keyboard.press("Control+A")
        page.keyboard.type("<b>alpha</b> beta")
        page.keyboard.press("Control+Enter")  # Streamlit commits a text area on Ctrl+Enter or blur
        page.wait_for_function("decodeURIComponent(location.search.replace(/\\+/g, ' ')).includes('<b>alpha')",
                               timeout=30_000)  # the app reran with the new sentence
        page.wait_for_selector("text=Candidates", timeout=30_000)
        assert page.locator("b", has_text="alpha").count() == 0
        browser.close()
