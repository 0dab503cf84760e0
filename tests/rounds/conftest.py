"""Fixtures for evaluation rounds: the shared city and personas with a planned campaign, a second
inspector, and points spread over both districts (A: 6 markets and 4 roads; B: 3 markets and 2 roads)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.utils import timezone

from campaigns.models import Membership, Point

from ..campaigns.planning_helpers import planned
from ..factories import make_member

Role = Membership.Role


@pytest.fixture
def rounds_world(city, personas):
    plan = planned(city)
    market, road = plan.types["农贸市场"], plan.types["主次干道"]
    points = []
    for i in range(6):
        points.append(Point(name=f"东湖市场{i}", point_type=market, unit=city.community_a1, code=f"AM{i}",
                            latitude=Decimal("29.90") + Decimal(i) / 100, longitude=Decimal("121.50")))
    for i in range(4):
        points.append(Point(name=f"东湖路{i}", point_type=road, unit=city.street_a1, code=f"AR{i}"))
    for i in range(3):
        points.append(Point(name=f"西江市场{i}", point_type=market, unit=city.street_b1, code=f"BM{i}"))
    for i in range(2):
        points.append(Point(name=f"西江路{i}", point_type=road, unit=city.street_b1, code=f"BR{i}"))
    Point.objects.bulk_create(points)
    inspector2 = make_member(city.city, Role.INSPECTOR, "p_inspector2")
    today = timezone.localdate()
    return SimpleNamespace(plan=plan, campaign=plan.campaign, market=market, road=road, inspector2=inspector2,
                           today=today, starts_on=today, ends_on=today + dt.timedelta(days=7))


def draw(world, personas, area, **kwargs):
    from rounds import services

    params = dict(actor=personas.supervisor, campaign=world.campaign, area=area, title="模拟测评第一轮",
                  mode="share", value="0.5", starts_on=world.starts_on, ends_on=world.ends_on,
                  inspectors=[personas.inspector, world.inspector2])
    params.update(kwargs)
    return services.point_draw_create(**params)
