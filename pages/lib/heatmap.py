"""The heatmap component (nmt_core/figures/components/heatmap.js) for every page that draws attention.

A page hands it a payload (both views of a matrix, JSON bytes made once per decode: nmt_core.views.heatmap_data)
and this run's view fields; the words/pieces switch, the hover and the PNG/SVG download run in the browser.
"""

import re

import streamlit as st

from nmt_core.figures import asset, component_data, component_js
from nmt_core.figures.traces import image_config
from nmt_core.views.attention import MERGE_RULE
from pages.lib.common import set_url, url_int

# The merge rule as plain text, for the component (it writes text, not Markdown).
PLAIN_MERGE_RULE = MERGE_RULE.replace("**", "").replace("`", "")


def compact(source: str, comment: str | None = None) -> str:
    """``source`` without indentation, blank lines and the lines that are wholly a ``comment`` ("//" for JS):
    Streamlit 1.67 writes a v2 component's JS and CSS into every element message, so each new decode sends them
    again (~28 kB -> ~20 kB). Line breaks stay, so no statement changes meaning, and no string is touched."""
    lines = (line.strip() for line in source.splitlines())
    return "\n".join(line for line in lines if line and not (comment and line.startswith(comment)))


@st.cache_resource(show_spinner=False)
def heatmap_component():
    """The heatmap component, registered once per process (its JS and CSS are inlined from nmt_core/figures)."""
    return st.components.v2.component("attention_explorer.heatmap", js=compact(component_js("heatmap.js"), "//"),
                                      css=compact(re.sub(r"/\*.*?\*/", "", asset("heatmap.css"), flags=re.S)),
                                      isolate_styles=False)


def words_choice(big: bool) -> bool:
    """Words or pieces, as the link says (``?words=0|1``; words first on a projector), written back to the URL.

    The switch itself is the component's: it redraws in the browser and rewrites ``?words=`` there, so the
    next run (a new sentence, another model) reads the user's choice here."""
    merge = bool(url_int("words", int(big), 0, 1))
    set_url(words=int(merge))
    return merge


def draw_heatmap(key: str, payload: bytes, image: str, image_format: str = "png", on_words=None, **view) -> None:
    """Mount the component under ``key`` with ``payload`` and this run's ``view`` fields (heatmap.js lists them);
    ``image``: the download's file name. ``on_words``: called when the switch changes, where the server must
    hear it (``sync_words``)."""
    data = component_data(payload, key=key, rule=PLAIN_MERGE_RULE,
                          image=image_config(image, image_format)["toImageButtonOptions"], **view)
    if on_words is None:
        heatmap_component()(key=key, data=data)
    else:
        heatmap_component()(key=key, data=data, on_words_change=on_words)
