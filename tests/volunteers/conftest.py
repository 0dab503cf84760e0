"""Volunteer fixtures on top of the shared city:

Street A1 ── Community A1 (handler_c1) ── volunteers
          └─ Community A2 ── volunteers (another community for handler_c1)
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from campaigns.models import Membership, Unit
from tests.factories import UserFactory, make_member, make_unit
from volunteers import tally
from volunteers.models import Activity, Volunteer

_phones = itertools.count(1)


def next_phone() -> str:
    return f"137{next(_phones):08d}"


def make_volunteer(unit: Unit, *, name: str = "张志愿", phone: str | None = None, status=Volunteer.Status.ACTIVE,
                   user=None, team=None, id_number: str = "") -> Volunteer:
    volunteer = Volunteer.objects.create(
        name=name, phone=phone or next_phone(), unit=unit, status=status, user=user, team=team,
        id_number=id_number, registered_on=timezone.localdate(),
    )
    tally.created([volunteer])  # as a registration through the services would
    return volunteer


def make_activity(unit: Unit, *, starts_in: timedelta = timedelta(days=2), hours: int = 2, capacity: int = 10,
                  title: str = "文明劝导", **fields) -> Activity:
    starts_at = fields.pop("starts_at", None) or timezone.now() + starts_in
    return Activity.objects.create(
        unit=unit, title=title, category=Activity.Category.PERSUASION, address="人民路口", starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=hours), capacity=capacity, **fields,
    )


@pytest.fixture
def vol(city, personas):
    """community_a2, handler_c1 (handler of community A1 only), a volunteer with a
    login account in A1, a volunteer of A2, and an activity of community A1."""
    community_a2 = make_unit(city.street_a1, kind=Unit.Kind.COMMUNITY, name="锦绣社区", code="C-A-1-2",
                             population=5000)
    city.community_a1.population = 8000
    city.community_a1.save()
    handler_c1 = make_member(city.community_a1, Membership.Role.HANDLER, "p_handler_c1")
    account = UserFactory(username="p_volunteer")
    own = make_volunteer(city.community_a1, name="王小明", phone="13800000001", user=account, id_number="33010219900101123X")
    other = make_volunteer(community_a2, name="李小红", phone="13900000002", id_number="330102199202021234")
    activity = make_activity(city.community_a1)
    return SimpleNamespace(community_a2=community_a2, handler_c1=handler_c1, account=account, own=own, other=other,
                           activity=activity)
