"""Journey (6) of issue 7: switching to English leaves no Chinese UI text on
the pages staff use most, and switching back shows Chinese again.

Only data may stay Chinese (unit, people, category and point names,
descriptions …): every data string in the database is masked out of the
page's text, and whatever Chinese is left is UI text someone forgot to
translate. Attributes people meet (title, placeholder, aria-label, alt) and
the page title count as UI too; decorative marks hidden from screen readers
(the logo's glyph) do not."""

import datetime as dt
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import Campaign, Point, PointType, Unit, User
from inspections import services as loop
from notices import services as notices
from notices.models import Notice
from inspections.models import Finding, FindingCategory, Inspection, RectificationTask, Submission, TaskEvent
from scores import services as scoring
from tests.factories import PASSWORD
from volunteers.models import Activity, Team, Volunteer

from . import seed
from .conftest import DESKTOP

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CJK = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]+")
LANGUAGE_NAMES = ("简体中文",)

# Decorative marks hidden from screen readers (the logo's 创 glyph) are not text.
PAGE_TEXT = """() => {
  const hidden = [...document.querySelectorAll("[aria-hidden=true]")].filter(el => el.style.display !== "none");
  hidden.forEach(el => { el.style.display = "none"; });
  const texts = [document.title, document.body.innerText];
  hidden.forEach(el => { el.style.display = ""; });
  for (const el of document.querySelectorAll("[title], [placeholder], [aria-label], img[alt], input[type=submit], input[type=button]")) {
    for (const name of ["title", "placeholder", "aria-label", "alt", "value"]) {
      if (name === "value" && el.tagName !== "INPUT") continue;
      const v = el.getAttribute(name); if (v) texts.push(v);
    }
  }
  for (const option of document.querySelectorAll("option")) texts.push(option.textContent);
  return texts.join("\\n");
}"""


def _data_strings() -> list[str]:
    """Every Chinese data value the pages may show, longest first."""
    values = set(LANGUAGE_NAMES)
    sources = [
        (Unit, ["name"]), (User, ["display_name", "first_name", "last_name"]), (Campaign, ["name"]),
        (FindingCategory, ["name"]), (Point, ["name", "address"]), (PointType, ["name"]),
        (Finding, ["description", "address", "void_reason", "reporter_name"]), (Inspection, ["title", "notes"]),
        (RectificationTask, ["instructions", "void_reason"]), (Submission, ["note", "review_note"]),
        (TaskEvent, ["note"]), (Volunteer, ["name", "skills"]), (Team, ["name", "description"]),
        (Activity, ["title", "address", "description", "status_note"]), (Notice, ["title", "body"]),
    ]
    for model, fields in sources:
        for row in model.objects.values_list(*fields):
            values.update(v.strip() for v in row if isinstance(v, str) and CJK.search(v))
    for line in list(values):  # multi-line values show line by line
        values.update(part.strip() for part in line.splitlines() if part.strip())
    return sorted(values, key=len, reverse=True)


def chinese_ui(page, data: list[str]) -> list[str]:
    text = page.evaluate(PAGE_TEXT)
    for value in data:
        text = text.replace(value, " ")
    return sorted({m for line in text.splitlines() for m in CJK.findall(line) if m.strip()})


def _volunteers(city):
    team = Team.objects.create(name="春晖社区志愿服务队", unit=city.community_a1, description="文明劝导、环境整治")
    today = timezone.localdate()
    for n, (name, phone) in enumerate([("王小明", "13800000001"), ("李小红", "13900000002"), ("赵大勇", "13700000003")]):
        Volunteer.objects.create(name=name, phone=phone, unit=city.community_a1, status=Volunteer.Status.ACTIVE,
                                 team=team if n < 2 else None, registered_on=today)
    starts = timezone.now() + timedelta(days=2)
    Activity.objects.create(unit=city.community_a1, team=team, title="周末文明劝导", category=Activity.Category.PERSUASION,
                            address="人民路与中山路口", starts_at=starts, ends_at=starts + timedelta(hours=2), capacity=10)
    Activity.objects.create(unit=city.community_a1, title="背街小巷清洁行动", category=Activity.Category.CLEANING,
                            address="春晖巷", starts_at=starts + timedelta(days=3),
                            ends_at=starts + timedelta(days=3, hours=3), capacity=20)


def test_english_shows_no_chinese_ui_text_and_chinese_comes_back(journey, city, personas):
    w = seed.world(city, personas)
    task = loop.task_accept(actor=personas.handler_a, task=w.tasks.garbage, note="已收到")
    loop.task_submit(actor=personas.handler_a, task=task, note="已清运垃圾", photos_in=[seed.upload("after.jpg")])
    loop.task_verify(actor=personas.supervisor, task=task, passed=False, note="仍有散落垃圾")
    month = timezone.localdate().replace(day=1)
    scoring.scores_recompute(actor=personas.supervisor, campaign=w.campaign, month=month)
    _volunteers(city)
    notice = notices.notice_publish(actor=personas.supervisor, title="关于开展背街小巷整治的通知", body="请各街道本周内完成自查。",
                                    target_root=city.district_a, target_kinds=[Unit.Kind.STREET], reply_required=True)
    data = _data_strings()

    j = journey(DESKTOP)
    j.login(personas.supervisor.username, PASSWORD)
    j.goto("/")
    assert j.page.locator("html").get_attribute("lang") == "zh-hans"
    with j.page.expect_navigation():
        j.page.locator(".langform button[value=en]").click()
    assert j.page.locator("html").get_attribute("lang") == "en"

    pages = {
        "home": "/",
        "finding list": "/findings/",
        "finding detail": f"/findings/{w.findings.garbage.pk}/",
        "new finding detail": f"/findings/{w.findings.ads.pk}/",
        "task detail": f"/tasks/{task.pk}/",
        "workbench": "/workbench/",
        "ranking": f"/scores/?campaign={w.campaign.pk}&month={month:%Y-%m}",
        "bulletin": f"/scores/bulletin/?campaign={w.campaign.pk}&month={month:%Y-%m}",
        "inbox": "/notifications/",
        "notices": "/notices/",
        "notice": f"/notices/{notice.pk}/",
        "notice receipts": f"/notices/{notice.pk}/receipts/",
        "staff accounts": "/accounts/users/",
        "staff account": f"/accounts/users/{personas.handler_a.pk}/",
        "new notice": "/notices/new/",
        "volunteers": "/volunteers/",
        "activities": "/activities/",
    }
    found = {}
    for name, url in pages.items():
        j.goto(url)
        assert j.page.locator("html").get_attribute("lang") == "en", name
        assert j.page.locator("main h1").count() >= 1, name
        leftovers = chinese_ui(j.page, data)
        if leftovers:
            found[name] = leftovers
    assert found == {}, f"Chinese UI text in English pages: {found}"

    # Back to Chinese: the same pages speak Chinese again.
    with j.page.expect_navigation():
        j.page.locator(".langform button[value=zh-hans]").click()
    assert j.page.locator("html").get_attribute("lang") == "zh-hans"
    assert j.page.locator("main h1").inner_text() == "志愿服务活动"
    j.goto(f"/tasks/{task.pk}/")
    assert j.page.locator("main").get_by_role("heading", name="办理过程").count() == 1
    j.goto("/findings/")
    assert j.page.locator("main h1").inner_text() == "问题"
