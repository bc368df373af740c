"""What the Models page says about a checkpoint, read from its config.json, folder and weights.

Everything here returns plain values or DataFrames (no figures, no streamlit).
A config.json may come from anywhere, so every reader tolerates missing or
mistyped entries: it shows what it can and leaves the rest out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from torch import nn

from ..card import CREDIT, language_name


@dataclass(frozen=True)
class AttentionInfo:
    title: str
    formula: str  # plain text, for tables and captions
    latex: str  # the same for st.latex
    explanation: str


ATTENTION_INFO = {
    "none": AttentionInfo(
        "No attention (Sutskever et al. 2014; Cho et al. 2014)",
        "none: the decoder sees only the encoder's final state",
        r"\text{no attention: } s_0 = h_{\text{final}}",
        "The whole source is squeezed into one vector, the encoder's final state; long sentences suffer."),
    "bahdanau": AttentionInfo(
        "Additive attention (Bahdanau et al. 2015)", "score(s, h) = vᵀ tanh(W₁s + W₂h)",
        r"\operatorname{score}(s_{t-1}, h_i) = v^\top \tanh(W_1 s_{t-1} + W_2 h_i)",
        "Scored with the decoder's previous state s, before it reads the next word; a small feed-forward "
        "layer compares the state with each source vector h."),
    "luong-general": AttentionInfo(
        "Multiplicative attention, general (Luong et al. 2015)", "score(s, h) = sᵀWh",
        r"\operatorname{score}(s_t, h_i) = s_t^\top W h_i",
        "Scored with the decoder's current state s (after its RNN step) through a learned matrix W."),
    "luong-dot": AttentionInfo(
        "Multiplicative attention, dot (Luong et al. 2015)", "score(s, h) = sᵀh",
        r"\operatorname{score}(s_t, h_i) = s_t^\top h_i",
        "Scored with the decoder's current state s by a plain dot product: no attention parameters at all."),
    "multi-head": AttentionInfo(
        "Multi-head scaled dot-product attention (Vaswani et al. 2017)",
        "Attention(Q, K, V) = softmax(QKᵀ / √d) V, in h heads: MultiHead = Concat(head₁ … headₕ) Wᴼ",
        r"\operatorname{Attention}(Q, K, V) = \operatorname{softmax}\!\left(\frac{Q K^\top}{\sqrt{d}}\right) V",
        "Each position's query Q is compared with every position's key K by a dot product, scaled by √d (d: the "
        "size of one head) so the softmax does not saturate; the weights mix the values V. h heads do this side "
        "by side on their own projections and their outputs are concatenated. The encoder attends over the "
        "source, the decoder over the tokens it wrote (causal: never ahead) and, in cross-attention, from each "
        "of its positions over the encoder's output: the heatmaps show that cross-attention."),
}
MULTI_HEAD_LATEX = (r"\operatorname{MultiHead}(X, Y) = "
                    r"\operatorname{Concat}(\mathrm{head}_1, \dots, \mathrm{head}_h)\,W^O,"
                    r"\quad \mathrm{head}_i = \operatorname{Attention}(X W_i^Q,\, Y W_i^K,\, Y W_i^V)")
WEIGHTS_LATEX = r"a_{t,i} = \frac{\exp \operatorname{score}(s, h_i)}{\sum_j \exp \operatorname{score}(s, h_j)}, \quad c_t = \sum_i a_{t,i} h_i"  # noqa: E501


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number_or_none(value):
    return value if _number(value) else None


def is_transformer_config(config: dict) -> bool:
    """True for a Transformer checkpoint's config.json (``model.architecture`` is "transformer")."""
    return _dict(config.get("model")).get("architecture") == "transformer"


def formula_latex(config: dict) -> list[str]:
    """The formulas the Models page writes out below the score function, for st.latex: the attention
    weights and context of an RNN with attention, multi-head attention for a Transformer."""
    if is_transformer_config(config):
        return [MULTI_HEAD_LATEX]
    info = attention_info(config)
    return [] if info is None or _dict(config.get("model")).get("attention") == "none" else [WEIGHTS_LATEX]


def attention_info(config: dict) -> AttentionInfo | None:
    """The attention type's title and formula; None for a type this library does not know."""
    kind = _dict(config.get("model")).get("attention", config.get("attention"))
    return ATTENTION_INFO.get(kind) if isinstance(kind, str) else None


def _rows(pairs: list[tuple[str, object]]) -> pd.DataFrame:
    """(label, value) pairs -> a two-column text table, leaving out missing values."""
    kept = [(label, str(value)) for label, value in pairs if value is not None and value != ""]
    return pd.DataFrame(kept, columns=["", "value"])


