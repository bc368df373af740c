"""Attention as it formed: the probe payloads every epoch of one probe travels in (nmt_core.views.probes), and the
browser's reading of them (components/epochs.js, run in Node against Python's per-epoch views)."""

import json

import numpy as np
import pytest

from nmt_core.checkpoint import read_probes
from nmt_core.views.attention import attention_view
from nmt_core.views.heatmap_data import VIEWS
from nmt_core.views.probes import (
    epoch_at,
    epoch_panel_payload,
    epoch_view_sizes,
    epochs_payload,
    probe_payload,
    probe_view,
)
from tests.apphelpers import COMPONENTS, component_js
from tests.test_beam_page import NEEDS_NODE, run_in_node

M = "\u2581"


def softmax_rows(rows: int, columns: int, seed: int) -> list[list[float]]:
    weights = np.random.default_rng(seed).random((rows, columns)) ** 4
    return np.round(weights / weights.sum(axis=1, keepdims=True), 3).tolist()


def multi_piece_probes() -> list[dict]:
    """Probes whose words span several pieces, on both sides, with </s> and a lone ▁: the groups the tiny models
    (one piece a word) never exercise. Epoch 3 did not record probe 1; epoch 2 wrote a shorter translation."""
    source = [f"{M}Tod", "av", "ía", f"{M}en", f"{M}casa", "?", "</s>"]
    targets = {1: [f"{M}Sti", "ll", f"{M}at", f"{M}ho", "me", "?", "</s>"],
               2: [f"{M}Still", f"{M}home", M, "?"],
               3: [f"{M}Are", f"{M}they", f"{M}still", f"{M}at", f"{M}ho", "me", "?"]}
    probes = []
    for epoch, target in targets.items():
        trace = {"source": "Todavía en casa?", "source_tokens": source, "target_tokens": target,
                 "translation": "".join(target).replace(M, " ").strip(),
                 "attention": softmax_rows(len(target), len(source), epoch)}
        # probe 0: a word a piece on the target side
        other = {**trace, "target_tokens": [t if t.startswith(M) or t == "</s>" else M + t for t in target],
                 "translation": "x"}
        probes.append({"epoch": epoch, "dev_bleu": 10.0 * epoch, "traces": [other, trace] if epoch < 3 else [other]})
    return probes


def roundtrip(payload: dict) -> dict:
    return json.loads(json.dumps(payload, ensure_ascii=False))


def test_the_heatmap_payload_holds_every_epoch_with_the_source_once():
    probes = multi_piece_probes()
    payload = epochs_payload(probes, 1)
    epochs = payload["epochs"]
    assert epochs["epoch"] == [1, 2]  # epoch 3 did not record probe 1
    assert payload["source"] == probes[0]["traces"][1]["source_tokens"]  # once, not per epoch
    assert epochs["source_groups"] == [3, 1, 2, 1]  # Tod+av+ía, en, casa+? (punctuation glued), </s>
    assert epochs["target_groups"] == [[2, 1, 3, 1], [1, 1, 2]]  # Sti+ll at ho+me+? </s>; Still home ▁+?
    assert epochs_payload(probes, 0)["epochs"]["target_groups"][0] == 0  # a word a piece: 0, not [1, 1, ...]
    for e, entry in enumerate(probes[:2]):
        trace = entry["traces"][1]
        for view in VIEWS:
            expected = attention_view(trace["source_tokens"], trace["target_tokens"], trace["attention"],
                                      view == "words").matrix
            assert all(isinstance(w, int) for row in epochs[view][e] for w in row)  # thousandths
            np.testing.assert_allclose(np.asarray(epochs[view][e]) / 1000, expected, atol=5e-4 + 1e-12)
    assert epochs_payload(probes, 1)["id"] == payload["id"] != epochs_payload(probes, 0)["id"]
    # A model without attention has no heatmap; a probe never recorded neither.
    bare = [{**entry, "traces": [{**t, "attention": None} for t in entry["traces"]]} for entry in probes]
    assert epochs_payload(bare, 1) is None and epochs_payload(probes, 7) is None


