"""The ``st.components.v2`` components whose JS and CSS the browser fetches as files, and which page mounts which.

Streamlit writes a component's inline js= and css= strings into every element message that mounts it (~20 kB
for Step through), so every new decode sent them again. A path instead is sent as its URL,
/_stcore/bidi-components/<package>.<name>/<file>, which the browser fetches and imports once per page (an ES
module, so ``import ... from "./shared.js"`` works). Streamlit serves files only from an ``asset_dir`` declared
by an installed package's pyproject.toml; this app is not installed, so the same declaration is made here, on
the running server's component manager: before a component is mounted, and when a page's HTML announces the
component's files to the browser (pages/lib/preload.py), before the browser asks for them.

No torch, pandas or nmt_core model code here: the server imports this while it starts.
"""

import functools

import streamlit as st

from nmt_core.figures import COMPONENTS

COMPONENT_PACKAGE = "attention_explorer"
# Each component's files, in nmt_core/figures/components (their own imports, like shared.js, are found from these).
FILE_COMPONENTS = {
    "heatmap": ("heatmap.js", "heatmap.css"),
    "step": ("step.js", "step.css"),
    "beam": ("beam.js", "beam.css"),
}
# The component a page mounts first, by the page's URL path ("" is Translate at /): what its HTML announces.
PAGE_COMPONENTS = {
    "": "heatmap", "translate": "heatmap", "compare": "heatmap", "explain": "heatmap", "models": "heatmap",
    "step": "step", "beam": "beam",
}


def declare_asset_dir(name: str) -> None:
    """Declare nmt_core/figures/components as component ``name``'s asset_dir on this runtime (AppTest makes a
    runtime per test, so this is checked on every mount: one dictionary lookup once declared)."""
    from streamlit.components.v2.get_bidi_component_manager import get_bidi_component_manager
    from streamlit.components.v2.manifest_scanner import ComponentConfig, ComponentManifest

    manager = get_bidi_component_manager()
    if manager.get_component_asset_root(f"{COMPONENT_PACKAGE}.{name}") is None:
        manifest = ComponentManifest(name=COMPONENT_PACKAGE, version="1",
                                     components=[ComponentConfig(name=name, asset_dir=COMPONENTS.name)])
        manager.register_from_manifest(manifest, COMPONENTS.parent)


@functools.cache
def _file_component(name: str, js: str, css: str):
    declare_asset_dir(name)
    return st.components.v2.component(f"{COMPONENT_PACKAGE}.{name}", js=js, css=css, isolate_styles=False)


def file_component(name: str, js: str, css: str):
    """The mount command of component ``attention_explorer.<name>``, its ``js`` and ``css`` files (names in
    nmt_core/figures/components) served as files: the element message carries their URLs, not their text."""
    declare_asset_dir(name)  # before the mount registers the definition on this run's runtime
    return _file_component(name, js, css)


def asset_url(name: str, file: str) -> str:
    """Where the browser fetches component ``name``'s ``file``, relative to a page's URL (as Streamlit's own
    index.html writes its ``./static/`` paths, so a ``server.baseUrlPath`` is kept)."""
    return f"./_stcore/bidi-components/{COMPONENT_PACKAGE}.{name}/{file}"