def other_language_note(config: dict | None, sentence_language: str | None) -> str | None:
    """A warning for a model that reads another language than the sentence's, or None.

    The Compare page feeds every column the sidebar's sentence, which is in the sidebar
    model's source language; a model trained on another language turns it into noise.
    """
    reads = _dict(config).get("source_language")
    if not reads or not sentence_language or reads == sentence_language:
        return None
    return (f"This model reads {language_name(reads)}, and the sentence is in {language_name(sentence_language)}: "
            "its translation and attention show what it makes of unknown words.")


def architecture_frame(config: dict) -> pd.DataFrame:
    """Layers, sizes, RNN type, direction, attention, vocabularies: one row each."""
    model = _dict(config.get("model"))
    if is_transformer_config(config):
        return transformer_frame(config)
    rnn = str(model.get("rnn_type", "?")).upper()
    layers, hidden = model.get("num_layers"), model.get("hidden_size")
    bidirectional = model.get("bidirectional")
    per_direction = f" ({hidden // 2} per direction)" if bidirectional and isinstance(hidden, int) else ""
    plural = "s" if layers != 1 else ""
    info = attention_info(config)
    tied = model.get("tie_embeddings")
    return _rows([
        ("Encoder", f"{'bidirectional' if bidirectional else 'one-directional'} {rnn}, {layers} layer{plural}, "
                    f"{hidden} units{per_direction}" + (", reads the source backwards"
                                                       if model.get("reverse_source") else "")),
        ("Decoder", f"{rnn}, {layers} layer{plural}, {hidden} units"
                    + (", input feeding" if model.get("input_feeding") else "")),
        ("Attention", f"{model.get('attention', '?')}: {info.formula}" if info else model.get("attention")),
        ("Attention layer size", model.get("attention_size") if model.get("attention") == "bahdanau" else None),
        ("Embeddings", f"{model.get('embedding_dim')} per piece"
                       + (", target embeddings shared with the output layer" if tied else "")),
        ("Attentional vector h̃", model.get("output_size")),
        ("Vocabulary", f"{model.get('src_vocab_size')} source / {model.get('tgt_vocab_size')} target "
                       "SentencePiece pieces"),
        ("Dropout", model.get("dropout")),
        ("Weights stored as", config.get("weights_dtype")),
    ])


def transformer_frame(config: dict) -> pd.DataFrame:
    """A Transformer's architecture, one row each: layers, sizes, heads, positions, the default row."""
    model = _dict(config.get("model"))
    size, heads = model.get("d_model"), model.get("num_heads")
    per_head = f" ({size // heads} per head)" if isinstance(size, int) and isinstance(heads, int) and heads else ""
    info = attention_info(config)

    def layers(key):
        n = model.get(key)
        return f"{n} layer{'s' if n != 1 else ''}"

    display = model.get("display_layer", -1)
    decoder_layers = model.get("decoder_layers")
    shown = (display % decoder_layers + 1 if isinstance(display, int) and isinstance(decoder_layers, int)
             and decoder_layers > 0 else None)
    return _rows([
        ("Encoder", f"{layers('encoder_layers')}, pre-norm: self-attention over the source, then feed-forward"),
        ("Decoder", f"{layers('decoder_layers')}, pre-norm: causal self-attention, cross-attention over the "
                    "source, then feed-forward"),
        ("Attention", f"multi-head, {heads} heads: {info.formula}" if info else "multi-head"),
        ("Model size d_model", f"{size}{per_head}" if size is not None else None),
        ("Feed-forward size", model.get("ff_size")),
        ("Positions", f"sinusoidal, up to {model.get('max_positions')} pieces" if model.get("max_positions")
         else "sinusoidal"),
        ("Embeddings", "target embeddings shared with the output layer" if model.get("tie_embeddings") else None),
        ("Heatmaps show", f"the mean of decoder layer {shown}'s heads (choose any layer or head on the "
                          "Translate and Compare pages)" if shown else None),
        ("Vocabulary", f"{model.get('src_vocab_size')} source / {model.get('tgt_vocab_size')} target "
                       "SentencePiece pieces"),
        ("Dropout", model.get("dropout")),
        ("Weights stored as", config.get("weights_dtype")),
    ])


def parameter_count(model: nn.Module) -> int:
    """Trainable numbers in ``model``; a tensor shared by two layers (tied embeddings) counts once."""
    return sum(p.numel() for p in model.parameters())


