"""The backoffice's look (django-unfold's callbacks, `UNFOLD` in config/settings.py): the brand's name
and logo from its theme, and the sidebar by task, each item shown only to staff allowed to open it.

The sidebar links to pages by URL name; a page not built yet (its URL name does not resolve) is left
out, so is a model whose admin is not registered. A registered model missing from `SIDEBAR` fails
tests/backoffice/test_look.py: every list has its place."""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.cache import cache_control
from unfold.settings import get_config  # type: ignore[import-untyped]
from unfold.utils import convert_color  # type: ignore[import-untyped]

from themes.selectors import ThemeData, theme_data
from themes.styles import MIN_CONTRAST, contrast_ratio


def _theme(request: HttpRequest) -> ThemeData:
    """The brand's theme, read once per request (the header, the tab's title and the logo use it)."""
    if not hasattr(request, "_backoffice_theme"):
        request._backoffice_theme = theme_data()  # type: ignore[attr-defined]
    return request._backoffice_theme  # type: ignore[attr-defined]


def site_header(request: HttpRequest) -> str:
    """The brand's programme name (its theme's), else the brand's name."""
    tenant = getattr(request, "tenant", None)
    return _theme(request).programme_name or getattr(tenant, "name", "") or str(_("Backoffice"))


def site_title(request: HttpRequest) -> str:
    """The browser tab's suffix: "<brand> · Backoffice"."""
    return f"{site_header(request)} · {_('Backoffice')}"


def site_subheader(request: HttpRequest) -> str:
    return str(_("Backoffice"))


def site_icon(request: HttpRequest) -> str | None:
    """The brand's logo (from its theme), shown beside its name at the top of the sidebar."""
    logo = _theme(request).logo
    return logo.url if logo else None


def page_context(request: HttpRequest) -> dict:
    """Added to every backoffice page's context: no `colors`, so unfold writes no inline <style>
    (the CSP refuses it; `colors_css` serves them), and where the language switch comes back to."""
    return {"colors": None, "redirect_to": request.get_full_path()}


def colors_url(request: HttpRequest) -> str:
    """The colours' stylesheet, named by the theme's version (a new theme is a new address)."""
    return f"{reverse('backoffice:colors')}?v={_theme(request).css_hash}"


def stylesheet_url(request: HttpRequest) -> str:
    return static("backoffice/backoffice.css")


# The brand's primary colour as unfold's shades: lighter ones mixed with white, darker with black.
_SHADES = {"50": 8, "100": 15, "200": 30, "300": 50, "400": 70, "500": 85}
_DARK_SHADES = {"700": 85, "800": 70, "900": 55, "950": 40}


def primary_shades(color: str) -> dict[str, str]:
    return {
        **{weight: f"color-mix(in oklab, {color} {share}%, white)" for weight, share in _SHADES.items()},
        "600": color,
        **{weight: f"color-mix(in oklab, {color} {share}%, black)" for weight, share in _DARK_SHADES.items()},
    }


@cache_control(max_age=3600, public=True)
def colors_css(request: HttpRequest) -> HttpResponse:
    """unfold's colours (`UNFOLD["COLORS"]`) as CSS variables, the stylesheet of every backoffice
    page, the login page included (no login needed: it holds no data). The primary ones are the
    brand's primary colour when white text on it is readable (WCAG AA, unfold's buttons), else
    unfold's."""
    colors = dict(get_config()["COLORS"])
    primary = _theme(request).primary_color
    if contrast_ratio("#ffffff", primary) >= MIN_CONTRAST:
        colors["primary"] = primary_shades(primary)
    lines = "\n".join(
        f"--color-{name}-{weight}: {convert_color(value)};"
        for name, weights in colors.items()
        for weight, value in weights.items()
    )
    return HttpResponse(f":root {{\n{lines}\n}}\n", content_type="text/css; charset=utf-8")


@dataclass(frozen=True)
class Page:
    """A sidebar item: a page by URL name, allowed by one permission (None: any staff user)."""

    title: str | Promise
    url_name: str
    icon: str
    permission: str | None = None


@dataclass(frozen=True)
class Model:
    """A sidebar item: a model's list, shown when its admin lets the user view or change it."""

    label: str  # "app_label.ModelName"
    icon: str
    title: str | Promise | None = None  # the model's plural name unless given


Item = Page | Model

