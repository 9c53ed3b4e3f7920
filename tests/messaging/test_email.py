"""E-mail through the brand's provider (a local fake Mailgun at its HTTP boundary), the development
outbox without one, the HTML part, the one-click unsubscribe link and the tracking webhooks."""

from __future__ import annotations

import base64
import json
import re
import socket

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection
from django.test import Client

from loyalty.models import Consent, ConsentChange, ProgrammeSettings
from loyalty.services.members import consent_set
from messaging.email_html import email_html
from messaging.models import ChannelSettings, Message
from messaging.services.sending import message_queue, message_send
from tests.conftest import host_of
from tests.factories import member_make, template_make
from tests.fakes.email import FakeMailgun, FakeSmtp, sender_address
from themes.models import Theme
from themes.selectors import theme_data_of

pytestmark = pytest.mark.django_db(transaction=False)

SECRET = "mailgun-hooks:s3cret-2026"


@pytest.fixture
def fake_mailgun(settings):
    with FakeMailgun() as fake:
        settings.EMAIL_API_URLS = {**settings.EMAIL_API_URLS, "mailgun": fake.base_url}
        settings.EMAIL_PROVIDER_TIMEOUT = 2
        yield fake


@pytest.fixture
def mailgun_a(in_a, fake_mailgun):
    """Brand A sends through the fake Mailgun, as "Alpha Club <club@mg.brand.example>"."""
    ChannelSettings.objects.update_or_create(
        id=1,
        defaults={
            "email_provider": "mailgun",
            "email_credentials": fake_mailgun.credentials(),
            "email_from_name": "Alpha Club",
            "email_from_address": "club@mg.brand.example",
            "email_webhook_secret": SECRET,
        },
    )
    return fake_mailgun


def _member(**extra):
    values = {"first_name": "Camille", "email": "camille@example.com", "language": "en", **extra}
    member = member_make(**values)
    consent_set(member=member, consents={"email": True}, source="test")
    return member


def _sent(member, *, body="Hello {{ first_name }}, see https://alpha.example/offers.", subject="News"):
    template_make("news", channel="email", subject=subject, body=body)
    message = message_queue(member=member, channel="email", template_code="news")
    message_send(message_id=message.pk, attempts=0)
    message.refresh_from_db()
    return message


def _path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


# --- sending --------------------------------------------------------------------------------------


def test_a_message_goes_through_the_brands_mailgun_with_every_field(mailgun_a):
    member = _member()
    message = _sent(member)
    assert (message.state, message.provider) == (Message.State.SENT, "mailgun")
    [received] = mailgun_a.requests
    assert received.authorised and received.domain == "mg.brand.example"
    assert message.provider_id == received.message_id
    sender = sender_address(received)
    assert (sender.display_name, sender.addr_spec) == ("Alpha Club", "club@mg.brand.example")
    assert received.form["to"] == ["camille@example.com"]
    assert received.get("subject") == "News"
    assert received.get("text") == "Hello Camille, see https://alpha.example/offers."
    assert received.get("html") == message.html and "<html" in message.html
    unsubscribe = re.search(r'href="([^"]+/u/[^"]+/)"', message.html).group(1)
    assert received.headers["List-Unsubscribe"] == f"<{unsubscribe}>"
    assert received.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # Our id and the brand's schema, which the tracking webhooks give back.
    assert received.variables == {"message_id": str(message.pk), "schema": connection.schema_name}


def test_the_sender_defaults_to_the_programmes_name_and_the_platforms_address(mailgun_a):
    ChannelSettings.objects.filter(id=1).update(email_from_name="", email_from_address="")
    ProgrammeSettings.objects.filter(id=1).update(programme_name="Club Été")
    _sent(_member())
    sender = sender_address(mailgun_a.requests[0])
    assert (sender.display_name, sender.addr_spec) == ("Club Été", django_settings.DEFAULT_FROM_EMAIL)


