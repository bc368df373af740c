"""What one interaction costs the server: CPU time and bytes sent per script run, over Streamlit's websocket.

    .venv/bin/python benchmarks/server_runs.py --json runs.json
    .venv/bin/python benchmarks/server_runs.py --root /tmp/before --json before.json   # another checkout

Starts `streamlit run app.py` in ``--root`` (as benchmarks/browser.py does), opens one session that speaks
Streamlit's websocket protocol (benchmarks/browser.py's ``WsSession``) and measures, per kind of run, the
server process's CPU time (user + system, from /proc) and the bytes the page sends back:

* ``translate_new``: Translate, a new 8-word sentence (beam 5, spa-eng-luong): a decode and its figures;
* ``translate_same``: Translate run again with nothing changed (a click that needs no model);
* ``beam_width``: Beam search, width 11 -> 12 on a new 15-word sentence: a new search and its tree's data;
* ``beam_same``: Beam search run again with nothing changed;
* ``step_new``: Step through, a new 8-word sentence (beam 5): a decode and the component's trace data (what every
  session of ``benchmarks/browser.py --load`` does first);
* ``step_width``: Step through, the same sentence at another beam width (5 -> 6): a new decode;
* ``step_same``: Step through run again with nothing changed.

CPU time, not wall time, is the measure: on a shared machine wall times follow the load average, while the
CPU a run takes is what every other session waits for when a class shares one server. Medians over
``--tries`` runs each.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))
from benchmarks.browser import LONG, MODEL, NOUNS, Server, WsSession, cpu_seconds  # noqa: E402


async def measured(session: WsSession, pid: int, page: str, results: list) -> None:
    """One rerun of ``page`` with the session's current widget states: (CPU ms, bytes) appended."""
    cpu, sent = cpu_seconds(pid), session.bytes_received
    await session.rerun(page)
    results.append((1000 * (cpu_seconds(pid) - cpu), session.bytes_received - sent))


def new_sentence(i: int) -> str:
    return f"Quiero comprar {NOUNS[i % len(NOUNS)]} y {NOUNS[(i + 7) % len(NOUNS)]} hoy ."


def long_sentence(i: int) -> str:
    """LONG with two nouns swapped for ones no earlier try used: a sentence no cache has seen."""
    words = LONG.split()
    words[words.index("pan")] = NOUNS[(i + 1) % len(NOUNS)]
    words[words.index("queso")] = NOUNS[(i + 9) % len(NOUNS)]
    return " ".join(words)


async def measure(url: str, pid: int, tries: int) -> dict[str, list]:
    results: dict[str, list] = {"translate_new": [], "translate_same": [], "beam_width": [], "beam_same": [],
                                "step_new": [], "step_width": [], "step_same": []}
    async with WsSession(url) as session:
        session.query = urllib.parse.urlencode({"model": MODEL, "text": LONG, "method": "beam", "beam": 5})
        for _ in range(2):  # the session's first runs (imports, the model) are not what is measured
            await session.rerun("")
        for i in range(tries):
            session.states["Sentence"] = new_sentence(i)
            await measured(session, pid, "", results["translate_new"])
            await measured(session, pid, "", results["translate_same"])
        await session.rerun("beam")
        for i in range(tries):
            session.states["Sentence"], session.states["Beam width"] = long_sentence(i), 11
            await session.rerun("beam")
            session.states["Beam width"] = 12
            await measured(session, pid, "beam", results["beam_width"])
            await measured(session, pid, "beam", results["beam_same"])
        await step_runs(session, pid, tries, results)
    return results


async def step_runs(session: WsSession, pid: int, tries: int, results: dict[str, list]) -> None:
    """Step through, as the load test's sessions use it: a new sentence, then a new width, then nothing new."""
    session.states["Beam width"] = 5
    await session.rerun("step")
    for i in range(tries):
        session.states["Sentence"], session.states["Beam width"] = f"Mañana {new_sentence(i + 50)}", 5
        await measured(session, pid, "step", results["step_new"])
        session.states["Beam width"] = 6
        await measured(session, pid, "step", results["step_width"])
        await measured(session, pid, "step", results["step_same"])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=HERE, help="checkout to serve (default: this one)")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--tries", type=int, default=15, help="runs of each kind")
    args = parser.parse_args(argv)
    with Server(args.root) as server:
        runs = asyncio.run(measure(server.url, server.process.pid, args.tries))
    report = {"root": str(args.root), "tries": args.tries, "load_average": list(os.getloadavg())}
    for kind, values in runs.items():
        report[kind] = {"cpu_ms_median": round(statistics.median(v[0] for v in values), 1),
                        "bytes_median": int(statistics.median(v[1] for v in values)), "n": len(values)}
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