PART_NAMES = {
    "encoder.embed": "source embeddings",
    "encoder.rnn": "encoder RNN",
    "decoder.embed": "target embeddings",
    "decoder.attention": "attention",
    "decoder.rnn": "decoder RNN",
    "decoder.combine": "attentional layer W_c",
    "decoder.out": "output layer",
    # a Transformer (nmt_core.model.transformer)
    "src_embed": "source embeddings",
    "tgt_embed": "target embeddings",
    "encoder_norm": "layer norms",
    "decoder_norm": "layer norms",
    "out": "output layer",
}
TRANSFORMER_SUBLAYERS = {  # (stack, sublayer) -> part
    ("encoder_layers", "attention"): "encoder self-attention",
    ("encoder_layers", "ff"): "encoder feed-forward",
    ("decoder_layers", "self_attention"): "decoder self-attention",
    ("decoder_layers", "cross_attention"): "cross-attention",
    ("decoder_layers", "ff"): "decoder feed-forward",
}


def part_name(name: str) -> str:
    """A parameter's name -> the part of the model it belongs to ("encoder RNN", "cross-attention"...)."""
    pieces = name.split(".")
    if pieces[0] in ("encoder_layers", "decoder_layers") and len(pieces) > 2:
        if pieces[2].startswith("norm"):
            return "layer norms"
        return TRANSFORMER_SUBLAYERS.get((pieces[0], pieces[2]), pieces[0].replace("_", " "))
    if pieces[0] in PART_NAMES:
        return PART_NAMES[pieces[0]]
    prefix = ".".join(pieces[:2])
    return PART_NAMES.get(prefix, prefix)


def parameter_frame(model: nn.Module) -> pd.DataFrame:
    """Parameters per part of the model (columns part, parameters, share), largest first.

    Tied tensors are listed once, under the first part that owns them (the target
    embeddings), and the output layer then shows only its bias.
    """
    counts: dict[str, int] = {}
    for name, tensor in model.named_parameters():  # named_parameters lists a shared tensor once
        part = part_name(name)
        counts[part] = counts.get(part, 0) + tensor.numel()
    total = sum(counts.values()) or 1
    frame = pd.DataFrame([(part, n, n / total) for part, n in counts.items()], columns=["part", "parameters", "share"])
    return frame.sort_values("parameters", ascending=False, kind="stable").reset_index(drop=True)


def human_size(size: int) -> str:
    """Bytes in binary units: 512 B, 1.5 KiB, 12.6 MiB."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def file_frame(folder: str | Path) -> pd.DataFrame:
    """The checkpoint folder's files (columns file, bytes, size), by name; links are not followed."""
    rows = []
    for path in sorted(Path(folder).iterdir()):
        if path.is_file() and not path.is_symlink():
            size = path.stat().st_size
            rows.append((path.name, size, human_size(size)))
    return pd.DataFrame(rows, columns=["file", "bytes", "size"])


def data_frame(config: dict) -> pd.DataFrame:
    """Languages, data file, split sizes: one row each."""
    data = _dict(config.get("data"))
    src, tgt = config.get("source_language"), config.get("target_language")

    def count(key):
        return f"{data[key]:,}" if _number(data.get(key)) else None

    return _rows([
        ("Languages", f"{language_name(src)} → {language_name(tgt)}" if src and tgt else None),
        ("Data file", data.get("file")),
        ("Sentence pairs", count("pairs")),
        ("Training pairs", count("train_pairs")),
        ("Dev sources", count("dev_sources")),
        ("Test sources", count("test_sources")),
        ("Longest sentence kept", f"{data['max_words']} words" if _number(data.get("max_words")) else None),
        ("Split seed", data.get("split_seed")),
    ])


def credit(config: dict) -> str:
    """The data's licence credit: the checkpoint's own, else the library's Tatoeba credit."""
    own = _dict(config.get("data")).get("credit")
    return str(own) if own and "tatoeba" not in str(own).lower() else CREDIT


def training_frame(config: dict) -> pd.DataFrame:
    """Epochs, training time, hardware: one row each."""
    training = _dict(config.get("training"))
    settings = _dict(training.get("config"))
    minutes = training.get("train_minutes")
    averaged = training.get("averaged_epochs")
    return _rows([
        ("Epochs", training.get("epochs_completed")),
        ("Best epoch (dev BLEU)", training.get("best_epoch")),
        ("Weights", f"average of epochs {', '.join(map(str, averaged))}" if isinstance(averaged, list)
         and len(averaged) > 1 else None),
        ("Training time", (f"{minutes / 60:.1f} hours" if minutes >= 90 else f"{minutes:.1f} minutes")
         if _number(minutes) else None),
        ("Hardware", training.get("hardware")),
        ("Processes", training.get("processes") if _number(training.get("processes"))
         and training.get("processes") > 1 else None),
        ("Batch size", settings.get("batch_size")),
        ("Learning rate", settings.get("lr")),
        ("Label smoothing", settings.get("label_smoothing")),
        ("PyTorch", training.get("torch")),
        ("Library version", config.get("library_version")),
    ])


