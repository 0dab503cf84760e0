"""Issue 18 (point sampling): at phone size the inspector opens their own round; the browser's position
orders the stops nearest first, and only their own stops are listed."""

import pytest

from rounds import services
from tests.factories import PASSWORD

from ..rounds.conftest import rounds_world  # noqa: F401  (fixture)
from .conftest import PHONE

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_inspector_sees_own_stops_nearest_first_on_a_phone(journey, city, personas, rounds_world):  # noqa: F811
    draw = services.point_draw_create(
        actor=personas.supervisor, campaign=rounds_world.campaign, area=city.city, title="十二月模拟测评",
        mode="share", value="1", starts_on=rounds_world.starts_on, ends_on=rounds_world.ends_on,
        inspectors=[personas.inspector, rounds_world.inspector2], point_types=[rounds_world.market], seed=11)
    mine = set(draw.planned_visits.filter(inspector=personas.inspector).values_list("point__name", flat=True))
    # Standing at 东湖市场5 (29.95, 121.50).
    j = journey(PHONE, geolocation={"latitude": 29.95, "longitude": 121.50, "accuracy": 10},
                permissions=["geolocation"])
    j.login(personas.inspector.username, PASSWORD)
    j.goto("/rounds/mine/")
    j.page.wait_for_url("**/rounds/mine/?lat=*")
    names = j.page.locator("#my-stops li strong").all_inner_texts()
    assert set(names) == mine and len(names) == len(mine)
    located = [n for n in names if n.startswith("东湖市场")]
    # The markets with coordinates come first, nearest to 29.95 first.
    assert names[:len(located)] == sorted(located, key=lambda n: -int(n[-1]))
    assert "由近及远" in j.page.locator("#locate-stops-status").inner_text()
    j.screenshot("phone-my-round")
