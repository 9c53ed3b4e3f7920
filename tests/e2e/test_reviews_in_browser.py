"""Reviews in a real browser: a member writes a review on a product's page and sees it published
(then edits it, not a second one); a French reader sees the French reviews first, each labelled
with its language; another web site reads the public ratings JSON (CORS). No console error (the
CSP: no inline style or script). Screenshots at desktop and phone widths go to /tmp/reviews-shots/."""

from __future__ import annotations

from pathlib import Path

from django.db import connection

from community.models import Review, Subject
from community.services.reviews import review_reply, review_submit
from tests.conftest import TEST_PASSWORD
from tests.factories import member_make

SHOTS = Path("/tmp/reviews-shots")
REFERENCE = "MARGAUX-2015"


def _seed(brand) -> None:
    connection.set_tenant(brand)
    subject = Subject.objects.create(
        reference=REFERENCE, name="Château Margaux 2015", description="Premier grand cru classé, Margaux."
    )
    Subject.objects.create(reference="SHOP-BDX", name="Bordeaux Chartrons shop", kind="place")
    written = [
        (5, "en", "Outstanding", "Deep, silky and long. Worth every cent.", "Emma", "Stone"),
        (2, "en", "", "Arrived with a damaged label; the wine itself was fine.", "Jack", "Wood"),
        (5, "fr", "Superbe", "Un vin d'une grande finesse, des tanins soyeux.", "Léa", "Fontaine"),
        (4, "fr", "", "Très bon, mais encore un peu jeune : à garder quelques années.", "Hugo", "Marchand"),
    ]
    for rating, language, title, text, first, last in written:
        review = review_submit(
            member=member_make(first_name=first, last_name=last),
            subject_id=subject.pk,
            rating=rating,
            title=title,
            text=text,
            language=language,
        )
        if rating == 2:
            review_reply(review_id=review.pk, text="We are sorry: a new bottle is on its way.", user=None)
    member_make("ines", login=True, first_name="Inès", last_name="Moreau", language="en")
    connection.set_schema_to_public()


def _log_in(page, base: str, username: str, next_url: str) -> None:
    page.goto(f"{base}/accounts/login/?next={next_url}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + next_url)


def test_a_member_reviews_and_a_reader_sees_their_language_first(fresh_brand, site_server, chromium):
    SHOTS.mkdir(exist_ok=True)
    _seed(fresh_brand)
    base = f"http://{fresh_brand.slug}.localhost:{site_server}"
    url = f"/reviews/product/{REFERENCE}/"
    problems: list[str] = []

    for width in (1280, 375):
        context = chromium.new_context(viewport={"width": width, "height": 900}, locale="en-GB")
        page = context.new_page()
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        _log_in(page, base, "ines@example.com", "/reviews/")
        page.screenshot(path=str(SHOTS / f"list-{width}.png"), full_page=True)
        page.click(f"a[href='{url}']")
        page.wait_for_url(base + url)
        page.check("input[name=rating][value='4']", force=True)
        page.fill("input[name=title]", "Worth the wait" if width == 1280 else "Worth the wait, again")
        page.fill("textarea[name=text]", "Opened it for our anniversary: elegant, with cassis and cedar.")
        assert "62 of 5000 characters" in page.inner_text("[data-review-count]")
        page.click("form.review-form button[type=submit]")
        page.wait_for_url(base + url)
        assert "Thank you: your review is published." in page.inner_text("main")
        mine = page.locator("article.review", has_text="Opened it for our anniversary")
        assert mine.count() == 1 and "Inès M." in mine.inner_text()
        assert page.input_value("textarea[name=text]").startswith("Opened it for our anniversary")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), width
        page.screenshot(path=str(SHOTS / f"product-member-{width}.png"), full_page=True)
        context.close()
    connection.set_tenant(fresh_brand)
    assert Review.objects.filter(member__external_id="ines").count() == 1
    assert Review.objects.get(member__external_id="ines").title == "Worth the wait, again"
    connection.set_schema_to_public()

    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    page = context.new_page()
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto(base + url)
    languages = page.eval_on_selector_all("article.review", "rows => rows.map(r => r.dataset.language)")
    assert languages == ["fr", "fr", "en", "en", "en"], languages
    assert page.locator("article.review .review__language").first.inner_text() == "Français"
    # The English ones come after a heading of their own.
    assert page.locator("h3.reviews__other + article.review").get_attribute("data-language") == "en"
    page.screenshot(path=str(SHOTS / "product-reader-fr-1280.png"), full_page=True)

    context.close()

    # Another origin (the platform's host stands for the brand's own web site; its policy set
    # aside, CORS is the browser's own) reads the public ratings.
    context = chromium.new_context(bypass_csp=True)
    page = context.new_page()
    page.goto(f"http://localhost:{site_server}/health")
    ratings = page.evaluate(f"fetch('{base}{url}ratings.json').then(r => r.json())")
    assert ratings["count"] == 5 and ratings["average"] == 4.0 and ratings["name"] == "Château Margaux 2015"
    refused = page.evaluate(
        f"fetch('{base}{url}ratings.json', {{credentials: 'include'}}).then(() => 'read', () => 'refused')"
    )
    assert refused == "refused"  # no credentials: a wildcard origin never reads with cookies
    context.close()
    assert not problems, problems
