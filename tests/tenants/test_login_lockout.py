"""Every password login resists brute force (issue 10, section 4): the member site, the brand's
backoffice and the operator console. The 6th failure within 15 minutes locks the account for 15
minutes, the right password included; an address failing on many accounts is locked too; a password
reset or the operator lifts a lockout."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection
from django.test import Client, RequestFactory
from django.utils import timezone
from django_tenants.utils import schema_context

from core.lockout import client_ip
from tenants.models import AuthFailure, Lockout
from tenants.tasks import lockouts_purge_task
from tests.conftest import TEST_PASSWORD, host_of
from tests.support import error_of

WRONG = "not-the-password"
LOCKED_TEXT = "Too many failed logins"


@dataclass
class Login:
    """One of the three logins: who logs in where, on which host."""

    name: str
    host: str
    path: str
    username: str
    email: str
    schema_name: str

    def client(self) -> Client:
        return Client(HTTP_HOST=self.host)

    def attempt(self, client: Client, password: str, **extra):
        return client.post(self.path, {"username": self.username, "password": password}, **extra)

    def logged_in(self, client: Client, response) -> bool:
        return response.status_code == 302 and "_auth_user_id" in client.session


def _user_make(*, schema_name: str, username: str, email: str, staff: bool) -> None:
    with schema_context(schema_name):
        user_model = get_user_model()
        if staff:
            user_model.objects.create_superuser(username=username, email=email, password=TEST_PASSWORD)
        else:
            user_model.objects.create_user(username=username, email=email, password=TEST_PASSWORD)


def login_of(kind: str, brand) -> Login:
    if kind == "console":
        login = Login(
            "console", "localhost", "/login/", "operator-lk", "operator-lk@platform.example", "public"
        )
    else:
        login = Login(
            kind,
            host_of(brand),
            "/backoffice/login/" if kind == "backoffice" else "/accounts/login/",
            f"{kind}-lk@{brand.slug}.example",
            f"{kind}-lk@{brand.slug}.example",
            brand.schema_name,
        )
    _user_make(
        schema_name=login.schema_name, username=login.username, email=login.email, staff=kind != "member"
    )
    return login


@pytest.fixture(params=["member", "backoffice", "console"])
def login(request, db, brand_a) -> Login:
    return login_of(request.param, brand_a)


def test_five_failures_then_the_right_password_logs_in(login):
    client = login.client()
    for _ in range(5):
        response = login.attempt(client, WRONG)
        assert response.status_code == 200
        assert LOCKED_TEXT not in response.content.decode()
    assert login.logged_in(client, login.attempt(client, TEST_PASSWORD))


def test_the_sixth_failure_locks_the_account_even_for_the_right_password(login):
    client = login.client()
    statuses = [login.attempt(client, WRONG).status_code for _ in range(5)]
    assert statuses == [200] * 5
    sixth = login.attempt(client, WRONG)
    assert sixth.status_code == 429
    assert LOCKED_TEXT in sixth.content.decode()
    assert 899 <= int(sixth["Retry-After"]) <= 900

    right = login.attempt(client, TEST_PASSWORD)
    assert right.status_code == 429
    assert not login.logged_in(client, right)
    page = right.content.decode()
    assert "this account is locked" in page and "reset your password" in page
    # Another address, the same account: still locked (per account, not per address and account).
    other = login.attempt(login.client(), TEST_PASSWORD, REMOTE_ADDR="192.0.2.7")
    assert other.status_code == 429
    lockout = Lockout.objects.get(schema_name=login.schema_name, account=login.username)
    assert (lockout.scope, lockout.ip, lockout.failures) == ("account", "127.0.0.1", 6)


def test_fifty_wrong_passwords_are_answered_five_times_then_refused(login):
    client = login.client()
    statuses = [login.attempt(client, WRONG).status_code for _ in range(50)]
    assert statuses == [200] * 5 + [429] * 45
    # Refused attempts are not checked, nor counted: the lockout does not grow with them.
    assert AuthFailure.objects.filter(schema_name=login.schema_name, account=login.username).count() == 6


def test_a_locked_login_answers_json_to_api_like_clients(login):
    client = login.client()
    for _ in range(6):
        login.attempt(client, WRONG, HTTP_ACCEPT="application/json")
    response = login.attempt(client, TEST_PASSWORD, HTTP_ACCEPT="application/json")
    error = error_of(response, 429)  # the API's one error shape
    assert (error["field"], error["code"]) == ("username", "locked_out")
    assert LOCKED_TEXT in error["message"]
    assert int(response["Retry-After"]) > 0
    # A browser (HTML first, anything else after) gets the page.
    page = login.attempt(client, TEST_PASSWORD, HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
    assert page.status_code == 429 and page["Content-Type"].startswith("text/html")


def test_a_username_typed_in_another_case_logs_in(login):
    """Logins are stored in lower case (sign-up, activation, brand creation): `Ana@X.example ` as
    typed on a phone is the same login."""
    client = login.client()
    typed = f" {login.username.capitalize().upper()[:3]}{login.username[3:]} "
    response = client.post(login.path, {"username": typed, "password": TEST_PASSWORD})
    assert login.logged_in(client, response)
    assert login.attempt(login.client(), WRONG).status_code == 200  # a wrong password still fails


def test_the_lockout_ends_after_fifteen_minutes(login):
    with time_machine.travel(timezone.now(), tick=True) as clock:
        client = login.client()
        for _ in range(6):
            login.attempt(client, WRONG)
        clock.shift(timedelta(minutes=14, seconds=50))
        assert login.attempt(client, TEST_PASSWORD).status_code == 429
        clock.shift(timedelta(seconds=11))
        assert login.logged_in(client, login.attempt(client, TEST_PASSWORD))


def test_failures_count_within_a_sliding_fifteen_minutes(db, brand_a):
    login = login_of("member", brand_a)
    with time_machine.travel(timezone.now(), tick=True) as clock:
        client = login.client()
        for _ in range(5):
            login.attempt(client, WRONG)
        clock.shift(timedelta(minutes=10))
        # 5 failures 10 minutes ago: the 6th locks.
        assert login.attempt(client, WRONG).status_code == 429
    Lockout.objects.all().delete()
    AuthFailure.objects.all().delete()
    with time_machine.travel(timezone.now(), tick=True) as clock:
        for _ in range(5):
            login.attempt(client, WRONG)
        clock.shift(timedelta(minutes=15, seconds=1))
        # Those 5 are more than 15 minutes old: 5 new failures are allowed again.
        assert [login.attempt(client, WRONG).status_code for _ in range(5)] == [200] * 5
        assert login.logged_in(client, login.attempt(client, TEST_PASSWORD))


def test_an_address_failing_on_many_accounts_is_locked(db, brand_a):
    victims = [login_of("member", brand_a)]
    client = victims[0].client()
    # Four accounts, 5 wrong passwords each (none locked), then one more failure from that address.
    for number in range(4):
        user = f"spray-{number}@{brand_a.slug}.example"
        for _ in range(5):
            response = client.post("/accounts/login/", {"username": user, "password": WRONG})
            assert response.status_code == 200
    refused = victims[0].attempt(client, WRONG)
    assert refused.status_code == 429
    assert "from your address" in refused.content.decode()
    # The address is refused on any account, the right password included...
    assert victims[0].attempt(client, TEST_PASSWORD).status_code == 429
    # ...while the account itself logs in from elsewhere.
    elsewhere = victims[0].client()
    assert victims[0].logged_in(
        elsewhere, victims[0].attempt(elsewhere, TEST_PASSWORD, REMOTE_ADDR="192.0.2.8")
    )


def test_usernames_count_whatever_their_case(db, brand_a):
    login = login_of("member", brand_a)
    client = login.client()
    for variant in ["MEMBER-LK@alpha.example", " member-lk@ALPHA.example", "Member-lk@alpha.example"] * 2:
        response = client.post(
            login.path, {"username": variant.replace("alpha", brand_a.slug), "password": WRONG}
        )
    assert response.status_code == 429
    assert login.attempt(client, TEST_PASSWORD).status_code == 429


def _reset_link(outbox_message) -> str:
    return re.search(r"https?://[^/\s]+(/\S*password-reset/\S+/)", outbox_message.body).group(1)


def test_a_password_reset_unlocks_the_account(login):
    client = login.client()
    for _ in range(6):
        login.attempt(client, WRONG)
    assert login.attempt(client, TEST_PASSWORD).status_code == 429

    reset_path = login.path.replace("backoffice/login/", "accounts/login/").replace(
        "login/", "password-reset/"
    )
    form = client.get(reset_path)
    assert form.status_code == 200
    assert client.post(reset_path, {"email": login.email.upper()}).status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [login.email]
    assert f"://{login.host}/" in message.body
    page = client.get(_reset_link(message), follow=True)
    assert page.status_code == 200 and "Choose a new password" in page.content.decode()
    set_password = page.redirect_chain[-1][0]
    done = client.post(
        set_password, {"new_password1": "a-brand-new-pass-26", "new_password2": "a-brand-new-pass-26"}
    )
    assert done.status_code == 302
    assert "unlocked" in client.get(done["Location"]).content.decode()

    assert login.logged_in(client, login.attempt(client, "a-brand-new-pass-26"))
    lockout = Lockout.objects.get(schema_name=login.schema_name, account=login.username)
    assert lockout.lifted_by == "password reset" and lockout.lifted_at is not None
    # Its failures are forgotten too: the next wrong password is the first again.
    assert login.attempt(login.client(), WRONG).status_code == 200


def test_a_reset_does_not_lift_the_lockout_of_an_address(db, brand_a):
    login = login_of("member", brand_a)
    client = login.client()
    for number in range(21):
        client.post(login.path, {"username": f"spray-{number}@x.example", "password": WRONG})
    assert login.attempt(client, TEST_PASSWORD).status_code == 429
    client.post("/accounts/password-reset/", {"email": login.email})
    client.post(
        client.get(_reset_link(mail.outbox[0]), follow=True).redirect_chain[-1][0],
        {"new_password1": "a-brand-new-pass-26", "new_password2": "a-brand-new-pass-26"},
    )
    assert login.attempt(client, "a-brand-new-pass-26").status_code == 429


def test_the_backoffice_login_links_to_the_password_reset(db, brand_a, client_for):
    page = client_for(brand_a).get("/backoffice/login/")
    assert 'href="/backoffice/password-reset/"' in page.content.decode()
    assert client_for(brand_a).get("/backoffice/password-reset/")["Location"] == "/accounts/password-reset/"
    assert 'href="/password-reset/"' in client_for().get("/login/").content.decode()


def _operator_client() -> Client:
    connection.set_schema_to_public()
    get_user_model().objects.create_superuser(
        username="op-lk", email="op-lk@platform.example", password=TEST_PASSWORD
    )
    client = Client(HTTP_HOST="localhost")
    assert client.post("/login/", {"username": "op-lk", "password": TEST_PASSWORD}).status_code == 302
    return client


def test_the_operator_sees_and_lifts_a_lockout(db, brand_a):
    login = login_of("member", brand_a)
    locked_client = login.client()
    for _ in range(6):
        login.attempt(locked_client, WRONG, REMOTE_ADDR="198.51.100.23")
    operator = _operator_client()
    console = operator.get("/console/").content.decode()
    lockout = Lockout.objects.get(schema_name=brand_a.schema_name, account=login.username)
    row = re.search(rf'<tr id="lockout-{lockout.pk}">(.*?)</tr>', console, re.S).group(1)
    assert brand_a.name in row and login.username in row and "198.51.100.23" in row
    assert (
        f"{lockout.locked_at:%Y-%m-%d %H:%M:%S}" in row and f"{lockout.locked_until:%Y-%m-%d %H:%M:%S}" in row
    )

    assert operator.post(f"/console/lockouts/{lockout.pk}/lift/").status_code == 302
    lockout.refresh_from_db()
    assert lockout.lifted_by == "op-lk"
    assert f"lockout-{lockout.pk}" not in operator.get("/console/").content.decode()
    assert login.logged_in(
        locked_client, login.attempt(locked_client, TEST_PASSWORD, REMOTE_ADDR="198.51.100.23")
    )


def test_only_operators_lift_lockouts(db, brand_a):
    login = login_of("member", brand_a)
    client = login.client()
    for _ in range(6):
        login.attempt(client, WRONG)
    lockout = Lockout.objects.get(account=login.username)
    anonymous = Client(HTTP_HOST="localhost")
    assert anonymous.post(f"/console/lockouts/{lockout.pk}/lift/").status_code == 302  # to the login
    lockout.refresh_from_db()
    assert lockout.lifted_at is None
    assert login.attempt(client, TEST_PASSWORD).status_code == 429


def test_concurrent_wrong_passwords_check_at_most_six(fresh_brand):
    """50 attempts, 10 at a time: each is recorded before its password is checked, so they count
    each other; 6 passwords are checked, the others are refused."""
    login = login_of("member", fresh_brand)
    statuses: list[int] = []
    barrier = threading.Barrier(10)

    def attack() -> None:
        client = login.client()
        barrier.wait()
        for _ in range(5):
            statuses.append(login.attempt(client, WRONG).status_code)
        connection.close()

    threads = [threading.Thread(target=attack) for _ in range(10)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(statuses) == 50 and set(statuses) <= {200, 429}
        assert statuses.count(200) <= 5
        # Six passwords checked (their failures recorded), the 44 others refused unchecked.
        checked = AuthFailure.objects.filter(schema_name=fresh_brand.schema_name, account=login.username)
        assert checked.count() == 6
        assert login.attempt(login.client(), TEST_PASSWORD).status_code == 429
    finally:
        connection.set_schema_to_public()
        AuthFailure.objects.filter(schema_name=fresh_brand.schema_name).delete()
        Lockout.objects.filter(schema_name=fresh_brand.schema_name).delete()


@pytest.fixture
def redis_unreachable(settings, monkeypatch):
    """The cache's Redis on a port where nothing listens (the shared Redis keeps running)."""
    from config.redis import cache_redis

    settings.CACHES = {
        **settings.CACHES,
        "default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:9/0"},
    }
    cache_redis.cache_clear()
    monkeypatch.setattr("config.redis._down_until", 0.0)
    # The "Redis is unreachable" warnings of this test are its own: another test waiting for one
    # later in the minute still gets it.
    monkeypatch.setattr("config.redis._warned_at", {})
    yield
    cache_redis.cache_clear()


