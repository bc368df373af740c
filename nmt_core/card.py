"""The model card (README.md in a checkpoint folder), written from config.json.

It follows the usual model-card sections (what the model is, how to use it,
what it is for and not for, how good it is and how that was measured, how it
was trained, on what data). Every figure comes from config.json; a field that
is missing (an older or a test checkpoint) leaves its line out.
"""

from __future__ import annotations

from .examples import EXAMPLES, first_example

LANGUAGE_NAMES = {"eng": "English", "spa": "Spanish", "fra": "French", "deu": "German"}
CREDIT = (
    "Trained on sentence pairs from the Tatoeba Project (tatoeba.org), as exported by manythings.org/anki, "
    "licensed CC-BY 2.0 (France)."
)
# Metrics the Quality section words itself; any other key is listed as it is.
WORDED_METRICS = {"test_bleu", "test_chrf", "test_sentences", "test_beam", "test_length_penalty", "bleu_signature",
                  "dev_bleu_greedy", "dev_bleu_by_length_penalty", "test_by_source_length", "dev_alignment_aer",
                  "coverage_thresholds"}


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


MULTI_HEAD_FORMULA = [
    "- Attention: scaled dot-product, multi-head (Vaswani et al. 2017): `Attention(Q, K, V) = softmax(QKᵀ / √d) V` "
    "per head (d: the size of one head), `MultiHead(X, Y) = Concat(head_1 … head_h) W_O` with "
    "`head_i = Attention(X W_Qi, Y W_Ki, Y W_Vi)`; self-attention in the encoder, causal self-attention and "
    "cross-attention over the source in the decoder",
]


def _transformer_architecture(model: dict, parameters) -> list[str]:
    size, heads = model.get("d_model", "?"), model.get("num_heads", "?")
    per_head = f" ({size // heads} per head)" if isinstance(size, int) and isinstance(heads, int) and heads else ""
    layers = model.get("decoder_layers")
    display = model.get("display_layer", -1)
    shown = display % layers + 1 if isinstance(display, int) and isinstance(layers, int) and layers > 0 else "?"
    lines = [
        f"- Transformer encoder-decoder, pre-norm: {model.get('encoder_layers', '?')} encoder layer(s), "
        f"{model.get('decoder_layers', '?')} decoder layer(s), model size {size}, {heads} heads{per_head}, "
        f"feed-forward {model.get('ff_size', '?')}",
        *MULTI_HEAD_FORMULA,
        "- Positions: sinusoidal" + ("; target embeddings tied to the output layer" if model.get("tie_embeddings")
                                     else "") + f"; dropout {model.get('dropout', '?')}",
        f"- The attention row the app shows by default: the mean of decoder layer {shown}'s heads "
        "(any layer or head can be chosen)",
        f"- Vocabulary: {model.get('src_vocab_size', '?')} source / {model.get('tgt_vocab_size', '?')} target "
        "SentencePiece pieces",
    ]
    if isinstance(parameters, int):
        lines.append(f"- Parameters: {parameters:,}")
    return lines


def _architecture(model: dict, parameters) -> list[str]:
    if model.get("architecture") == "transformer":
        return _transformer_architecture(model, parameters)
    rnn = str(model.get("rnn_type", "?")).upper()
    lines = [
        f"- Encoder: {'bidirectional ' if model.get('bidirectional') else ''}{rnn}, "
        f"{model.get('num_layers', 1)} layer(s), hidden size {model.get('hidden_size', '?')}"
        + (", source read in reverse" if model.get("reverse_source") else ""),
        f"- Decoder: {rnn}, attention `{model.get('attention', '?')}`"
        + (", input feeding" if model.get("input_feeding") else ""),
        f"- Embeddings {model.get('embedding_dim', '?')}, output layer {model.get('output_size', '?')}, "
        f"dropout {model.get('dropout', '?')}",
        f"- Vocabulary: {model.get('src_vocab_size', '?')} source / {model.get('tgt_vocab_size', '?')} target "
        "SentencePiece pieces",
    ]
    if isinstance(parameters, int):
        lines.append(f"- Parameters: {parameters:,}")
    return lines


def _usage(name: str, src: str | None, data: dict) -> list[str]:
    sentence = first_example(src) if src in EXAMPLES else "..."
    pairs = data.get("train_pairs")
    size = f"its {pairs:,} training pairs" if isinstance(pairs, int) else "its training pairs"
    return [
        "## How to use", "",
        "Pick it in Attention Explorer's sidebar, or from the command line:", "",
        "```",
        f'python -m nmt_core translate -c checkpoints/{name} "{sentence}"',
        "```", "",
        "## Intended use", "",
        "Teaching and exploring attention-based translation on short, everyday sentences like Tatoeba's. "
        f"It is not a production translator: it knows only the words of {size}, and its quality falls as "
        "sentences grow (see the table by source length).",
    ]


