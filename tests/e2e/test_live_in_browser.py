"""Live help in a real browser, on the ASGI app as production serves it (granian,
tests/community/live_server.py): with no helper online the window is hidden; a helper goes online
on their page, a visitor (another browser context) asks in the window, the helper takes the
conversation and answers, the visitor reads it live and rates it helpful (the helper's event); the
helper goes offline and the window is hidden again. Screenshots go to /tmp/live-shots/."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection

from community.live import helpers_online, presence_leave
from community.models import Conversation
from community.services.live import helper_save
from tests.community.live_server import asgi_served, session_cookie
from tests.factories import member_make

SHOTS = Path("/tmp/live-shots")


@pytest.fixture
def asgi_port(live_db):
    with asgi_served() as port:
        yield port


def _context(chromium, brand, cookie: str = "", width: int = 1280):
    context = chromium.new_context(viewport={"width": width, "height": 860})
    if cookie:
        context.add_cookies(
            [{"name": "sessionid", "value": cookie, "domain": f"{brand.slug}.localhost", "path": "/"}]
        )
    return context


def _live_state(page) -> str:
    page.wait_for_selector("html[data-live]", state="attached")
    return page.get_attribute("html", "data-live")


def test_a_visitor_talks_live_with_an_online_helper(fresh_brand, asgi_port, chromium):
    SHOTS.mkdir(exist_ok=True)
    connection.set_tenant(fresh_brand)
    helper = helper_save(member=member_make("helper", login=True, first_name="Inès"), display_name="Inès")
    helper_cookie = session_cookie(fresh_brand, helper.member.user)
    base = f"http://{fresh_brand.slug}.localhost:{asgi_port}"
    problems: list[str] = []
    contexts = []
    try:
        visitor_context = _context(chromium, fresh_brand, width=375)  # a phone
        contexts.append(visitor_context)
        visitor = visitor_context.new_page()
        visitor.set_default_timeout(15_000)
        visitor.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        visitor.goto(f"{base}/")
        assert _live_state(visitor) == "off"
        assert visitor.locator(".live").count() == 0

        helper_context = _context(chromium, fresh_brand, helper_cookie)
        contexts.append(helper_context)
        page = helper_context.new_page()
        page.set_default_timeout(15_000)
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.goto(f"{base}/community/live/helper/")
        going_online = lambda response: (  # noqa: E731 - not the page's own "offline" on load
            response.url.endswith("/community/live/helper/presence")
            and "online=yes" in (response.request.post_data or "")
        )
        with page.expect_response(going_online):
            page.click("[data-live-toggle]")
        page.wait_for_selector("[data-live-presence][data-online=true]")
        connection.set_tenant(fresh_brand)
        assert helpers_online() == [helper.pk]

        visitor.reload()
        assert _live_state(visitor) == "on"
        visitor.click(".live__toggle")
        visitor.fill(".live__name", "Lucie")
        visitor.fill(".live__input", "Hello! Can I leave a car at Orly airport?")
        visitor.press(".live__input", "Enter")
        visitor.wait_for_selector(".live__msg--visitor:has-text('Orly airport')")
        visitor.wait_for_selector(".live__state:has-text('Waiting for a helper')")
        visitor.screenshot(path=str(SHOTS / "visitor-waiting-375.png"))

        page.wait_for_selector("[data-live-waiting] li:has-text('Orly airport')")
        page.click("[data-live-waiting] li:has-text('Lucie') button")
        page.wait_for_selector("[data-live-log] .live__msg--visitor:has-text('Orly airport')")
        page.fill("#live-reply", "Yes: the P2 car park, level -1. End the trip there.")
        page.press("#live-reply", "Enter")
        page.wait_for_selector("[data-live-log] .live__msg--helper:has-text('level -1')")
        page.wait_for_selector("[data-live-mine] li:has-text('Lucie')")
        page.screenshot(path=str(SHOTS / "helper-page-1280.png"), full_page=True)

        visitor.wait_for_selector(".live__msg--helper:has-text('level -1')")
        visitor.wait_for_selector(".live__state:has-text('You are talking with Inès')")
        visitor.screenshot(path=str(SHOTS / "visitor-talking-375.png"))
        assert visitor.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        visitor.fill(".live__input", "Perfect, thank you!")
        visitor.press(".live__input", "Enter")
        page.wait_for_selector("[data-live-log] .live__msg--visitor:has-text('Perfect')")

        visitor.click(".live__end")
        visitor.wait_for_selector(".live__rate")
        visitor.screenshot(path=str(SHOTS / "visitor-rating-375.png"))
        visitor.check(".live__stars input[value='5']")
        visitor.check(".live__helpful input[value='yes']")
        visitor.click(".live__rate button[type=submit]")
        visitor.wait_for_selector(".live__thanks")
        page.wait_for_selector("[data-live-error]:has-text('closed')")

        connection.set_tenant(fresh_brand)
        conversation = Conversation.objects.get()
        assert (conversation.state, conversation.rating, conversation.helpful) == ("closed", 5, True)
        assert conversation.event is not None and conversation.event.member_id == helper.member_id
        assert list(conversation.messages.values_list("author", flat=True)) == [
            "visitor",
            "helper",
            "visitor",
        ]

        going_offline = lambda response: (  # noqa: E731
            response.url.endswith("/community/live/helper/presence")
            and "online=no" in (response.request.post_data or "")
        )
        with page.expect_response(going_offline):
            page.click("[data-live-toggle]")
        assert helpers_online() == []
        later = _context(chromium, fresh_brand)
        contexts.append(later)
        phone = later.new_page()
        phone.goto(f"{base}/")
        assert _live_state(phone) == "off"
        assert phone.locator(".live").count() == 0
        assert problems == []
    finally:
        for context in contexts:
            context.close()
        connection.set_tenant(fresh_brand)
        presence_leave(helper_id=helper.pk)