def test_without_redis_logins_are_still_limited(login, redis_unreachable):
    client = login.client()
    assert [login.attempt(client, WRONG).status_code for _ in range(6)] == [200] * 5 + [429]
    assert login.attempt(client, TEST_PASSWORD).status_code == 429


def test_old_failures_and_lockouts_are_purged_by_the_hourly_task(db, brand_a):
    login = login_of("member", brand_a)
    with time_machine.travel(timezone.now(), tick=True) as clock:
        client = login.client()
        for _ in range(6):
            login.attempt(client, WRONG)
        clock.shift(timedelta(days=31))
        login.attempt(client, WRONG)
        assert settings.CELERY_BEAT_SCHEDULE["lockouts-purge-hourly"]["task"] == lockouts_purge_task.name
        assert lockouts_purge_task.apply().get() == [6, 1]
    assert list(
        AuthFailure.objects.filter(schema_name=brand_a.schema_name).values_list("account", flat=True)
    ) == [login.username]
    assert not Lockout.objects.filter(schema_name=brand_a.schema_name).exists()


def test_a_login_forgives_the_accounts_mistypes_not_other_accounts(db, brand_a):
    login = login_of("member", brand_a)
    client = login.client()
    for _ in range(5):
        login.attempt(client, WRONG)
    client.post(login.path, {"username": "someone-else@x.example", "password": WRONG})
    assert login.attempt(client, TEST_PASSWORD).status_code == 302
    # Five more mistypes are five, not ten: the sixth failure since the login is the one that locks.
    for _ in range(5):
        assert login.attempt(login.client(), WRONG).status_code == 200
    assert login.attempt(login.client(), WRONG).status_code == 429
    assert AuthFailure.objects.filter(
        schema_name=brand_a.schema_name, account="someone-else@x.example"
    ).exists()


