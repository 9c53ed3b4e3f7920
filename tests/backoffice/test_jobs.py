"""Jobs (core.jobs): a real Celery worker runs them in the brand's schema; progress, counts, errors
and the result land in the row; a failing job says why; the sweep takes up a job whose worker died."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from core.jobs import (
    ERRORS_KEPT,
    JobProgress,
    job_kind,
    job_result_open,
    job_start,
    jobs_sweep,
)
from core.models import Job
from tests.conftest import brand_make, host_of, wsgi_served

pytestmark = pytest.mark.usefixtures("celery_worker")

ROOT = Path(__file__).resolve().parents[2]

# What the slow job waits for before it ends (the test looks at its progress meanwhile).
_release = threading.Event()


@job_kind("tests.count", permission="core.view_job", label="Count")
def count_run(job: Job, progress: JobProgress) -> None:
    n = job.params["n"]
    progress.total(n)
    for row in range(1, n + 1):
        if row % 7 == 0:
            progress.error(row, "value", f"row {row} is a multiple of 7")
            progress.advance(outcome="invalid")
        else:
            progress.advance()
    progress.result(f"counted {n}\n".encode(), "count.txt")


@job_kind("tests.slow", permission="core.view_job", label="Slow")
def slow_run(job: Job, progress: JobProgress) -> None:
    progress.total(10)
    for _ in range(5):
        progress.advance()
    progress.write()
    assert _release.wait(30), "the test never released the job"
    for _ in range(5):
        progress.advance()


@job_kind("tests.broken", permission="core.view_job", label="Broken")
def broken_run(job: Job, progress: JobProgress) -> None:
    progress.total(3)
    progress.advance()
    raise RuntimeError("disk on fire")


@pytest.fixture(scope="module")
def module_brand(django_db_setup, django_db_blocker):
    """One committed brand for the module (each test looks at its own jobs), dropped after it."""
    with django_db_blocker.unblock():
        made = brand_make(f"t-{uuid.uuid4().hex[:10]}")
    yield made
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        made.delete(force_drop=True)


@pytest.fixture
def brand(module_brand, live_db):
    connection.set_tenant(module_brand)
    return module_brand


def _wait_for(job_id: int, *states: str, timeout: float = 20) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = Job.objects.get(pk=job_id)
        if job.state in states:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still {Job.objects.get(pk=job_id).state}")


def test_a_job_runs_in_its_brand_with_counts_errors_and_result(brand):
    job = job_start(kind="tests.count", params={"n": 7 * 300}, by=None)
    assert job.state == Job.State.QUEUED
    job = _wait_for(job.pk, Job.State.DONE, Job.State.FAILED)
    assert job.state == Job.State.DONE, job.message
    assert (job.total, job.done) == (2100, 2100)
    assert job.counts == {"created": 1800, "invalid": 300}
    assert job.error_count == 300
    assert len(job.errors) == 300 <= ERRORS_KEPT
    assert job.errors[0] == {"row": 7, "field": "value", "message": "row 7 is a multiple of 7"}
    assert job.started_at and job.finished_at and job.started_at <= job.finished_at
    with job_result_open(job=job) as file:
        assert file.read() == b"counted 2100\n"


def test_progress_shows_while_the_job_runs(brand):
    _release.clear()
    job = job_start(kind="tests.slow", params={}, by=None)
    try:
        deadline = time.monotonic() + 20
        while (job := Job.objects.get(pk=job.pk)).done < 5:
            assert time.monotonic() < deadline, job.state
            time.sleep(0.05)
        assert (job.state, job.done, job.total) == (Job.State.RUNNING, 5, 10)
    finally:
        _release.set()
    job = _wait_for(job.pk, Job.State.DONE)
    assert job.done == 10


def test_a_failing_job_is_failed_with_its_progress_kept(brand):
    job = job_start(kind="tests.broken", params={}, by=None)
    job = _wait_for(job.pk, Job.State.DONE, Job.State.FAILED)
    assert job.state == Job.State.FAILED
    assert "unexpected error" in job.message
    assert "disk on fire" not in job.message
    assert (job.done, job.total) == (1, 3)
    assert job.finished_at


# A worker of its own (a Python process on the test database) that takes the job and is stuck in it
# until it is killed.
WORKER = """
import sys
import time

import django

django.setup()
from django.contrib.auth import get_user_model
from django.db import connection

from core.jobs import job_kind_register, job_run
from tenants.models import Brand


def stuck(job, progress):
    progress.total(10)
    progress.advance(4)
    progress.write()
    print("stuck", flush=True)
    time.sleep(600)


