"""Decoding: greedy, sampling, beam search, forced prefixes and stepping.

All decoders run the model one step at a time through ``Seq2Seq.step`` under
``torch.inference_mode()`` and return a :class:`~nmt_core.trace.Trace`.

* :class:`Stepper` advances one token at a time (greedy or sampled, or a token
  the caller picks), so the UI can step without re-decoding; greedy and
  sampled translation are just a Stepper run to the end.
* :func:`beam_search` keeps ``beam_size`` hypotheses, scores the whole beam
  with one decoder call per step, and records every node it expanded.
* :func:`greedy_batch` is the fast batched path for evaluating many sentences.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch

from .beam_rule import length_penalty, select
from .casing import restore_case
from .model import DecoderState, Memory, Seq2Seq, source_batch
from .text import BOS_ID, EOS_ID, PAD_ID, UNK_ID, Tokenizer, normalize
from .trace import BeamNode, BeamTrace, Candidate, Hypothesis, Step, Trace

MAX_INPUT_CHARACTERS = 10_000  # the most of a typed sentence that is read at all (bounds a pasted book's work)
MAX_SOURCE_PIECES = 200  # the encoder's limit: longer sentences are cut at a word boundary, with a notice
MAX_OUTPUT_LENGTH = 250
METHODS = ("greedy", "sample", "beam")
MIN_TEMPERATURE = 1e-6  # below this, sampling is greedy (the argmax, with probability 1)


class InputError(ValueError):
    """Bad user input or settings; the message is meant to be shown as is."""


@dataclass
class DecodeSettings:
    """How to decode; every field has a range checked by :meth:`validate`."""

    method: str = "greedy"  # "greedy", "sample" or "beam"
    beam_size: int = 5  # beam: hypotheses kept per step (1..50)
    n_best: int = 5  # beam: finished hypotheses returned (1..beam_size)
    length_penalty: float = 1.0  # beam: GNMT alpha; 0 ranks by raw log-prob (favours short)
    temperature: float = 1.0  # sample: logits / T; 0 means greedy
    top_k: int = 0  # sample: keep the k most likely tokens (0 = all)
    top_p: float = 1.0  # sample: nucleus, keep the smallest set with mass >= p
    seed: int = 0  # sample: the same seed replays the same sample
    unk_penalty: float = 0.0  # subtracted from <unk>'s log-prob (inf bans it)
    max_length_ratio: float = 2.0  # output limit = ratio * source pieces + extra
    max_length_extra: int = 10
    max_tokens: int = 0  # hard cap on output tokens, </s> included (0 = only the ratio rule)
    num_candidates: int = 10  # alternatives recorded per step

    def validate(self) -> DecodeSettings:
        import numbers

        def check(ok: bool, message: str):
            if not ok:
                raise InputError(message)

        # Types first (a config.json or a caller may hand over "5", 5.5, [] or True): one InputError
        # naming the setting, never a TypeError from a comparison below.
        for name in ("beam_size", "n_best", "top_k", "seed", "max_length_extra", "max_tokens", "num_candidates"):
            value = getattr(self, name)
            check(isinstance(value, numbers.Integral) and not isinstance(value, bool),
                  f"{name.replace('_', ' ')} must be a whole number, not {value!r}"[:120])
        for name in ("length_penalty", "temperature", "top_p", "unk_penalty", "max_length_ratio"):
            value = getattr(self, name)
            check(isinstance(value, numbers.Real) and not isinstance(value, bool),
                  f"{name.replace('_', ' ')} must be a number, not {value!r}"[:120])
        check(isinstance(self.method, str) and self.method in METHODS,
              f"method must be one of {', '.join(METHODS)}, not {self.method!r}"[:120])
        check(1 <= self.beam_size <= 50, f"beam size must be between 1 and 50, not {self.beam_size}")
        check(1 <= self.n_best <= self.beam_size, f"n-best must be between 1 and the beam size ({self.beam_size})")
        check(0 <= self.length_penalty <= 5, f"length penalty must be between 0 and 5, not {self.length_penalty}")
        check(0 <= self.temperature <= 100, f"temperature must be between 0 and 100, not {self.temperature}")
        check(self.top_k >= 0, f"top-k must be 0 (off) or positive, not {self.top_k}")
        # A p below 1e-6 keeps only the top token anyway; far below it (1e-46) float32 reads it as 0 and
        # the nucleus would drop every token.
        check(1e-6 <= self.top_p <= 1, f"top-p must be in (0, 1] and at least 1e-06, not {self.top_p}")
        check(self.unk_penalty >= 0, f"UNK penalty must be 0 or more, not {self.unk_penalty}")
        check(0 < self.max_length_ratio <= 10, f"max length ratio must be in (0, 10], not {self.max_length_ratio}")
        check(0 <= self.max_length_extra <= 100, "max length extra must be between 0 and 100")
        check(0 <= self.max_tokens <= MAX_OUTPUT_LENGTH,
              f"max tokens must be between 0 (automatic) and {MAX_OUTPUT_LENGTH}")
        check(1 <= self.num_candidates <= 100, "candidates per step must be between 1 and 100")
        check(-(2**63) <= self.seed < 2**63, "seed must fit in 64 bits")
        return self

    @property
    def is_greedy(self) -> bool:
        """Greedy, or sampling at a temperature so small that float32 logits / T would overflow."""
        return self.method == "greedy" or self.temperature < MIN_TEMPERATURE

    def max_length(self, source_pieces: int) -> int:
        limit = min(MAX_OUTPUT_LENGTH, int(self.max_length_ratio * source_pieces + self.max_length_extra))
        return min(limit, self.max_tokens) if self.max_tokens else limit

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class PreparedSource:
    text: str  # normalised, capitals restored when it had none (nmt_core.casing)
    ids: list[int]  # pieces without EOS
    tokens: list[str]  # pieces with the closing </s>, as the encoder reads them
    warnings: list[str]


class Translator:
    """A model with its two tokenisers: text in, traces out."""

    def __init__(self, model: Seq2Seq, src_tokenizer: Tokenizer, tgt_tokenizer: Tokenizer):
        self.model = model.eval()
        self.src_tokenizer = src_tokenizer
        self.tgt_tokenizer = tgt_tokenizer

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def prepare(self, text: str) -> PreparedSource:
        """Normalise, restore capitals, tokenise; raise :class:`InputError` only for text with nothing to translate.

        A sentence typed without a single capital is read with its capitals restored
        (:func:`nmt_core.casing.restore_case`), and a notice in ``warnings`` says how.

        Too long a sentence is not an error: it is cut at the last word boundary that fits in
        MAX_SOURCE_PIECES pieces (the encoder's limit) and a notice goes into ``warnings``.
        """
        if not isinstance(text, str):
            raise InputError("the sentence must be text")
        # Bound the work before tokenising: a pasted book is cut to MAX_INPUT_CHARACTERS first.
        characters = len(text)
        normalized = normalize(text[:MAX_INPUT_CHARACTERS])
        if not normalized:
            raise InputError("The sentence is empty: type something to translate.")
        warnings = []
        recased = restore_case(normalized, self.src_tokenizer)
        if recased is not None:
            normalized = recased
            shown = recased if len(recased) <= 80 else recased[:80].rstrip() + "…"
            warnings.append(f"The sentence has no capital letters and this model learned from cased text, "
                            f"so it reads “{shown}”.")
        ids = self.src_tokenizer.encode(normalized)
        if len(ids) > MAX_SOURCE_PIECES:
            pieces = f"more than {len(ids):,}" if characters > MAX_INPUT_CHARACTERS else f"{len(ids):,}"
            normalized = self._longest_fitting_prefix(normalized)
            ids = self.src_tokenizer.encode(normalized)
            warnings.append(
                f"The sentence is too long: the model reads at most {MAX_SOURCE_PIECES} pieces and this one has "
                f"{pieces}. Only the first {len(normalized):,} of its {characters:,} characters were translated "
                f"(up to “{normalized[-30:].lstrip()}”): translate one sentence at a time."
            )
        elif characters > MAX_INPUT_CHARACTERS:
            warnings.append(f"The sentence is too long: only its first {MAX_INPUT_CHARACTERS:,} of {characters:,} "
                            "characters were read: translate one sentence at a time.")
        unknown = sum(1 for i in ids if i == UNK_ID)
        if unknown:
            warnings.append(
                f"{unknown} piece{'s' if unknown > 1 else ''} of the sentence {'are' if unknown > 1 else 'is'} "
                "unknown to this model (shown as <unk>): characters it never saw in training."
                + (" Is the sentence in the model's source language?" if unknown * 2 >= len(ids) else "")
            )
        tokens = self.src_tokenizer.pieces(ids) + [self.src_tokenizer.pieces([EOS_ID])[0]]
        return PreparedSource(normalized, ids, tokens, warnings)

    def _longest_fitting_prefix(self, normalized: str) -> str:
        """The longest prefix of ``normalized`` that encodes to at most MAX_SOURCE_PIECES pieces.

        Cut at a space when one fits (whole words), else at any character (a long run of
        text without spaces, e.g. Chinese). Binary search: ~log2(length) encodes.
        """

        def fits(end: int) -> bool:
            return len(self.src_tokenizer.encode(normalized[:end])) <= MAX_SOURCE_PIECES

        def longest(ends: list[int]) -> int:
            low, high = 0, len(ends)  # ends[:low] all fit (assumed monotone); ends[high:] do not
            while low < high:
                middle = (low + high) // 2
                if fits(ends[middle]):
                    low = middle + 1
                else:
                    high = middle
            return ends[low - 1] if low else 0

        end = longest([i for i, ch in enumerate(normalized) if ch == " "])
        if not end:
            end = longest(list(range(1, len(normalized) + 1)))
        return normalized[:end].rstrip()

    def encode(self, source: PreparedSource) -> tuple[Memory, DecoderState]:
        src, lengths = source_batch([source.ids], self.device)
        return self.model.encode(src, lengths)

    def prefix_ids(self, prefix: str | list[int] | None) -> list[int]:
        """A forced prefix given as target text or ids -> ids (no BOS/EOS)."""
        if prefix is None:
            return []
        if isinstance(prefix, str):
            return self.tgt_tokenizer.encode(prefix)
        bad = [i for i in prefix if not (0 <= int(i) < self.tgt_tokenizer.vocab_size) or i in (PAD_ID, BOS_ID, EOS_ID)]
        if bad:
            raise InputError(f"prefix token ids {bad} are not valid target tokens")
        return [int(i) for i in prefix]

    def translate(self, text: str, settings: DecodeSettings | None = None, prefix=None) -> Trace:
        """Decode ``text`` with ``settings``; ``prefix`` forces the first target tokens."""
        settings = (settings or DecodeSettings()).validate()
        if settings.method == "beam":
            return beam_search(self, text, settings, prefix)
        stepper = Stepper(self, text, settings, prefix)
        return stepper.run()

    def stepper(self, text: str, settings: DecodeSettings | None = None, prefix=None) -> Stepper:
        return Stepper(self, text, (settings or DecodeSettings()).validate(), prefix)


def next_token_log_probs(model: Seq2Seq, prev_tokens: torch.Tensor, state: DecoderState, memory: Memory,
                         unk_penalty: float = 0.0):
    """One decoder step, scored as every decoder here scores it.

    prev_tokens (B,) -> log_probs (B, V) fp32 over the tokens that may be emitted
    (<pad> and <s> banned, the UNK penalty subtracted, then normalised),
    attention (B, S) or None, and the new state. One log-softmax over the
    adjusted logits: the same distribution as renormalising the model's
    log-probs, at half the cost.
    """
    logits, attention, state = model.step_logits(prev_tokens, state, memory)
    logits = logits.float()
    logits[:, PAD_ID] = float("-inf")
    logits[:, BOS_ID] = float("-inf")
    if unk_penalty:
        logits[:, UNK_ID] -= unk_penalty
    return torch.log_softmax(logits, dim=-1), attention, state


def layer_attention(state) -> torch.Tensor | None:
    """A decoder state's per-layer, per-head cross-attention of its last step, (L, B, h, S) fp32 on the CPU;
    None for a model that records none (the RNNs). See ``TransformerState.cross_attention``."""
    cross = getattr(state, "cross_attention", None)
    return None if cross is None else cross.float().cpu()


def sampling_distribution(log_probs: torch.Tensor, settings: DecodeSettings) -> torch.Tensor:
    """The distribution a token is drawn from: (V,) log-probs -> (V,) probs.

    Temperature first, then top-k, then top-p (nucleus) on what is left, as in
    Holtzman et al. (2020). Temperature 0 (or greedy) is a one-hot argmax.
    """
    if settings.is_greedy:
        probs = torch.zeros_like(log_probs)
        probs[log_probs.argmax()] = 1.0
        return probs
    logits = log_probs / settings.temperature
    if settings.top_k and settings.top_k < logits.numel():
        kth = logits.topk(settings.top_k).values[-1]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = torch.softmax(logits, dim=-1)
    if settings.top_p < 1.0:
        sorted_probs, order = probs.sort(descending=True)
        mass_before = sorted_probs.cumsum(0) - sorted_probs
        drop = mass_before >= settings.top_p  # keep tokens until the mass reaches p (the top one always)
        sorted_probs[drop] = 0.0
        probs = torch.zeros_like(probs).scatter(0, order, sorted_probs)
        probs = probs / probs.sum()
    return probs


class Stepper:
    """Greedy or sampled decoding, one token at a time.

    ``peek()`` shows the next-token distribution without committing;
    ``advance()`` commits the decoder's choice or a token you pick, which is how
    the UI's "what if" works: force a token, then keep going.
    """

    def __init__(self, translator: Translator, text: str, settings: DecodeSettings, prefix=None):
        self.translator = translator
        self.settings = settings
        self.source = translator.prepare(text)
        self.max_length = settings.max_length(len(self.source.tokens))
        self.generator = torch.Generator().manual_seed(settings.seed)
        self.steps: list[Step] = []
        with torch.inference_mode():
            self.memory, self.state = translator.encode(self.source)
        self._prev = BOS_ID
        # (log_probs (V,), chooser (V,), attention (S,) or None, next state, layer attention (L, h, S) or None)
        self._pending = None
        for token_id in translator.prefix_ids(prefix):
            self.advance(token_id, forced=True)

    @property
    def finished(self) -> bool:
        return (bool(self.steps) and self.steps[-1].token_id == EOS_ID) or len(self.steps) >= self.max_length

    def _next(self):
        if self._pending is None:
            with torch.inference_mode():
                prev = torch.tensor([self._prev], device=self.translator.device)
                # "The model's distribution" from here on means over tokens it may emit:
                # <pad>/<s> banned and the UNK penalty applied, as beam search scores them.
                log_probs, attention, state = next_token_log_probs(
                    self.translator.model, prev, self.state, self.memory, self.settings.unk_penalty)
            raw = log_probs[0].cpu()
            chooser = sampling_distribution(raw, self.settings)
            attention = None if attention is None else attention[0].float().cpu()
            layers = layer_attention(state)
            self._pending = (raw, chooser, attention, state, None if layers is None else layers[:, 0])
        return self._pending

    def peek(self) -> list[Candidate]:
        """The most likely next tokens (model probability and the chooser's)."""
        raw, chooser = self._next()[:2]
        return self._candidates(raw, chooser)

    def _candidates(self, raw: torch.Tensor, chooser: torch.Tensor) -> list[Candidate]:
        k = min(self.settings.num_candidates, raw.numel())
        top = raw.topk(k)
        tokens = self.translator.tgt_tokenizer.pieces(top.indices.tolist())
        return [
            Candidate(int(i), tok, math.exp(lp), float(chooser[i]))
            for i, lp, tok in zip(top.indices.tolist(), top.values.tolist(), tokens, strict=True)
        ]

    def choose(self) -> int:
        """The decoder's own choice for the next token (draws from the RNG when sampling)."""
        chooser = self._next()[1]
        if self.settings.is_greedy:
            return int(chooser.argmax())
        return int(torch.multinomial(chooser, 1, generator=self.generator))

    def advance(self, token_id: int | None = None, forced: bool = False) -> Step:
        """Commit one token: ``token_id`` if given (a forced choice), else the decoder's."""
        if self.finished:
            raise InputError("decoding has already finished")
        raw, chooser, attention, state, layers = self._next()
        if token_id is None:
            token_id = self.choose()
        elif not (0 <= token_id < raw.numel()):
            raise InputError(f"token id {token_id} is outside the target vocabulary")
        else:
            forced = True
        step = Step(
            index=len(self.steps),
            token_id=token_id,
            token=self.translator.tgt_tokenizer.pieces([token_id])[0],
            logprob=float(raw[token_id]),
            attention=None if attention is None else attention.tolist(),
            candidates=self._candidates(raw, chooser),
            forced=forced,
            layer_attention=None if layers is None else layers.tolist(),
        )
        self.steps.append(step)
        self.state, self._prev, self._pending = state, token_id, None
        return step

    def run(self) -> Trace:
        while not self.finished:
            self.advance()
        return self.trace()

    def trace(self) -> Trace:
        finished = bool(self.steps) and self.steps[-1].token_id == EOS_ID
        ids = [s.token_id for s in (self.steps[:-1] if finished else self.steps)]
        method = "greedy" if self.settings.is_greedy else "sample"
        return Trace(
            method=method,
            settings=self.settings.to_dict(),
            source_text=self.source.text,
            source_tokens=self.source.tokens,
            steps=list(self.steps),
            translation=self.translator.tgt_tokenizer.decode(ids),
            finished=finished,
            warnings=list(self.source.warnings),
        )


@dataclass
class AttentionMaps:
    """Every attention of a Transformer for one trace's sentence and translation (plain numpy, fp32).

    encoder_self (L_enc, h, S, S): source piece i (row) attending to source piece j;
    decoder_self (L_dec, h, T, T): the query writing target token t attends to the decoder inputs
    ``decoder_inputs`` (``<s>`` then the target tokens before t); zero above the diagonal (causal);
    cross (L_dec, h, T, S): the same as the trace's ``layer_attention``, from one teacher-forced pass.
    """

    encoder_self: np.ndarray
    decoder_self: np.ndarray
    cross: np.ndarray
    source_tokens: list[str]
    target_tokens: list[str]
    decoder_inputs: list[str]


def attention_maps(translator: Translator, trace: Trace) -> AttentionMaps | None:
    """A Transformer's self- and cross-attention for ``trace`` (its source and translation fed as a forced
    target), or None for a model without them (the RNNs). One full pass: attention at a step depends only
    on the tokens before it, so the rows equal the ones the decoder saw step by step."""
    model = translator.model
    if not hasattr(model, "attention_maps"):
        return None
    source = translator.prepare(trace.source_text)
    if source.tokens != trace.source_tokens:
        raise ValueError("the trace's source pieces are not what this model reads for its text")
    targets = trace.target_ids
    tgt_in = [BOS_ID] + targets[:-1] if targets else [BOS_ID]
    with torch.inference_mode():
        src, lengths = source_batch([source.ids], translator.device)
        maps = model.attention_maps(src, lengths, torch.tensor([tgt_in], device=translator.device))
    rows = len(targets)
    return AttentionMaps(
        encoder_self=maps.encoder_self.float().cpu().numpy(),
        decoder_self=maps.decoder_self.float().cpu().numpy()[:, :, :rows, :rows],
        cross=maps.cross.float().cpu().numpy()[:, :, :rows],
        source_tokens=list(trace.source_tokens),
        target_tokens=trace.target_tokens,
        decoder_inputs=translator.tgt_tokenizer.pieces(tgt_in)[:rows],
    )


class _TracedBeam:
    """The bookkeeping of one sentence's traced beam search: every node ever proposed, and the live beam.

    The selection itself is :func:`nmt_core.beam_rule.select`, shared with the batched search.
    """

    def __init__(self, translator: Translator, settings: DecodeSettings):
        self.tokenizer, self.settings = translator.tgt_tokenizer, settings
        self.nodes = [BeamNode(0, None, -1, BOS_ID, self.tokenizer.pieces([BOS_ID])[0], 0.0, 0.0, 0.0, None)]
        self.children: dict[int, list[BeamNode]] = {}
        self.beams: list[list[int]] = []
        self.finished: list[BeamNode] = []
        self.alive = [self.nodes[0]]
        # A Transformer's per-layer, per-head rows stay tensors, by node id -> (the step's (L, k, h, S), parent
        # row), until the search ends: only the nodes of the returned hypotheses get them as lists.
        self.node_layers: dict[int, tuple[torch.Tensor, int]] = {}

    def force(self, token_id: int, log_probs: torch.Tensor, attention, state) -> Step:
        """One forced-prefix token under the single live node; returns its Step (with what the model preferred)."""
        parent, settings = self.alive[0], self.settings
        lp = float(log_probs[0, token_id])
        row = None if attention is None else attention[0].float().cpu().tolist()
        layers = layer_attention(state)
        layers = None if layers is None else layers[:, 0].tolist()
        score = parent.score + lp
        node = BeamNode(len(self.nodes), parent.id, parent.step + 1, token_id, self.tokenizer.pieces([token_id])[0],
                        lp, score, score / length_penalty(parent.step + 2, settings.length_penalty), row,
                        layer_attention=layers)
        self.nodes.append(node)
        self.alive = [node]
        top = log_probs[0].topk(min(settings.num_candidates, log_probs.size(1)))
        alternatives = [Candidate(int(i), piece, math.exp(v), math.exp(v)) for i, v, piece in
                        zip(top.indices.tolist(), top.values.tolist(), self.tokenizer.pieces(top.indices.tolist()),
                            strict=True)]
        return Step(node.step, token_id, node.token, lp, row, alternatives, forced=True, layer_attention=layers)

    def expand(self, log_probs: torch.Tensor, attention, state, step_index: int) -> list[int]:
        """Record one step's proposals as nodes; returns the parent row of each new live hypothesis.

        log_probs (k, V) and attention (k, S) or None belong to the k live hypotheses, in order.
        """
        scores = torch.tensor([[n.score for n in self.alive]])
        chosen = select(scores, log_probs.cpu()[None], self.settings.beam_size)
        penalty = length_penalty(step_index + 1, self.settings.length_penalty)
        layers = layer_attention(state)
        rows = None if attention is None else attention.float().cpu().tolist()
        valid = int(chosen.valid[0].sum())  # -inf proposals sort last and are not recorded
        # Plain Python values once per step: indexing tensors element by element costs microseconds each.
        tokens, logprobs, cumulative, parents, finishes, grows = (
            t[0, :valid].tolist() for t in (chosen.tokens, chosen.logprobs, chosen.scores, chosen.parents,
                                            chosen.finishes, chosen.grows))
        pieces = self.tokenizer.pieces(tokens)
        next_alive, parent_rows = [], []
        for j in range(valid):
            row = parents[j]
            node = BeamNode(id=len(self.nodes), parent=self.alive[row].id, step=step_index, token_id=tokens[j],
                            token=pieces[j], logprob=logprobs[j], score=cumulative[j],
                            normalized_score=cumulative[j] / penalty, attention=None if rows is None else rows[row])
            self.nodes.append(node)
            if layers is not None:
                self.node_layers[node.id] = (layers, row)
            self.children.setdefault(node.parent, []).append(node)
            if finishes[j]:
                node.finished = True
                self.finished.append(node)
            elif grows[j]:
                next_alive.append(node)
                parent_rows.append(row)
            else:
                node.pruned = True
        self.beams.append([n.id for n in next_alive])
        self.alive = next_alive
        return parent_rows

    def path(self, node: BeamNode) -> list[BeamNode]:
        """The nodes from the root's child down to ``node``."""
        by_id, chain = self.nodes, []
        while node.parent is not None:
            chain.append(node)
            node = by_id[node.parent]  # node ids are their index in self.nodes
        return chain[::-1]

    def best(self) -> list[BeamNode]:
        """The n-best end nodes, by normalised score. Cut by the length limit, unfinished ones compete too."""
        finished = self.finished
        candidates = finished if len(finished) >= self.settings.n_best else finished + self.alive
        candidates = sorted(candidates, key=lambda n: n.normalized_score, reverse=True)[: self.settings.n_best]
        for node in {n.id: n for end in candidates for n in self.path(end)}.values():
            if node.id in self.node_layers:
                layers, row = self.node_layers[node.id]
                node.layer_attention = layers[:, row].tolist()
        return candidates

    def hypothesis(self, end: BeamNode) -> Hypothesis:
        output = [n for n in self.path(end) if n.token_id != EOS_ID]
        return Hypothesis(end.id, [n.token_id for n in output], [n.token for n in output],
                          self.tokenizer.decode(n.token_id for n in output), end.score, end.normalized_score,
                          end.finished)

    def steps(self, end: BeamNode, skip: int) -> list[Step]:
        """The Steps of the path to ``end`` after the ``skip`` forced ones, with each step's proposals as candidates."""
        return [
            Step(index=n.step, token_id=n.token_id, token=n.token, logprob=n.logprob, attention=n.attention,
                 layer_attention=n.layer_attention,
                 candidates=[Candidate(c.token_id, c.token, math.exp(c.logprob), math.exp(c.logprob))
                             for c in sorted(self.children.get(n.parent, []), key=lambda c: c.logprob, reverse=True)])
            for n in self.path(end)[skip:]
        ]


def beam_search(translator: Translator, text: str, settings: DecodeSettings, prefix=None) -> Trace:
    """Beam search with the whole beam in one decoder call per step, every proposal recorded.

    The rule is :func:`nmt_core.beam_rule.select`; every proposal becomes a node, kept, finished or pruned.
    The search stops when ``beam_size`` hypotheses have finished or the length limit is reached;
    finished hypotheses are ranked by normalised score.
    """
    model, device = translator.model, translator.device
    source = translator.prepare(text)
    max_length = settings.max_length(len(source.tokens))
    search = _TracedBeam(translator, settings)

    with torch.inference_mode():
        memory, state = translator.encode(source)
        # The forced prefix runs first, as a chain of single nodes under the root.
        prefix_steps = []
        for token_id in translator.prefix_ids(prefix):
            prev = torch.tensor([search.alive[0].token_id], device=device)
            log_probs, attention, state = next_token_log_probs(model, prev, state, memory, settings.unk_penalty)
            prefix_steps.append(search.force(token_id, log_probs, attention, state))
        step_index = search.alive[0].step + 1
        while search.alive and step_index < max_length and len(search.finished) < settings.beam_size:
            k = len(search.alive)
            prev = torch.tensor([n.token_id for n in search.alive], device=device)
            memory_k = memory.index_select(torch.zeros(k, dtype=torch.long, device=device))
            log_probs, attention, state = next_token_log_probs(model, prev, state, memory_k, settings.unk_penalty)
            parent_rows = search.expand(log_probs, attention, state, step_index)
            if parent_rows:
                state = state.index_select(torch.tensor(parent_rows, device=device))
            step_index += 1

    ends = search.best()
    hypotheses = [search.hypothesis(end) for end in ends]
    return Trace(
        method="beam",
        settings=settings.to_dict(),
        source_text=source.text,
        source_tokens=source.tokens,
        steps=prefix_steps + search.steps(ends[0], len(prefix_steps)),
        translation=hypotheses[0].translation,
        finished=ends[0].finished,
        beam=BeamTrace(nodes=search.nodes, beams=search.beams, hypotheses=hypotheses),
        warnings=list(source.warnings),
    )


def greedy_batch(translator: Translator, texts: list[str], batch_size: int = 128, max_length_ratio: float = 2.0,
                 max_length_extra: int = 10, unk_penalty: float = 0.0) -> list[str]:
    """Greedy translations of many sentences, batched (no traces): for evaluation.

    Scored by :func:`next_token_log_probs` like every other decoder (<pad>/<s> banned, the UNK penalty).
    """
    model, device = translator.model, translator.device
    results: list[str] = [""] * len(texts)
    encoded = [translator.src_tokenizer.encode(t)[:MAX_SOURCE_PIECES] for t in texts]
    order = sorted(range(len(texts)), key=lambda i: len(encoded[i]))
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            src, lengths = source_batch([encoded[i] for i in chunk], device)
            memory, state = model.encode(src, lengths)
            limit = min(MAX_OUTPUT_LENGTH, int(max_length_ratio * int(lengths.max()) + max_length_extra))
            prev = torch.full((len(chunk),), BOS_ID, dtype=torch.long, device=device)
            done = torch.zeros(len(chunk), dtype=torch.bool, device=device)
            outputs = []
            for _ in range(limit):
                log_probs, _, state = next_token_log_probs(model, prev, state, memory, unk_penalty)
                prev = log_probs.argmax(-1).masked_fill(done, PAD_ID)
                outputs.append(prev)
                done |= prev == EOS_ID
                if bool(done.all()):
                    break
            tokens = torch.stack(outputs, dim=1).tolist()
            for row, index in enumerate(chunk):
                ids = tokens[row]
                if EOS_ID in ids:
                    ids = ids[: ids.index(EOS_ID)]
                results[index] = translator.tgt_tokenizer.decode(ids)
    return results
