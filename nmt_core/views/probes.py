"""Attention as it forms: the probe sentences' traces recorded after every training epoch (probes.json).

Training decodes a fixed set of about eight dev sentences (greedy) at the end of every epoch and keeps
their pieces and attention rows (:func:`nmt_core.train.probe_traces`, :func:`nmt_core.checkpoint.read_probes`).
Scrubbing the epochs of one probe shows its heatmap sharpening as the model learns, beside dev BLEU.

A probe is identified by its index in the fixed set; the source sentence is the same at every epoch.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .attention import attention_view, entropy
from .heatmap_data import matrix_payload

CURVE_COLUMNS = ["epoch", "dev_bleu", "entropy", "translation"]


def probe_epochs(probes: list[dict]) -> list[int]:
    """The epochs recorded, in order."""
    return [int(entry["epoch"]) for entry in probes]


def probe_sources(probes: list[dict]) -> list[str]:
    """The probe sentences (the same set every epoch): their source text, else their pieces joined."""
    if not probes:
        return []
    return [str(trace.get("source") or " ".join(trace.get("source_tokens", []))) for trace in probes[-1]["traces"]]


@dataclass
class ProbeView:
    """One probe sentence at one epoch: what the model wrote and where it looked."""

    epoch: int
    dev_bleu: float | None
    source: str
    translation: str
    source_tokens: list[str]
    target_tokens: list[str]
    attention: list[list[float]] | None  # (T, S) rows, None for a model without attention
    entropy: float | None  # mean bits over the rows: lower is sharper


def _recorded(probes: list[dict], epoch: int, index: int) -> tuple[dict, dict] | None:
    """(the epoch's entry, probe ``index``'s trace there); None when that epoch or probe is not recorded."""
    entry = next((e for e in probes if e["epoch"] == epoch), None)
    if entry is None or not 0 <= index < len(entry["traces"]):
        return None
    return entry, entry["traces"][index]


def probe_payload(probes: list[dict], epoch: int, index: int) -> dict | None:
    """The heatmap component's data of probe ``index`` at ``epoch``: pieces and words
    (:func:`nmt_core.views.heatmap_data.matrix_payload`); None when not recorded or without attention."""
    found = _recorded(probes, epoch, index)
    if found is None or found[1].get("attention") is None:
        return None
    trace = found[1]
    return matrix_payload(list(trace["source_tokens"]), list(trace["target_tokens"]), trace["attention"])


def probe_view(probes: list[dict], epoch: int, index: int, merge_words: bool = False) -> ProbeView | None:
    """Probe ``index`` at ``epoch`` (pieces merged into words when asked); None when that epoch or probe
    is not recorded."""
    found = _recorded(probes, epoch, index)
    if found is None:
        return None
    entry, trace = found
    source_tokens, target_tokens = list(trace["source_tokens"]), list(trace["target_tokens"])
    attention, bits = trace.get("attention"), None
    if attention is not None:
        view = attention_view(source_tokens, target_tokens, attention, merge_words)
        source_tokens, target_tokens, attention = view.source, view.target, view.matrix.tolist()
        rows = entropy(view.matrix, base=2)
        bits = sum(rows) / len(rows) if rows else None
    bleu = entry.get("dev_bleu")
    return ProbeView(int(entry["epoch"]), float(bleu) if isinstance(bleu, int | float) else None,
                     str(trace.get("source", "")), str(trace.get("translation", "")), source_tokens, target_tokens,
                     attention, bits)


def probe_curve(probes: list[dict], index: int, merge_words: bool = False) -> pd.DataFrame:
    """Per epoch: dev BLEU, the probe's mean attention entropy (bits; over words when ``merge_words``) and its
    translation."""
    rows = []
    for epoch in probe_epochs(probes):
        view = probe_view(probes, epoch, index, merge_words)
        if view is not None:
            rows.append({"epoch": epoch, "dev_bleu": view.dev_bleu, "entropy": view.entropy,
                         "translation": view.translation})
    return pd.DataFrame(rows, columns=CURVE_COLUMNS)
