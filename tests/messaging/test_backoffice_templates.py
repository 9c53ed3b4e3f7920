"""The backoffice's template pages: the list filtered, the form saved through `template_save` (its
refusals on the fields they name), and the live preview for a chosen member that saves nothing."""

from __future__ import annotations

import pytest
from django.utils import translation

from messaging.models import MessageTemplate
from tests.factories import member_make, template_make

LIST = "/backoffice/messaging/messagetemplate/"
ADD = f"{LIST}add/"
PREVIEW = f"{LIST}preview/"
FORM = {
    "code": "points_earned",
    "name": "Points earned",
    "channel": "sms",
    "language": "fr",
    "purpose": "service",
    "subject": "",
    "body": "Bravo {{ first_name }} : +{{ points_earned }} points !",
}


def test_the_list_filters_by_channel_and_language(staff_a):
    template_make("welcome", channel="email", language="en", subject="Hi")
    template_make("welcome", channel="email", language="fr", subject="Salut")
    template_make("points_earned", channel="sms", language="fr")
    html = staff_a.get(f"{LIST}?channel__exact=sms").content.decode()
    assert "points_earned" in html and "welcome" not in html
    html = staff_a.get(f"{LIST}?language=en").content.decode()
    assert html.count('class="field-code ') == 1


def test_the_form_lists_the_variables_and_the_preview(staff_a):
    html = staff_a.get(ADD).content.decode()
    assert "<code>{{ points_earned }}</code>" in html and "<code>{{ unsubscribe_url }}</code>" in html
    assert 'name="preview_member"' in html and 'name="template-preview"' in html
    assert "messaging/admin-template-preview.js" in html
    assert "<script>" not in html  # no inline script without the nonce
    assert '<option value="fr">' in html and '<option value="de">' not in html


def test_saving_goes_through_the_service(staff_a):
    saved = staff_a.post(ADD, FORM)
    assert saved.status_code == 302, saved.content.decode()[:3000]
    template = MessageTemplate.objects.get()
    assert (template.code, template.channel, template.language) == ("points_earned", "sms", "fr")
    change = f"{LIST}{template.pk}/change/"
    assert staff_a.post(change, {**FORM, "body": "Merci {{ name }}"}).status_code == 302
    assert MessageTemplate.objects.get().body == "Merci {{ name }}"


def test_refusals_land_on_their_fields_and_nothing_is_saved(staff_a):
    page = staff_a.post(ADD, {**FORM, "body": "Bonjour {{ prenom }}"})
    assert page.status_code == 200
    errors = page.context["adminform"].form.errors
    assert "Unknown variable “prenom”." in errors["body"]
    errors = staff_a.post(ADD, {**FORM, "channel": "email"}).context["adminform"].form.errors
    assert errors["subject"] == ["an e-mail needs a subject"]
    errors = (
        staff_a.post(ADD, {**FORM, "body": "{{ first_name.__class__ }}"}).context["adminform"].form.errors
    )
    assert "__class__" in errors["body"][0]
    assert not MessageTemplate.objects.exists()


def test_a_duplicate_is_refused_on_code(staff_a):
    template_make("points_earned", channel="sms", language="fr")
    errors = staff_a.post(ADD, FORM).context["adminform"].form.errors
    assert "exists already" in errors["code"][0]
    assert MessageTemplate.objects.count() == 1


def test_the_preview_renders_for_a_member_by_external_id_or_email(staff_a):
    member_make("shop-42", first_name="Léa", email="lea@example.com", language="fr")
    for who in ("shop-42", "LEA@example.com"):
        preview = staff_a.post(PREVIEW, {**FORM, "preview_member": who})
        assert preview.status_code == 200
        html = preview.content.decode()
        assert "Bravo Léa : +200 points !" in html
        assert 'data-sms-encoding="GSM-7"' in html and 'data-sms-segments="1"' in html
        assert "Example values for: points_earned" in html
    assert "frame-ancestors 'self'" in preview["Content-Security-Policy"]
    assert preview["X-Frame-Options"] == "SAMEORIGIN"
    assert not MessageTemplate.objects.exists()


def test_the_preview_counts_ucs2_segments_and_names_the_characters(staff_a):
    html = staff_a.post(PREVIEW, {**FORM, "body": "Fête " * 20}).content.decode()
    assert 'data-sms-encoding="UCS-2"' in html and 'data-sms-segments="2"' in html
    assert "U+00EA" in html and "latin small letter e with circumflex" in html
    assert "example values" in html  # no member chosen


def test_the_preview_shows_refusals_and_unknown_members(staff_a):
    html = staff_a.post(PREVIEW, {**FORM, "body": "{{ nope }}", "preview_member": "nobody"}).content.decode()
    assert "Unknown variable “nope”." in html and "No member has the external id or e-mail" in html
    assert staff_a.get(PREVIEW).status_code == 405


def test_the_preview_escapes_what_staff_wrote(staff_a):
    html = staff_a.post(PREVIEW, {**FORM, "body": "<script>alert(1)</script>"}).content.decode()
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html


def test_deleting_a_template(staff_a):
    template = template_make("points_earned")
    staff_a.post(f"{LIST}{template.pk}/delete/", {"post": "yes"})
    assert not MessageTemplate.objects.exists()


def test_an_email_preview_shows_its_html_part_and_runs_no_script(staff_a):
    member_make("shop-43", first_name="Léa", language="fr")
    email = {
        **FORM,
        "channel": "email",
        "subject": "Bienvenue {{ first_name }}",
        "body": "Bonjour <script>x</script>",
    }
    preview = staff_a.post(PREVIEW, {**email, "preview_member": "shop-43"})
    html = preview.content.decode()
    assert 'class="message-preview__email"' in html and "Bienvenue Léa" in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html and "<script>x" not in html
    policy = preview["Content-Security-Policy"]
    assert "script-src 'none'" in policy and "'unsafe-inline'" in policy and "nonce" not in policy


@pytest.fixture
def staff_in_french(staff_a):
    """A's staff reading the backoffice in French; the test thread back in English after (the
    locale middleware leaves the last request's language active)."""
    staff_a.post("/i18n/setlang/", {"language": "fr", "next": "/backoffice/"})
    yield staff_a
    translation.deactivate()


def test_the_pages_speak_french_to_a_french_staff_member(staff_in_french):
    staff_a = staff_in_french
    html = staff_a.get(ADD).content.decode()
    assert "Aperçu (non enregistré)" in html and "Membre (identifiant externe ou e-mail)" in html
    assert "Une variable inconnue est refusée à l&#x27;enregistrement." in html
    preview = staff_a.post(PREVIEW, {**FORM, "body": "Fête " * 20}).content.decode()
    assert "100 caractères : 2 segments (67 par segment)" in preview
    outbox = staff_a.get("/backoffice/messaging/message/outbox/").content.decode()
    assert "Boîte d&#x27;envoi de développement" in outbox
    settings = staff_a.get("/backoffice/messaging/channelsettings/1/change/").content.decode()
    assert "Expéditeur des SMS" in settings and "vide : le nom du programme" in settings
    assert "Appel vocal" in staff_a.get(ADD).content.decode()