def alignment_table(record) -> list[str]:
    """Markdown lines for ``metrics.dev_alignment_aer`` (nmt_core.explain.silver); none when absent or malformed."""
    if not isinstance(record, dict) or not isinstance(record.get("methods"), dict) or not record["methods"]:
        return []
    lines = ["", "How far the attention (and gradient attribution) agrees with word alignments: alignment error "
             f"rate (AER, lower is better) against silver alignments ({record.get('silver', 'eflomal')}) on dev "
             "sentences (`python -m nmt_core.explain.silver`).", "",
             "| method | AER | precision | recall | sentences |", "|---|---|---|---|---|"]
    for method, scores in record["methods"].items():
        if isinstance(scores, dict):
            lines.append(f"| {method} | {scores.get('aer', '?')} | {scores.get('precision', '?')} | "
                         f"{scores.get('recall', '?')} | {scores.get('sentences', '?')} |")
    if record.get("symmetrised_with"):
        lines += ["", f"Symmetrised with `{record['symmetrised_with']}` (grow-diag-final-and)."]
    return lines


def coverage_lines(record) -> list[str]:
    """A sentence for ``metrics.coverage_thresholds`` (nmt_core.explain.coverage); none when absent."""
    if not isinstance(record, dict):
        return []
    lines = ["", f"Coverage flags (a content word with little attention, probably untranslated, or too much, "
             f"probably repeated) use thresholds measured on {record.get('measured_on', 'dev sentences')}."]
    measured = record.get("predicts_low_chrf")
    if isinstance(measured, dict):
        lines[-1] += (f" On {measured.get('sentences', '?')} other dev sentences a flag marked a low-chrF sentence "
                      f"with precision {measured.get('precision', '?')} (base rate {measured.get('base_rate', '?')})"
                      f" and recall {measured.get('recall', '?')}.")
    return lines


def _quality(metrics: dict, src: str | None) -> list[str]:
    lines = ["", "## Quality", ""]
    if "test_bleu" in metrics and "test_chrf" in metrics:
        sentences = metrics.get("test_sentences")
        held_out = f"{sentences:,} held-out" if isinstance(sentences, int) else "held-out"
        language = f"{language_name(src)} " if src else ""
        decoding = f"beam {metrics.get('test_beam', '?')}, length penalty {metrics.get('test_length_penalty', '?')}"
        lines.append(f"Test BLEU **{metrics['test_bleu']}**, chrF **{metrics['test_chrf']}** on {held_out} "
                     f"{language}sources that never occur in training, each with all its Tatoeba translations "
                     f"as references ({decoding}).")
        if metrics.get("bleu_signature"):
            lines += ["", f"sacrebleu signature: `{metrics['bleu_signature']}`."]
    tried = metrics.get("dev_bleu_by_length_penalty")
    if isinstance(tried, dict) and tried:
        lines += ["", f"Length penalty tuned on dev (BLEU at beam {metrics.get('test_beam', '?')}):", "",
                  "| α | " + " | ".join(str(a) for a in tried) + " |",
                  "|---|" + "---|" * len(tried),
                  "| dev BLEU | " + " | ".join(str(b) for b in tried.values()) + " |"]
    if "dev_bleu_greedy" in metrics:
        lines += ["", f"Dev BLEU of the shipped weights, greedy: {metrics['dev_bleu_greedy']}."]
    lines += [f"- {key}: {value}" for key, value in metrics.items() if key not in WORDED_METRICS]
    lines += length_table(metrics.get("test_by_source_length"))
    lines += alignment_table(metrics.get("dev_alignment_aer"))
    return lines + coverage_lines(metrics.get("coverage_thresholds"))


def _training(training: dict, history) -> list[str]:
    lines = ["", "## Training", ""]
    if "epochs_completed" in training:
        lines.append(f"- Epochs: {training['epochs_completed']}"
                     + (f", best dev BLEU at epoch {training['best_epoch']}" if "best_epoch" in training else ""))
    averaged = training.get("averaged_epochs")
    if isinstance(averaged, list) and averaged:
        lines.append("- Weights: " + (f"the average of epochs {', '.join(map(str, averaged))}" if len(averaged) > 1
                                      else f"epoch {averaged[0]}"))
    if "train_minutes" in training:
        lines.append(f"- Training time: {training['train_minutes']} minutes (wall clock)"
                     + (f" on {training['hardware']}" if training.get("hardware") else ""))
    if isinstance(history, list):
        scores = [str(h["dev_bleu"]) for h in history if isinstance(h, dict) and "dev_bleu" in h]
        if scores:
            lines.append(f"- Dev BLEU per epoch (greedy): {', '.join(scores)}")
    lines.append("- Every option is in config.json (`training.config`), and the per-epoch loss and accuracy in "
                 "`history`.")
    return lines


def model_card(name: str, config: dict) -> str:
    model = config.get("model") or {}
    src, tgt = config.get("source_language"), config.get("target_language")
    data = config.get("data") or {}
    lines = [
        f"# {name}",
        "",
        f"{language_name(src)} → {language_name(tgt)} translation, attention "
        f"`{model.get('attention', config.get('attention', '?'))}`.",
        "",
        *_usage(name, src, data),
        "",
        "## Architecture",
        *_architecture(model, config.get("parameters")),
    ]
    metrics = config.get("metrics") or {}
    if metrics:
        lines += _quality(metrics, src)
    training = config.get("training") or {}
    if training:
        lines += _training(training, config.get("history"))
    if data:
        lines += ["", "## Data", ""]
        lines += [f"- {key}: {value}" for key, value in data.items()]
    lines += ["", "## Credit", "", CREDIT, ""]
    return "\n".join(lines) + "\n"
