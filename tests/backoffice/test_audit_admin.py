"""The audit trail of backoffice forms (core.admin_base): every save and delete, inline rows
included, with the fields changed before and after; the object's history page shows them."""

from __future__ import annotations

from html.parser import HTMLParser

from django.contrib.auth import get_user_model
from django.urls import reverse

from catalog.services import gift_create
from clubs.models import Space, SpacePage
from core.audit import MASK
from core.models import ApiKey, AuditEntry
from loyalty.selectors.programme import programme_settings


class _FormFields(HTMLParser):
    """The values a browser would post from the page's change form (the one holding the CSRF token)."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self._select: str | None = None
        self._textarea: str | None = None
        self._in_form = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "form" and attrs.get("method", "").lower() == "post" and not self._in_form:
            self._in_form = True
        if not self._in_form:
            return
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind in ("submit", "button", "file", "image", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            default = "on" if kind in ("checkbox", "radio") else ""
            self.data.setdefault(name, []).append(attrs.get("value", default))
        elif tag == "select" and name:
            self._select = name
            self.data.setdefault(name, [])
        elif tag == "option" and self._select and "selected" in attrs:
            self.data[self._select].append(attrs.get("value", ""))
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = [""]

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self._in_form = False

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea][0] += data


def _form_of(client, url: str) -> dict:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    parser = _FormFields()
    parser.feed(response.content.decode())
    # Django's textareas start with a newline a browser drops.
    return {name: [value.removeprefix("\n") for value in values] for name, values in parser.data.items()}


def _errors_of(response) -> object:
    context = response.context or {}
    form = context.get("adminform")
    return (
        form.form.errors if form else None,
        [fs.errors for fs in context.get("inline_admin_formsets", [])],
    )


def _post(client, url: str, changes: dict):
    data = _form_of(client, url)
    data.update({name: value if isinstance(value, list) else [value] for name, value in changes.items()})
    response = client.post(url, data)
    assert response.status_code == 302, _errors_of(response)
    return response


def test_a_programme_change_records_the_fields_changed(staff_a, brand_a):
    before = programme_settings().programme_name
    url = reverse("admin:loyalty_programmesettings_change", args=[1])
    _post(staff_a, url, {"programme_name": "Club Audit", "_save": "Save"})
    entry = AuditEntry.objects.get(content_type__model="programmesettings")
    assert (entry.action, entry.via, entry.actor_label) == (
        "change",
        "backoffice",
        f"admin@{brand_a.slug}.example",
    )
    assert entry.ip == "127.0.0.1"
    assert entry.before == {"programme_name": before}
    assert entry.after == {"programme_name": "Club Audit"}


def test_a_space_with_its_pages_created_changed_and_deleted(staff_a):
    add = reverse("admin:clubs_space_add")
    data = {
        "name": "Gold lounge",
        "slug": "gold-lounge",
        "entry": "code",
        "position": "0",
        "pages-TOTAL_FORMS": "1",
        "pages-0-title": "Welcome",
        "pages-0-slug": "welcome",
        "pages-0-body": "Hello",
        "pages-0-position": "0",
        "pages-0-is_published": "on",
        "_save": "Save",
    }
    form = _form_of(staff_a, add)
    prefix = next(name for name in form if name.endswith("-TOTAL_FORMS") and "page" in name).removesuffix(
        "-TOTAL_FORMS"
    )
    data = {
        key.replace("pages", prefix, 1) if key.startswith("pages") else key: value
        for key, value in data.items()
    }
    form.update({key: [value] for key, value in data.items()})
    assert staff_a.post(add, form).status_code == 302
    space = Space.objects.get(slug="gold-lounge")
    page = SpacePage.objects.get(space=space)
    created = {entry.content_type.model: entry for entry in AuditEntry.objects.filter(action="create")}
    assert created["space"].after["name"] == "Gold lounge"
    assert created["spacepage"].after["title"] == "Welcome"
    assert created["spacepage"].object_id == str(page.pk)

    change = reverse("admin:clubs_space_change", args=[space.pk])
    _post(staff_a, change, {"name": "Platinum lounge", f"{prefix}-0-title": "Hello all", "_save": "Save"})
    changed = {entry.content_type.model: entry for entry in AuditEntry.objects.filter(action="change")}
    assert (changed["space"].before, changed["space"].after) == (
        {"name": "Gold lounge"},
        {"name": "Platinum lounge"},
    )
    assert (changed["spacepage"].before, changed["spacepage"].after) == (
        {"title": "Welcome"},
        {"title": "Hello all"},
    )

    # The history page shows the space's entries and its page's.
    staff_a.post(change, {**_form_of(staff_a, change), f"{prefix}-0-DELETE": ["on"], "_save": ["Save"]})
    assert not SpacePage.objects.exists()
    history = staff_a.get(reverse("admin:clubs_space_history", args=[space.pk])).content.decode()
    assert "Platinum lounge" in history and "Hello all" in history and "Welcome" in history

    delete = reverse("admin:clubs_space_delete", args=[space.pk])
    assert staff_a.post(delete, {"post": "yes"}).status_code == 302
    deleted = AuditEntry.objects.get(action="delete", content_type__model="space")
    assert deleted.before["name"] == "Platinum lounge" and deleted.object_id == str(space.pk)
    assert AuditEntry.objects.filter(action="delete", content_type__model="spacepage").count() == 1


def test_a_bulk_delete_records_each_object(staff_a):
    spaces = [Space.objects.create(name=f"Space {n}", slug=f"space-{n}") for n in range(2)]
    changelist = reverse("admin:clubs_space_changelist")
    data = {"action": "delete_selected", "_selected_action": [s.pk for s in spaces], "post": "yes"}
    assert staff_a.post(changelist, data).status_code == 302
    assert sorted(AuditEntry.objects.filter(action="delete").values_list("object_repr", flat=True)) == [
        "Space 0",
        "Space 1",
    ]


def test_an_api_key_created_and_revoked_in_the_backoffice(staff_a, brand_a):
    add = reverse("admin:core_apikey_add")
    page = staff_a.post(add, {"name": "Shop", "rate_limit_per_minute": "600", "scopes": ["members:read"]})
    assert page.status_code == 200
    key = ApiKey.objects.get(name="Shop")
    changelist = reverse("admin:core_apikey_changelist")
    staff_a.post(changelist, {"action": "revoke", "_selected_action": [key.pk]})
    created, revoked = AuditEntry.objects.filter(
        content_type__model="apikey", object_id=str(key.pk)
    ).order_by("id")
    for entry in (created, revoked):
        assert (entry.via, entry.actor_label) == ("backoffice", f"admin@{brand_a.slug}.example")
    assert created.action == "create" and created.after["scopes"] == ["members:read"]
    assert revoked.after["revoked_at"] and revoked.before == {"revoked_at": None}
    # The key's hash is never written, masked or not.
    assert all("key_hash" not in entry.after for entry in (created, revoked))
    assert key.key_hash not in str(list(AuditEntry.objects.values_list("before", "after")))


def test_staff_invited_their_role_and_details_changed(staff_a, brand_a):
    add = reverse("admin:auth_user_add")
    assert staff_a.post(add, {"email": "sam@example.com", "role": "support"}).status_code == 302
    sam = get_user_model().objects.get(email="sam@example.com")
    change = reverse("admin:auth_user_change", args=[sam.pk])
    _post(staff_a, change, {"role": "manager", "first_name": "Sam", "_save": "Save"})
    role = AuditEntry.objects.filter(content_type__model="staffprofile", action="change").last()
    assert (role.before, role.after) == ({"role": "support"}, {"role": "manager"})
    details = AuditEntry.objects.get(content_type__model="user", object_id=str(sam.pk), action="change")
    assert (details.before, details.after) == ({"first_name": ""}, {"first_name": "Sam"})
    assert details.actor_label == f"admin@{brand_a.slug}.example"
    # A user's password hash is never written.
    assert not AuditEntry.objects.filter(after__has_key="password").exclude(after__password=MASK).exists()


def test_an_action_records_what_it_changed_in_each_object(staff_a):
    gifts = [
        gift_create(data={"reference": f"KET-{n}", "name": "Kettle", "points_price": 900}) for n in range(2)
    ]
    AuditEntry.objects.all().delete()
    changelist = reverse("admin:catalog_gift_changelist")
    data = {"action": "feature", "_selected_action": [gift.pk for gift in gifts], "index": "0"}
    assert staff_a.post(changelist, data).status_code == 302
    entries = AuditEntry.objects.filter(content_type__model="gift").order_by("object_id")
    assert [entry.object_id for entry in entries] == sorted(str(gift.pk) for gift in gifts)
    for entry in entries:
        assert (entry.action, entry.before, entry.after) == (
            "change",
            {"is_featured": False},
            {"is_featured": True},
        )
        assert entry.reason == "Feature the selected gifts"
    # An action changing nothing writes nothing.
    assert staff_a.post(changelist, data).status_code == 302
    assert AuditEntry.objects.count() == 2
