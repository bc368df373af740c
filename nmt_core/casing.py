"""Restoring the capitals of a sentence typed all in lower case.

The models learned from Tatoeba, where every sentence starts with a capital and
names, "I" and German nouns are capitalised. Typed casually ("where is tom"),
the same sentence falls apart into rare pieces ("▁to" "m") and the translation
with it. The source tokenizer already knows which form is familiar: its
SentencePiece unigram model gives every piece a log-probability, so a word's
score is the sum over the pieces it is cut into, and "Tom" (one frequent piece)
beats "tom" (two rare ones). No extra model, no data shipped.

Only input without a single capital letter is touched: someone who typed a
capital chose their casing.
"""

from __future__ import annotations

import math

from .text import Tokenizer

# Nats by which the capitalised form of a word inside the sentence must beat the
# form as typed: only a clearly more familiar form wins ("i" -> "I" gains about 9,
# "tom" -> "Tom" 5, "where" -> "Where" only 0.2 and stays lower case).
INNER_WORD_MARGIN = 2.0
SENTENCE_END = (".", "!", "?", "…")


def capitalised(word: str) -> str:
    """``word`` with its first letter upper-cased (leading punctuation such as ¿ or « kept)."""
    for i, ch in enumerate(word):
        if ch.isalpha():
            upper = ch.upper()
            # A letter whose capital is two letters (ß -> SS) is left alone.
            return word[:i] + upper + word[i + 1:] if len(upper) == 1 else word
    return word


def restore_case(text: str, tokenizer: Tokenizer) -> str | None:
    """The sentence with its capitals restored, or None when there is nothing to restore.

    ``text`` is normalised (single spaces). None when it has a capital letter
    already, or when no word's capitalised form is more familiar to ``tokenizer``.
    """
    if any(ch.isupper() for ch in text):
        return None
    restored = []
    for word in text.split(" "):
        candidate = capitalised(word)
        if candidate != word:
            starts_sentence = not restored or restored[-1].endswith(SENTENCE_END)
            capital_score, typed_score = tokenizer.log_prob(candidate), tokenizer.log_prob(word)
            # Nearly every training sentence starts with a capital, which the position-blind
            # unigram scores do not know: a first word is capitalised unless that makes a
            # piece unknown. Inside a sentence only a clearly more familiar form wins.
            if (capital_score > -math.inf if starts_sentence
                    else capital_score - typed_score > INNER_WORD_MARGIN):
                word = candidate
        restored.append(word)
    result = " ".join(restored)
    return result if result != text else None