def test_without_credentials_an_email_goes_to_the_development_outbox(in_a, fake_mailgun):
    ChannelSettings.objects.update_or_create(
        id=1, defaults={"email_provider": "mailgun", "email_credentials": {}}
    )
    message = _sent(_member())
    assert (message.state, message.provider) == (Message.State.DELIVERED, "outbox")
    assert message.html and fake_mailgun.requests == []


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(
    ("failure", "state"),
    [
        (500, "queued"),
        (429, "queued"),
        (400, "failed"),
        (401, "failed"),
        ("hang", "unknown"),
        ("refused", "queued"),
    ],
)
def test_provider_errors_retry_fail_or_end_unknown(mailgun_a, settings, failure, state):
    if failure == "refused":
        settings.EMAIL_API_URLS = {
            **settings.EMAIL_API_URLS,
            "mailgun": f"http://127.0.0.1:{_closed_port()}/v3",
        }
    else:
        mailgun_a.fail_next(failure)
    settings.EMAIL_PROVIDER_TIMEOUT = 0.5
    message = _sent(_member())
    assert message.state == state, message.error
    assert message.error
    if state == "queued":
        assert message.not_before is not None and message.attempts == 1


def test_credentials_missing_a_key_fail_the_message_naming_it(mailgun_a):
    ChannelSettings.objects.filter(id=1).update(email_credentials={"sender_domain": "mg.brand.example"})
    message = _sent(_member())
    assert message.state == Message.State.FAILED and "api_key" in message.error.lower()
    assert mailgun_a.requests == []


# --- the HTML part --------------------------------------------------------------------------------


def test_the_html_has_the_themes_colours_inlined_and_the_unsubscribe_link(in_a):
    Theme.objects.filter(id=1).update(primary_color="#8a1c2b", accent_color="#f0b400", text_color="#222222")
    message = _sent(
        _member(), body="First line\nsecond line\n\nSee www.alpha.example or write to help@alpha.example"
    )
    html = message.html
    assert re.search(r'class="content"[^>]*style="[^"]*color: #222222', html)
    assert re.search(r'class="header"[^>]*style="[^"]*background-color: #8a1c2b', html)
    assert re.search(r'class="accent"[^>]*style="[^"]*background-color: #f0b400', html)
    assert ">First line<br>\nsecond line</p>" in html
    assert re.search(r'<a style="color: #8a1c2b;[^"]*" href="http://www.alpha.example"', html)
    assert 'href="mailto:help@alpha.example"' in html
    assert re.search(r'<a href="https?://[^"]+/u/[^"]+/"[^>]*>Unsubscribe from these e-mails</a>', html)


def test_nothing_members_or_staff_write_reaches_the_html_unescaped(in_a):
    ProgrammeSettings.objects.filter(id=1).update(programme_name='Club <img src=x onerror="alert(1)">')
    member = _member(first_name="<script>alert('x')</script>")
    message = _sent(
        member,
        subject="<b>Hi</b> {{ first_name }}",
        body='{{ first_name }} <a href="javascript:alert(2)">win</a> " onmouseover="alert(3)',
    )
    html = message.html
    assert "<script" not in html and "<img src=x" not in html and 'javascript:alert(2)">' not in html
    assert "&lt;script&gt;" in html and "&lt;a href=&quot;javascript:alert(2)&quot;&gt;win&lt;/a&gt;" in html
    assert "Club &lt;img src=x" in html and "<b>Hi</b>" not in html
    # The text part is the rendered text as it is (a text part runs nothing).
    assert message.body.startswith("<script>")


def test_the_footer_speaks_the_members_language(in_a):
    template_make("news", channel="email", language="fr", subject="Infos", body="Bonjour")
    member = _member(language="fr")
    message = message_queue(member=member, channel="email", template_code="news")
    assert "Se désabonner de ces e-mails" in message.html and 'lang="fr"' in message.html


# --- unsubscribe ----------------------------------------------------------------------------------


def _unsubscribe_url(message: Message) -> str:
    return re.search(r'href="([^"]+/u/[^"]+/)"', message.html).group(1)


