"""Attention as it forms: the probe sentences' traces recorded after every training epoch (probes.json).

Training decodes a fixed set of about eight dev sentences (greedy) at the end of every epoch and keeps
their pieces and attention rows (:func:`nmt_core.train.probe_traces`, :func:`nmt_core.checkpoint.read_probes`).
Scrubbing the epochs of one probe shows its heatmap sharpening as the model learns, beside dev BLEU.

A probe is identified by its index in the fixed set; the source sentence is the same at every epoch.

The Models page sends every epoch of one probe to the browser once, in two parts that the heatmap component
(``nmt_core/figures/components/epochs.js``) links, so that scrubbing the epochs runs no server code:

* :func:`epochs_payload`, the heatmap's: the source pieces once, and per epoch the target pieces and the attention
  over pieces and over words, in thousandths (integers)::

    {"version": 2, "id": "<12 hex>", "source": [piece, ...],
     "epochs": {"epoch": [e, ...],                       the epochs recorded, in order
                "target": [[piece, ...], ...],           per epoch: the pieces the model wrote
                "pieces": [[[w, ...], ...], ...],        per epoch: its T x S matrix, round(1000 w)
                "words": [[[w, ...], ...], ...],         per epoch: the words view's matrix, round(1000 w)
                "source_groups": [n, ...] | 0,           pieces per source word (0: one each)
                "target_groups": [[n, ...] | 0, ...]}}   per epoch: pieces per target word (0: one each)

  The words view's labels and its hover's pieces are spelled in the browser from the pieces and the groups (as
  :func:`nmt_core.views.attention.word_text` does; tests/test_probes_view.py runs epochs.js's ``unpackEpochs``
  in Node against :func:`probe_payload`).
* :func:`epoch_panel_payload`, the panel's beside it: per epoch dev BLEU, the translation and the attention's
  mean entropy over pieces and over words (the curve's and the metrics' numbers).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np

from .attention import attention_view, entropy, word_groups
from .heatmap_data import DECIMALS, PAYLOAD_VERSION, VIEWS, ViewSize, matrix_payload


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


def named_payload(content: dict) -> dict:
    """``content`` with the payload's version and an id naming it (another probe or model: another id)."""
    digest = hashlib.sha1(json.dumps(content, ensure_ascii=False).encode("utf-8")).hexdigest()[:12]
    return {"version": PAYLOAD_VERSION, "id": digest, **content}


def _sizes(pieces: list[str]) -> list[int] | int:
    """Pieces per word, 0 when every word is one piece (the common case: a byte on the wire)."""
    sizes = [len(group) for group in word_groups(pieces)]
    return 0 if all(n == 1 for n in sizes) else sizes


def _thousandths(matrix) -> list[list[int]]:
    # np.round(x, 3) is rint(x * 1000) / 1000: these integers are heatmap_data's rounded values times 1000.
    return np.rint(np.asarray(matrix, dtype=float) * 10**DECIMALS).astype(int).tolist()


def _with_attention(probes: list[dict], index: int) -> list[tuple[dict, dict]]:
    """(epoch entry, probe ``index``'s trace) for every epoch that recorded it with attention over the same source
    pieces as the last such epoch (a file written by another version may differ)."""
    found = [(entry, entry["traces"][index]) for entry in probes
             if 0 <= index < len(entry["traces"]) and entry["traces"][index].get("attention") is not None]
    if not found:
        return []
    source = list(found[-1][1]["source_tokens"])
    return [(entry, trace) for entry, trace in found if list(trace["source_tokens"]) == source]


def epochs_payload(probes: list[dict], index: int) -> dict | None:
    """Every epoch of probe ``index`` for the heatmap component (see the module docstring); None without attention."""
    found = _with_attention(probes, index)
    if not found:
        return None
    source = list(found[0][1]["source_tokens"])
    epochs = {"epoch": [], "target": [], "pieces": [], "words": [], "source_groups": _sizes(source),
              "target_groups": []}
    for entry, trace in found:
        target = list(trace["target_tokens"])
        epochs["epoch"].append(int(entry["epoch"]))
        epochs["target"].append(target)
        epochs["target_groups"].append(_sizes(target))
        for name in VIEWS:
            epochs[name].append(_thousandths(attention_view(source, target, trace["attention"],
                                                            name == "words").matrix))
    return named_payload({"source": source, "epochs": epochs})


def epoch_panel_payload(probes: list[dict], index: int) -> dict:
    """Per recorded epoch of probe ``index``: dev BLEU, the translation, and the attention's mean entropy in bits
    over pieces and over words (None per view for a model without attention), for the panel beside the heatmap."""
    epochs = {"epoch": [], "dev_bleu": [], "translation": [], "entropy": {name: [] for name in VIEWS}}
    # the heatmap's epochs where it has one: the two elements scrub the same list
    for epoch in [int(entry["epoch"]) for entry, _ in _with_attention(probes, index)] or probe_epochs(probes):
        views = {name: probe_view(probes, epoch, index, merge_words=name == "words") for name in VIEWS}
        if views["pieces"] is None:
            continue
        epochs["epoch"].append(epoch)
        epochs["dev_bleu"].append(views["pieces"].dev_bleu)
        epochs["translation"].append(views["pieces"].translation)
        for name, view in views.items():
            epochs["entropy"][name].append(None if view.entropy is None else round(view.entropy, DECIMALS))
    if not any(v is not None for v in epochs["entropy"]["pieces"]):
        epochs["entropy"] = None
    return named_payload({"epochs": epochs})


def epoch_view_sizes(payload: dict) -> dict[str, ViewSize]:
    """Per view (pieces, words), the size of its largest epoch (most rows, longest labels), for a projector's fit:
    one row height for every epoch, so scrubbing never resizes the rows."""
    epochs, source = payload["epochs"], payload["source"]
    sizes = {}
    for name in VIEWS:
        merged = [attention_view(source, target, np.zeros((len(target), len(source))), name == "words")
                  for target in epochs["target"]]
        sizes[name] = ViewSize(max(len(v.target) for v in merged), len(merged[0].source),
                               max((len(s) for s in merged[0].source), default=1),
                               max((len(t) for v in merged for t in v.target), default=1))
    return sizes


def epoch_at(epochs: list[int], wanted: int) -> int:
    """The recorded epoch a link's ``?epoch=`` names: that epoch, else the next one recorded, else the last."""
    return next((e for e in epochs if e >= wanted), epochs[-1])
