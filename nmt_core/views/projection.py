"""A 2-D picture of learned embeddings: PCA of the most frequent pieces' vectors.

Which pieces: a SentencePiece unigram model stores each piece's log-probability
as its score, so the highest-scoring pieces are the most frequent ones (for a
BPE model the score is minus the merge rank, which also puts common pieces
first). Special pieces (<pad>, <unk>, <s>, </s>) are skipped: they are not words.

PCA by an exact SVD of the centred matrix (a few hundred rows, so it is cheap),
in float64, with each axis's sign fixed so the result is the same on every run
and machine (an SVD's signs are arbitrary; ``torch.pca_lowrank`` is randomised).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import torch

from ..model import Seq2Seq
from ..text import SPECIAL_IDS, Tokenizer

SIDES = ("source", "target")


@dataclass
class Projection:
    """``frame``: one row per piece (rank, id, piece, score, x, y), most frequent first;
    ``explained``: the fraction of the variance each axis holds, largest first."""

    frame: pd.DataFrame
    explained: list[float]


def frequent_pieces(tokenizer: Tokenizer, count: int) -> list[int]:
    """Ids of the ``count`` most frequent ordinary pieces, most frequent first (ties by id)."""
    sp = tokenizer.sp
    special = set(SPECIAL_IDS.values())
    ids = [i for i in range(tokenizer.vocab_size)
           if i not in special and not (sp.is_control(i) or sp.is_unknown(i) or sp.is_unused(i) or sp.is_byte(i))]
    ids.sort(key=lambda i: (-sp.get_score(i), i))
    return ids[: max(count, 0)]


def pca(matrix: torch.Tensor, components: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """Principal components of the rows of ``matrix (N, D)``.

    Returns ``coords (N, k)`` (the centred rows on the first k axes) and
    ``explained (k,)`` (each axis's share of the total variance, descending),
    with k = min(components, N, D). Deterministic: each axis points so that its
    largest-magnitude loading is positive.
    """
    if matrix.dim() != 2 or matrix.size(0) < 2:
        raise ValueError(f"PCA needs a 2-D matrix with at least 2 rows, got shape {tuple(matrix.shape)}")
    x = matrix.detach().to("cpu", torch.float64)
    x = x - x.mean(dim=0, keepdim=True)
    _, singular, vt = torch.linalg.svd(x, full_matrices=False)  # vt (min(N, D), D), rows = axes
    k = min(components, vt.size(0))
    axes = vt[:k]
    signs = torch.sign(axes.gather(1, axes.abs().argmax(dim=1, keepdim=True)))  # (k, 1)
    axes = axes * torch.where(signs == 0, torch.ones_like(signs), signs)
    variance = singular**2
    total = variance.sum()
    explained = variance[:k] / total if total > 0 else torch.zeros(k, dtype=torch.float64)
    return x @ axes.T, explained


def embedding_matrix(model: Seq2Seq, side: str) -> torch.Tensor:
    """The learned embedding table of one side: (V, E). The target one is also the output
    layer's weight when the model ties them (``tie_embeddings``)."""
    if side not in SIDES:
        raise ValueError(f"side must be one of {SIDES}, not {side!r}")
    if hasattr(model, "src_embed"):  # a Transformer keeps both tables on the model itself
        module = model.src_embed if side == "source" else model.tgt_embed
    else:
        module = model.encoder.embed if side == "source" else model.decoder.embed
    return module.weight.detach()


def embedding_projection(model: Seq2Seq, tokenizer: Tokenizer, side: str = "target", count: int = 300) -> Projection:
    """PCA to 2-D of the ``count`` most frequent pieces' embeddings on ``side``."""
    ids = frequent_pieces(tokenizer, count)
    if len(ids) < 3:
        raise ValueError(f"the {side} vocabulary has only {len(ids)} ordinary pieces: too few to project")
    with torch.inference_mode():
        vectors = embedding_matrix(model, side)[torch.tensor(ids)]
        coords, explained = pca(vectors, 2)
    frame = pd.DataFrame({
        "rank": range(1, len(ids) + 1),
        "id": ids,
        "piece": tokenizer.pieces(ids),
        "score": [tokenizer.sp.get_score(i) for i in ids],
        "x": coords[:, 0].tolist(),
        "y": coords[:, 1].tolist() if coords.size(1) > 1 else [0.0] * len(ids),
    })
    return Projection(frame, [float(v) for v in explained])
