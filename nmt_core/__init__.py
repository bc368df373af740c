"""nmt_core: the translation library behind Attention Explorer.

A small, readable PyTorch library for attention-based sequence-to-sequence
translation: SentencePiece text handling, GRU/LSTM encoder-decoders with
Bahdanau, Luong or no attention, training with resumable state, decoding
(greedy, sampling, beam search, forced prefix, stepping) that returns plain
JSON-able traces, and BLEU/chrF evaluation. It never imports streamlit.
"""

__version__ = "0.1.0"
