"""The audit trail's writer (core.audit): who, through what, from where; secrets masked."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.test import RequestFactory

from core.audit import MASK, AuditContextMiddleware, audit_as, audit_changes, audit_record, audit_snapshot
from core.models import ApiKey, AuditEntry


def _served(request, work):
    """Runs `work` as the view of `request`, through the audit middleware."""
    holder = {}

    def view(req):
        holder["entry"] = work()
        return None

    AuditContextMiddleware(view)(request)
    return holder["entry"]


def test_a_change_outside_a_request_is_a_command(in_a):
    entry = audit_record(action="action", reason="nightly")
    assert (entry.via, entry.actor, entry.ip) == ("command", None, None)


def test_a_staff_request_names_the_user_and_the_address(in_a):
    staff = get_user_model().objects.get(username=f"admin@{in_a.slug}.example")
    request = RequestFactory().post("/backoffice/", REMOTE_ADDR="203.0.113.7")
    request.user = staff
    entry = _served(
        request, lambda: audit_record(action="change", obj=staff, before={"a": 1}, after={"a": 2})
    )
    assert (entry.via, entry.actor, entry.actor_label, entry.ip) == (
        "backoffice",
        staff,
        staff.username,
        "203.0.113.7",
    )
    assert (entry.object_id, entry.content_type.model) == (str(staff.pk), "user")


def test_an_api_request_names_its_key(in_a):
    key = ApiKey.objects.create(name="ERP", prefix="abc123", key_hash="0" * 64)
    request = RequestFactory().post("/api/v1/theme", REMOTE_ADDR="198.51.100.2")
    request.auth = key
    entry = _served(request, lambda: audit_record(action="change", obj=key))
    assert (entry.via, entry.actor, entry.actor_label, entry.ip) == (
        "api",
        None,
        "API key ERP (abc123)",
        "198.51.100.2",
    )


def test_audit_as_names_who_a_command_acts_for(in_a):
    with audit_as(via="system", actor_label="expiry sweep"):
        entry = audit_record(action="action")
    assert (entry.via, entry.actor_label) == ("system", "expiry sweep")


def test_secrets_are_masked_but_their_change_is_seen(in_a):
    key = ApiKey.objects.create(name="ERP", prefix="abc124", key_hash="1" * 64)
    before = audit_snapshot(key)
    key.key_hash = "2" * 64
    key.name = "ERP 2"
    before, after = audit_changes(before, audit_snapshot(key))
    entry = audit_record(action="change", obj=key, before=before, after=after)
    entry.refresh_from_db()
    assert entry.before == {"key_hash": MASK, "name": "ERP"}
    assert entry.after == {"key_hash": MASK, "name": "ERP 2"}
    assert "1111" not in str(AuditEntry.objects.values_list("before", "after").get(pk=entry.pk))
