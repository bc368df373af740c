"""Text normalisation and the SentencePiece tokeniser wrapper.

Every sentence, at training and at translation time, goes through
:func:`normalize` first, so the model sees one canonical form: NFKC folds
compatibility characters (the French corpus's narrow no-break space before
``! ? ; :`` becomes a plain space, full-width letters become ASCII), control
characters go, and runs of whitespace collapse to one space.

Special ids are fixed for every tokeniser the library trains, so the model
code can rely on them without reading the tokeniser:
``PAD_ID=0, UNK_ID=1, BOS_ID=2, EOS_ID=3``.
"""

from __future__ import annotations

import io
import math
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

import sentencepiece as spm

PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3
PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<s>", "</s>"
SPECIAL_IDS = {"pad": PAD_ID, "unk": UNK_ID, "bos": BOS_ID, "eos": EOS_ID}

_WHITESPACE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """NFKC-normalise ``text``, drop control/format characters, collapse whitespace.

    >>> normalize("Bonjour\\u202f!  ")
    'Bonjour !'
    """
    text = unicodedata.normalize("NFKC", text)
    # Category C* = control, format (zero-width joiners...), unassigned, private use.
    # Whitespace controls (tab, newline) become spaces before they are dropped.
    text = "".join(
        " " if ch.isspace() else ch for ch in text if ch.isspace() or not unicodedata.category(ch).startswith("C")
    )
    return _WHITESPACE.sub(" ", text).strip()


class Tokenizer:
    """A SentencePiece model plus the library's fixed special ids.

    Built from the serialized model bytes so a checkpoint can hold the model
    as a plain file and nothing is ever unpickled.
    """

    def __init__(self, model_proto: bytes):
        self.model_proto = model_proto
        self.sp = spm.SentencePieceProcessor()
        self.sp.LoadFromSerializedProto(model_proto)
        ids = (self.sp.pad_id(), self.sp.unk_id(), self.sp.bos_id(), self.sp.eos_id())
        if ids != (PAD_ID, UNK_ID, BOS_ID, EOS_ID):
            raise ValueError(f"tokeniser special ids are {ids}, expected {(PAD_ID, UNK_ID, BOS_ID, EOS_ID)}")

    @classmethod
    def from_file(cls, path: str | Path) -> Tokenizer:
        return cls(Path(path).read_bytes())

    @property
    def vocab_size(self) -> int:
        return self.sp.get_piece_size()

    def encode(self, text: str) -> list[int]:
        """Normalised text -> piece ids (no BOS/EOS added)."""
        return self.sp.encode(normalize(text), out_type=int)

    def log_prob(self, text: str) -> float:
        """The unigram log-probability of ``text``'s pieces (the sum of their scores); -inf when one is
        unknown. Compares spellings: "Tom" (one frequent piece) scores far above "tom" ("▁to" "m")."""
        ids = self.sp.encode(text, out_type=int)
        if not ids or UNK_ID in ids:
            return -math.inf
        return sum(self.sp.get_score(i) for i in ids)

    def pieces(self, ids: Iterable[int]) -> list[str]:
        """Ids -> their surface pieces, specials spelled as ``<unk>``, ``</s>``..."""
        return [self.sp.id_to_piece(int(i)) for i in ids]

    def decode(self, ids: Iterable[int]) -> str:
        """Ids -> detokenised text; specials (pad, bos, eos) are dropped, unk shows as ⁇."""
        keep = [int(i) for i in ids if int(i) not in (PAD_ID, BOS_ID, EOS_ID)]
        return self.sp.decode(keep)


def train_tokenizer(
    sentences: Iterable[str],
    vocab_size: int,
    model_type: str = "unigram",
    character_coverage: float = 1.0,
    seed_sentences: int = 2_000_000,
) -> Tokenizer:
    """Train a SentencePiece model on ``sentences`` (already normalised or not).

    ``vocab_size`` includes the four special pieces. For tiny corpora
    SentencePiece cannot always reach the requested size, so ``hard_vocab_limit``
    is off: the real size is read back from the result.
    """
    buffer = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=(normalize(s) for s in sentences),
        model_writer=buffer,
        vocab_size=vocab_size,
        model_type=model_type,
        character_coverage=character_coverage,
        pad_id=PAD_ID,
        unk_id=UNK_ID,
        bos_id=BOS_ID,
        eos_id=EOS_ID,
        pad_piece=PAD,
        unk_piece=UNK,
        bos_piece=BOS,
        eos_piece=EOS,
        hard_vocab_limit=False,
        input_sentence_size=seed_sentences,
        shuffle_input_sentence=True,
        # NFKC is done by normalize(); keep SentencePiece's own rule table out of
        # the way so encode(decode(x)) stays stable.
        normalization_rule_name="identity",
        num_threads=2,
        minloglevel=2,
    )
    return Tokenizer(buffer.getvalue())
