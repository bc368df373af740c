"""The model card (README.md in a checkpoint folder), written from config.json."""

from __future__ import annotations

LANGUAGE_NAMES = {"eng": "English", "spa": "Spanish", "fra": "French", "deu": "German"}
CREDIT = (
    "Trained on sentence pairs from the Tatoeba Project (tatoeba.org), as exported by manythings.org/anki, "
    "licensed CC-BY 2.0 (France)."
)


def language_name(code: str | None) -> str:
    return LANGUAGE_NAMES.get(code or "", code or "?")


def length_table(records) -> list[str]:
    """Markdown lines for ``metrics.test_by_source_length``; none when it is absent or malformed."""
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records) or not records:
        return []
    lines = ["", "Test scores by source length (words):", "", "| words | sentences | BLEU | chrF |",
             "|---|---|---|---|"]
    lines += [f"| {r.get('words')} | {r.get('sentences')} | {r.get('bleu')} | {r.get('chrf')} |" for r in records]
    return lines


def model_card(name: str, config: dict) -> str:
    model = config["model"]
    src, tgt = config.get("source_language"), config.get("target_language")
    lines = [
        f"# {name}",
        "",
        f"{language_name(src)} → {language_name(tgt)} translation, attention `{model['attention']}`.",
        "",
        "## Architecture",
        f"- Encoder: {'bidirectional ' if model['bidirectional'] else ''}{model['rnn_type'].upper()}, "
        f"{model['num_layers']} layer(s), hidden size {model['hidden_size']}"
        + (", source read in reverse" if model.get("reverse_source") else ""),
        f"- Decoder: {model['rnn_type'].upper()}, attention `{model['attention']}`"
        + (", input feeding" if model.get("input_feeding") else ""),
        f"- Embeddings {model['embedding_dim']}, output layer {model['output_size']}, dropout {model['dropout']}",
        f"- Vocabulary: {model['src_vocab_size']} source / {model['tgt_vocab_size']} target SentencePiece pieces",
        f"- Parameters: {config.get('parameters', '?'):,}" if isinstance(config.get("parameters"), int) else "",
    ]
    metrics = config.get("metrics") or {}
    if metrics:
        lines += ["", "## Quality", ""]
        for key, value in metrics.items():
            if key != "test_by_source_length":
                lines.append(f"- {key}: {value}")
        lines += length_table(metrics.get("test_by_source_length"))
    training = config.get("training") or {}
    if training:
        lines += ["", "## Training", ""]
        for key in ("epochs_completed", "best_epoch", "train_minutes", "hardware", "averaged_epochs"):
            if key in training:
                lines.append(f"- {key.replace('_', ' ')}: {training[key]}")
    data = config.get("data") or {}
    if data:
        lines += ["", "## Data", ""]
        for key, value in data.items():
            lines.append(f"- {key}: {value}")
    lines += ["", "## Credit", "", CREDIT, ""]
    return "\n".join(line for line in lines if line is not None) + "\n"
