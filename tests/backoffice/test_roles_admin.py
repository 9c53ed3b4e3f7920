"""Every page of the backoffice, for every role (README "Backoffice roles"): each registered admin's
changelist, add, change, delete and history pages, each of its own URLs (`get_urls`) and each of its
actions, asked by a staff user of each role, answer what the role map (`core.roles`) says: 403 (or
an action refused as not offered) without the permission, a page or a redirect with it.

The pages are read from the admin's registry, so a new admin, URL or action is walked without
being listed here; `NEEDS` lists only what a page needs beyond its model's view permission."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import cache

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.db import connection, transaction
from django.test import Client, RequestFactory
from django.urls import URLPattern, reverse

from billing.demo import demo_billing_seed
from clubs.demo import demo_clubs_seed
from core.apikeys import api_key_create
from core.models import StaffProfile
from core.roles import role_allows
from gatherings.demo import demo_gatherings_seed
from loyalty.demo import demo_programme_seed
from loyalty.models import Member
from messaging.demo import demo_messaging_seed
from tests.conftest import TEST_PASSWORD, host_of

ROLES = [role.value for role in StaffProfile.Role]
DEMO = "grand-cru"  # the demo brand with every part (programme, messaging, VIP, clubs, events)

# What a page or action needs beyond its model's view (or change) permission, all of them: by URL
# name (an admin's own URLs) or "<app>_<model>:<action>".
NEEDS: dict[str, tuple[str, ...]] = {
    "loyalty_member_adjust": ("loyalty.adjust_points",),
    "loyalty_member_activation_code": ("loyalty.issue_activation_code",),
    "loyalty_member_message_resend": ("messaging.resend_message",),
    "loyalty_member_invitation": ("loyalty.change_member",),
    "loyalty_member_tier_evaluation": ("loyalty.change_member",),
    "loyalty_member_export": ("loyalty.export_member_data",),
    "loyalty_member_erase": ("loyalty.erase_member",),
    "loyalty_member:block": ("loyalty.block_member",),
    "loyalty_member:unblock": ("loyalty.block_member",),
    "loyalty_member:anonymise": ("loyalty.erase_member",),
    "tenants_domain_check": ("tenants.change_domain",),
    "tenants_domain:check_now": ("tenants.change_domain",),
    "tenants_domain:make_primary": ("tenants.change_domain",),
    "gatherings_attendees_csv": ("loyalty.view_member",),
    "gatherings_gathering_door": ("gatherings.change_gathering",),
    "gatherings_gathering_invite": ("gatherings.change_gathering",),
    "billing_stripe_account": ("billing.change_vipplan",),
    "billing_stripe_account_connect": ("billing.change_vipplan",),
    "billing_stripe_account_return": ("billing.change_vipplan",),
    "billing_stripe_account_refresh": ("billing.change_vipplan",),
    "billing_sandbox": ("billing.change_vipplan",),
    "catalog_gift_import": ("catalog.import_gifts",),
    "catalog_gift_codes": ("catalog.import_codes",),
    "catalog_order:export_supplier_csv": ("catalog.export_orders",),
    "clubs_space_code_new": ("clubs.change_space",),
    "messaging_messagetemplate_preview": ("messaging.change_messagetemplate",),
    "themes_theme_preview": ("themes.change_theme",),
}


@dataclass(frozen=True)
class Page:
    """One request to the backoffice: what it is, how it is sent, what it needs."""

    name: str
    method: str
    url: str
    any_of: tuple[str, ...]  # one of these
    all_of: tuple[str, ...] = ()  # and every one of these
    data: dict | None = None
    action: str = ""
    model: str = ""  # an action's model label

    def allowed(self, role: str) -> bool:
        return any(role_allows(role=role, perm=p) for p in self.any_of) and all(
            role_allows(role=role, perm=p) for p in self.all_of
        )


def _perm(model, action: str) -> str:
    return f"{model._meta.app_label}.{action}_{model._meta.model_name}"


def _seed(sales_rep) -> None:
    """One row at least of every model with an admin, in brand A (the test's transaction)."""
    demo_programme_seed(slug=DEMO)
    demo_messaging_seed(slug=DEMO)
    demo_billing_seed(slug=DEMO)
    demo_clubs_seed(slug=DEMO)
    demo_gatherings_seed(slug=DEMO)
    api_key_create(name="ERP")
    # Every member is the sales rep's: the portfolio rule shows them all to them (tested apart).
    Member.objects.update(sales_rep=sales_rep)


def _object_pk(model_admin, request) -> str | None:
    """An object the admin shows (its own queryset: a brand's domains only, for one)."""
    row = model_admin.get_queryset(request).order_by("pk").first()
    return None if row is None else str(row.pk)


STANDARD = ("_changelist", "_add", "_change", "_delete", "_history")
_GROUP = re.compile(r"\(\?P<(\w+)>([^()]*)\)")
_CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")


def _fill(pattern: URLPattern, pk: str | None) -> list[dict[str, str]] | None:
    """The path's arguments, once per choice of a `(a|b)` group: ids are the object's."""
    text = str(pattern.pattern)
    names = [match.group(2) for match in _CONVERTER.finditer(text)]
    choices: list[list[tuple[str, str]]] = []
    for name, body in _GROUP.findall(text):
        if "|" in body and not any(char in body for char in "[]\\*+"):
            choices.append([(name, option) for option in body.split("|")])
        else:
            names.append(name)
    if names and pk is None:
        return None
    fixed = dict.fromkeys(names, pk)
    combos: list[dict[str, str]] = [fixed]
    for options in choices:
        combos = [{**combo, name: option} for combo in combos for name, option in options]
    return combos


@cache
def _standard_names(model) -> set[str]:
    opts = model._meta
    return {
        f"{opts.app_label}_{opts.model_name}_{view}"
        for view in ("changelist", "add", "change", "delete", "history", "autocomplete")
    }


def pages(owner) -> list[Page]:
    """Every page and action of every registered admin (the rows the owner sees for ids)."""
    request = RequestFactory().get("/backoffice/")
    request.user = owner
    request.tenant = connection.tenant
    found: list[Page] = []
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        base = f"{opts.app_label}_{opts.model_name}"
        view, add, change, delete = (_perm(model, a) for a in ("view", "add", "change", "delete"))
        pk = _object_pk(model_admin, request)
        found.append(Page(f"{base}_changelist", "get", reverse(f"admin:{base}_changelist"), (view, change)))
        found.append(Page(f"{base}_add", "get", reverse(f"admin:{base}_add"), (add,)))
        if pk is not None:
            for name, needs in (
                ("change", (view, change)),
                ("delete", (delete,)),
                ("history", (view, change)),
            ):
                found.append(Page(f"{base}_{name}", "get", reverse(f"admin:{base}_{name}", args=[pk]), needs))
        for pattern in model_admin.get_urls():
            if not pattern.name or pattern.name in _standard_names(model):
                continue
            for kwargs in _fill(pattern, pk) or []:
                url = reverse(f"admin:{pattern.name}", kwargs=kwargs)
                found.append(Page(pattern.name, "get", url, (view, change), NEEDS.get(pattern.name, ())))
        for action in _declared_actions(model_admin):
            # An action runs for those its `permissions` name (Django's `has_<name>_permission`),
            # for those who may change the rows if it names none; a name of its own is in NEEDS.
            required = getattr(getattr(model_admin, action, None), "allowed_permissions", None) or ("change",)
            own = [name for name in required if name not in ("view", "add", "change", "delete")]
            assert not own or f"{base}:{action}" in NEEDS, f"NEEDS lacks {base}:{action} ({own})"
            all_of = tuple(_perm(model, name) for name in required if name not in own)
            all_of += NEEDS.get(f"{base}:{action}", ())
            if pk is None:
                continue
            found.append(
                Page(
                    f"{base}:{action}",
                    "post",
                    reverse(f"admin:{base}_changelist"),
                    (view, change),
                    all_of,
                    data={"action": action, "_selected_action": [pk], "index": "0"},
                    action=action,
                    model=opts.label,
                )
            )
    return found


def _declared_actions(model_admin) -> list[str]:
    names = []
    for action in model_admin.actions or ():
        names.append(action if isinstance(action, str) else action.__name__)
    return names


def _staff(role: str):
    user = get_user_model().objects.create_user(
        username=f"{role}@staff.example", email=f"{role}@staff.example", password=TEST_PASSWORD, is_staff=True
    )
    StaffProfile.objects.create(user=user, role=role)
    return user


def _outcome(client: Client, page: Page) -> tuple[bool | None, int]:
    """(allowed, status): refused is a 403 (after the redirects of a page, such as a singleton's
    list leading to its one row), or an action Django does not offer to the user; None for a
    server error."""
    if page.method == "get":
        response = client.get(page.url, follow=True)
    else:
        response = client.post(page.url, page.data or {})
    status = response.status_code
    if status >= 500:
        return None, status
    if status == 403:
        return False, status
    if page.action:
        # Django runs only the actions it offers the user (`get_actions`); a refused one is
        # answered with the list again, or "No action selected" with no action offered at all.
        texts = [str(message) for message in get_messages(response.wsgi_request)]
        model_admin = admin.site._registry[apps.get_model(page.model)]
        if page.action not in model_admin.get_actions(response.wsgi_request) or any(
            "No action selected" in text for text in texts
        ):
            return False, status
    return True, status


def _asked(client: Client, page: Page, brand) -> tuple[bool | None, int]:
    # Each request's writes (an action run, a form sent) are undone before the next.
    savepoint = transaction.savepoint()
    try:
        return _outcome(client, page)
    finally:
        transaction.savepoint_rollback(savepoint)
        connection.set_tenant(brand)


@pytest.fixture
def walk(db, brand_a):
    connection.set_tenant(brand_a)
    users = {role: _staff(role) for role in ROLES}
    _seed(users["sales_rep"])
    return users


def test_every_admin_page_and_action_answers_the_role_map(walk, brand_a):
    """The owner reaches every page but those no one may (an API key is never deleted); a page
    the owner is refused by GET is a form's target, asked by POST. Every other role gets what its
    permissions give, and nothing the owner cannot have."""
    clients = {}
    for role, user in walk.items():
        clients[role] = Client(HTTP_HOST=host_of(brand_a), raise_request_exception=False)
        clients[role].force_login(user)
    every = pages(walk["owner"])
    assert len(every) > 100  # the registry was read: dozens of admins, their pages and actions
    wrong: list[str] = []
    resolved: list[tuple[Page, bool]] = []  # each page as asked, and whether the owner may
    for page in every:
        allowed, status = _asked(clients["owner"], page, brand_a)
        if status in (403, 405) and page.method == "get" and not page.name.endswith(STANDARD):
            page = replace(page, method="post")
            allowed, status = _asked(clients["owner"], page, brand_a)
        if allowed is None:
            wrong.append(f"owner: {page.name} {page.method.upper()} {page.url} -> {status}")
        resolved.append((page, bool(allowed)))
    # The owner's every list and row.
    assert not [
        page.name for page, may in resolved if not may and page.name.endswith(("_changelist", "_change"))
    ]
    for role in ROLES:
        if role == "owner":
            continue
        for page, owner_may in resolved:
            allowed, status = _asked(clients[role], page, brand_a)
            if allowed != (owner_may and page.allowed(role)):
                wrong.append(f"{role}: {page.name} {page.method.upper()} {page.url} -> {status}")
    assert not wrong, "\n".join(wrong)


def test_staff_without_a_role_see_nothing(db, brand_a):
    connection.set_tenant(brand_a)
    user = get_user_model().objects.create_user(username="nobody@staff.example", is_staff=True)
    client = Client(HTTP_HOST=host_of(brand_a))
    client.force_login(user)
    assert client.get(reverse("admin:loyalty_member_changelist")).status_code == 403
    assert client.get(reverse("admin:core_apikey_changelist")).status_code == 403
