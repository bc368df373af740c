"""nmt_core.views.sampling: prefix trees of samples, seeds that replay, one step under several temperatures."""

import math

import pytest

from nmt_core.decoding import DecodeSettings
from nmt_core.figures.sampling import temperature_chart
from nmt_core.figures.trees import prefix_tree_figure
from nmt_core.text import EOS_ID
from nmt_core.views.sampling import (
    OTHER_TOKENS,
    prefix_tree,
    prefix_tree_frame,
    sample_settings,
    samples_frame,
    temperature_frame,
    trace_tokens,
)

SENTENCE = "alpha beta gamma delta"


IDS = {"</s>": EOS_ID, "a": 10, "b": 11, "c": 12, "d": 13}


def seq(*tokens):
    return [(IDS[t], t) for t in tokens]


def test_prefix_tree_counts_by_hand():
    nodes = prefix_tree([seq("a", "b", "</s>"), seq("a", "c", "</s>"), seq("a", "b", "</s>"), seq("d")])
    by_path = {}
    for node in nodes:
        path, current = [], node
        while current.parent is not None:
            path.append(current.token)
            current = nodes[current.parent]
        by_path[tuple(reversed(path))] = node
    assert by_path[()].count == 4
    assert by_path[("a",)].count == 3 and by_path[("d",)].count == 1
    assert by_path[("a", "b")].count == 2 and by_path[("a", "c")].count == 1
    assert by_path[("a", "b", "</s>")].count == 2 and by_path[("a", "b", "</s>")].ends == 2
    assert by_path[("d",)].ends == 1  # a sample cut by the length limit ends without </s>
    assert len(nodes) == 7  # root, a, a-b, a-b-</s>, a-c, a-c-</s>, d
    assert [n.depth for n in nodes if n.token == "</s>"] == [3, 3]


def test_prefix_tree_counts_add_up_on_real_samples(translator):
    traces = [translator.translate(SENTENCE, DecodeSettings(method="sample", temperature=3.0, seed=s))
              for s in range(20)]
    nodes = prefix_tree(trace_tokens(t) for t in traces)
    assert nodes[0].count == 20
    children = {}
    for node in nodes[1:]:
        children.setdefault(node.parent, []).append(node)
    for node in nodes:
        assert node.count == node.ends + sum(k.count for k in children.get(node.id, [])), node
    # Every sample is one root-to-node path whose last node counts it as ending there.
    assert sum(n.ends for n in nodes) == 20
    assert len({t.translation for t in traces}) > 1  # temperature 3 really varies the samples
    frame = prefix_tree_frame(nodes)
    assert list(frame["count"]) == [n.count for n in nodes]
    assert frame.loc[frame["token_id"] == EOS_ID, "finished"].all()


def test_a_seed_replays_exactly(translator):
    base = DecodeSettings(unk_penalty=0.5)
    for seed in (0, 7, 123456):
        settings = sample_settings(base, temperature=1.5, top_k=5, top_p=0.9, seed=seed)
        first = translator.translate(SENTENCE, settings)
        again = translator.translate(SENTENCE, sample_settings(base, 1.5, 5, 0.9, seed))
        assert first.target_ids == again.target_ids and first.translation == again.translation
        assert [s.logprob for s in first.steps] == [s.logprob for s in again.steps]
    seeds = range(10)
    texts = {translator.translate(SENTENCE, sample_settings(base, 3.0, 0, 1.0, s)).translation for s in seeds}
    assert len(texts) > 1  # different seeds really draw differently


def test_sample_settings_match_what_the_sidebar_builds():
    # app.py: DecodeSettings(method="sample") then temperature, top_k, top_p, seed, unk_penalty, max_tokens.
    sidebar = DecodeSettings(method="sample")
    sidebar.temperature, sidebar.top_k, sidebar.top_p, sidebar.seed = 0.7, 3, 0.8, 5
    sidebar.unk_penalty, sidebar.max_tokens = 1.5, 20
    assert sample_settings(DecodeSettings(unk_penalty=1.5, max_tokens=20), 0.7, 3, 0.8, 5) == sidebar


def test_samples_frame(translator):
    traces = [translator.translate(SENTENCE, sample_settings(DecodeSettings(), 1.0, 0, 1.0, s)) for s in (3, 4)]
    frame = samples_frame([3, 4], traces)
    assert list(frame["seed"]) == [3, 4]
    assert list(frame["translation"]) == [t.translation for t in traces]
    assert frame["log-prob"].tolist() == pytest.approx([t.score for t in traces])


def test_temperature_frame_reshapes_one_step(translator):
    greedy = translator.translate(SENTENCE, DecodeSettings(method="greedy"))
    step = 2
    prefix = greedy.target_ids[:step]
    frame = temperature_frame(translator, SENTENCE, prefix, (0.01, 1.0, 100.0), top_n=5)
    for _, group in frame.groupby("temperature"):
        assert group["prob"].sum() == pytest.approx(1.0, abs=1e-5)
        assert list(group["rank"]) == list(range(1, 7)) and group["token"].iloc[-1] == OTHER_TOKENS
    at = {t: g.reset_index(drop=True) for t, g in frame.groupby("temperature")}
    # T = 1 is the model's own distribution: the greedy trace recorded it at that step.
    recorded = greedy.steps[step].candidates[:5]
    assert list(at[1.0]["token"][:5]) == [c.token for c in recorded]
    assert list(at[1.0]["prob"][:5]) == pytest.approx([c.prob for c in recorded], abs=1e-6)
    # T -> 0 is greedy: all the mass on the token greedy search chose.
    assert at[0.01]["token"][0] == greedy.steps[step].token and at[0.01]["prob"][0] > 0.99
    # A large T is close to uniform over the vocabulary: every top token near 1/V.
    vocab = translator.tgt_tokenizer.vocab_size - 2  # <pad> and <s> are never emitted
    assert at[100.0]["prob"][:5].max() < 2 / vocab and at[100.0]["prob"].iloc[-1] > 0.8
    # Temperature never reorders tokens.
    assert list(at[100.0]["token"]) == list(at[1.0]["token"])
    # The formula: p_T(i) is proportional to p(i) ** (1 / T).
    p1 = at[1.0]["prob"][:2].tolist()
    p100 = at[100.0]["prob"][:2].tolist()
    assert p100[0] / p100[1] == pytest.approx(math.exp((math.log(p1[0]) - math.log(p1[1])) / 100), rel=1e-4)


def test_temperature_chart_and_prefix_figure_build(translator):
    frame = temperature_frame(translator, SENTENCE, [], (0.5, 2.0), top_n=3)
    spec = temperature_chart(frame).to_dict()
    assert spec["facet"]["column"]["field"] == "panel"
    traces = [translator.translate(SENTENCE, sample_settings(DecodeSettings(), 2.0, 0, 1.0, s)) for s in range(6)]
    nodes = prefix_tree(trace_tokens(t) for t in traces)
    figure = prefix_tree_figure(prefix_tree_frame(nodes))
    texts = list(figure.data[-1].text)
    assert texts[0] == "×6"
    assert all(text.endswith(f"×{n.count}") for text, n in zip(texts, nodes, strict=True))
