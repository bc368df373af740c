"""Load test: N real browser sessions against `streamlit run app.py` on 127.0.0.1 (issue 7).

Not collected by pytest (the name does not start with ``test_``): run it by hand, pinned to one core
on a shared machine::

    taskset -c 1 .venv/bin/python tests/loadtest.py                 # 30 sessions, spa-eng-luong
    taskset -c 1 .venv/bin/python tests/loadtest.py --sessions 10 --timeout 300

It starts the app, opens ``--sessions`` browser contexts in one headless Chromium (Debian's
/usr/bin/chromium, through Playwright), each at a link with a different sentence, all at the same
time, and waits until each page shows its translation. Every translation is checked against the
library's own result for that sentence (so a session showing another session's text counts as an
error). It prints sessions, HTTP requests, WebSocket messages, errors, median / p95 / max latency
and the server's peak memory (RSS from /proc), and exits 1 when any session failed.

Bounded: at most 100 sessions, and the whole run stops after ``--timeout`` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: import nmt_core from the checkout

CHROMIUM = "/usr/bin/chromium"
MAX_SESSIONS = 100
POLLS = ("/_stcore/health", "/_stcore/host-config")  # the frontend's connection checks
# Thirty different Spanish sentences for spa-eng-luong (Tatoeba-like, short to medium).
SENTENCES = [
    "¿Todavía están en casa?", "Hace mucho frío aquí.", "Me gustan los gatos y los perros.",
    "Ella no sabe nadar, pero su hermano sí.", "El libro que me diste ayer es muy interesante.",
    "Tengo que irme a casa antes de que llueva.", "¿Dónde está la estación de tren más cercana?",
    "No creo que él venga mañana.", "Mi padre trabaja en un hospital.", "¿Quieres un poco de café?",
    "Los niños están jugando en el parque.", "Hoy es un buen día para pasear.", "No entiendo lo que dices.",
    "¿Cuánto cuesta este sombrero?", "Ayer fuimos al cine con mis amigos.", "Ella lee un libro cada semana.",
    "Necesito dormir un poco más.", "Él siempre llega tarde a clase.", "¿Puedes ayudarme con esto?",
    "La comida está lista.", "Vivimos cerca del mar.", "Mi hermana tiene dos hijos.",
    "El tren sale a las ocho.", "No me gusta el invierno.", "¿Por qué estás triste?",
    "Tom compró un coche nuevo.", "Abre la ventana, por favor.", "Estoy aprendiendo a tocar la guitarra.",
    "Esta ciudad es muy bonita.", "Mañana vamos a la playa.",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid: int) -> int:
    """Resident memory of a process in KiB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class MemoryWatch(threading.Thread):
    """Samples a process's RSS every ``interval`` seconds; ``peak`` in KiB."""

    def __init__(self, pid: int, interval: float = 0.2):
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak, self.stopped = pid, interval, 0, threading.Event()

    def run(self):
        while not self.stopped.is_set():
            self.peak = max(self.peak, rss_kib(self.pid))
            self.stopped.wait(self.interval)


def start_server(port: int, checkpoints: Path | None, log: Path) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if checkpoints is not None:
        env["ATTENTION_EXPLORER_CHECKPOINTS"] = str(checkpoints)
    command = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true",
               "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false"]
    with open(log, "wb") as handle:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)


