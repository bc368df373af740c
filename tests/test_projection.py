"""PCA of embeddings for the Models page: frequent pieces, shapes, variance order, determinism."""

import pytest
import torch

from nmt_core.figures.models import projection_figure
from nmt_core.text import SPECIAL_IDS
from nmt_core.views.projection import Projection, embedding_matrix, embedding_projection, frequent_pieces, pca


def test_frequent_pieces_are_ordinary_and_most_frequent_first(tiny_checkpoint):
    tokenizer = tiny_checkpoint.tgt_tokenizer
    ids = frequent_pieces(tokenizer, 10)
    assert len(ids) == 10 and len(set(ids)) == 10
    assert not set(ids) & set(SPECIAL_IDS.values())
    scores = [tokenizer.sp.get_score(i) for i in ids]
    assert scores == sorted(scores, reverse=True)
    # Nothing left out scores higher than the last one kept.
    rest = [i for i in range(tokenizer.vocab_size) if i not in ids and i not in SPECIAL_IDS.values()]
    assert all(tokenizer.sp.get_score(i) <= scores[-1] for i in rest)
    everything = frequent_pieces(tokenizer, 10_000)
    assert len(everything) == tokenizer.vocab_size - len(SPECIAL_IDS)


def test_pca_shapes_variance_order_and_agreement_with_the_covariance():
    generator = torch.Generator().manual_seed(0)
    matrix = torch.randn(50, 6, generator=generator) * torch.tensor([5.0, 3.0, 1.0, 0.5, 0.2, 0.1])
    coords, explained = pca(matrix, 2)
    assert coords.shape == (50, 2) and explained.shape == (2,)
    assert explained[0] >= explained[1] > 0 and float(explained.sum()) <= 1.0
    centred = (matrix - matrix.mean(0)).double()
    eigenvalues = torch.linalg.eigvalsh(centred.T @ centred).flip(0)
    assert explained.tolist() == pytest.approx((eigenvalues[:2] / eigenvalues.sum()).tolist())
    # The variance of each coordinate is its axis's eigenvalue, and the axes are uncorrelated.
    assert (coords**2).sum(0).tolist() == pytest.approx(eigenvalues[:2].tolist())
    assert float(coords[:, 0] @ coords[:, 1]) == pytest.approx(0.0, abs=1e-8)


def test_pca_finds_the_stretched_direction():
    generator = torch.Generator().manual_seed(1)
    direction = torch.tensor([3.0, 4.0, 0.0]) / 5
    points = torch.randn(200, 1, generator=generator) * 10 * direction + torch.randn(200, 3, generator=generator) * 0.1
    coords, explained = pca(points, 2)
    assert explained[0] > 0.99
    centred = (points - points.mean(0)).double()
    assert coords[:, 0].abs().tolist() == pytest.approx((centred @ direction.double()).abs().tolist(), abs=0.05)


def test_pca_is_deterministic_and_sign_fixed():
    generator = torch.Generator().manual_seed(2)
    matrix = torch.randn(30, 8, generator=generator)
    first, explained = pca(matrix)
    second, _ = pca(matrix.clone())
    assert torch.equal(first, second)
    mirrored, mirrored_explained = pca(-matrix)  # same axes; only the sign convention decides the picture
    assert torch.allclose(mirrored, -first, atol=1e-10)
    assert torch.allclose(mirrored_explained, explained)


def test_pca_rejects_too_few_rows():
    with pytest.raises(ValueError, match="at least 2 rows"):
        pca(torch.zeros(1, 4))


@pytest.mark.parametrize("side", ["source", "target"])
def test_embedding_projection_of_a_checkpoint(tiny_checkpoint, side):
    tokenizer = tiny_checkpoint.src_tokenizer if side == "source" else tiny_checkpoint.tgt_tokenizer
    projection = embedding_projection(tiny_checkpoint.model, tokenizer, side, count=12)
    frame = projection.frame
    assert list(frame.columns) == ["rank", "id", "piece", "score", "x", "y"]
    assert len(frame) == 12 and frame["rank"].tolist() == list(range(1, 13))
    assert frame["id"].tolist() == frequent_pieces(tokenizer, 12)
    assert frame["piece"].tolist() == tokenizer.pieces(frame["id"].tolist())
    coords, explained = pca(embedding_matrix(tiny_checkpoint.model, side)[torch.tensor(frame["id"].tolist())])
    assert frame["x"].tolist() == pytest.approx(coords[:, 0].tolist())
    assert frame["y"].tolist() == pytest.approx(coords[:, 1].tolist())
    assert projection.explained == pytest.approx(explained.tolist())
    again = embedding_projection(tiny_checkpoint.model, tokenizer, side, count=12)
    assert again.frame.equals(frame)


def test_unknown_side_is_an_error(tiny_checkpoint):
    with pytest.raises(ValueError, match="side must be"):
        embedding_matrix(tiny_checkpoint.model, "middle")


def test_projection_figure_escapes_pieces_and_labels_the_most_frequent():
    import pandas as pd

    frame = pd.DataFrame({"rank": [1, 2, 3], "id": [4, 5, 6], "piece": ["<b>x</b>", "▁the", "&"],
                          "score": [-1.0, -2.0, -3.0], "x": [0.0, 1.0, 2.0], "y": [1.0, 0.0, 2.0]})
    figure = projection_figure(Projection(frame, [0.5, 0.25]), labelled=2)
    trace = figure.data[0]
    assert list(trace.text) == ["&lt;b&gt;x&lt;/b&gt;", "▁the", ""]
    assert "<b>" not in " ".join(trace.hovertext) and "&amp;" in trace.hovertext[2]
    assert "50%" in figure.layout.xaxis.title.text and "25%" in figure.layout.yaxis.title.text
