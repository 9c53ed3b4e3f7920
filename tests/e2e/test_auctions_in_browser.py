"""Points auctions and club services in a real browser: a member bids on the rare bottle of the
demo, is shown leading, then another member outbids them and they see their points back; a VIP
member asks for the cellar valuation and reads staff's answer; staff see the bids and the queue.
Screenshots at desktop and phone widths go to /tmp/auction-shots/."""

from __future__ import annotations

from pathlib import Path

from django.db import connection

from community.demo.auctions import seed as auctions_seed
from community.demo.club_services import seed as services_seed
from community.models import Auction, ServiceRequest
from community.services.auctions import bid_place
from community.services.club_services import service_request_handle
from tests.community.factories import bidder_make, cellar_make, vip_make
from tests.conftest import TEST_PASSWORD

SHOTS = Path("/tmp/auction-shots")


def _login(page, base: str, username: str, next_url: str) -> None:
    page.goto(f"{base}/accounts/login/?next={next_url}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + next_url)


def test_a_member_bids_is_outbid_and_a_vip_asks_for_a_service(fresh_brand, site_server, page):
    SHOTS.mkdir(exist_ok=True)
    connection.set_tenant(fresh_brand)
    cellar_make()
    auctions_seed(slug="grand-cru")
    services_seed(slug="grand-cru")
    auction = Auction.objects.get()
    bidder_make("claire", login=True, first_name="Claire")
    rival = bidder_make("rival", points=5000)
    vip_make("vera", **{"address_line1": "1 quai", "city": "Bordeaux"})
    connection.set_schema_to_public()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    refused_bid = "status of 400"  # the too-low bid's page answers 400, as a refused form does
    base = f"http://{fresh_brand.slug}.localhost:{site_server}"

    page.goto(base + "/community/auctions/")
    assert "Château Pétrus 1990" in page.content()
    page.screenshot(path=str(SHOTS / "list-1280.png"), full_page=True)
    _login(page, base, "claire@example.com", f"/community/auctions/{auction.pk}/")
    page.screenshot(path=str(SHOTS / "detail-1280.png"), full_page=True)
    page.fill("input[name=points]", "510")
    page.click("main button[type=submit]")
    assert "bid at least 525 points" in page.content()
    page.screenshot(path=str(SHOTS / "too-low-1280.png"), full_page=True)
    page.fill("input[name=points]", "600")
    page.click("main button[type=submit]")
    assert "You lead with 600 points" in page.locator(".auction__you").inner_text()
    page.screenshot(path=str(SHOTS / "leading-1280.png"), full_page=True)

    connection.set_tenant(fresh_brand)
    bid_place(auction_id=auction.pk, member=rival, points=700)
    connection.set_schema_to_public()
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert "You were outbid" in page.content() and "1,000 points to spend" in page.content()
    page.screenshot(path=str(SHOTS / "outbid-390.png"), full_page=True)

    page.context.clear_cookies()
    page.set_viewport_size({"width": 1280, "height": 900})
    _login(page, base, "vera@example.com", "/community/services/")
    assert "Free cellar valuation by our sommelier" in page.content()
    page.screenshot(path=str(SHOTS / "services-1280.png"), full_page=True)
    page.click("a.button:has-text('Ask for it')")
    page.fill("textarea[name=text]", "About 300 bottles, mostly Médoc 2005-2016, in Arcachon.")
    page.screenshot(path=str(SHOTS / "service-form-1280.png"), full_page=True)
    page.click("main button[type=submit]")
    page.wait_for_url(base + "/community/services/requests/")
    connection.set_tenant(fresh_brand)
    request = ServiceRequest.objects.get()
    service_request_handle(
        request_id=request.pk, state="answered", answer="Our sommelier can come on Tuesday 14 at 10:00."
    )
    connection.set_schema_to_public()
    page.reload()
    assert "Tuesday 14" in page.content()
    page.screenshot(path=str(SHOTS / "requests-1280.png"), full_page=True)

    page.context.clear_cookies()
    _login(
        page, base, f"admin@{fresh_brand.slug}.example", f"/backoffice/community/auction/{auction.pk}/change/"
    )
    assert "700" in page.content()
    page.screenshot(path=str(SHOTS / "admin-auction-1280.png"), full_page=True)
    page.goto(base + "/backoffice/community/servicerequest/")
    page.screenshot(path=str(SHOTS / "admin-queue-1280.png"), full_page=True)
    page.goto(f"{base}/backoffice/community/servicerequest/{request.pk}/change/")
    page.screenshot(path=str(SHOTS / "admin-request-1280.png"), full_page=True)
    assert [problem for problem in problems if refused_bid not in problem] == [], problems
