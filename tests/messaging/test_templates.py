"""Templates saved through `template_save`: refused when saved (unknown variable, sandbox escape,
channel, language, subject, duplicate), and previewed with a real member's values."""

from __future__ import annotations

import pytest

from core.errors import Conflict, InvalidInput
from messaging.models import MessageTemplate
from messaging.services.templates import template_delete, template_preview, template_save
from tests.factories import credit_make, member_make

pytestmark = pytest.mark.django_db(transaction=False)

SMS = {
    "code": "points_earned",
    "channel": "sms",
    "language": "fr",
    "name": "Points gagnés",
    "purpose": "service",
    "subject": "",
    "body": "Bravo {{ first_name }}, +{{ points_earned }} points. Solde : {{ balance }}.",
}


def _refused(**changes) -> dict[str, list[str]]:
    with pytest.raises(InvalidInput) as refused:
        template_save(**{**SMS, **changes})
    assert not MessageTemplate.objects.exists()
    return refused.value.errors


def test_a_template_is_saved_and_changed(in_a):
    template = template_save(**SMS)
    assert (template.code, template.channel, template.language) == ("points_earned", "sms", "fr")
    changed = template_save(**{**SMS, "body": "Merci {{ name }}"}, template=template)
    assert changed.pk == template.pk and MessageTemplate.objects.get().body == "Merci {{ name }}"


def test_an_unknown_variable_is_refused_when_saved_naming_its_field(in_a):
    errors = _refused(body="Hello {{ firstname }}")
    assert list(errors) == ["body"] and "Unknown variable “firstname”." in errors["body"]
    errors = _refused(channel="email", subject="Hi {{ nickname }}", body="Hello")
    assert list(errors) == ["subject"] and "nickname" in errors["subject"][0]


@pytest.mark.parametrize(
    "body",
    [
        "{{ first_name.__class__.__mro__ }}",
        "{{ ''.__class__.__subclasses__() }}",
        "{% include 'admin/base.html' %}",
        "{% extends 'base.html' %}",
        "{{ range(10) }}",
        "{{ config }}",
        "{{ first_name",
    ],
)
def test_a_sandbox_escape_or_broken_template_is_refused(in_a, body):
    assert "body" in _refused(body=body)


def test_channel_language_and_subject_are_checked(in_a):
    assert "channel" in _refused(channel="fax")
    errors = _refused(language="de")
    assert errors["language"] == ["“de” is not a language of the brand's site (en, fr)"]
    assert _refused(channel="email")["subject"] == ["an e-mail needs a subject"]
    assert _refused(subject="Objet")["subject"] == ["only e-mails and letters have a subject"]
    assert "purpose" in _refused(purpose="spam")
    assert "code" in _refused(code="not a slug")
    assert "name" in _refused(name="")
    assert "body" in _refused(body="")


def test_the_same_code_channel_and_language_twice_is_a_conflict_on_code(in_a):
    template_save(**SMS)
    with pytest.raises(Conflict) as clash:
        template_save(**{**SMS, "name": "Again"})
    assert clash.value.field == "code"
    other = template_save(**{**SMS, "language": "en"})
    with pytest.raises(Conflict):
        template_save(**{**SMS, "name": "Moved"}, template=other)
    assert MessageTemplate.objects.get(pk=other.pk).language == "en"
    template_save(**{**SMS, "channel": "voice"})  # another channel: another template
    assert MessageTemplate.objects.count() == 3


def test_delete(in_a):
    template_delete(template=template_save(**SMS))
    assert not MessageTemplate.objects.exists()


def test_the_preview_uses_the_members_values_and_examples_for_the_event(in_a):
    member = member_make(first_name="Ana", language="fr")
    credit_make(member, 1250)
    member.refresh_from_db()
    preview = template_preview(template_data=SMS, member=member)
    # French numbers are grouped by a narrow no-break space, which GSM-7 lacks: folded to a space,
    # as the message is when it is built, the SMS stays GSM-7.
    assert preview.text == "Bravo Ana, +200 points. Solde : 1 250."
    assert preview.examples == ("points_earned",)
    assert (preview.sms.encoding, preview.sms.segments) == ("GSM-7", 1)
    assert not MessageTemplate.objects.exists()


def test_the_preview_counts_segments_of_the_rendered_text(in_a):
    member = member_make(first_name="Hélène", language="fr")
    preview = template_preview(template_data={**SMS, "body": "Bientôt {{ first_name }} " * 5}, member=member)
    assert preview.sms.encoding == "UCS-2" and preview.sms.unicode_characters == ("ô",)
    assert preview.sms.units == len(preview.text) == 5 * len("Bientôt Hélène ")
    assert preview.sms.segments == 2