def test_one_click_unsubscribes_once_with_a_consent_change(in_a):
    member = _member()
    message = _sent(member)
    path = _path(_unsubscribe_url(message))
    # A mail client's one-click POST: no cookie, no CSRF token.
    client = Client(HTTP_HOST=host_of(in_a), enforce_csrf_checks=True, REMOTE_ADDR="203.0.113.5")
    page = client.get(path)
    assert page.status_code == 200 and b"c\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2@example.com" in page.content
    assert Consent.objects.get(member=member, channel="email").granted is True
    answer = client.post(path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 200
    assert Consent.objects.get(member=member, channel="email").granted is False
    change = ConsentChange.objects.filter(member=member, channel="email").first()
    assert (change.granted, change.source, change.ip_address) == (False, "unsubscribe link", "203.0.113.5")
    changes = ConsentChange.objects.filter(member=member).count()
    assert (
        client.post(
            path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
        ).status_code
        == 200
    )
    assert ConsentChange.objects.filter(member=member).count() == changes
    # The next e-mail is skipped.
    template_make("news", channel="email", subject="News", body="Hi")
    assert message_queue(member=member, channel="email", template_code="news").skip_reason == "opted_out"


def test_a_mistyped_or_forged_link_is_a_404(in_a):
    member = _member()
    path = _path(_unsubscribe_url(_sent(member)))
    client = Client(HTTP_HOST=host_of(in_a))
    assert client.post(path[:-3] + "xx/").status_code == 404
    assert client.get("/u/WzEsImVtYWlsIl0:forged/").status_code == 404
    assert Consent.objects.get(member=member, channel="email").granted is True


# --- tracking webhooks ----------------------------------------------------------------------------


def _auth(secret: str = SECRET) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(secret.encode()).decode()}


def _hook(brand, body: bytes, **headers):
    return Client(HTTP_HOST=host_of(brand)).post(
        "/hooks/email/mailgun/tracking/", body, content_type="application/json", **headers
    )


def test_a_hard_bounce_turns_consent_off_and_fails_the_message(mailgun_a, in_a):
    member = _member()
    message = _sent(member)
    answer = _hook(
        in_a, mailgun_a.tracking_event(mailgun_a.sent[0], "failed", severity="permanent"), **_auth()
    )
    assert answer.status_code == 200
    message.refresh_from_db()
    assert (message.state, message.provider_status) == (Message.State.FAILED, "bounced")
    assert Consent.objects.get(member=member, channel="email").granted is False
    assert ConsentChange.objects.filter(member=member, source="bounce", granted=False).count() == 1
    # The same event again (providers retry) changes nothing more.
    assert _hook(in_a, mailgun_a.tracking_event(mailgun_a.sent[0], "failed"), **_auth()).status_code == 200
    assert ConsentChange.objects.filter(member=member, source="bounce").count() == 1


def test_a_complaint_turns_consent_off_and_a_soft_bounce_does_not(mailgun_a, in_a):
    member = _member()
    message = _sent(member)
    soft = mailgun_a.tracking_event(mailgun_a.sent[0], "failed", severity="temporary")
    assert _hook(in_a, soft, **_auth()).status_code == 200
    message.refresh_from_db()
    assert message.state == Message.State.SENT
    assert Consent.objects.get(member=member, channel="email").granted is True
    assert _hook(in_a, mailgun_a.tracking_event(mailgun_a.sent[0], "delivered"), **_auth()).status_code == 200
    assert (
        _hook(in_a, mailgun_a.tracking_event(mailgun_a.sent[0], "complained"), **_auth()).status_code == 200
    )
    message.refresh_from_db()
    assert message.state == Message.State.DELIVERED
    assert ConsentChange.objects.filter(member=member, source="complaint", granted=False).count() == 1


def test_a_webhook_without_the_brands_secret_or_signature_is_refused_and_changes_nothing(mailgun_a, in_a):
    member = _member()
    message = _sent(member)
    event = mailgun_a.tracking_event(mailgun_a.sent[0], "failed")
    missing = _hook(in_a, event)
    assert missing.status_code == 401 and missing["WWW-Authenticate"].startswith("Basic")
    assert _hook(in_a, event, **_auth("mailgun-hooks:wrong")).status_code == 403
    forged = mailgun_a.tracking_event(mailgun_a.sent[0], "failed", signing_key="not-the-key")
    assert _hook(in_a, forged, **_auth()).status_code == 403
    ChannelSettings.objects.filter(id=1).update(email_webhook_secret="")
    assert _hook(in_a, event, **_auth()).status_code == 403
    message.refresh_from_db()
    assert message.state == Message.State.SENT
    assert Consent.objects.get(member=member, channel="email").granted is True
    assert not ConsentChange.objects.filter(member=member, source="bounce").exists()


