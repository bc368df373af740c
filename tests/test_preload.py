"""A page's HTML names its component's JS modules (pages/lib/preload.py), so the browser fetches them early."""

from __future__ import annotations

import asyncio
import concurrent.futures
from pathlib import Path

import pytest
import streamlit

from nmt_core.figures import COMPONENTS
from pages.lib import preload
from pages.lib.components import FILE_COMPONENTS, PAGE_COMPONENTS
from pages.lib.warm_up import module_graph
from tests.apphelpers import app_pages

HTML = b"<!DOCTYPE html><html><head><title>Streamlit</title></head><body></body></html>"


def serve(middleware, scope: dict, response: list[dict]) -> tuple[list[dict], dict]:
    """Run one request through ``middleware`` in front of an app that answers ``response`` (ASGI messages):
    what the client got, and the scope the app saw."""
    sent, seen = [], {}

    async def app(scope, receive, send):
        seen.update(scope)
        for message in response:
            await send(message)

    async def client(message):
        sent.append(message)

    # In a thread of its own: a browser test earlier in this process leaves Playwright's event loop running in
    # the main thread, where asyncio.run() refuses to start another.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, middleware(app)(scope, None, client)).result()
    return sent, seen


def page_request(path: str) -> dict:
    return {"type": "http", "method": "GET", "path": path,
            "headers": [(b"host", b"localhost"), (b"accept-encoding", b"gzip, br")]}


def html_response(*parts: bytes, status: int = 200, extra: tuple = ()) -> list[dict]:
    headers = [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(sum(map(len, parts))).encode()),
               (b"etag", b'"abc"'), (b"last-modified", b"Sun, 29 Nov 2026 08:38:59 GMT"), *extra]
    start = {"type": "http.response.start", "status": status, "headers": headers}
    bodies = [{"type": "http.response.body", "body": part, "more_body": i < len(parts) - 1}
              for i, part in enumerate(parts)]
    return [start, *bodies]


@pytest.fixture
def declared(monkeypatch):
    names = []
    monkeypatch.setattr(preload, "declare_asset_dir", names.append)
    return names


@pytest.mark.parametrize(("path", "component"), [
    ("/", "heatmap"), ("/translate", "heatmap"), ("/compare", "heatmap"), ("/explain", "heatmap"),
    ("/models", "heatmap"), ("/step", "step"), ("/beam", "beam"), ("/step/", "step"), ("/translate/step", None),
    ("/sampling", None), ("/evaluate", None), ("/nowhere", None), ("/static/js/index.js", None),
    ("/_stcore/health", None), ("/_stcore/bidi-components/attention_explorer.heatmap/heatmap.js", None),
])
def test_each_page_path_announces_the_component_it_mounts_first(path, component):
    assert preload.page_component(page_request(path)) == component
    assert preload.page_component({**page_request(path), "method": "POST"}) is None
    assert preload.page_component({"type": "websocket", "path": path}) is None


def test_a_base_url_path_is_read_off_first(monkeypatch):
    from streamlit import config

    monkeypatch.setattr(config, "get_option", lambda name: "/base/" if name == "server.baseUrlPath" else None)
    for path, component in [("/base", "heatmap"), ("/base/", "heatmap"), ("/base/step", "step"),
                            ("/step", None), ("/based/step", None), ("/base/static/js/index.js", None)]:
        assert preload.page_component(page_request(path)) == component, path


def test_the_announced_pages_are_the_apps_pages():
    assert set(PAGE_COMPONENTS) - {""} <= {path for _, path in app_pages()}
    assert set(PAGE_COMPONENTS.values()) <= set(FILE_COMPONENTS)


@pytest.mark.parametrize("component", sorted(FILE_COMPONENTS))
def test_the_links_name_existing_files_every_module_of_the_component_and_streamlits_chunk(component):
    links = preload.preload_links(component).decode()
    hrefs = [tag.split('href="')[1].split('"')[0] for tag in links.split("<link")[1:]]
    assert all('rel="modulepreload" crossorigin' in tag for tag in links.split("<link")[1:])
    chunk = preload.streamlit_chunk()
    # The pinned Streamlit has exactly one such chunk: a renamed one would silently lose the hint, so fail here.
    assert chunk is not None and hrefs[0] == f"./static/js/{chunk}"
    assert (Path(streamlit.__file__).parent / "static" / "static" / "js" / chunk).is_file()
    modules = {name for name in module_graph(FILE_COMPONENTS[component]) if name.endswith(".js")}
    assert modules >= {FILE_COMPONENTS[component][0], "shared.js"}
    prefix = f"./_stcore/bidi-components/attention_explorer.{component}/"
    assert hrefs[1:] == [prefix + name for name in sorted(modules)]
    assert all((COMPONENTS / name).is_file() for name in modules)


def test_a_pages_html_gets_the_links_in_its_head_with_a_new_length_and_no_validators(declared):
    sent, seen = serve(preload.PreloadComponents, page_request("/step"), html_response(HTML[:30], HTML[30:]))
    assert declared == ["step"]  # the browser's early requests must find the component's files
    assert (b"accept-encoding", b"gzip, br") not in seen["headers"] and (b"host", b"localhost") in seen["headers"]
    start, body = sent
    headers = dict(start["headers"])
    links = preload.preload_links("step")
    assert body["body"] == HTML.replace(b"</head>", links + b"</head>") and not body["more_body"]
    assert headers[b"content-length"] == str(len(body["body"])).encode()
    assert b"etag" not in headers and b"last-modified" not in headers
    assert headers[b"content-type"].startswith(b"text/html") and start["status"] == 200


@pytest.mark.parametrize("response", [
    html_response(HTML, status=304),  # a revalidation: no body to edit
    html_response(HTML, extra=((b"content-encoding", b"gzip"),)),  # compressed by someone else: left as it is
    [{"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]},
     {"type": "http.response.body", "body": b"{}", "more_body": False}],
])
def test_any_other_answer_passes_through_as_it_came(declared, response):
    sent, _ = serve(preload.PreloadComponents, page_request("/"), response)
    assert sent == response


def test_a_request_that_is_no_page_passes_through_untouched(declared):
    request = page_request("/static/js/index.js")
    sent, seen = serve(preload.PreloadComponents, request, html_response(HTML))
    assert sent == html_response(HTML) and seen == request and declared == []


def test_html_without_a_head_is_sent_as_it_is():
    assert preload.with_links(b"<html><body></body></html>", b"<link>") == b"<html><body></body></html>"


def test_a_failing_declaration_serves_the_page_without_links(monkeypatch):
    def broken(name):
        raise RuntimeError("no runtime")

    monkeypatch.setattr(preload, "declare_asset_dir", broken)
    sent, seen = serve(preload.PreloadComponents, page_request("/"), html_response(HTML))
    assert sent == html_response(HTML) and (b"accept-encoding", b"gzip, br") in seen["headers"]
