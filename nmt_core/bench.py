"""Decoding speed on the CPU: medians of repeated runs, measured in one process.

``python -m nmt_core bench -c checkpoints/NAME`` prints, per operation, the
median and the 90th percentile in milliseconds. "Stepping" is what the UI's
Next button costs: one decoder step on an already-encoded sentence.
"""

from __future__ import annotations

import statistics
import time

import torch

from .checkpoint import load_checkpoint
from .decoding import DecodeSettings

SAMPLE_SENTENCES = {
    "spa": ["¿Todavía están en casa?", "Me gustan los gatos.", "Tom no sabe nadar muy bien.",
            "Si llueve mañana, nos quedaremos en casa y veremos una película."],
    "eng": ["Are you still at home?", "I like cats.", "Tom can't swim very well.",
            "If it rains tomorrow, we'll stay at home and watch a movie."],
    "fra": ["Êtes-vous toujours à la maison ?", "J'aime les chats.", "Tom ne sait pas très bien nager.",
            "S'il pleut demain, nous resterons à la maison pour regarder un film."],
    "deu": ["Seid ihr noch zu Hause?", "Ich mag Katzen.", "Tom kann nicht sehr gut schwimmen.",
            "Wenn es morgen regnet, bleiben wir zu Hause und sehen uns einen Film an."],
}


def timed(function, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return times


def summary(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]


def run_bench(folder: str, sentences: list[str] | None = None, repeats: int = 20, threads: int = 1) -> list[dict]:
    torch.set_num_threads(threads)
    start = time.perf_counter()
    checkpoint = load_checkpoint(folder)
    load_ms = (time.perf_counter() - start) * 1000
    translator = checkpoint.translator
    sentences = sentences or SAMPLE_SENTENCES.get(checkpoint.config.get("source_language"), ["hello world"])
    rows = [{"operation": "load checkpoint", "sentence": "", "median_ms": load_ms, "p90_ms": load_ms, "tokens": 0}]
    greedy = DecodeSettings(method="greedy")
    for sentence in sentences:
        trace = translator.translate(sentence, greedy)  # warm-up
        stepper = translator.stepper(sentence, greedy)

        def one_step(stepper=stepper):
            stepper._pending = None  # recompute the same step each time: the cost of "Next"
            stepper.peek()

        operations = {
            "step (Next button)": one_step,
            "greedy": lambda s=sentence: translator.translate(s, greedy),
            "beam 5": lambda s=sentence: translator.translate(s, DecodeSettings(method="beam", beam_size=5)),
            "beam 10": lambda s=sentence: translator.translate(s, DecodeSettings(method="beam", beam_size=10)),
            "sample T=0.8": lambda s=sentence: translator.translate(
                s, DecodeSettings(method="sample", temperature=0.8, seed=1)),
        }
        for name, function in operations.items():
            median, p90 = summary(timed(function, repeats))
            rows.append({"operation": name, "sentence": sentence, "median_ms": median, "p90_ms": p90,
                         "tokens": len(trace.steps)})
    return rows


def format_rows(rows: list[dict]) -> str:
    lines = [f"{'operation':<20} {'median ms':>10} {'p90 ms':>8} {'out tokens':>10}  sentence"]
    for row in rows:
        lines.append(f"{row['operation']:<20} {row['median_ms']:>10.1f} {row['p90_ms']:>8.1f} {row['tokens']:>10}  "
                     f"{row['sentence'][:50]}")
    return "\n".join(lines)