def test_an_event_for_another_recipient_or_an_unknown_id_changes_nothing(mailgun_a, in_a):
    member = _member()
    message = _sent(member)
    other = mailgun_a.tracking_event(mailgun_a.sent[0], "failed", recipient="someone@else.example")
    assert _hook(in_a, other, **_auth()).status_code == 200
    mailgun_a.sent[0].form["v:message_id"] = [str(message.pk + 1000)]
    assert _hook(in_a, mailgun_a.tracking_event(mailgun_a.sent[0], "failed"), **_auth()).status_code == 200
    message.refresh_from_db()
    assert message.state == Message.State.SENT
    assert Consent.objects.get(member=member, channel="email").granted is True


def test_a_webhook_for_another_provider_than_the_brands_is_a_404(mailgun_a, in_a):
    client = Client(HTTP_HOST=host_of(in_a))
    assert (
        client.post(
            "/hooks/email/brevo/tracking/", b"{}", content_type="application/json", **_auth()
        ).status_code
        == 404
    )


def test_brevos_hard_bounce_turns_consent_off_and_its_soft_bounce_changes_nothing(in_a):
    ChannelSettings.objects.update_or_create(
        id=1, defaults={"email_provider": "brevo", "email_credentials": {}, "email_webhook_secret": SECRET}
    )
    member = _member()
    message = _sent(member)  # no credentials: the outbox (delivered); Brevo's word is recorded anyway
    Message.objects.filter(pk=message.pk).update(
        state=Message.State.SENT, provider_id="<b1@smtp-relay.brevo>"
    )

    def brevo(event: str) -> int:
        body = {
            "event": event,
            "email": member.email,
            "message-id": "<b1@smtp-relay.brevo>",
            "ts_epoch": 1_764_600_000_000,
            "reason": "mailbox full" if event == "soft_bounce" else "unknown user",
            "X-Mailin-custom": json.dumps({"message_id": str(message.pk), "schema": connection.schema_name}),
        }
        return (
            Client(HTTP_HOST=host_of(in_a))
            .post(
                "/hooks/email/brevo/tracking/", json.dumps(body), content_type="application/json", **_auth()
            )
            .status_code
        )

    assert brevo("soft_bounce") == 200
    message.refresh_from_db()
    assert message.state == Message.State.SENT
    assert Consent.objects.get(member=member, channel="email").granted is True
    assert brevo("hard_bounce") == 200
    message.refresh_from_db()
    assert (message.state, message.error) == (Message.State.FAILED, "unknown user")
    assert ConsentChange.objects.filter(member=member, source="bounce", granted=False).count() == 1


# --- the site's own e-mails -----------------------------------------------------------------------


def _join(brand, email: str) -> None:
    Client(HTTP_HOST=host_of(brand), REMOTE_ADDR="203.0.113.8").post(
        "/join/",
        {
            "first_name": "Jo",
            "last_name": "Doe",
            "email": email,
            "password": "a-long-join-pass-2026",
            "terms": "on",
        },
    )


def test_the_sites_own_emails_use_the_brands_provider_and_sender(mailgun_a, in_a, settings):
    settings.EMAIL_BACKEND = "messaging.mail_backend.BrandEmailBackend"
    settings.EMAIL_PLATFORM_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    _join(in_a, "jo.brand@example.com")
    [received] = mailgun_a.requests
    assert sender_address(received).addr_spec == "club@mg.brand.example"
    assert received.form["to"] == ["jo.brand@example.com"] and "/join/verify/" in received.get("text")
    assert mail.outbox == []


