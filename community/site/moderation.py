"""The member site's community hub (`/community/`, `community-home`: a card for each part's page
whose URL exists) and the moderation rules (`/community/rules/`, `community-rules`: what ISO 20488
asks the site to show: the brand's rules, the published reasons a text may be rejected for, the
stated delay, how reviews are collected and certified, that no reward depends on a review's
content, the brand's right to reply, how to report)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, path, reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from community.models import RejectionReason
from community.selectors.moderation import settings_get
from themes.texts import markdown_html

# The community's pages by URL name, in the hub's order: (URL name, title, what it is). A part's
# card is shown only once its page exists.
HUB = (
    ("community-reviews", _("Reviews"), _("Ratings and reviews of our products, services and shops.")),
    ("community-questions", _("Questions and answers"), _("Ask a question; members who know answer it.")),
    ("community-discussions", _("Discussions"), _("Testimonials and conversations between members.")),
    (
        "community-contribute",
        _("Contribute"),
        _("Report, share a tip or a testimonial: approved ones earn points."),
    ),
    ("community-leaderboard", _("Top contributors"), _("This month's most helpful members.")),
    ("community-challenges", _("Challenges"), _("Do it a few times before the date and earn a bonus.")),
    (
        "community-draws",
        _("Prize draws"),
        _("Draws you can check: the seed's fingerprint is published first."),
    ),
    ("community-auctions", _("Points auctions"), _("Bid your points on rare gifts.")),
    ("community-services", _("Club services"), _("Services your club space offers, on request.")),
    ("community-live-helper", _("Live help"), _("Help visitors of the site live, as a helper.")),
    ("community-rules", _("Moderation rules"), _("How texts are published, moderated and rejected.")),
)


def hub_cards() -> list[tuple[str, str, str]]:
    """(URL, title, description) of each part's page that exists."""
    cards = []
    for name, title, description in HUB:
        try:
            cards.append((reverse(name), str(title), str(description)))
        except NoReverseMatch:
            continue
    return cards


@require_GET
def community_home(request: HttpRequest) -> HttpResponse:
    return render(request, "community/site/moderation/home.html", {"cards": hub_cards()})


@require_GET
def community_rules(request: HttpRequest) -> HttpResponse:
    settings = settings_get()
    context = {
        "rules_html": markdown_html(settings.moderation_rules),
        "reasons": RejectionReason.choices,
        "delay_days": settings.moderation_delay_days,
        "reviews_url": _url_or_empty("community-reviews"),
    }
    return render(request, "community/site/moderation/rules.html", context)


def _url_or_empty(name: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:
        return ""


urlpatterns = [
    path("community/", community_home, name="community-home"),
    path("community/rules/", community_rules, name="community-rules"),
]
