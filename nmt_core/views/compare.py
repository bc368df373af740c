"""Which checkpoints the Compare page can set side by side, and which it opens with (from config.json only)."""

from __future__ import annotations


def attention_type(config: dict | None) -> str:
    """A checkpoint config's attention type ("luong-general", "bahdanau", "none", "multi-head" for a
    Transformer...), "?" when unknown. An RNN names it in ``model.attention``; a Transformer's ``model``
    has no such argument, and config.json says "multi-head" beside it (top-level ``attention``)."""
    config = config if isinstance(config, dict) else {}
    model = config.get("model")
    if not isinstance(model, dict):
        return "?"
    kind = model.get("attention", config.get("attention", "?"))
    return str(kind) if kind is not None else "?"


# The history of the idea, oldest first: how the default Compare selection is laid out, left to right.
HISTORY = {"none": 0, "bahdanau": 1, "luong-dot": 2, "luong-general": 2, "multi-head": 3}


def same_tokenizers(config_a: dict | None, config_b: dict | None) -> bool:
    """True when two checkpoints cut text into the same pieces: identical src.model and tgt.model files
    (by the sha256 recorded in config.json), so their attention matrices share both axes."""
    hashes = [(c or {}).get("sha256") or {} for c in (config_a, config_b)]
    return all(hashes[0].get(f) and hashes[0].get(f) == hashes[1].get(f) for f in ("src.model", "tgt.model"))


def default_selection(current: str | None, configs: dict[str, dict | None], limit: int = 4) -> list[str]:
    """The checkpoints the Compare page opens with: ``current`` first, then up to ``limit - 1`` others.

    Only checkpoints reading ``current``'s source language are added (the
    sentence is in it): those with its language pair first (Spanish→English
    when nothing is chosen), and among those, attention types not yet shown, so
    the default compares e.g. Luong vs Bahdanau vs no attention vs Transformer. When no other
    checkpoint reads that language, the best of the rest is added so that there
    is still a comparison; unreadable configs come last. Ties keep name order.

    The chosen models are then laid out in the order of the idea's history (:data:`HISTORY`: no
    attention, Bahdanau, Luong, Transformer; unknown types last), ``current`` first among its equals.
    """
    names = sorted(configs)
    if current not in configs:
        current = next((n for n in names if _pair(configs[n]) == ("spa", "eng")), names[0] if names else None)
    if current is None:
        return []
    chosen = [current]
    pair = _pair(configs[current]) if _pair(configs[current]) != (None, None) else ("spa", "eng")
    seen = {attention_type(configs[current])}
    others = [n for n in names if n != current]
    rest = [n for n in others if configs[n] is not None and _pair(configs[n])[0] == pair[0]]
    if not rest:
        rest, limit = others, min(limit, 2)
    while rest and len(chosen) < limit:
        best = min(rest, key=lambda n: (configs[n] is None, _pair(configs[n]) != pair, _pair(configs[n])[0] != pair[0],
                                        attention_type(configs[n]) in seen, names.index(n)))
        chosen.append(best)
        seen.add(attention_type(configs[best]))
        rest.remove(best)
    return sorted(chosen, key=lambda n: HISTORY.get(attention_type(configs[n]), len(HISTORY)))


def _pair(config: dict | None) -> tuple[str | None, str | None]:
    config = config or {}
    return config.get("source_language"), config.get("target_language")
