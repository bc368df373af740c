"""How long the server spends on each plotly figure a page draws: building it, then what ``st.plotly_chart``
does with it on every run (``to_dict``, then ``plotly.io.to_json`` without validation).

Inputs are synthetic and fixed (seeded): a 15-piece sentence and translation, a Transformer of 4 decoder layers
x 4 heads (the shipped spa-eng-transformer's decoder has 2; the grid grows with layers), two models' entropy
lines. Medians of ``--tries`` builds, in one process:

    PYTHONPATH=. .venv/bin/python benchmarks/figures.py [--tries 7] [--json FILE]

Run it from another checkout's root (e.g. a worktree of an older commit) for a before/after in one window.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import pandas as pd
import plotly.io as pio

from nmt_core.figures.attention_heads import head_grid_figure, self_attention_figure
from nmt_core.figures.traces import alignment_figure, entropy_chart
from nmt_core.views.attention_heads import HeadChoice, HeadGrid, SelfAttentionView

LAYERS, HEADS, PIECES = 4, 4, 15


def builders() -> dict:
    """Figure name -> a function that builds it from fixed inputs."""
    rng = np.random.default_rng(0)
    weights = rng.random((LAYERS, HEADS, PIECES, PIECES))
    weights /= weights.sum(-1, keepdims=True)
    source, target = [f"▁src{i}" for i in range(PIECES)], [f"▁tgt{i}" for i in range(PIECES)]
    grid = HeadGrid(weights=weights, source=source, target=target, merged=False)
    entropy = rng.random((LAYERS, HEADS)) * 3
    causal = SelfAttentionView(matrix=rng.random((PIECES, PIECES)), rows=target, columns=target,
                               mask=np.triu(np.ones((PIECES, PIECES), bool), 1))
    lines = pd.DataFrame([{"model": model, "step": i + 1, "token": target[i], "entropy": float(rng.random() * 3),
                           "uniform": float(np.log2(PIECES))} for model in ("luong", "transformer")
                          for i in range(PIECES)])
    links = pd.DataFrame([{"target_index": t, "target_word": target[t], "source_index": int(rng.integers(PIECES)),
                           "source_word": source[0], "weight": float(rng.random())} for t in range(PIECES)])
    return {
        "head_grid": lambda: head_grid_figure(grid, HeadChoice(1, 2), entropy=entropy),
        "self_attention": lambda: self_attention_figure(causal, row_title="writing", column_title="attends to"),
        "entropy_chart": lambda: entropy_chart(lines),
        "alignment": lambda: alignment_figure(links, source),
    }


def median_ms(step, tries: int) -> float:
    times = []
    for _ in range(tries):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return round(statistics.median(times) * 1000, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tries", type=int, default=7)
    parser.add_argument("--json", help="write the medians (ms) here")
    args = parser.parse_args()
    results = {}
    for name, build in builders().items():
        figure = build()
        results[name] = {"build_ms": median_ms(build, args.tries),
                         "each_run_ms": median_ms(lambda f=figure: pio.to_json(f.to_dict(), validate=False),
                                                  args.tries),
                         "json_bytes": len(pio.to_json(figure.to_dict(), validate=False))}
        print(f"{name:15} build {results[name]['build_ms']:7.1f} ms   each run (to_dict + to_json) "
              f"{results[name]['each_run_ms']:6.1f} ms   {results[name]['json_bytes']:,} bytes")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(results, out, indent=2)


if __name__ == "__main__":
    main()
