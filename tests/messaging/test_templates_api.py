"""`/api/v1/message-templates`: the same service as the backoffice, bad inputs answered 4xx naming
the field with nothing written, the preview with a real member."""

from __future__ import annotations

import pytest

from messaging.models import MessageTemplate
from tests.factories import member_make
from tests.support import error_of

pytestmark = pytest.mark.django_db(transaction=False)

URL = "/api/v1/message-templates"
WELCOME = {
    "code": "welcome",
    "channel": "email",
    "language": "en",
    "name": "Welcome",
    "purpose": "service",
    "subject": "Welcome, {{ first_name }}",
    "body": "Hello {{ first_name }}, you have {{ balance }} points.",
}


def _count(api) -> int:
    from django_tenants.utils import schema_context

    with schema_context(api.brand.schema_name):
        return MessageTemplate.objects.count()


def test_create_list_read_replace_delete(api_a):
    created = api_a.post(URL, WELCOME)
    assert created.status_code == 201, created.content
    body = created.json()
    assert {key: body[key] for key in WELCOME} == WELCOME
    template_id = body["id"]
    listed = api_a.get(f"{URL}?channel=email").json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == template_id
    assert api_a.get(f"{URL}?channel=sms").json()["count"] == 0
    assert api_a.get(f"{URL}/{template_id}").json()["code"] == "welcome"
    replaced = api_a.put(f"{URL}/{template_id}", {**WELCOME, "body": "Hi {{ name }}", "purpose": "marketing"})
    assert replaced.status_code == 200 and replaced.json()["body"] == "Hi {{ name }}"
    assert replaced.json()["purpose"] == "marketing"
    assert api_a.delete(f"{URL}/{template_id}").status_code == 204
    error_of(api_a.get(f"{URL}/{template_id}"), 404)


def test_an_unknown_variable_is_a_400_naming_body(api_a):
    error = error_of(api_a.post(URL, {**WELCOME, "body": "Hello {{ firstname }}"}), 400)
    assert error["field"] == "body" and "firstname" in error["message"]
    error = error_of(api_a.post(URL, {**WELCOME, "subject": "{{ coupon }}"}), 400)
    assert error["field"] == "subject"
    assert _count(api_a) == 0


@pytest.mark.parametrize(
    "body",
    [
        "{{ first_name.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__ }}",
        "{% import 'os' as os %}",
        "{{ self }}",
    ],
)
def test_a_sandbox_escape_is_a_400_naming_body(api_a, body):
    error = error_of(api_a.post(URL, {**WELCOME, "body": body}), 400)
    assert error["field"] == "body"
    assert _count(api_a) == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"channel": "fax"}, "channel"),
        ({"language": "de"}, "language"),
        ({"subject": ""}, "subject"),
        ({"purpose": "spam"}, "purpose"),
        ({"code": "two words"}, "code"),
        ({"name": ""}, "name"),
        ({"body": ["Hello"]}, "body"),
    ],
)
def test_bad_fields_are_400s_naming_them(api_a, changes, field):
    assert error_of(api_a.post(URL, {**WELCOME, **changes}), 400)["field"] == field
    assert _count(api_a) == 0


def test_a_body_that_is_not_an_object_or_a_missing_field(api_a):
    assert error_of(api_a.post(URL, [WELCOME]), 400)["field"] == "body"
    missing = dict(WELCOME)
    del missing["code"]
    assert error_of(api_a.post(URL, missing), 400)["field"] == "code"
    assert error_of(api_a.get(f"{URL}?channel=fax"), 400)["field"] == "channel"


def test_a_duplicate_is_a_409_naming_code(api_a):
    assert api_a.post(URL, WELCOME).status_code == 201
    error = error_of(api_a.post(URL, {**WELCOME, "name": "Twice"}), 409)
    assert error["field"] == "code" and error["code"] == "conflict"
    other = api_a.post(URL, {**WELCOME, "language": "fr"}).json()
    assert error_of(api_a.put(f"{URL}/{other['id']}", WELCOME), 409)["field"] == "code"
    assert _count(api_a) == 2


def test_the_preview_renders_for_a_real_member_and_writes_nothing(api_a):
    from django_tenants.utils import schema_context

    with schema_context(api_a.brand.schema_name):
        member_make("rider-7", first_name="Ana", language="en")
    preview = api_a.post(
        f"{URL}/preview",
        {"member": "rider-7", "channel": "sms", "body": "{{ first_name }}: +{{ points_earned }} pts [ok]"},
    )
    assert preview.status_code == 200, preview.content
    answer = preview.json()
    assert answer["text"] == "Ana: +200 pts [ok]" and answer["examples"] == ["points_earned"]
    assert answer["sms"] == {
        "encoding": "GSM-7",
        "units": 20,
        "segments": 1,
        "per_segment": 160,
        "unicode_characters": [],
    }
    email = api_a.post(
        f"{URL}/preview", {"member": "rider-7", "channel": "email", "subject": "Hi", "body": "Yo"}
    ).json()
    assert email["sms"] is None and email["subject"] == "Hi"
    assert _count(api_a) == 0


def test_preview_bad_inputs(api_a):
    from django_tenants.utils import schema_context

    with schema_context(api_a.brand.schema_name):
        member_make("rider-8", language="en")
    error = error_of(api_a.post(f"{URL}/preview", {"member": "nobody", "channel": "sms", "body": "x"}), 404)
    assert error["field"] == "member"
    bad = {"member": "rider-8", "channel": "sms", "body": "{{ x.__class__ }}"}
    assert error_of(api_a.post(f"{URL}/preview", bad), 400)["field"] == "body"
    bad = {"member": "rider-8", "channel": "fax", "body": "x"}
    assert error_of(api_a.post(f"{URL}/preview", bad), 400)["field"] == "channel"
