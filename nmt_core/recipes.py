"""How each shipped checkpoint is trained: ``python -m nmt_core train --recipe NAME``.

A recipe is a set of ``train`` options; options given on the command line
override it. ``data`` is a file name inside ``--data-dir`` (default
``../shared/data/tatoeba``); the output defaults to ``checkpoints/NAME``.
"""

from __future__ import annotations

# The flagship shape: a bidirectional GRU encoder (2 x 256 units) and a GRU
# decoder of 512 units with Luong "general" attention, 8k SentencePiece pieces
# per language, target embeddings tied to the output layer (6.6M parameters).
_FLAGSHIP = {
    "rnn_type": "gru",
    "bidirectional": True,
    "attention": "luong-general",
    "embedding_dim": 256,
    "hidden_size": 512,
    "output_size": 256,
    "dropout": 0.25,
    "src_vocab_size": 8000,
    "tgt_vocab_size": 8000,
    "epochs": 20,
    "batch_size": 64,
    "lr": 1e-3,
    "patience": 3,
    "seed": 1,
}

# The Transformer (Vaswani et al. 2017), sized for a CPU: pre-norm, d_model 256, 4 heads, 4 encoder and
# 2 decoder layers (decoding cost sits in the decoder, so it is the shallower side), sinusoidal positions,
# tied target embeddings (9.4M parameters). Larger batches and a longer warm-up than the RNNs: attention
# layers train best on more tokens per update. See the README's training notes for how it was sized.
_TRANSFORMER = {
    "architecture": "transformer",
    "d_model": 256,
    "num_heads": 4,
    "encoder_layers": 4,
    "decoder_layers": 2,
    "ff_size": 1024,
    "dropout": 0.1,
    "src_vocab_size": 8000,
    "tgt_vocab_size": 8000,
    "epochs": 30,
    "batch_size": 96,
    "lr": 5e-4,
    "warmup_steps": 2000,
    "patience": 4,
    "seed": 1,
}

RECIPES: dict[str, dict] = {
    # The shipped weights: this recipe's 14 epochs, trained on to 32 by two --init-from runs (the second on two
    # processes with --batch-size 32 each): README, "Shipped models", footnote 5.
    "spa-eng-luong": {**_FLAGSHIP, "data": "spa-eng.zip"},
    # Bahdanau's additive attention, with the source </s> made non-attendable: trained with it attendable,
    # it put 0.74 of its attention mass on </s> (Luong: 0.23), a key-side prior (a zero query still gave
    # </s> 0.72), so the decoder read a sentence summary through the context instead of aligning to words
    # (issue 16; benchmarks/attention_sink.py measures it). The summary still reaches the decoder as its
    # initial state, the encoder's final state.
    "spa-eng-bahdanau": {**_FLAGSHIP, "data": "spa-eng.zip", "attention": "bahdanau",
                         "attend_to_source_end": False},
    # Issue 16's candidate fix, which did not hold at full scale: the decoder starts from zeros, not from the
    # encoder's final state, whose forward half is the same whole-sentence summary the source </s> key and value
    # hold; </s> stays attendable. Short ablation (15k pairs, 2 epochs): </s> mass 0.51 -> 0.33, silver AER
    # 0.70 -> 0.61, greedy BLEU 11.5 -> 10.5. Full data, epochs 1-3: </s> mass 0.25, 0.27, 0.32 and argmax on the
    # final punctuation or </s> 43%, 57%, 78% of steps: the sink is delayed, not prevented (stopped at epoch 4).
    "spa-eng-bahdanau-zero-init": {**_FLAGSHIP, "data": "spa-eng.zip", "attention": "bahdanau",
                                   "decoder_init": "zeros"},
    # Issue 16's candidate for the cause: the additive score less its key prior,
    # vᵀ tanh(W_q s + W_k h + b) - vᵀ tanh(W_k h + b). Near tanh's linear regime (where training starts) the
    # query term is the same for every key and cancels in the softmax, so the score ranks keys by the key prior
    # alone: the same ranking for every step, which the whole-sentence summary at the source's end wins. Short
    # ablation (15k pairs, 2 epochs, </s> attendable), today's score -> this one (Luong general for comparison):
    # </s> mass 0.51 -> 0.33 (0.38), argmax on the last two positions 100% -> 70% (60%) of steps, share of the score
    # variance across keys common to every step of a sentence 0.86 -> 0.49 (0.55), greedy BLEU 11.5 -> 12.8
    # (13.1); silver AER 0.70 -> 0.63 (0.45), so the alignment is still far from Luong's: the additive score's
    # attention, with or without the prior, aligns better one row late (the "shift" AER, 0.57) than on time,
    # unlike Luong's bilinear score, which also aligns on time in Bahdanau's flow (attention_score "general":
    # AER 0.53, shift 0.62, </s> mass 0.41, greedy BLEU 11.0). </s> stays attendable.
    # Full data, epoch 1 (spa-eng-bahdanau-zero-init's epoch 1 in brackets; 500 dev sentences, greedy): </s> mass
    # 0.40 (0.25), argmax on the final punctuation or </s> 73% of steps (43%), common share of the score variance
    # 0.46 (0.35), silver AER 0.42 (0.41), dev BLEU 22.18 (21.41). Without its key prior the score still learns to
    # single out the source's end, through the query: a zero query now spreads evenly (</s> 0.17 over ~6
    # positions), the sentence's mean query gives it 0.28. Not the cause alone; stopped after epoch 1.
    "spa-eng-bahdanau-no-key-prior": {**_FLAGSHIP, "data": "spa-eng.zip", "attention": "bahdanau",
                                      "attention_key_prior": "remove"},
    # The classic encoder-decoder (Sutskever et al. 2014): LSTMs, no attention,
    # the source read backwards so its first words sit next to the decoder's start.
    "spa-eng-noattn": {**_FLAGSHIP, "data": "spa-eng.zip", "attention": "none", "rnn_type": "lstm",
                       "bidirectional": False, "reverse_source": True, "num_layers": 2},
    # Hands-On ML's English -> Spanish model: bidirectional LSTM encoder.
    "eng-spa-luong": {**_FLAGSHIP, "data": "spa-eng.zip", "source_language": "eng", "target_language": "spa",
                      "rnn_type": "lstm"},
    "fra-eng-luong": {**_FLAGSHIP, "data": "fra-eng.zip"},
    "eng-fra-luong": {**_FLAGSHIP, "data": "fra-eng.zip", "source_language": "eng", "target_language": "fra"},
    # The shipped weights took a second run: this recipe's 10 epochs, then --init-from that checkpoint with
    # --lr 5e-4 --warmup-steps 200 --epochs 16 (README, "Shipped models").
    "deu-eng-luong": {**_FLAGSHIP, "data": "deu-eng.zip"},
    # Likewise: this recipe stopped at 9 epochs, then --init-from with --lr 2.5e-4 --warmup-steps 500 --epochs 14,
    # then again on two processes with --lr 1.25e-4 --batch-size 48 --epochs 20 (README, footnote 3).
    "spa-eng-transformer": {**_TRANSFORMER, "data": "spa-eng.zip"},
    # The shipped weights: two processes (torchrun) with --batch-size 48 each, stopped after 7 epochs and finished
    # with --epochs 7; then --init-from that checkpoint with --lr 2.5e-4 --batch-size 48, finished after epoch 9
    # (README, "Shipped models", footnote 6); dev was still rising.
    "deu-eng-transformer": {**_TRANSFORMER, "data": "deu-eng.zip"},
}
