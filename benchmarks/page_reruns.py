"""What a rerun of a page costs the server when nothing needs the model: the page opened from a link in
Streamlit's AppTest (its decodes then cached), then run again ``--tries`` times; the median wall time of a rerun.

    .venv/bin/python benchmarks/page_reruns.py
    .venv/bin/python benchmarks/page_reruns.py --root /tmp/before   # another checkout, for a before/after

A rerun is what a click that changes no decode costs (a tab, a head choice, a slider that only shows): Streamlit
runs the page's whole script again, and every figure or chart the page does not cache is built again. Cases,
on the shipped checkpoints:

* ``models_training``: Models, spa-eng-luong's Training tab (four Altair charts);
* ``sampling``: Sampling, a 4-word Spanish sentence (the temperature panels);
* ``compare_four``: Compare opening on no attention, Bahdanau, Luong and the Transformer (the history of the idea);
* ``translate_transformer``: Translate on spa-eng-transformer (its heatmap, the layer x head grid, self-attention).

Wall time in one process (AppTest runs the script in a thread of this one): run it idle, or compare two roots
back to back.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
SENTENCE = "¿todavía están en casa?"
CASES = {
    "models_training": ("models", {"model": "spa-eng-luong", "tab": "Training"}),
    "sampling": ("sampling", {"model": "spa-eng-luong", "text": SENTENCE}),
    "compare_four": ("compare", {"model": "spa-eng-luong", "text": SENTENCE,
                                 "models": "spa-eng-noattn,spa-eng-bahdanau,spa-eng-luong,spa-eng-transformer"}),
    "translate_transformer": ("translate", {"model": "spa-eng-transformer", "text": SENTENCE}),
}

# Run inside ``--root``, in a fresh interpreter: that checkout's app, pages and nmt_core.
MEASURE = """
import json, statistics, sys, time
from tests.apphelpers import open_link
page, params, tries = json.loads(sys.argv[1])
app = open_link(page, **params)
assert not app.exception, [e.value for e in app.exception]
times = []
for _ in range(tries):
    start = time.perf_counter()
    app.run()
    times.append(time.perf_counter() - start)
print(json.dumps(round(statistics.median(times) * 1000, 1)))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=HERE, help="the checkout to measure (default: this one)")
    parser.add_argument("--tries", type=int, default=9)
    parser.add_argument("--only", default=",".join(CASES), help="comma-separated cases")
    parser.add_argument("--json", help="write the medians (ms) here")
    args = parser.parse_args()
    root = args.root.resolve()
    env = {**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1",
           "ATTENTION_EXPLORER_CHECKPOINTS": str(root / "checkpoints")}
    results: dict = {"root": str(root), "tries": args.tries, "load_average_start": os.getloadavg()}
    for name in args.only.split(","):
        page, params = CASES[name]
        done = subprocess.run([sys.executable, "-c", MEASURE, json.dumps([page, params, args.tries])], cwd=root,
                              env=env, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            sys.exit(f"{name}: {done.stderr[-2000:]}")
        results[name] = {"rerun_ms_median": json.loads(done.stdout.splitlines()[-1])}
        print(f"{name:22} rerun {results[name]['rerun_ms_median']:7.1f} ms (median of {args.tries})", flush=True)
    results["load_average_end"] = os.getloadavg()
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
