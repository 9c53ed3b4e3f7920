"""The jobs' pages: a job's page with its progress bar, counts, first errors and result under the
CSP (a self-hosted script with the nonce, no inline style), its JSON, the list, the permissions;
campaign runs and letter batches shown as jobs, written once per chunk, never per message."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.jobs import job_schemas_pending, jobs_files_purge
from core.models import Job
from core.storage import private_storage
from loyalty.models import Segment
from loyalty.services.members import consent_set
from messaging.letters.services import (
    letter_batch_assemble,
    letter_batch_create,
    letter_chunk_render,
    letter_chunks_pending,
)
from messaging.models import Message
from messaging.services.campaigns import (
    campaign_create,
    campaign_pause,
    campaign_resume,
    campaign_run_process,
)
from messaging.services.sending import message_send
from tests.conftest import TEST_PASSWORD
from tests.factories import member_make, sending_hours_open, template_make

pytestmark = pytest.mark.django_db


def _job(**fields) -> Job:
    values = {
        "kind": "loyalty.members_export",
        "state": Job.State.RUNNING,
        "total": 120,
        "done": 30,
        "counts": {"exported": 28, "invalid": 2},
        "errors": [{"row": 4, "field": "email", "message": "<b>not an e-mail</b>"}],
        "error_count": 2,
    }
    return Job.objects.create(**{**values, **fields})


def _staff(client_for, brand, *codenames):
    user = get_user_model().objects.create_user(
        username="viewer@staff.example", password=TEST_PASSWORD, is_staff=True
    )
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client = client_for(brand)
    assert (
        client.post("/accounts/login/", {"username": user.username, "password": TEST_PASSWORD}).status_code
        == 302
    )
    return client


def test_the_page_shows_the_bar_counts_errors_under_the_policy(staff_a):
    job = _job()
    response = staff_a.get(f"/backoffice/jobs/{job.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'<progress id="job-bar"[^>]*value="25"', html)
    assert "<dt>exported</dt><dd>28</dd>" in html
    assert "&lt;b&gt;not an e-mail&lt;/b&gt;" in html  # a row's error is text, never markup
    assert f'data-status-url="/backoffice/jobs/{job.pk}/status.json"' in html
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
    assert f'<script src="/static/core/jobs.js" nonce="{nonce}" defer>' in html
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag or f'nonce="{nonce}"' in tag, tag
    section = html[html.index('<div id="job"') :]
    assert " style=" not in section
    assert "Download the result" in html  # hidden until there is one
    assert re.search(r'<p data-job="result" hidden>', html)


def test_the_json_says_state_progress_counts_and_first_errors(staff_a):
    job = _job(state=Job.State.DONE, done=120, result_path="jobs/x/members.csv", message="120 members")
    status = staff_a.get(f"/backoffice/jobs/{job.pk}/status.json")
    assert "no-store" in status["Cache-Control"]
    data = status.json()
    assert (data["state"], data["done"], data["total"], data["percent"]) == ("done", 120, 120, 100)
    assert (data["counts"], data["error_count"], data["has_result"], data["finished"]) == (
        {"exported": 28, "invalid": 2},
        2,
        True,
        True,
    )
    assert data["errors"] == [{"row": 4, "field": "email", "message": "<b>not an e-mail</b>"}]
    assert (data["kind_label"], data["created_by"], data["message"]) == ("Members export", "", "120 members")


def test_the_list_shows_the_jobs_of_the_kinds_the_user_may_see(db, brand_a, client_for, staff_for):
    connection.set_tenant(brand_a)
    export = _job()
    imported = _job(kind="loyalty.members_import")
    admin = staff_for(brand_a)
    page = admin.get("/backoffice/jobs/").content.decode()
    assert f"/backoffice/jobs/{export.pk}/" in page and f"/backoffice/jobs/{imported.pk}/" in page
    # The export buttons of the user's permissions.
    assert "/backoffice/jobs/export/members/" in page and "/backoffice/jobs/export/orders/" in page

    viewer = _staff(client_for, brand_a, "view_job")  # no kind's permission
    page = viewer.get("/backoffice/jobs/").content.decode()
    assert f"/backoffice/jobs/{export.pk}/" not in page and "/backoffice/jobs/export/" not in page
    for path in ("", "status.json", "result/"):
        assert viewer.get(f"/backoffice/jobs/{export.pk}/{path}").status_code == 404


def test_without_view_job_every_jobs_page_is_refused(db, brand_a, client_for):
    connection.set_tenant(brand_a)
    job = _job()
    client = _staff(client_for, brand_a, "view_member")
    assert client.get("/backoffice/jobs/").status_code == 403
    for path in ("", "status.json", "result/"):
        assert client.get(f"/backoffice/jobs/{job.pk}/{path}").status_code == 403
    assert client_for(brand_a).get("/backoffice/jobs/").status_code == 302  # not logged in: the login


def test_the_export_buttons_are_on_the_members_and_orders_lists(staff_a):
    members = staff_a.get("/backoffice/loyalty/member/").content.decode()
    assert 'action="/backoffice/jobs/export/members/"' in members
    assert 'action="/backoffice/jobs/export/ledger/"' in members
    orders = staff_a.get("/backoffice/catalog/order/").content.decode()
    assert 'action="/backoffice/jobs/export/orders/"' in orders


def test_a_campaign_run_is_a_job_written_once_per_chunk_never_per_message(staff_a):
    sending_hours_open("sms")
    for index in range(5):
        member = member_make(tags=["jobs"], first_name="Camille", phone=f"+3360000001{index}")
        consent_set(member=member, consents={"sms": True}, source="test")
    segment = Segment.objects.create(name="Jobs", filters={"tags": {"any": ["jobs"]}})
    template_make("offer", body="{{ first_name }}, -20%", purpose="marketing")
    campaign = campaign_create(
        data={"name": "Offer", "segment": segment, "channel": "sms", "template_code": "offer"}
    )
    job = Job.objects.get(kind="messaging.campaign_run")
    assert (job.state, job.total, job.done, job.params["campaign"]) == ("running", 5, 0, campaign.pk)
    run_id = job.params["campaign_run"]
    campaign_pause(campaign_id=campaign.pk)
    assert Job.objects.get(pk=job.pk).message == "Paused: Offer"
    campaign_resume(campaign_id=campaign.pk)
    assert Job.objects.get(pk=job.pk).message == "Offer"
    with CaptureQueriesContext(connection) as queries:
        assert not campaign_run_process(run_id=run_id, chunk_size=2)
    job_writes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('UPDATE "core_job"')]
    assert len(job_writes) == 2 * 3 + 1  # each of 3 chunks: done, then total if it grew; the end
    job.refresh_from_db()
    assert (job.state, job.done, job.counts) == ("done", 5, {"queued": 5})
    status = staff_a.get(f"/backoffice/jobs/{job.pk}/status.json").json()
    assert (status["details"], status["finished"]) == ({"queued": 5}, False)  # its sends still leave
    assert status["link"] == f"/backoffice/messaging/campaign/{campaign.pk}/change/"

    message = Message.objects.filter(campaign_run_id=run_id).first()
    with CaptureQueriesContext(connection) as queries:
        message_send(message_id=message.pk, attempts=0)
    assert not [q for q in queries.captured_queries if "core_job" in q["sql"]]  # the hot path: nothing
    status = staff_a.get(f"/backoffice/jobs/{job.pk}/status.json").json()
    assert sum(status["details"].values()) == 5 and status["details"].get("queued") == 4


def test_a_letter_batch_is_a_job_whose_result_is_its_pdf(staff_a):
    template_make("launch_letter", channel="post", body="Hello {{ first_name }}", purpose="service")
    member_make("L-1", company_name="Tabac", address_line1="1 rue X", postal_code="75002", city="Paris")
    member_make("L-2", first_name="No address")
    batch = letter_batch_create(template="launch_letter", external_ids=["L-1", "L-2"])
    job = Job.objects.get(kind="messaging.letter_batch", params__letter_batch=batch.pk)
    assert (job.state, job.total, job.done) == ("running", 2, 0)
    for chunk in letter_chunks_pending(batch_id=batch.pk):
        letter_chunk_render(batch_id=batch.pk, chunk=chunk)
    batch = letter_batch_assemble(batch_id=batch.pk)
    job.refresh_from_db()
    assert (job.state, job.done, job.counts) == ("done", 2, {"printed": 1, "skipped": 1})
    assert job.result_path == batch.pdf.name
    response = staff_a.get(f"/backoffice/jobs/{job.pk}/result/")
    assert response.status_code == 200
    with private_storage().open(batch.pdf.name, "rb") as pdf:
        assert b"".join(response.streaming_content) == pdf.read()
    status = staff_a.get(f"/backoffice/jobs/{job.pk}/status.json").json()
    assert status["details"] == {"no_address": 1}


def test_the_files_of_jobs_ended_a_week_ago_are_deleted(staff_a, brand_a):
    storage = private_storage()
    old, recent = _job(state=Job.State.DONE), _job(state=Job.State.DONE)
    for job, age in ((old, 8), (recent, 6)):
        result = storage.save(f"jobs/{job.pk}/members.csv", ContentFile(b"personal data"))
        upload = storage.save(f"jobs/{job.pk}/upload-file.csv", ContentFile(b"personal data"))
        job.result_path, job.params = result, {"upload_path": upload}
        job.finished_at = timezone.now() - timedelta(days=age)
        job.save()
    old_files = [old.result_path, old.params["upload_path"]]
    assert brand_a.schema_name in job_schemas_pending([brand_a.schema_name])
    assert jobs_files_purge() == 1
    old.refresh_from_db()
    assert (old.result_path, old.params) == ("", {"files_deleted": True})
    assert not any(storage.exists(path) for path in old_files)
    assert storage.exists(Job.objects.get(pk=recent.pk).result_path)
    page = staff_a.get(f"/backoffice/jobs/{old.pk}/").content.decode()
    assert "Its files were deleted 7 days after it ended" in page
    assert staff_a.get(f"/backoffice/jobs/{old.pk}/result/").status_code == 404
    storage.delete(recent.result_path)
    storage.delete(recent.params["upload_path"])