def metrics_summary(config: dict) -> dict:
    """Test BLEU/chrF and how they were measured: keys bleu, chrf, sentences, beam, length_penalty,
    signature (each present only when the config has it)."""
    metrics = _dict(config.get("metrics"))
    keys = {"bleu": "test_bleu", "chrf": "test_chrf", "sentences": "test_sentences", "beam": "test_beam",
            "length_penalty": "test_length_penalty"}
    summary = {key: metrics[source] for key, source in keys.items() if _number(metrics.get(source))}
    if isinstance(metrics.get("bleu_signature"), str):
        summary["signature"] = metrics["bleu_signature"]
    return summary


HISTORY_METRICS = {  # history key -> (quantity, split)
    "train_loss": ("loss", "train"),
    "dev_loss": ("loss", "dev"),
    "train_accuracy": ("token accuracy", "train"),
    "dev_accuracy": ("token accuracy", "dev"),
    "dev_bleu": ("BLEU", "dev"),
}


def history_frame(config: dict) -> pd.DataFrame:
    """Per-epoch training history in long form: columns epoch, quantity, split, value.

    ``quantity`` is "loss", "token accuracy" or "BLEU"; ``split`` is "train" or "dev".
    Entries without a numeric epoch or value are left out.
    """
    history = config.get("history")
    rows = []
    for record in history if isinstance(history, list) else []:
        record = _dict(record)
        if not _number(record.get("epoch")):
            continue
        for key, (quantity, split) in HISTORY_METRICS.items():
            if _number(record.get(key)):
                rows.append((record["epoch"], quantity, split, float(record[key])))
    return pd.DataFrame(rows, columns=["epoch", "quantity", "split", "value"])


def length_frame(configs: dict[str, dict]) -> pd.DataFrame:
    """Test scores by source length of several checkpoints (``metrics.test_by_source_length``), long form.

    ``configs``: checkpoint name -> config.json. Columns: model, words (bucket label
    such as "5-8"), low (its first word count, for ordering), sentences, BLEU, chrF.
    Checkpoints without the record, and malformed entries, are left out.
    """
    return records_frame({name: _dict(_dict(config).get("metrics")).get("test_by_source_length")
                          for name, config in configs.items()})


def records_frame(records_by_model: dict[str, list]) -> pd.DataFrame:
    """:func:`length_frame` from the records themselves (:func:`nmt_core.evaluate.length_records`)."""
    rows = []
    for name, records in records_by_model.items():
        for record in records if isinstance(records, list) else []:
            record = _dict(record)
            if all(_number(record.get(k)) for k in ("low", "sentences", "bleu", "chrf")):
                rows.append((name, str(record.get("words")), int(record["low"]), int(record["sentences"]),
                             float(record["bleu"]), float(record["chrf"])))
    return pd.DataFrame(rows, columns=["model", "words", "low", "sentences", "BLEU", "chrF"])


def overview_frame(configs: dict[str, dict | None], sizes: dict[str, int]) -> pd.DataFrame:
    """One row per checkpoint, for choosing between them: model, direction, attention, parameters,
    test BLEU, test chrF, epochs, training minutes, size (MiB). ``configs``: name -> config.json (None
    when unreadable: the row keeps only the name and size); ``sizes``: name -> bytes on disk."""
    rows = []
    for name, config in configs.items():
        config = _dict(config)
        training, metrics = _dict(config.get("training")), _dict(config.get("metrics"))
        source, target = config.get("source_language"), config.get("target_language")
        rows.append({
            "model": name,
            "direction": f"{language_name(source)} → {language_name(target)}" if source and target else None,
            "attention": _dict(config.get("model")).get("attention") or config.get("attention"),
            "parameters": _number_or_none(config.get("parameters")),
            "test BLEU": _number_or_none(metrics.get("test_bleu")),
            "test chrF": _number_or_none(metrics.get("test_chrf")),
            "epochs": _number_or_none(training.get("epochs_completed")),
            "training minutes": _number_or_none(training.get("train_minutes")),
            "size MiB": round(sizes[name] / 2**20, 1) if name in sizes else None,
        })
    return pd.DataFrame(rows, columns=["model", "direction", "attention", "parameters", "test BLEU", "test chrF",
                                       "epochs", "training minutes", "size MiB"])
