"""The Beam search page's server work for a new search, in process: the traced decode, the tree's payload, its JSON.

    .venv/bin/python benchmarks/beam_decode.py --json beam.json
    .venv/bin/python benchmarks/beam_decode.py --root /tmp/before --json before.json   # another checkout

What ``beam_width`` in benchmarks/server_runs.py and benchmarks/browser.py costs the server before Streamlit sends
anything: ``Translator.translate`` (spa-eng-luong, width 12, benchmarks/browser.py's 15-word sentence with the
nouns it swaps in, so no cache helps), of which the model's steps (``next_token_log_probs``) and the search's
bookkeeping (``_TracedBeam.expand``, with ``beam_rule.select``), then ``beam_payload`` and ``payload_json``. Medians
and minimums in ms over ``--tries`` decodes (one thread, as the app runs). On a shared machine compare medians
of runs that alternate the checkouts.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]


def timed(owner, name: str, label: str, spent: dict) -> None:
    """Wrap ``owner.name`` so that its wall time adds up in ``spent[label]``."""
    inner = getattr(owner, name)

    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            spent[label] = spent.get(label, 0.0) + time.perf_counter() - start

    setattr(owner, name, wrapper)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=HERE, help="checkout to time (default: this one)")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--tries", type=int, default=10)
    parser.add_argument("--width", type=int, default=12)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(args.root))
    import torch

    import nmt_core.decoding.beam as traced
    from benchmarks.browser import LONG, MODEL, NOUNS
    from nmt_core.checkpoint import load_checkpoint
    from nmt_core.decoding import DecodeSettings
    from nmt_core.figures import payload_json
    from nmt_core.views.beam_data import beam_payload

    torch.set_num_threads(1)
    translator = load_checkpoint(str(args.root / "checkpoints" / MODEL)).translator
    settings = DecodeSettings(method="beam", beam_size=args.width, n_best=args.width, length_penalty=1.0)
    spent: dict[str, float] = {}
    timed(traced, "next_token_log_probs", "model_steps", spent)
    timed(traced._TracedBeam, "expand", "expand", spent)
    timed(traced, "select", "select", spent)
    runs, nodes, size = [], 0, 0
    for i in range(args.tries + 1):  # the first decode warms up and is not counted
        words = LONG.split()
        words[words.index("pan")] = NOUNS[(i + 1) % len(NOUNS)]
        words[words.index("queso")] = NOUNS[(i + 9) % len(NOUNS)]
        spent.clear()
        start = time.perf_counter()
        with torch.inference_mode():
            trace = translator.translate(" ".join(words), settings)
        decoded = time.perf_counter()
        payload = beam_payload(trace)
        built = time.perf_counter()
        size = len(payload_json(payload))
        done = time.perf_counter()
        nodes = len(trace.beam.nodes)
        if i:
            runs.append({"decode": decoded - start, **spent, "payload": built - decoded, "json": done - built})
    report = {"root": str(args.root), "tries": args.tries, "width": args.width, "nodes_last": nodes,
              "payload_bytes_last": size, "load_average": list(os.getloadavg())}
    for key in runs[0]:
        values = [1000 * r[key] for r in runs]
        report[f"{key}_ms"] = {"median": round(statistics.median(values), 1), "min": round(min(values), 1)}
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