# The sidebar by task (issue 16): each group's items in the order staff use them.
SIDEBAR: list[tuple[str | Promise, list[Item]]] = [
    (
        "",
        [
            Page(_("Dashboard"), "backoffice:dashboard", "dashboard", "backoffice.view_dashboard"),
            Page(_("Search members"), "backoffice:search", "person_search"),
            Page(_("Jobs"), "backoffice:jobs", "pending_actions", "core.view_job"),
            Page(_("Two-factor authentication"), "backoffice:two_factor_setup", "phonelink_lock"),
        ],
    ),
    (
        _("Programme"),
        [
            Model("loyalty.ProgrammeSettings", "tune"),
            Model("loyalty.EarningRule", "rule"),
            Model("loyalty.EventType", "bolt"),
            Model("loyalty.Tier", "workspace_premium"),
            Model("loyalty.Badge", "military_tech"),
            Model("loyalty.Offer", "local_offer"),
        ],
    ),
    (
        _("Members"),
        [
            Model("loyalty.Member", "group"),
            Model("loyalty.Segment", "filter_alt"),
        ],
    ),
    (
        _("Catalogue"),
        [
            Model("catalog.Gift", "redeem"),
            Model("catalog.Category", "category"),
            Model("catalog.VoucherCode", "confirmation_number"),
            Model("catalog.Order", "shopping_bag"),
            Model("catalog.ServicePush", "sync_alt"),
            Model("catalog.CatalogSettings", "settings"),
        ],
    ),
    (
        _("Messaging"),
        [
            Model("messaging.Message", "mail"),
            Model("messaging.MessageTemplate", "draft"),
            Model("messaging.Campaign", "campaign"),
            Model("messaging.Trigger", "schedule_send"),
            Model("messaging.LetterBatch", "print"),
            Model("messaging.WebhookEndpoint", "webhook"),
            Model("messaging.WebhookDelivery", "outbox"),
            Model("messaging.ChannelSettings", "settings"),
        ],
    ),
    (
        pgettext_lazy("backoffice sidebar", "VIP"),
        [
            Model("billing.VipPlan", "diamond"),
            Model("billing.Subscription", "autorenew"),
        ],
    ),
    (
        _("Reviews and moderation"),
        [
            Page(_("Moderation queue"), "community-bo:moderation", "gavel", "community.change_review"),
            Model("community.Review", "reviews"),
            Model("community.FollowUp", "support_agent"),
            Page(_("Review trends"), "community-bo:review_trends", "trending_up", "community.view_review"),
            Model("community.Subject", "inventory"),
            Model("community.ModerationTerm", "block"),
            Model("community.CommunitySettings", "tune"),
        ],
    ),
    (
        _("Community"),
        [
            Model("community.Contribution", "campaign"),
            Model("community.ContributionType", "category"),
            Model("community.Question", "help"),
            Model("community.Helper", "volunteer_activism"),
            Model("community.Conversation", "forum"),
            Model("community.Thread", "chat"),
            Model("community.Challenge", "flag"),
            Model("community.Draw", "casino"),
            Model("community.Auction", "gavel"),
            Model("community.ClubService", "room_service"),
            Model("community.ServiceRequest", "inbox"),
            Model("clubs.Space", "lock_person"),
            Model("clubs.SpaceCode", "key"),
            Model("clubs.ClubSettings", "settings"),
            Model("gatherings.Gathering", "event"),
        ],
    ),
    (
        _("Settings"),
        [
            Model("themes.Theme", "palette"),
            Model("tenants.Domain", "language"),
            Model("core.ApiKey", "vpn_key"),
            Model("auth.User", "badge", _("Staff")),
            Page(_("Staff settings"), "backoffice:staff_settings", "manage_accounts", "core.manage_staff"),
            Model("auth.Group", "groups"),
            Model("core.AuditEntry", "history", _("Audit trail")),
        ],
    ),
]


def _url(url_name: str) -> str | None:
    try:
        return reverse(url_name)
    except NoReverseMatch:
        return None


def _page_link(item: Page, request: HttpRequest) -> dict | None:
    link = _url(item.url_name)
    if link is None or (item.permission and not request.user.has_perm(item.permission)):
        return None
    return {"title": item.title, "icon": item.icon, "link": link}


def _model_link(item: Model, request: HttpRequest) -> dict | None:
    model = apps.get_model(item.label)
    model_admin = admin.site._registry.get(model)
    if model_admin is None or not model_admin.has_view_or_change_permission(request):
        return None
    link = _url(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    if link is None:
        return None
    title = capfirst(str(item.title or model._meta.verbose_name_plural))
    return {"title": title, "icon": item.icon, "link": link}


def _link(item: Item, request: HttpRequest) -> dict | None:
    return _page_link(item, request) if isinstance(item, Page) else _model_link(item, request)


def sidebar(request: HttpRequest) -> list[dict]:
    """unfold's `SIDEBAR["navigation"]`: the groups with at least one item this user may open."""
    groups = []
    for title, items in SIDEBAR:
        links = [link for item in items if (link := _link(item, request))]
        if links:
            groups.append({"title": title, "separator": bool(title), "collapsible": False, "items": links})
    return groups
