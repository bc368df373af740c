"""Is attention an explanation? Word alignment, gradient attribution, coverage, intervention (issue 15).

* ``words``       words <-> SentencePiece pieces (aligner input format, piece/word matrices)
* ``forced``      forced decoding: attention matrices of a given target, the forward pass from the
                  source embeddings on (for gradients, without touching the shared model)
* ``attribution`` saliency, input x gradient, integrated gradients (captum)
* ``aer``         Pharaoh links, AER / precision / recall (Och & Ney 2003), grow-diag-final-and
* ``align``       the ``align`` and ``evaluate-alignment`` commands
* ``silver``      eflomal silver alignments of a model's dev split, each method's AER
* ``coverage``    attention received per source word; under/over-translation flags
* ``intervene``   replace the attention at one step and decode on; inside attention (scores, α, context)
* ``explain_trace`` attribution of a trace, for the page (cached by the caller)
"""
