"""The API's documentation pages (Swagger UI, ReDoc, getting started) load from the brand's own
host only: with every request to another host refused, as on a machine with no network, each page
renders the API's operations, and no request tried to leave (what the CSP blocks is never sent)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

PAGES = [
    # (path, a selector that appears once the page has rendered the operations, text it holds)
    ("/api/v1/docs/", ".opblock-summary", "Record one event"),
    ("/api/v1/docs/redoc/", "[role=menuitem], li[data-item-id]", "Record one event"),
    ("/api/v1/docs/getting-started", "main pre", "create_api_key"),
]


@pytest.mark.parametrize(("path", "rendered", "text"), PAGES, ids=[path for path, _, _ in PAGES])
def test_the_docs_page_renders_with_the_network_cut(fresh_brand, site_server, chromium, path, rendered, text):
    host = f"{fresh_brand.slug}.localhost:{site_server}"
    context = chromium.new_context()
    page = context.new_page()
    page.set_default_timeout(20_000)
    requested, elsewhere = [], []

    def route(route_, request):
        url = urlsplit(request.url)
        requested.append(request.url)
        if url.scheme in ("http", "https") and url.netloc != host:
            elsewhere.append(request.url)
            return route_.abort()
        return route_.continue_()

    context.route("**/*", route)
    try:
        response = page.goto(f"http://{host}{path}")
        assert response is not None and response.status == 200
        page.locator(rendered).first.wait_for()
        assert text in page.content()
    finally:
        context.close()
    assert requested, "the page was loaded through the recording route"
    assert elsewhere == []
