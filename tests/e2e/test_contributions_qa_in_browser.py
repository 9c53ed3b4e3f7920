"""Contributions and Q&A in a real browser: a member sends a damage report with a photo and finds
it in their contributions; staff approve it in the queue; the member asks a question, another
answers it, the asker marks it best; the leaderboard shows both. Screenshots at desktop and phone
widths go to /tmp/community-h4-shots/."""

from __future__ import annotations

from pathlib import Path

from django.db import connection
from PIL import Image

from community.demo import contributions as contributions_demo
from community.demo import qa as qa_demo
from community.models import Answer, Contribution, ContributionType, Question
from tests.conftest import TEST_PASSWORD
from tests.factories import member_make

SHOTS = Path("/tmp/community-h4-shots")


def _log_in(page, base: str, username: str, next_url: str) -> None:
    page.goto(f"{base}/accounts/login/?next={next_url}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + next_url)


def _photo(path: Path) -> Path:
    Image.new("RGB", (640, 480), (200, 60, 40)).save(path, format="JPEG")
    return path


def test_a_report_a_question_and_a_best_answer(fresh_brand, site_server, chromium):
    SHOTS.mkdir(exist_ok=True)
    connection.set_tenant(fresh_brand)
    contributions_demo.seed(slug="citycar")
    qa_demo.seed(slug="citycar")
    damage = ContributionType.objects.get(code="damage-report")
    member_make("ines", login=True, first_name="Inès", last_name="Moreau")
    member_make("paul", login=True, first_name="Paul", last_name="Girard")
    connection.set_schema_to_public()
    base = f"http://{fresh_brand.slug}.localhost:{site_server}"
    problems: list[str] = []

    def browser(width: int):
        context = chromium.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        return context, page

    context, page = browser(1280)
    _log_in(page, base, "ines@example.com", "/community/contribute/")
    page.screenshot(path=str(SHOTS / "contribute-1280.png"), full_page=True)
    page.click(f"a[href='/community/contribute/{damage.pk}/']")
    page.fill("textarea[name=text]", "Rear bumper scratched on the left side.")
    page.fill("input[name=reference]", "ZZ-999-ZZ")
    page.set_input_files("input[name=photos]", str(_photo(SHOTS / "bumper.jpg")))
    page.screenshot(path=str(SHOTS / "form-1280.png"), full_page=True)
    page.click("main form button[type=submit]")
    page.wait_for_url(base + "/community/contributions/")
    assert "ZZ-999-ZZ" in page.content()
    page.screenshot(path=str(SHOTS / "mine-1280.png"), full_page=True)

    page.goto(base + "/community/questions/")
    page.fill("input[name=title]", "Are child seats in every car?")
    page.click("#ask button[type=submit]")
    assert "Are child seats in every car?" in page.inner_text("h1")
    question_url = page.url.split("#")[0]
    context.close()

    context, page = browser(375)
    _log_in(page, base, "paul@example.com", "/community/questions/")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(SHOTS / "questions-375.png"), full_page=True)
    page.goto(question_url)
    page.fill("textarea[name=text]", "Two of them, in the boot of every family car.")
    page.click(".qa-answer-form button[type=submit]")
    page.wait_for_url(question_url)
    context.close()

    context, page = browser(1280)
    _log_in(page, base, "ines@example.com", "/community/questions/")
    page.goto(question_url)
    page.click(".qa-answer button[type=submit]")
    page.wait_for_url(question_url)
    assert "Two of them" in page.inner_text(".qa-answer--best .qa-best-label + p")
    page.screenshot(path=str(SHOTS / "question-1280.png"), full_page=True)
    page.goto(base + "/community/leaderboard/")
    assert "Paul G." in page.inner_text("[data-board=helpers]")
    page.screenshot(path=str(SHOTS / "leaderboard-1280.png"), full_page=True)
    context.close()

    context, page = browser(1280)
    _log_in(page, base, f"admin@{fresh_brand.slug}.example", "/backoffice/")
    page.goto(base + "/backoffice/community/contribution/")
    page.screenshot(path=str(SHOTS / "queue-1280.png"), full_page=True)
    connection.set_tenant(fresh_brand)
    mine = Contribution.objects.get(reference="ZZ-999-ZZ")
    connection.set_schema_to_public()
    page.goto(f"{base}/backoffice/community/contribution/{mine.pk}/change/")
    page.screenshot(path=str(SHOTS / "queue-row-1280.png"), full_page=True)
    page.goto(base + "/backoffice/community/contribution/")
    page.check(f"input[name=_selected_action][value='{mine.pk}']")
    page.select_option("select[name=action]", "approve")
    page.click("button[name=index]")
    page.wait_for_load_state()
    context.close()

    connection.set_tenant(fresh_brand)
    assert Contribution.objects.get(pk=mine.pk).state == "approved"
    question = Question.objects.get(title="Are child seats in every car?")
    assert question.best_answer == Answer.objects.get(member__external_id="paul")
    connection.set_schema_to_public()
    assert not problems, problems