def test_the_preview_shows_an_example_where_the_member_has_no_value(in_a):
    member = member_make(first_name="Ana", language="fr")
    body = "Vous avez {{ points_expiring }} points qui expirent le {{ expiry_date }}."
    preview = template_preview(template_data={"channel": "voice", "body": body}, member=member)
    assert preview.text == "Vous avez 300 points qui expirent le 31 mars 2027."
    assert preview.examples == ("expiry_date", "points_expiring") and preview.sms is None


def test_a_preview_without_a_member_uses_every_example(in_a):
    preview = template_preview(
        template_data={"channel": "sms", "body": "{{ first_name }} {{ balance }}"}, member=None
    )
    assert preview.text == "Camille 1 250" and preview.examples == ("balance", "first_name")


def test_an_email_preview_has_its_subject(in_a):
    member = member_make(first_name="Ana", last_name="Lima", language="en")
    data = {"channel": "email", "subject": "Welcome {{ name }}", "body": "Hello {{ first_name }}"}
    preview = template_preview(template_data=data, member=member)
    assert (preview.subject, preview.text) == ("Welcome Ana Lima", "Hello Ana")


def test_a_preview_of_a_template_that_could_not_be_saved_names_the_field(in_a):
    member = member_make(language="en")
    with pytest.raises(InvalidInput) as refused:
        template_preview(template_data={"channel": "sms", "body": "{{ x.__class__ }}"}, member=member)
    assert list(refused.value.errors) == ["body"]
    with pytest.raises(InvalidInput) as refused:
        template_preview(template_data={"channel": "fax", "body": "Hi"}, member=member)
    assert list(refused.value.errors) == ["channel"]


def test_the_last_template_a_pending_campaign_sends_is_not_deleted(in_a):
    from loyalty.models import Segment
    from messaging.models import Campaign

    segment = Segment.objects.create(name="Everyone", filters={})
    template = template_save(**SMS)
    Campaign.objects.create(name="Promo", segment=segment, channel="sms", template_code="points_earned")
    with pytest.raises(Conflict) as kept:
        template_delete(template=template)
    assert kept.value.field == "template" and "Promo" in kept.value.message
    english = template_save(**{**SMS, "language": "en"})
    template_delete(template=template)  # the English one still serves the campaign
    Campaign.objects.update(state=Campaign.State.DONE)
    template_delete(template=english)
    assert not MessageTemplate.objects.exists()


def test_an_email_preview_has_its_html_part_escaped(in_a):
    member = member_make(first_name="<b>Ana</b>", language="en")
    data = {"channel": "email", "subject": "Hi {{ first_name }}", "body": "Hello {{ first_name }}\n\nBye"}
    preview = template_preview(template_data=data, member=member)
    assert "Hello &lt;b&gt;Ana&lt;/b&gt;" in preview.html and "<b>Ana</b>" not in preview.html
    assert "example" in preview.html  # the unsubscribe link is the catalogue's example
    assert preview.text == "Hello <b>Ana</b>\n\nBye"


def test_a_french_sms_is_built_folded_to_gsm7_as_previewed(in_a):
    from loyalty.services.members import consent_set
    from messaging.services.sending import message_build

    member = member_make(first_name="Ana", phone="+33612345678", language="fr")
    credit_make(member, 1250)
    member.refresh_from_db()
    consent_set(member=member, consents={"sms": True}, source="test")
    template = template_save(**{**SMS, "body": "Solde : {{ balance }} points \u2013 à demain\u2019"})
    message = message_build(member=member, channel="sms", template_code=template.code)
    preview = template_preview(template_data={"channel": "sms", "body": template.body}, member=member)
    assert message.body == preview.text == "Solde : 1 250 points - à demain'"
    assert preview.sms.encoding == "GSM-7"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("{{ 10 ** 9 }}", "powers"),
        ('{{ "%0999999999d" % 1 }}', "the % operator"),
        ("{{ first_name|center(80) }}", "“center”"),
        ("{{ first_name|replace('a', 'aaaaaaaaaa') }}", "“replace”"),
        ("{{ first_name|join(first_name)|join(first_name) }}", "“join”"),
        ("{% set a = first_name ~ first_name %}{{ a }}", "assignments"),
        ("{% for c in first_name %}{% for d in first_name %}x{% endfor %}{% endfor %}", "loops"),
        ("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}", "macros"),
    ],
)
def test_what_could_make_the_output_grow_is_refused_when_saved(in_a, body, words):
    errors = _refused(body=body)["body"]
    assert any(words in error for error in errors), errors
    member = member_make(language="en")
    with pytest.raises(InvalidInput):
        template_preview(template_data={"channel": "sms", "body": body}, member=member)


def test_conditions_filters_and_small_numbers_are_allowed(in_a):
    body = (
        "{% if tier %}{{ tier|upper }}{% elif balance %}{{ balance }}{% else %}-{% endif %} "
        "{{ first_name|default('friend')|title }} {{ name|truncate(20) }} {{ 2 + 3 }} {{ name.upper() }}"
    )
    assert template_save(**{**SMS, "body": body}).body == body
