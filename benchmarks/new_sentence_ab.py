"""Translate's new sentence, two checkouts side by side: paired, so a loaded machine's drift hits both alike.

    .venv/bin/python benchmarks/new_sentence_ab.py /tmp/before . --tries 7

Starts `streamlit run app.py` in each checkout (benchmarks/browser.py's ``Server``), opens Translate in one
Chromium tab per server, and for each try types the same new sentence (no server has decoded it) into both tabs,
in turn, the order swapped every try. Per try and checkout it records the wall time from Ctrl+Enter to the end of
the first painted frame with the new heatmap and no stale element (benchmarks/browser.py's ``new_sentence_ms``),
the renderer's task time in that span (Chrome's Performance metrics: script, layout, style), the server's CPU
for the run and the bytes the page received. Medians per checkout, and per try the after/before ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))
from benchmarks.browser import (  # noqa: E402
    CHROMIUM,
    HEATMAP_SIGNATURE_JS,
    LONG,
    NOUNS,
    TIMEOUT_MS,
    Server,
    cpu_seconds,
    measure_paint,
    settled,
)

METRICS = ("TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration")
READY = "() => (({signature})() !== {before}) && !document.querySelector('[data-stale=\"true\"]')"


class Tab:
    """One checkout's server and its Translate tab, with a CDP session for the renderer's metrics."""

    def __init__(self, browser, server: Server):
        self.server, self.page = server, browser.new_page(viewport={"width": 1400, "height": 1000})
        self.received = 0
        self.page.on("websocket", lambda ws: ws.on("framereceived", self._count))
        self.cdp = self.page.context.new_cdp_session(self.page)
        self.cdp.send("Performance.enable")
        self.page.goto(server.link("", text=LONG))
        self.page.wait_for_function(f"({HEATMAP_SIGNATURE_JS})() !== ''", timeout=TIMEOUT_MS)
        settled(self.page)

    def _count(self, payload) -> None:
        self.received += len(payload)

    def metrics(self) -> dict[str, float]:
        found = {m["name"]: m["value"] for m in self.cdp.send("Performance.getMetrics")["metrics"]}
        return {name: found.get(name, 0.0) for name in METRICS}

    def new_sentence(self, sentence: str) -> dict[str, float]:
        page = self.page
        before = page.evaluate(HEATMAP_SIGNATURE_JS)
        page.locator('[data-testid="stSidebar"] textarea').first.fill(sentence)
        box = page.locator('[data-testid="stSidebar"] textarea').first
        start, cpu, received = self.metrics(), cpu_seconds(self.server.process.pid), self.received
        wall = measure_paint(page, "keydown", lambda: box.press("Control+Enter"),
                             READY.format(signature=HEATMAP_SIGNATURE_JS, before=json.dumps(before)))
        end = self.metrics()
        settled(page)
        out = {"wall_ms": wall, "server_cpu_ms": 1000 * (cpu_seconds(self.server.process.pid) - cpu),
               "received_bytes": self.received - received}
        out.update({f"{name}_ms": 1000 * (end[name] - start[name]) for name in METRICS})
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--tries", type=int, default=7)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    roots = {"before": args.before.resolve(), "after": args.after.resolve()}
    results: dict[str, list[dict]] = {name: [] for name in roots}
    with sync_playwright() as playwright, Server(roots["before"]) as a, Server(roots["after"]) as b:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        tabs = {"before": Tab(browser, a), "after": Tab(browser, b)}
        for i in range(args.tries):
            sentence = f"Quiero comprar {NOUNS[i % len(NOUNS)]} y {NOUNS[(i + 5) % len(NOUNS)]} mañana ."
            for name in (("before", "after") if i % 2 == 0 else ("after", "before")):
                tabs[name].page.bring_to_front()
                results[name].append(tabs[name].new_sentence(sentence))
        browser.close()
    summary = {name: {key: round(statistics.median(r[key] for r in runs), 1) for key in runs[0]}
               for name, runs in results.items()}
    summary["ratio_wall_per_try"] = [round(a["wall_ms"] / b["wall_ms"], 2)
                                     for a, b in zip(results["after"], results["before"], strict=True)]
    print(json.dumps(summary, indent=1))
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "runs": results}, indent=1))


if __name__ == "__main__":
    main()
