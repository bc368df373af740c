"""The heatmap component (nmt_core/figures/components/heatmap.js) for every page that draws attention.

A page hands it a payload (both views of a matrix, JSON bytes made once per decode: nmt_core.views.heatmap_data)
and this run's view fields; the words/pieces switch, the hover and the PNG/SVG download run in the browser.
"""


from nmt_core.figures import component_data
from nmt_core.figures.sizing import image_config
from nmt_core.views.attention import MERGE_RULE
from pages.lib.common import set_url, url_int
from pages.lib.components import FILE_COMPONENTS, file_component

# The merge rule as plain text, for the component (it writes text, not Markdown).
PLAIN_MERGE_RULE = MERGE_RULE.replace("**", "").replace("`", "")


def heatmap_component():
    """The heatmap component, its heatmap.js and heatmap.css served as files (pages.lib.components.file_component):
    each element message carries their URLs, which the browser imports once per page, not ~28 kB of their text
    with every new decode."""
    return file_component("heatmap", *FILE_COMPONENTS["heatmap"])


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
