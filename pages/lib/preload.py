"""A page's HTML names the files of the component it mounts first, so the browser fetches them before it needs them.

Without this, the browser asks for a component's files only when the element that mounts it arrives: Streamlit's
BidiComponent chunk, then the component's CSS and JS module, then the modules that one imports (shared.js), three
round trips in a row after the heatmap's data is already there. On a fresh server those requests also wait for the
warm-up's imports, which hold the interpreter lock (pages/lib/warm_up.py). Announced in the HTML, as
``<link rel="modulepreload">`` (the JS modules; the CSS comes with the element, in parallel with them), they are fetched
while the browser compiles Streamlit's own bundle and the server imports torch, and the element mounts at once. So a
module can run before its stylesheet applies: heatmap.js measures its grid only once heatmap.css does.

:class:`PreloadComponents` is ASGI middleware (app.py). It edits only the HTML of a page path it knows
(pages/lib/components.py PAGE_COMPONENTS); every other request passes through untouched. The links are hints: a
file that is missing or renamed (another Streamlit's chunk name) costs one failed fetch, never the page.
"""

import functools
from pathlib import Path

from pages.lib.components import FILE_COMPONENTS, PAGE_COMPONENTS, asset_url, declare_asset_dir
from pages.lib.warm_up import module_graph

HEAD_END = b"</head>"


@functools.cache
def streamlit_chunk(prefix: str = "BidiComponent.") -> str | None:
    """The file name of Streamlit's own chunk that mounts every ``st.components.v2`` component (its name carries a
    content hash), or None when this Streamlit does not have exactly one."""
    import streamlit

    found = sorted(p.name for p in (Path(streamlit.__file__).parent / "static" / "static" / "js").glob(f"{prefix}*.js"))
    return found[0] if len(found) == 1 else None


@functools.cache
def preload_links(component: str) -> bytes:
    """The ``<link>`` tags for component ``component``: Streamlit's chunk, then its JS modules and their imports.
    ``crossorigin`` as Streamlit's own modulepreload links: the same request mode as the import they serve."""
    tags = []
    if chunk := streamlit_chunk():
        tags.append(f'<link rel="modulepreload" crossorigin href="./static/js/{chunk}">')
    for file in sorted(module_graph(FILE_COMPONENTS[component])):
        if file.endswith(".js"):  # not the CSS: Chromium warns in the console when a preload waits unused for ~3 s
            tags.append(f'<link rel="modulepreload" crossorigin href="{asset_url(component, file)}">')
    return "".join(tags).encode("ascii")


def page_component(scope: dict) -> str | None:
    """The component a GET of a page's HTML should announce, or None (any other request: files, the websocket,
    /_stcore/ endpoints, a path that is no page). Paths are read below Streamlit's ``server.baseUrlPath``."""
    if scope.get("type") != "http" or scope.get("method") != "GET":
        return None
    from streamlit import config

    path, base = scope.get("path", "").strip("/"), (config.get_option("server.baseUrlPath") or "").strip("/")
    if base:
        if path != base and not path.startswith(base + "/"):
            return None
        path = path[len(base) + 1:]
    return PAGE_COMPONENTS.get(path)


def with_links(body: bytes, links: bytes) -> bytes:
    """``body`` with ``links`` at the end of its <head> (unchanged when it has none)."""
    at = body.find(HEAD_END)
    return body if at < 0 else body[:at] + links + body[at:]


class PreloadComponents:
    """ASGI middleware: add :func:`preload_links` to the HTML of a page that mounts a file component.

    The page's request goes on without ``accept-encoding``, so the HTML comes back uncompressed and can be edited
    (7.9 kB rather than 2.4 kB over the wire, once per page load). Its ``etag`` and ``last-modified`` are dropped:
    they name Streamlit's file, not the page sent. The component's asset folder is declared on the server first,
    so the browser's early requests for its files find them (a mount would otherwise declare it later)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        component = page_component(scope)
        if component is None:
            await self.app(scope, receive, send)
            return
        try:
            declare_asset_dir(component)
            links = preload_links(component)
        except Exception:  # noqa: BLE001  a hint only: serve the page as it is
            await self.app(scope, receive, send)
            return
        headers = [(key, value) for key, value in scope.get("headers", []) if key.lower() != b"accept-encoding"]
        await self.app({**scope, "headers": headers}, receive, _HtmlEditor(send, links).send)


class _HtmlEditor:
    """The ``send`` of one response: a 200 text/html answer is held until its last body part, then sent with the
    links in its <head> and a new content-length; any other answer passes through as it comes."""

    DROPPED = {b"content-length", b"etag", b"last-modified"}

    def __init__(self, send, links: bytes):
        self._send, self._links = send, links
        self._start: dict | None = None  # held while the HTML's body is collected
        self._body: list[bytes] = []

    async def send(self, message: dict) -> None:
        if message["type"] == "http.response.start":
            headers = dict((key.lower(), value) for key, value in message.get("headers", []))
            html = headers.get(b"content-type", b"").startswith(b"text/html")
            if message.get("status") == 200 and html and b"content-encoding" not in headers:
                self._start = message
                return
        elif message["type"] == "http.response.body" and self._start is not None:
            self._body.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = with_links(b"".join(self._body), self._links)
            headers = [(k, v) for k, v in self._start.get("headers", []) if k.lower() not in self.DROPPED]
            headers.append((b"content-length", str(len(body)).encode("ascii")))
            await self._send({**self._start, "headers": headers})
            await self._send({"type": "http.response.body", "body": body, "more_body": False})
            self._start = None
            return
        await self._send(message)
