"""Issue 20, acceptance 8 (browser): each role's home on a phone shows what the
role acts on, the header's help link leads to the role's help page, and both
fit 390 px. The home screenshots illustrate the help pages (static/help/)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from campaigns.models import Campaign
from inspections.models import Inspection, RectificationTask
from scores import services
from scores.models import previous_month
from tests.factories import PASSWORD, UserFactory
from tests.scores import helpers as h
from tests.volunteers.conftest import make_volunteer

from . import seed
from .conftest import PHONE
from .test_appeal_journey import fits, shot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
S = RectificationTask.Status


@pytest.fixture
def town(city, personas):
    seed.name_personas(personas)
    now = timezone.now()
    today = timezone.localdate()
    camp = h.campaign(name="全国文明城市创建", starts_on=dt.date(today.year - 1, 1, 1),
                      ends_on=dt.date(today.year, 12, 31), status=Campaign.Status.ACTIVE)
    street = h.point_type("T1", "背街小巷", 1)
    cat = h.category("C1", "垃圾乱堆乱放", 10)
    planned = Inspection.objects.create(campaign=camp, title="城区背街小巷暗访", kind=Inspection.Kind.UNANNOUNCED,
                                        unit=city.city, starts_on=today, ends_on=today + dt.timedelta(days=10))
    planned.inspectors.add(personas.inspector)
    last = previous_month(today.replace(day=1))
    rounds = h.inspection(camp, city.city)
    visit = h.visit(rounds, h.point(city.street_a1, street, name="人民路背街"),
                    dt.datetime(last.year, last.month, 12, 10, tzinfo=h.SH))
    h.finding(camp, cat, "moderate", visit_=visit, reporter=personas.inspector)
    h.visit(rounds, h.point(city.street_b1, street, name="解放路背街"),
            dt.datetime(last.year, last.month, 12, 11, tzinfo=h.SH))
    services.scores_recompute(actor=personas.supervisor, campaign=camp, month=last)
    services.scores_publish(actor=personas.supervisor, campaign=camp, month=last)
    h.task(camp, cat, city.street_a1, due=now - dt.timedelta(days=1), status=S.IN_PROGRESS)
    h.task(camp, cat, city.community_a1, due=now + dt.timedelta(hours=5), status=S.ASSIGNED)
    h.task(camp, cat, city.street_a1, due=now + dt.timedelta(days=4), status=S.SUBMITTED)
    volunteer = make_volunteer(city.community_a1, name="王小明", user=UserFactory(username="v_help"))
    return {"volunteer": volunteer.user}


ROLES = {
    # role: (persona, what the home shows, what it must not show)
    "handler": ("handler_a", "#wb-title", ".home-leader, .home-inspector"),
    "inspector": ("inspector", ".home-inspector", "#wb-title, .home-leader"),
    "leader": ("leader", ".home-leader", "#wb-title, .home-inspector"),
    "volunteer": ("volunteer", ".volunteer-home", "#wb-title, .home-leader, .home-inspector"),
}


@pytest.mark.parametrize("role", list(ROLES))
def test_each_roles_home_and_help_page_on_a_phone(role, journey, town, personas):
    persona, shown, hidden = ROLES[role]
    user = town["volunteer"] if persona == "volunteer" else getattr(personas, persona)
    j = journey(PHONE)
    j.login(user.username, PASSWORD)
    j.goto("/")
    main = j.page.locator("main")
    assert main.locator(shown).count() == 1, role
    assert main.locator(hidden).count() == 0, role
    fits(j, f"{role} home")
    shot(j, f"{role}-home.png")

    with j.page.expect_navigation():
        j.page.locator("header .help-link").click()
    assert j.page.url.endswith("/help/")
    assert j.page.locator(f'main [data-role="{role}"] .badge').count() == 1  # the user's own role, marked
    with j.page.expect_navigation():
        j.page.locator(f'main [data-role="{role}"] a').click()
    assert j.page.url.endswith(f"/help/{role}/")
    assert j.page.locator("main ol.help-steps > li").count() >= 3
    fits(j, f"{role} help")
    images = j.page.locator("main .help-shot img")
    for i in range(images.count()):
        images.nth(i).scroll_into_view_if_needed()
        assert images.nth(i).evaluate("img => img.complete && img.naturalWidth > 0"), role