def test_ipv6_addresses_count_by_their_64_network():
    request = RequestFactory().get("/", REMOTE_ADDR="2001:db8:1:2:aaaa::1")
    other_in_same_64 = RequestFactory().get("/", REMOTE_ADDR="2001:db8:1:2:bbbb::99")
    mapped = RequestFactory().get("/", REMOTE_ADDR="::ffff:192.0.2.7")
    assert client_ip(request) == client_ip(other_in_same_64) == "2001:db8:1:2::"
    assert client_ip(RequestFactory().get("/", REMOTE_ADDR="2001:db8:1:3::1")) == "2001:db8:1:3::"
    assert client_ip(mapped) == "192.0.2.7"


def test_without_a_proxy_a_forged_x_forwarded_for_is_not_read(db, brand_a, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    client = Client(HTTP_HOST=host_of(brand_a))
    for number in range(21):
        client.post(
            "/accounts/login/",
            {"username": f"u{number}@x.example", "password": WRONG},
            HTTP_X_FORWARDED_FOR=f"198.51.100.{number}",
        )
    lockout = Lockout.objects.get(schema_name=brand_a.schema_name, scope=Lockout.Scope.IP)
    assert lockout.ip == "127.0.0.1"


def test_behind_a_proxy_the_address_it_saw_counts(db, brand_a, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    login = login_of("member", brand_a)
    client = login.client()
    for number in range(21):
        # What the client wrote itself (on the left) changes every time: it is not read.
        forwarded = f"10.9.8.{number}, 203.0.113.9"
        client.post(
            login.path,
            {"username": f"u{number}@x.example", "password": WRONG},
            HTTP_X_FORWARDED_FOR=forwarded,
        )
    assert Lockout.objects.get(schema_name=brand_a.schema_name).ip == "203.0.113.9"
    assert login.attempt(client, TEST_PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 429
    # Another client behind the same proxy (the same REMOTE_ADDR) is not locked out.
    other = login.client()
    assert login.logged_in(other, login.attempt(other, TEST_PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.10"))
