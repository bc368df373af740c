"""The model card written beside every checkpoint (README.md), from its config.json."""

from nmt_core.card import CREDIT, model_card

CONFIG = {
    "source_language": "fra",
    "target_language": "eng",
    "model": {"rnn_type": "gru", "bidirectional": True, "num_layers": 1, "hidden_size": 512, "attention": "bahdanau",
              "embedding_dim": 256, "output_size": 256, "dropout": 0.25, "src_vocab_size": 8000,
              "tgt_vocab_size": 8000},
    "parameters": 7387712,
    "metrics": {"test_bleu": 58.05, "test_chrf": 69.95, "test_sentences": 3099, "test_beam": 5,
                "test_length_penalty": 0.5, "bleu_signature": "nrefs:var|tok:13a",
                "dev_bleu_greedy": 63.71, "dev_bleu_by_length_penalty": {"0.0": 65.9, "0.5": 66.1},
                "test_by_source_length": [{"words": "1-4", "sentences": 604, "bleu": 63.14, "chrf": 72.15}],
                "extra_score": 1.5},
    "training": {"epochs_completed": 3, "best_epoch": 2, "averaged_epochs": [1, 2, 3], "train_minutes": 30.5,
                 "hardware": "CPU: test"},
    "history": [{"epoch": 1, "dev_bleu": 20.5}, {"epoch": 2, "dev_bleu": 30.25}, {"epoch": 3, "dev_bleu": 29.0}],
    "data": {"file": "fra-eng.zip", "train_pairs": 158199},
}


def test_card_words_what_the_model_is_how_to_use_it_and_how_good_it_is():
    card = model_card("fra-eng-bahdanau", CONFIG)
    assert card.startswith("# fra-eng-bahdanau\n\nFrench → English translation, attention `bahdanau`.")
    assert 'python -m nmt_core translate -c checkpoints/fra-eng-bahdanau "Êtes-vous toujours à la maison ?"' in card
    assert "its 158,199 training pairs" in card
    assert "- Encoder: bidirectional GRU, 1 layer(s), hidden size 512" in card
    assert "- Parameters: 7,387,712" in card
    assert ("Test BLEU **58.05**, chrF **69.95** on 3,099 held-out French sources that never occur in training"
            in card)
    assert "(beam 5, length penalty 0.5)" in card and "`nrefs:var|tok:13a`" in card
    assert "| α | 0.0 | 0.5 |" in card and "| dev BLEU | 65.9 | 66.1 |" in card
    assert "Dev BLEU of the shipped weights, greedy: 63.71." in card
    assert "| 1-4 | 604 | 63.14 | 72.15 |" in card
    assert "- extra_score: 1.5" in card  # a metric the card has no words for is still listed
    assert "- Epochs: 3, best dev BLEU at epoch 2" in card
    assert "- Weights: the average of epochs 1, 2, 3" in card
    assert "- Training time: 30.5 minutes (wall clock) on CPU: test" in card
    assert "- Dev BLEU per epoch (greedy): 20.5, 30.25, 29.0" in card
    assert "- file: fra-eng.zip" in card
    assert card.rstrip().endswith(CREDIT)


def test_card_of_a_config_missing_most_fields_still_credits_the_data():
    card = model_card("bare", {"model": {"attention": "none"}})
    assert card.startswith("# bare\n\n? → ? translation, attention `none`.")
    assert "## Quality" not in card and "## Training" not in card
    assert "checkpoints/bare" in card and card.rstrip().endswith(CREDIT)


def test_card_with_a_single_epoch_of_weights_names_it():
    config = {**CONFIG, "training": {"averaged_epochs": [7]}}
    assert "- Weights: epoch 7" in model_card("x", config)


def test_a_transformers_card_gives_its_layers_heads_and_the_multi_head_formula():
    config = {**CONFIG, "attention": "multi-head",
              "model": {"architecture": "transformer", "d_model": 256, "num_heads": 4, "encoder_layers": 4,
                        "decoder_layers": 3, "ff_size": 1024, "dropout": 0.1, "tie_embeddings": True,
                        "display_layer": -1, "src_vocab_size": 8000, "tgt_vocab_size": 8000}}
    card = model_card("spa-eng-transformer", config)
    assert card.startswith("# spa-eng-transformer\n\nFrench → English translation, attention `multi-head`.")
    assert ("- Transformer encoder-decoder, pre-norm: 4 encoder layer(s), 3 decoder layer(s), model size 256, "
            "4 heads (64 per head), feed-forward 1024") in card
    assert "`Attention(Q, K, V) = softmax(QKᵀ / √d) V`" in card
    assert "`MultiHead(X, Y) = Concat(head_1 … head_h) W_O`" in card
    assert "- Positions: sinusoidal; target embeddings tied to the output layer; dropout 0.1" in card
    assert "the mean of decoder layer 3's heads" in card
    assert "- Parameters: 7,387,712" in card and "RNN" not in card and "GRU" not in card


def test_alignment_scores_and_coverage_read_as_a_table_and_a_sentence():
    from nmt_core.card import alignment_table, coverage_lines

    record = {"silver": "eflomal", "symmetrised_with": "eng-spa-luong",
              "methods": {"attention": {"aer": 0.17, "precision": 0.8, "recall": 0.87, "sentences": 200}}}
    lines = alignment_table(record)
    assert "| attention | 0.17 | 0.8 | 0.87 | 200 |" in lines
    assert any("eng-spa-luong" in line for line in lines)
    assert alignment_table({"methods": "broken"}) == [] and alignment_table(None) == []
    sentence = coverage_lines({"measured_on": "400 dev sentences", "predicts_low_chrf": {
        "sentences": 400, "precision": 0.38, "recall": 0.23, "base_rate": 0.25}})
    assert "precision 0.38" in sentence[-1] and "base rate 0.25" in sentence[-1]
    assert coverage_lines("nonsense") == []