def test_the_panel_payload_has_bleu_translation_and_entropy_per_epoch():
    probes = multi_piece_probes()
    epochs = epoch_panel_payload(probes, 1)["epochs"]
    assert epochs["epoch"] == [1, 2] and epochs["dev_bleu"] == [10.0, 20.0]
    assert epochs["translation"] == [probes[0]["traces"][1]["translation"], probes[1]["traces"][1]["translation"]]
    for view in VIEWS:
        assert epochs["entropy"][view] == [pytest.approx(probe_view(probes, e, 1, view == "words").entropy, abs=5e-4)
                                           for e in (1, 2)]
    assert epochs["entropy"]["words"] != epochs["entropy"]["pieces"]  # the switch changes it
    # Without attention: the translation and dev BLEU still scrub, no entropy.
    bare = [{**entry, "traces": [{**t, "attention": None} for t in entry["traces"]]} for entry in probes]
    panel = epoch_panel_payload(bare, 0)["epochs"]
    assert panel["epoch"] == [1, 2, 3] and panel["entropy"] is None


def test_sizes_fit_the_largest_epoch_and_a_link_names_a_recorded_epoch():
    payload = epochs_payload(multi_piece_probes(), 1)
    sizes = epoch_view_sizes(payload)
    assert sizes["pieces"].rows == 7 and sizes["pieces"].columns == 7  # epoch 1's 7 pieces
    assert sizes["words"].rows == 4 and sizes["words"].columns == 4  # Still at home? </s>; Todavía en casa? </s>
    assert sizes["words"].source_chars == len("Todavía")
    assert [epoch_at([1, 2, 5], asked) for asked in (1, 2, 3, 5, 9)] == [1, 2, 5, 5, 5]


@NEEDS_NODE
@pytest.mark.parametrize("probe", [0, 1])
def test_the_browser_unpacks_every_epoch_as_python_draws_it(tmp_path, probe):
    """epochs.js's ``unpackEpochs`` (run in Node) gives, per epoch, the views heatmap_data.matrix_payload makes of
    that epoch (:func:`probe_payload`): labels, words spelled from pieces, the hover's pieces, the matrices."""
    probes = multi_piece_probes()
    payload = epochs_payload(probes, probe)
    unpacked = run_in_node("epochs.js", "unpackEpochs", roundtrip(payload), tmp_path)
    assert len(unpacked) == len(payload["epochs"]["epoch"])
    for views, epoch in zip(unpacked, payload["epochs"]["epoch"], strict=True):
        expected = probe_payload(probes, epoch, probe)
        for view in VIEWS:
            js, py = views[view], expected[view]
            assert sorted(js) == sorted(py)
            matrix = js.pop("matrix")
            np.testing.assert_allclose(matrix, py["matrix"], atol=1e-12)
            assert js == {k: v for k, v in py.items() if k != "matrix"}


@NEEDS_NODE
def test_the_browser_unpacks_a_trained_models_probes(tmp_path, tiny_transformer_dir):
    probes = read_probes(tiny_transformer_dir)
    payload = epochs_payload(probes, 2)
    unpacked = run_in_node("epochs.js", "unpackEpochs", roundtrip(payload), tmp_path)
    for views, epoch in zip(unpacked, [1, 2, 3], strict=True):
        expected = probe_payload(probes, epoch, 2)
        for view in VIEWS:
            assert views[view]["target"] == expected[view]["target"]
            np.testing.assert_allclose(views[view]["matrix"], expected[view]["matrix"], atol=1e-12)


def test_the_epoch_code_puts_text_in_the_page_only_as_text():
    js = (COMPONENTS / "epochs.js").read_text(encoding="utf-8")
    for sink in (".innerHTML", ".outerHTML", "insertAdjacentHTML", "document.write", "createContextualFragment",
                 "DOMParser"):
        assert sink not in js, sink
    assert "textContent" in js
    # heatmap.js reaches it only through the epoch mode it documents
    assert 'from "./epochs.js"' in component_js("heatmap.js")
