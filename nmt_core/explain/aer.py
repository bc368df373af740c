"""Word alignments as link sets: the Pharaoh format, alignment error rate, grow-diag-final-and.

A link (i, j) joins source word i and target word j, both 0-based. Files hold one
sentence per line, links separated by spaces: ``i-j`` a sure link, ``ipj`` a possible
one (the format of the Och & Ney and Mihalcea & Pedersen gold sets).

AER (Och & Ney 2003, "A Systematic Comparison of Various Statistical Alignment Models",
Computational Linguistics 29(1)), with hypothesis A, sure links S and possible links
P ⊇ S, counted over the whole corpus::

    precision = |A ∩ P| / |A|      recall = |A ∩ S| / |S|
    AER = 1 − (|A ∩ S| + |A ∩ P|) / (|A| + |S|)

grow-diag-final-and (Koehn, Och & Marcu 2003; Koehn et al. 2005, as in Moses'
``symal``/``giza2bal`` and fast_align's ``atools``) symmetrises a source→target and a
target→source alignment: start from their intersection, grow into neighbouring union
links (diagonals included) that align a still unaligned word, then add the remaining
union links of each direction whose two words are both unaligned.
"""

from __future__ import annotations

from dataclasses import dataclass

Link = tuple[int, int]


class AlignmentFormatError(ValueError):
    """A line of links that is not ``i-j`` / ``ipj`` pairs; the message names the line."""


def parse_links(line: str, one_based: bool = False, line_number: int | None = None) -> tuple[set[Link], set[Link]]:
    """One line -> (sure links, possible links), possible ⊇ sure (every sure link is possible)."""
    sure, possible = set(), set()
    where = f"line {line_number}: " if line_number is not None else ""
    for token in line.split():
        separator = "p" if "p" in token else "-"
        parts = token.split(separator)
        if len(parts) != 2 or not all(p.isdigit() for p in parts):
            raise AlignmentFormatError(f"{where}{token!r} is not a link (i-j sure, ipj possible)")
        i, j = int(parts[0]), int(parts[1])
        if one_based:
            if i < 1 or j < 1:
                raise AlignmentFormatError(f"{where}{token!r} has a 0 index but --one-based was given")
            i, j = i - 1, j - 1
        possible.add((i, j))
        if separator == "-":
            sure.add((i, j))
    return sure, possible


def format_links(links: set[Link] | list[Link]) -> str:
    """Links -> ``i-j`` tokens sorted by target word then source word (one output line)."""
    return " ".join(f"{i}-{j}" for i, j in sorted(links, key=lambda link: (link[1], link[0])))


@dataclass
class AlignmentScores:
    aer: float
    precision: float
    recall: float
    sentences: int
    hypothesis_links: int
    sure_links: int
    possible_links: int


def alignment_scores(hypotheses: list[set[Link]], sure: list[set[Link]], possible: list[set[Link]]) -> AlignmentScores:
    """Corpus AER, precision and recall (Och & Ney 2003). ``possible`` must include the sure links."""
    if not len(hypotheses) == len(sure) == len(possible):
        raise ValueError(f"{len(hypotheses)} hypothesis lines but {len(sure)} gold lines")
    a = s = a_s = a_p = p_total = 0
    for hyp, gold_sure, gold_possible in zip(hypotheses, sure, possible, strict=True):
        gold_possible = gold_possible | gold_sure
        a += len(hyp)
        s += len(gold_sure)
        p_total += len(gold_possible)
        a_s += len(hyp & gold_sure)
        a_p += len(hyp & gold_possible)
    precision = a_p / a if a else 0.0
    recall = a_s / s if s else 0.0
    aer = 1.0 - (a_s + a_p) / (a + s) if a + s else 0.0
    return AlignmentScores(aer, precision, recall, len(hypotheses), a, s, p_total)


NEIGHBOURS = ((-1, 0), (0, -1), (1, 0), (0, 1), (-1, -1), (-1, 1), (1, -1), (1, 1))


def grow_diag_final_and(forward: set[Link], backward: set[Link]) -> set[Link]:
    """Symmetrise two alignments given as (source i, target j) links.

    ``forward`` comes from the source→target model (one link per target word), ``backward``
    from the target→source model (one per source word), both already in (i, j) order.
    The iteration order (source words, then target words, neighbours in Moses' order) is
    Moses', so the result is deterministic and matches ``atools -c grow-diag-final-and``.
    """
    union = forward | backward
    if not union:
        return set()
    shape = (max(i for i, _ in union) + 1, max(j for _, j in union) + 1)
    growing = _Growing(forward & backward)
    while _grow_diag(growing, union, shape):
        pass
    for direction in (forward, backward):  # final-and: a link of either model between two unaligned words
        for i, j in _in_order(shape):
            if (i, j) in direction and i not in growing.source and j not in growing.target:
                growing.add(i, j)
    return growing.links


class _Growing:
    """The alignment being symmetrised, with the source and target words it covers."""

    def __init__(self, links: set[Link]):
        self.links = set(links)
        self.source = {i for i, _ in self.links}
        self.target = {j for _, j in self.links}

    def add(self, i: int, j: int) -> None:
        self.links.add((i, j))
        self.source.add(i)
        self.target.add(j)


def _in_order(shape: tuple[int, int]):
    """Every (i, j) of a (source words, target words) grid, source-major: Moses' visiting order."""
    return ((i, j) for i in range(shape[0]) for j in range(shape[1]))


def _grow_diag(growing: _Growing, union: set[Link], shape: tuple[int, int]) -> bool:
    """One grow-diag pass: next to each link (in Moses' order, links added on the way included), add a link of
    the union that covers a word not yet aligned on one side. True when it added one."""
    grew = False
    for i, j in _in_order(shape):
        if (i, j) not in growing.links:
            continue
        for di, dj in NEIGHBOURS:
            ni, nj = i + di, j + dj
            if (ni, nj) in union and (ni, nj) not in growing.links and (
                    ni not in growing.source or nj not in growing.target):
                growing.add(ni, nj)
                grew = True
    return grew
