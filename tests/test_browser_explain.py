"""The Explain page (/explain) in a real browser: Chromium driven by Playwright, on the tiny reverse-task model.

It shares the browser tests' session fixtures (tests/browserfixtures.py: one ``streamlit run`` server with the
tiny checkpoint, one Chromium, the screenshots folder). The page must draw both heatmaps (attention and attribution),
show the intervention's new continuation beside the old one, follow a change of source word (and keep it in
the URL), and show no exception or error. Screenshots: ``explain.png`` (1400x1000, the heatmaps),
``explain-intervention.png`` (1400x1000, the intervention) and ``classroom-explain.png`` (1280x720), beside
the other browser test's; then, on the same load (the page opens once per size, with the 15-word sentence), the
fit checks (``explain-15-words-*.png``).
"""

import pytest

from tests import test_browser
from tests.browserfixtures import close_tabs
from tests.test_browser import (
    CLASSROOM_VIEWPORT,
    LONG_SENTENCE,
    NORMAL_VIEWPORT,
    REVERSED,
    TIMEOUT_MS,
    check_fit,
    heatmap,
    main_text,
    open_counting,
    open_page,
    settle,
    sync_api,
)

pytestmark = test_browser.pytestmark  # slow, and skipped without chromium (or playwright: the import above)


def after_text(page) -> str:
    """The intervention's new translation: the last st.text of the main area (the "After" column)."""
    return page.locator('[data-testid="stMain"] [data-testid="stText"]').last.inner_text().strip()


def choose(page, label: str, option: str) -> None:
    """Pick ``option`` in the st.selectbox labelled ``label``, one of them if the list has it more than once (its
    list can miss a click made during a rerun: open it again until the option shows)."""
    box = page.locator('[data-testid="stSelectbox"]', has_text=label)
    box.scroll_into_view_if_needed()
    wanted = page.get_by_role("option", name=option, exact=True).first
    for _ in range(5):
        settle(page)
        box.locator('[role="combobox"], input').first.click()
        try:
            wanted.wait_for(timeout=5_000)
            break
        except sync_api.TimeoutError:
            page.keyboard.press("Escape")
    wanted.click()


@pytest.mark.parametrize("classroom", [False, True], ids=["normal", "classroom"])
def test_explain_page_in_a_real_browser(tabs, server, shots, tiny_checkpoint_dir, classroom):
    """The page opened once, with the 15-word sentence: its checks, then on the same load its fit checks
    (tests/test_browser.py's check_fit: attention and attribution side by side, labels, the projector).

    The sentence ends "alpha beta gamma" and the tiny model's translation starts "gamma beta alpha" (see
    tests/test_browser.py): all attention on a source word at step 1 makes it emit that word; "beta" is there
    twice (words 1 and 13): either."""
    page = open_page(tabs, server, "explain", classroom, text=LONG_SENTENCE, step=1, word=0, mode="focus",
                     attribution="saliency")
    viewport = page.viewport_size
    assert viewport == (CLASSROOM_VIEWPORT if classroom else NORMAL_VIEWPORT)
    try:
        if classroom:  # no title on a projector (its height goes to the heatmaps): the translation comes first
            page.locator('[data-testid="stMain"] strong', has_text="Translation:").wait_for(timeout=TIMEOUT_MS)
        else:
            page.get_by_role("heading", name="Explain", level=1).wait_for(timeout=TIMEOUT_MS)
        # the whole page first (attribution and the intervention take the longest): a figure is hidden while
        # a rerun redraws it, and a shared CI machine can take more than TIMEOUT_MS for all of it
        page.get_by_role("heading", name="Intervention: does the output follow the attention?").wait_for(
            timeout=3 * TIMEOUT_MS)
        settle(page)
        for key in ("explain_attention", "explain_attribution"):  # both heatmaps drawn
            page.locator(f"{heatmap(key)} .ae-hm-cell").first.wait_for(state="visible", timeout=3 * TIMEOUT_MS)
        for key in ("explain_attention", "explain_attribution"):  # labels on the axes, </s> shown as text
            for piece in ("gamma", "</s>"):
                page.locator(f"{heatmap(key)} [data-ae=xlabel]", has_text=piece).first.wait_for(timeout=TIMEOUT_MS)
        page.get_by_role("heading", name="Inside attention at step 1").wait_for(timeout=TIMEOUT_MS)
        main_text(page, REVERSED).wait_for(timeout=TIMEOUT_MS)  # "Before": the model's own translation
        settle(page)
        # step 1's attention all on "alpha": the reversing model now starts with it
        assert after_text(page).startswith("alpha"), after_text(page)
        assert page.get_by_text("before,").count() >= 1  # P(old token) before and after
        prefix = "classroom-" if classroom else ""
        if not classroom:
            choose(page, "Source word", "beta")
            page.wait_for_function("['1', '13'].includes(new URLSearchParams(location.search).get('word'))",
                                   timeout=TIMEOUT_MS)  # "beta" is source word 1 and 13: either, in the URL
            settle(page)
            assert after_text(page).startswith("beta"), after_text(page)  # the output follows the attention
            page.mouse.move(0, 0)
            page.screenshot(path=str(shots / "explain-intervention.png"))  # scrolled to the intervention
        assert page.locator('[data-testid="stException"]').count() == 0
        assert page.locator('[data-testid="stAlertContentError"]').count() == 0
        page.locator(heatmap("explain_attention")).first.scroll_into_view_if_needed()  # the two heatmaps in the picture
        page.mouse.move(0, 0)  # no hover toolbar over a figure in the picture
        page.screenshot(path=str(shots / f"{prefix}explain.png"))
        check_fit(page, shots, tiny_checkpoint_dir, "explain", viewport)
    finally:
        close_tabs(page)


