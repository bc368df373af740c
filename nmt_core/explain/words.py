"""Words and pieces: from the aligners' word format to the model's SentencePiece pieces and back.

Word aligners (fast_align, eflomal, awesome-align) read ``source ||| target`` lines of
space-separated, already tokenised words and write links between *word* positions. The models
read SentencePiece pieces of natural text. This module goes both ways:

* :func:`split_words` tokenises natural text into words (letters/digits runs, each other
  symbol alone), which is how the dev silver references are built;
* :func:`join_words` puts words back into natural text (no space before ``, .`` etc.), so the
  model reads what it was trained on rather than ``Hola , Tom .``;
* :func:`piece_words` encodes that text and tells, for every piece, which word it belongs to
  (from SentencePiece's character offsets), so piece-level matrices can be reduced to words
  with :func:`word_matrix`.
"""

from __future__ import annotations

import re

import numpy as np

from ..text import Tokenizer, normalize

# A word: a run of letters/digits, possibly joined by an inner apostrophe or hyphen (l'homme, don't,
# twenty-one); any other non-space character is a word of its own (punctuation).
_WORD = re.compile(r"\w+(?:['’-]\w+)*|[^\w\s]")
_NO_SPACE_BEFORE = set(".,)]}»…%'’\"")
_NO_SPACE_BEFORE_UNLESS_FRENCH = set("!?;:")  # French typography puts a space before these
_NO_SPACE_AFTER = set("¿¡([{«")


def split_words(text: str) -> list[str]:
    """Natural text -> words (punctuation split off): ``"¿Dónde está?"`` -> ``["¿", "Dónde", "está", "?"]``."""
    return _WORD.findall(normalize(text))


def join_words(words: list[str], language: str | None = None) -> tuple[str, list[tuple[int, int]]]:
    """Words -> natural text and each word's (start, end) character span in it.

    Spaces go between words except before closing punctuation and after opening
    punctuation; French keeps its space before ``! ? ; :`` (as the Tatoeba French
    sentences the French models learned from do).
    """
    text, spans = "", []
    for k, word in enumerate(words):
        if k:
            attach = word in _NO_SPACE_BEFORE or words[k - 1] in _NO_SPACE_AFTER
            if word in _NO_SPACE_BEFORE_UNLESS_FRENCH and language != "fra":
                attach = True
            if not attach:
                text += " "
        spans.append((len(text), len(text) + len(word)))
        text += word
    return text, spans


def piece_words(tokenizer: Tokenizer, text: str, spans: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """Encode ``text`` -> (piece ids, word index of each piece).

    A piece belongs to the word whose span holds its first non-space character; a lone
    ``▁`` (a word boundary SentencePiece cut off on its own) belongs to the next word.
    ``text`` must already be normalised (it is when it comes from :func:`join_words`
    of normalised words), so character offsets match.
    """
    proto = tokenizer.sp.encode(text, return_type="proto")
    ids, owners = [], []
    for piece in proto.pieces:
        ids.append(piece.id)
        # begin/end are byte offsets into the UTF-8 text: convert them to characters, so that
        # accented letters do not shift the words.
        start = len(text.encode("utf-8")[: piece.begin].decode("utf-8", errors="ignore"))
        while start < len(text) and text[start] == " ":
            start += 1
        owner = next((k for k, (a, b) in enumerate(spans) if a <= start < b), None)
        if owner is None:  # past the last word or on a space: the next word, else the last one
            owner = next((k for k, (a, _) in enumerate(spans) if a >= start), len(spans) - 1)
        owners.append(owner)
    return ids, owners


def word_matrix(matrix: np.ndarray, target_owner: list[int], source_owner: list[int], n_target: int,
                n_source: int) -> np.ndarray:
    """Reduce a piece matrix (T_pieces, S_pieces) to words (n_target, n_source).

    Source pieces of one word are *summed* (attention mass or attribution that one word
    receives), target pieces of one word are *averaged* (one word, one distribution), as the
    app's word view does. Columns whose owner is -1 (the source ``</s>``) are dropped; rows
    of target words without pieces stay 0.
    """
    out = np.zeros((n_target, n_source))
    counts = np.zeros(n_target)
    by_source = np.zeros((matrix.shape[0], n_source))
    for s, owner in enumerate(source_owner):
        if owner >= 0:
            by_source[:, owner] += matrix[:, s]
    for t, owner in enumerate(target_owner):
        if owner >= 0:
            out[owner] += by_source[t]
            counts[owner] += 1
    return out / np.maximum(counts, 1)[:, None]
