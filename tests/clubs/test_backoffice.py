"""The club spaces' backoffice: a space saved through the service's checks (an error per field, not
a 500), its gifts chosen on its page, a confidential code shown once and stored as a digest, the
club settings (the VIP private line)."""

from __future__ import annotations

from clubs.models import ClubSettings, Space, SpaceCode
from loyalty.models import Tier
from tests.catalog.factories import gift_make

INLINES = {
    f"{prefix}-{key}": value
    for prefix in ("pages", "offers", "codes", "grants")
    for key, value in (
        ("TOTAL_FORMS", "0"),
        ("INITIAL_FORMS", "0"),
        ("MIN_NUM_FORMS", "0"),
        ("MAX_NUM_FORMS", "1000"),
    )
}
SPACE = {"name": "Cellar", "slug": "cellar", "entry": "vip", "position": "0", "is_active": "on", **INLINES}


def test_a_space_and_its_gifts_from_the_backoffice(staff_a):
    gift = gift_make(name="Cellar tour")
    assert staff_a.get("/backoffice/clubs/space/add/").status_code == 200
    response = staff_a.post("/backoffice/clubs/space/add/", {**SPACE, "gifts": [str(gift.pk)]})
    assert response.status_code == 302, response.content.decode()[:3000]
    space = Space.objects.get(slug="cellar")
    gift.refresh_from_db()
    assert gift.space_id == space.pk
    assert staff_a.get(f"/backoffice/clubs/space/{space.pk}/change/").status_code == 200


def test_a_condition_missing_its_data_is_a_form_error(staff_a):
    response = staff_a.post("/backoffice/clubs/space/add/", {**SPACE, "entry": "tier"})
    html = response.content.decode()
    assert response.status_code == 200 and "is required: members of this tier or a higher one enter" in html
    Tier.objects.create(code="gold", name="Gold", threshold=100)
    attribute = {**SPACE, "entry": "attribute", "attribute_name": "purchase_share"}
    html = staff_a.post("/backoffice/clubs/space/add/", attribute).content.decode()
    assert "is required for an attribute condition" in html
    assert not Space.objects.exists()


def test_a_code_is_shown_once_and_kept_as_a_digest(staff_a):
    staff_a.post("/backoffice/clubs/space/add/", {**SPACE, "entry": "code"})
    space = Space.objects.get()
    url = f"/backoffice/clubs/space/{space.pk}/codes/new/"
    assert "Make a new code" in staff_a.get(url).content.decode()
    html = staff_a.post(url, {"label": "Pharmacie du Parc"}).content.decode()
    code = html.split('id="space-code">')[1].split("<")[0]
    row = SpaceCode.objects.get()
    assert len(code) == 12 and code.replace("-", "") not in row.digest and row.label == "Pharmacie du Parc"
    assert code not in staff_a.get(f"/backoffice/clubs/space/{space.pk}/change/").content.decode()


def test_the_private_line_is_set_in_the_club_settings(staff_a):
    response = staff_a.post(
        "/backoffice/clubs/clubsettings/add/", {"vip_phone": "+33 1 70 00 00 00", "vip_phone_hours": "9-18"}
    )
    assert response.status_code == 302
    assert ClubSettings.objects.get().vip_phone == "+33 1 70 00 00 00"


def test_a_space_with_gifts_is_not_deleted_so_they_never_become_everyones(staff_a):
    gift = gift_make(name="Cellar tour")
    staff_a.post("/backoffice/clubs/space/add/", {**SPACE, "gifts": [str(gift.pk)]})
    space = Space.objects.get(slug="cellar")
    empty = Space.objects.create(slug="golf", name="Golf")

    page = staff_a.get(f"/backoffice/clubs/space/{space.pk}/delete/").content.decode()
    assert "Cellar tour" in page
    staff_a.post(f"/backoffice/clubs/space/{space.pk}/delete/", {"post": "yes"})
    bulk = {"action": "delete_selected", "_selected_action": [space.pk, empty.pk], "post": "yes"}
    staff_a.post("/backoffice/clubs/space/", bulk)
    gift.refresh_from_db()
    assert gift.space_id == space.pk and Space.objects.filter(pk=space.pk).exists()
    staff_a.post(f"/backoffice/clubs/space/{empty.pk}/delete/", {"post": "yes"})
    assert not Space.objects.filter(pk=empty.pk).exists()