job_kind_register(name="tests.stuck", permission="core.view_job", run=stuck)
connection.set_tenant(Brand.objects.get(schema_name=sys.argv[1]))
job_run(job_id=int(sys.argv[2]))
"""


@job_kind("tests.stuck", permission="core.view_job", label="Stuck, then not")
def stuck_run(job: Job, progress: JobProgress) -> None:
    progress.total(10)
    progress.advance(10)


def _worker_env() -> dict[str, str]:
    database = connection.settings_dict
    url = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    if database.get("PASSWORD"):
        url = url.replace("@", f":{database['PASSWORD']}@", 1)
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DATABASE_URL": url}


def test_a_job_whose_worker_is_killed_is_run_again_by_the_sweep(brand):
    job = Job.objects.create(kind="tests.stuck")  # queued; the process below takes it
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, brand.schema_name, str(job.pk)],
        cwd=ROOT,
        env=_worker_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert worker.stdout is not None
        line = worker.stdout.readline()
        assert line.strip() == "stuck", line + worker.stdout.read()
        job.refresh_from_db()
        assert (job.state, job.done, job.total) == (Job.State.RUNNING, 4, 10)
        assert jobs_sweep() == 0  # its worker is alive (it holds the job's lock)
        os.kill(worker.pid, signal.SIGKILL)
        assert worker.wait(timeout=30) == -signal.SIGKILL
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    # PostgreSQL ends the dead process's session (and its lock) once it sees the socket closed.
    deadline = time.monotonic() + 20
    while (queued := jobs_sweep()) == 0:
        assert time.monotonic() < deadline, "the sweep never saw the worker dead"
        time.sleep(0.1)
    assert queued == 1
    job = _wait_for(job.pk, Job.State.DONE, Job.State.FAILED)
    assert (job.state, job.done, job.total, job.params) == (Job.State.DONE, 10, 10, {"_attempts": 2})
    assert job.counts == {"created": 10}  # the first run's progress started again from zero


def test_a_job_whose_worker_died_twice_is_failed_with_the_reason(brand):
    job = Job.objects.create(kind="tests.count", state=Job.State.RUNNING, params={"n": 3, "_attempts": 2})
    assert jobs_sweep() == 0
    job.refresh_from_db()
    assert job.state == Job.State.FAILED
    assert "stopped" in job.message and job.finished_at


def test_a_queued_job_no_worker_took_is_queued_again_once(brand):
    from django.core.cache import cache

    from core.tasks import jobs_sweep_all_task

    job = Job.objects.create(kind="tests.count", params={"n": 3})  # its task was lost
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=2))
    cache.delete(f"core.job-requeued:{job.pk}")
    connection.set_schema_to_public()
    assert jobs_sweep_all_task() >= 1  # beat's task, through every brand with pending jobs
    connection.set_tenant(brand)
    job = _wait_for(job.pk, Job.State.DONE)
    assert job.counts == {"created": 3}


def test_a_copy_of_the_task_never_runs_a_job_twice(brand):
    from core.jobs import job_run

    job = job_start(kind="tests.count", params={"n": 14}, by=None)
    job = _wait_for(job.pk, Job.State.DONE)
    job_run(job_id=job.pk)  # the broker delivers it again
    again = Job.objects.get(pk=job.pk)
    assert (again.done, again.counts, again.finished_at) == (14, job.counts, job.finished_at)


def test_a_job_survives_a_web_restart(brand, client_for):
    """The job's state is its row and its work is the worker's: the web server that showed it
    running stops, the job ends meanwhile, and the next server shows it done, result included."""
    import requests

    admin = get_user_model().objects.get(username=f"admin@{brand.slug}.example")
    session = client_for(brand)
    session.force_login(admin)
    cookies = {"sessionid": session.cookies["sessionid"].value}
    host = {"Host": host_of(brand)}
    _release.clear()
    job = job_start(kind="tests.slow", params={}, by=admin)
    try:
        with wsgi_served() as port:
            url = f"http://127.0.0.1:{port}/backoffice/jobs/{job.pk}/status.json"
            deadline = time.monotonic() + 20
            while (status := requests.get(url, headers=host, cookies=cookies, timeout=10).json())["done"] < 5:
                assert time.monotonic() < deadline, status
                time.sleep(0.05)
            assert (status["state"], status["percent"], status["finished"]) == ("running", 50, False)
        # No web server now; the worker goes on.
        _release.set()
        _wait_for(job.pk, Job.State.DONE)
    finally:
        _release.set()
    with wsgi_served() as port:
        base = f"http://127.0.0.1:{port}/backoffice/jobs/{job.pk}"
        status = requests.get(f"{base}/status.json", headers=host, cookies=cookies, timeout=10).json()
        assert (status["state"], status["done"], status["percent"]) == ("done", 10, 100)
        assert status["finished"]
        page = requests.get(f"{base}/", headers=host, cookies=cookies, timeout=10)
        assert page.status_code == 200 and 'value="100"' in page.text