def test_without_a_provider_the_sites_emails_go_through_the_platforms_backend(in_a, settings):
    settings.EMAIL_BACKEND = "messaging.mail_backend.BrandEmailBackend"
    settings.EMAIL_PLATFORM_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    _join(in_a, "jo.platform@example.com")
    [sent] = mail.outbox
    assert sent.to == ["jo.platform@example.com"] and sent.from_email == django_settings.DEFAULT_FROM_EMAIL


def test_a_password_reset_uses_the_brands_provider_and_sender(mailgun_a, in_a, settings):
    settings.EMAIL_BACKEND = "messaging.mail_backend.BrandEmailBackend"
    settings.EMAIL_PLATFORM_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    get_user_model().objects.create_user(
        username="reset.me@example.com", email="reset.me@example.com", password="a-long-pass-2026"
    )
    answer = Client(HTTP_HOST=host_of(in_a)).post(
        "/accounts/password-reset/", {"email": "reset.me@example.com"}
    )
    assert answer.status_code == 302
    [received] = mailgun_a.requests
    assert sender_address(received).display_name == "Alpha Club"
    assert received.form["to"] == ["reset.me@example.com"] and "/accounts/password-reset/" in received.get(
        "text"
    )
    assert mail.outbox == []


# --- SMTP and the frame -------------------------------------------------------------------------


def test_a_message_goes_through_the_brands_smtp_server(in_a, settings):
    settings.WEBHOOKS_DEVELOPMENT = True  # development: a local server (the fake) may be named
    with FakeSmtp() as smtp:
        ChannelSettings.objects.update_or_create(
            id=1,
            defaults={
                "email_provider": "smtp",
                "email_credentials": {"host": "127.0.0.1", "port": smtp.port},
                "email_from_address": "club@alpha.example",
            },
        )
        message = _sent(_member())
        assert (message.state, message.provider) == (Message.State.SENT, "smtp")
        [sent] = smtp.messages
        assert smtp.envelopes == [("club@alpha.example", ["camille@example.com"])]
        assert sent["X-Loyalty-Message"] == f"{connection.schema_name}:{message.pk}"
        assert sent["Message-ID"].strip("<>") == message.provider_id
        assert sent["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        html, text = (
            sent.get_body((kind,)).get_content().replace("\r\n", "\n") for kind in ("html", "plain")
        )
        assert html.strip() == message.html.strip() and text.strip() == message.body

        smtp.refuse_recipients = True
        assert _sent(_member(email="nobody@example.com")).state == Message.State.FAILED


@pytest.mark.parametrize(
    ("provider", "credentials", "why"),
    [
        ("smtp", {"use_tls": True}, "host's host is missing"),
        ("smtp", {"host": "127.0.0.1", "port": 2525}, "loopback"),
        ("smtp", {"host": "10.1.2.3"}, "private"),
        ("smtp", {"host": "169.254.169.254"}, "metadata"),
        ("amazon_ses", {"client_params": {"endpoint_url": "http://10.0.0.1"}}, "aws_access_key_id"),
    ],
)
def test_credentials_never_reach_the_platforms_relay_identity_or_network(
    in_a, settings, provider, credentials, why
):
    # The platform's own relay, with a password: a brand's settings missing a key must not use it.
    settings.EMAIL_HOST, settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = (
        "relay.internal",
        "ops",
        "s3cret",
    )
    settings.WEBHOOKS_DEVELOPMENT = False
    ChannelSettings.objects.update_or_create(
        id=1, defaults={"email_provider": provider, "email_credentials": credentials}
    )
    message = _sent(_member())
    assert message.state == Message.State.FAILED
    assert why.replace("host's ", "SMTP server's ") in message.error or why in message.error
    assert "s3cret" not in message.error and "relay.internal" not in message.error


def test_frames_are_kept_apart_per_theme_and_language():
    def html(name: str, language: str) -> str:
        theme = theme_data_of(Theme(primary_color="#123456"), programme_name=name)
        return email_html(
            subject="S",
            body="B",
            language=language,
            unsubscribe_url="https://a/u/t/",
            site_url="https://a/",
            theme=theme,
        )

    assert "member of Club A." in html("Club A", "en") and "member of Club B." in html("Club B", "en")
    assert "membre de Club A." in html("Club A", "fr")