def test_explain_words_switch_redraws_both_heatmaps_in_the_browser(tabs, server, shots):
    """The attention heatmap's switch turns both heatmaps (and the attribution's correlations) to words and back
    with no message to the server; the link keeps ?words=."""
    page, sent = open_counting(tabs, server, "explain", NORMAL_VIEWPORT, words=0, attribution="saliency",
                               text="alpha beta gamma delta")
    keys = ("explain_attention", "explain_attribution")
    try:
        page.get_by_role("heading", name="Intervention: does the output follow the attention?").wait_for(
            timeout=3 * TIMEOUT_MS)
        for key in keys:
            page.locator(f"{heatmap(key)} .ae-hm-cell").first.wait_for(state="visible", timeout=TIMEOUT_MS)
        settle(page)
        page.wait_for_timeout(500)
        assert [page.locator(heatmap(k)).get_attribute("data-mode") for k in keys] == ["pieces", "pieces"]
        notes = page.locator(f"{heatmap('explain_attribution')} .ae-hm-note").all_inner_texts()
        assert len(notes) == int(page.locator(heatmap("explain_attribution")).get_attribute("data-rows"))
        before = len(sent)
        assert page.locator(f"{heatmap('explain_attribution')} [data-ae=words]").is_hidden()  # one switch for both
        switch = page.locator(f"{heatmap('explain_attention')} [data-ae=words]")
        switch.check()
        for key in keys:
            page.wait_for_function(f"document.querySelector({heatmap(key)!r}).dataset.mode === 'words'",
                                   timeout=TIMEOUT_MS)
            labels = page.locator(f"{heatmap(key)} [data-ae=xlabel]").all_inner_texts()
            assert labels[:4] == ["alpha", "beta", "gamma", "delta"], (key, labels)
        page.wait_for_function("new URLSearchParams(location.search).get('words') === '1'", timeout=TIMEOUT_MS)
        page.locator(f"{heatmap('explain_attribution')} .ae-hm-cell").first.hover()
        readout = page.locator(f"{heatmap('explain_attribution')} [data-ae=readout]").inner_text()
        assert "\u2190 alpha" in readout and "|score|: " in readout, readout
        page.mouse.move(0, 0)
        page.screenshot(path=str(shots / "explain-words.png"))
        switch.uncheck()
        page.wait_for_function(f"document.querySelector({heatmap(keys[1])!r}).dataset.mode === 'pieces'",
                               timeout=TIMEOUT_MS)
        page.wait_for_timeout(300)
        assert len(sent) == before, "the words/pieces switch sent messages to the server"
    finally:
        close_tabs(page)
