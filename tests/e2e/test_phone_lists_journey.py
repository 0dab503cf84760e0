"""Issue 20, acceptance 3: at phone width (390 px) every list page, the bulletin and
the ranking fit the screen (no sideways scrolling of the page), with enough rows
and long Chinese names to matter; on the task list each card shows the task's
problem, unit, traffic light and deadline inside the viewport."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from django.db.models import Value
from django.db.models.functions import Concat

from campaigns.models import Campaign, PointType, Unit, WorkItem
from inspections import services
from inspections.models import Finding
from scores import services as score_services
from tests.factories import PASSWORD
from tests.scores import example
from tests.scores.helpers import OCT
from tests.volunteers.conftest import make_activity, make_volunteer
from volunteers.models import Team

from . import seed
from .conftest import PHONE

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

OVERFLOW = "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
LONG = {  # names as long as real ones get
    "community_a1": "春晖新村社区居民委员会（含春晖花园、春晖东苑、春晖西苑）",
    "street_a1": "人民路街道办事处综合行政执法与城市管理办公室",
    "department": "明州市城市管理局（市综合行政执法局）市容环境卫生管理处",
    "street_b1": "解放街道党工委办事处社会治理综合服务中心",
}
# Pages reached other than through the menu (the menu's links are all visited too).
EXTRA = ["/tasks/", "/findings/", "/findings/triage/", "/points/", "/volunteers/", "/volunteer-teams/",
         "/activities/", "/units/", "/inspections/", "/finding-categories/", "/point-types/", "/campaigns/",
         "/editions/", "/notices/", "/materials/calls/", "/materials/archives/", "/materials/owed/",
         "/scores/appeals/", "/scores/schemes/", "/surveys/", "/surveys/waves/", "/accounts/users/",
         "/api-clients/", "/notifications/webhooks/", "/notifications/"]


def _long_names(city):
    for key, name in LONG.items():
        Unit.objects.filter(pk=getattr(city, key).pk).update(name=name)


def _rows(w, ex, city, personas):
    """Twenty more tasks with long descriptions, work items, volunteers, a team and activities."""
    cats = list(w.categories.values())
    now = timezone.now()
    for n in range(20):
        point = (w.points.market, w.points.lane, w.points.stop, w.points.b_market)[n % 4]
        finding, _ = services.finding_create(
            actor=personas.supervisor, source=Finding.Source.HOTLINE, category=cats[n % len(cats)],
            description=f"第{n + 1}处：人行道上共享单车和电动自行车长期占用盲道，影响行人通行，多次劝导后仍未改正",
            point=point, unit=point.unit, observed_at=now - dt.timedelta(hours=n))
        services.task_dispatch(actor=personas.supervisor, finding=finding)
    for n in range(12):
        WorkItem.objects.create(
            campaign=w.campaign, title=f"背街小巷环境综合整治提升行动第{n + 1}项：立面整治与杆线下地", lead_unit=city.street_a1,
            deadline=timezone.localdate() + dt.timedelta(days=n - 3))
    team = Team.objects.create(name="春晖新村社区学雷锋志愿服务队（党员先锋分队）", unit=city.community_a1)
    for n in range(15):
        make_volunteer(city.community_a1, name=f"欧阳{'娜' * (n % 3 + 1)}·阿依古丽{n}", team=team)
    for n in range(5):
        make_activity(city.community_a1, title=f"文明交通劝导志愿服务活动（人民路与中山路交叉口）第{n + 1}场")
    score_services.scores_recompute(actor=personas.supervisor, campaign=ex.campaign, month=OCT)
    score_services.scores_publish(actor=personas.supervisor, campaign=ex.campaign, month=OCT)


def _fits(j, path):
    j.goto(path)
    width, client = j.page.evaluate(OVERFLOW)
    assert width <= client, (path, width, client)


@pytest.mark.parametrize("half", [0, 1])
def test_every_list_fits_a_phone(journey, city, personas, half):
    """The pages are visited in two halves (two tests) to stay within the journey time limit."""
    ex = example.build(city, personas)  # October 2026 scored: the ranking and the bulletin
    PointType.objects.filter(code__in=["T1", "T2"]).update(name=Concat("name", Value("（十月）")))
    Campaign.objects.filter(pk=ex.campaign.pk).update(status=Campaign.Status.CLOSED)  # one active campaign
    w = seed.world(city, personas)
    _long_names(city)
    _rows(w, ex, city, personas)

    j = journey(PHONE)
    j.login(personas.supervisor.username, PASSWORD)
    menu = j.page.eval_on_selector_all(".mainnav .navmenu a", "links => links.map(a => a.getAttribute('href'))")
    assert len(menu) > 15, menu
    score_query = f"?campaign={ex.campaign.pk}&month={OCT:%Y-%m}"
    pages = list(dict.fromkeys([*menu, *EXTRA, f"/scores/{score_query}", f"/scores/bulletin/{score_query}",
                                f"/campaigns/{w.campaign.pk}/ledger/"]))
    for path in pages[half::2]:
        if path.endswith((".xlsx", "/new/")) or "/import" in path or path == "/scores/bulletin/":  # with its month below
            continue
        _fits(j, path)

    if half:
        # The unit filter suggests units as one types, and filters by the chosen one.
        j.goto("/tasks/?status=dispatched")
        j.page.locator("#id_within").fill("解放")
        option = j.page.locator("#id_within-units option").first
        option.wait_for(state="attached")
        assert option.get_attribute("value") == f"{LONG['street_b1']}（C-B-1）"
        j.page.locator("#id_within").fill(option.get_attribute("value"))
        with j.page.expect_navigation():
            j.page.locator("form.filters button[type=submit]").click()
        assert j.page.locator("form.filters .error").count() == 0
        units = set(j.page.locator("main table.cards td.c-unit").all_inner_texts())
        assert units == {LONG["street_b1"]}, units
        return
    # The ranking and bulletin show every ranked unit, their long names wrapped in the sticky column.
    j.goto(f"/scores/bulletin/{score_query}")
    assert j.page.locator("article.bulletin tbody tr").count() >= 8
    assert j.page.get_by_text(LONG["street_a1"]).first.is_visible()

    # The task list: cards, each showing problem, unit, light and deadline without sideways scrolling.
    j.goto("/tasks/")
    cards = j.page.locator("main table.cards tbody tr")
    assert cards.count() >= 20
    first = cards.first
    for cell in ("c-title", "c-unit", "c-light", "c-due", "c-status"):
        box = first.locator(f"td.{cell}").bounding_box()
        assert box is not None and box["width"] > 0, cell
        assert 0 <= box["x"] and box["x"] + box["width"] <= PHONE["width"], (cell, box)
    assert first.locator("td.c-due").get_attribute("data-label") == "完成时限"
    # Filters wait in a drawer, closed until opened.
    assert not j.page.locator("form.filters").is_visible()
    j.page.locator(".filters-toggle > summary").click()
    assert j.page.locator("form.filters").is_visible()
    j.page.locator(".filters-toggle > summary").click()
    j.page.screenshot(path=str(seed_screens() / "phone-task-list.png"), full_page=False)


def seed_screens():
    from .conftest import SCREENSHOTS

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