def wait_healthy(url: str, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with status {process.returncode}")
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("streamlit did not answer /_stcore/health in time")


def expected_translations(model_folder: Path, sentences: list[str], settings) -> list[str]:
    """What the app must show: the library's own translation of each sentence, one at a time."""
    import torch

    from nmt_core.checkpoint import load_checkpoint

    torch.set_num_threads(1)
    translator = load_checkpoint(model_folder).translator
    with torch.inference_mode():
        return [translator.translate(s, settings).translation for s in sentences]


async def one_session(browser, index: int, url: str, expected: str, timeout: float, totals: dict) -> dict:
    """Open the app in a fresh context (its own cookies: a separate Streamlit session) and read the translation."""
    result = {"session": index, "ok": False, "latency_s": None, "error": None, "requests": 0, "ws_messages": 0,
              "aborted_polls": 0}
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    problems: list[str] = []

    def on_websocket(ws):
        ws.on("framesent", lambda _: result.__setitem__("ws_messages", result["ws_messages"] + 1))

    page.on("request", lambda _: result.__setitem__("requests", result["requests"] + 1))
    def on_request_failed(request):
        # Streamlit's frontend polls these two while it (re)connects and aborts a poll that takes
        # too long, then retries: slowness, counted apart. Any other failed request is an error.
        if request.failure == "net::ERR_ABORTED" and request.url.endswith(POLLS):
            result["aborted_polls"] += 1
        else:
            problems.append(f"request failed: {request.url} {request.failure}")

    page.on("requestfailed", on_request_failed)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("websocket", on_websocket)
    started = time.perf_counter()
    try:
        await page.goto(url, wait_until="domcontentloaded", timeout=timeout * 1000)
        texts = page.locator('[data-testid="stText"]')
        deadline = time.monotonic() + timeout
        while True:
            if await page.locator('[data-testid="stException"]').count():
                problems.append("the page shows an exception")
                break
            shown = [t.strip() for t in await texts.all_inner_texts()]
            if expected in shown:
                result["latency_s"] = time.perf_counter() - started
                break
            if time.monotonic() > deadline:
                problems.append(f"no translation {expected!r} after {timeout:.0f} s (page shows {shown[:2]!r})")
                break
            await asyncio.sleep(0.25)
    except Exception as error:  # a load test reports every failure instead of stopping at the first
        problems.append(f"{type(error).__name__}: {error}")
    finally:
        await context.close()
    result["ok"] = not problems and result["latency_s"] is not None
    result["error"] = "; ".join(problems) or None
    totals["done"] += 1
    took = "" if result["latency_s"] is None else f" in {result['latency_s']:.1f} s"
    print(f"  session {index:2d}: {'ok' if result['ok'] else 'FAILED'}{took}"
          f"{'' if result['ok'] else ' - ' + str(result['error'])}  ({totals['done']} done)", flush=True)
    return result


async def run_sessions(base: str, links: list[str], expected: list[str], session_timeout: float) -> list[dict]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        totals = {"done": 0}
        try:
            return await asyncio.gather(*(one_session(browser, i, base + link, want, session_timeout, totals)
                                          for i, (link, want) in enumerate(zip(links, expected, strict=True))))
        finally:
            await browser.close()


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile: p95 of 30 values is the 29th smallest."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=30, help=f"browser sessions, 1..{MAX_SESSIONS}")
    parser.add_argument("--timeout", type=float, default=900, help="seconds for the whole run (server start included)")
    parser.add_argument("--checkpoints", type=Path, help="checkpoint folder root (default: the app's checkpoints/)")
    parser.add_argument("--model", default="spa-eng-luong", help="checkpoint to open")
    parser.add_argument("--json", action="store_true", help="also print the summary as one JSON line")
    args = parser.parse_args(argv)
    if not 1 <= args.sessions <= MAX_SESSIONS:
        parser.error(f"--sessions must be between 1 and {MAX_SESSIONS}")
    if not Path(CHROMIUM).exists():
        print(f"error: {CHROMIUM} is missing (apt-get install -y chromium)", file=sys.stderr)
        return 2

    from nmt_core.decoding import DecodeSettings

    started = time.monotonic()
    root = args.checkpoints or ROOT / "checkpoints"
    sentences = [SENTENCES[i % len(SENTENCES)] + ("" if i < len(SENTENCES) else f" ({i})")
                 for i in range(args.sessions)]
    # Exactly what the sidebar builds from ?method=beam&beam=5&lp=1.0 (every other setting at its default).
    settings = DecodeSettings(method="beam", beam_size=5, n_best=5, length_penalty=1.0)
    expected = expected_translations(root / args.model, sentences, settings)
    links = ["/?" + urllib.parse.urlencode({"model": args.model, "text": s, "method": "beam", "beam": 5, "lp": 1.0})
             for s in sentences]

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "streamlit.log"
        server = start_server(port, args.checkpoints, log)
        watch = MemoryWatch(server.pid)
        watch.start()
        try:
            wait_healthy(base, server, timeout=min(120, args.timeout))
            idle_rss = rss_kib(server.pid)
            print(f"server up on {base} (pid {server.pid}, {idle_rss / 1024:.0f} MiB); "
                  f"opening {args.sessions} sessions at once…", flush=True)
            left = args.timeout - (time.monotonic() - started)
            load_started = time.perf_counter()
            try:
                results = asyncio.run(asyncio.wait_for(
                    run_sessions(base, links, expected, session_timeout=max(10.0, left - 30)), timeout=left))
            except TimeoutError:
                results = [{"session": i, "ok": False, "latency_s": None, "requests": 0, "ws_messages": 0,
                            "aborted_polls": 0, "error": "the whole run timed out"} for i in range(args.sessions)]
            wall = time.perf_counter() - load_started
        finally:
            watch.stopped.set()
            watch.join(timeout=2)
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        server_log = log.read_text(errors="replace")

    errors = [r for r in results if not r["ok"]]
    server_tracebacks = server_log.count("Traceback")
    latencies = [r["latency_s"] for r in results if r["latency_s"] is not None]
    summary = {
        "sessions": len(results),
        "ok": len(results) - len(errors),
        "errors": len(errors) + server_tracebacks,
        "server_tracebacks": server_tracebacks,
        "http_requests": sum(r["requests"] for r in results),
        "websocket_messages_sent": sum(r["ws_messages"] for r in results),
        "aborted_connection_polls": sum(r["aborted_polls"] for r in results),
        "latency_median_s": round(statistics.median(latencies), 2) if latencies else None,
        "latency_p95_s": round(percentile(latencies, 0.95), 2) if latencies else None,
        "latency_max_s": round(max(latencies), 2) if latencies else None,
        "wall_s": round(wall, 1),
        "server_rss_idle_mib": round(idle_rss / 1024, 1),
        "server_rss_peak_mib": round(watch.peak / 1024, 1),
        "cpu_affinity": sorted(os.sched_getaffinity(0)),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print()
    print(f"sessions            {summary['sessions']} ({summary['ok']} ok)")
    print(f"HTTP requests       {summary['http_requests']}  (+ {summary['websocket_messages_sent']} WebSocket "
          "messages from the browsers)")
    print(f"errors              {summary['errors']}  ({server_tracebacks} tracebacks in the server log)")
    print(f"slow-server retries {summary['aborted_connection_polls']}  (health/host-config polls the frontend "
          "aborted and retried while waiting)")
    print(f"latency             median {summary['latency_median_s']} s, p95 {summary['latency_p95_s']} s, "
          f"max {summary['latency_max_s']} s (link opened -> translation shown); wall {summary['wall_s']} s")
    print(f"server memory       {summary['server_rss_idle_mib']} MiB idle, {summary['server_rss_peak_mib']} MiB peak "
          "(RSS)")
    print(f"machine             CPUs {summary['cpu_affinity']}, load average {summary['load_average']}")
    for r in errors:
        print(f"  session {r['session']}: {r['error']}")
    if args.json:
        print(json.dumps(summary))
    return 1 if summary["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
