"""The stored repeat flag stays right (DESIGN §6): it follows voids, duplicates and back-dated findings."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from inspections import services
from inspections.models import Finding

from .helpers import finding, world

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(city, personas):
    return world(city, personas)


def flags(*findings):
    return tuple(Finding.objects.get(pk=f.pk).is_repeat for f in findings)


def test_voiding_the_earlier_finding_clears_the_repeat_flag_of_the_later(w, personas):
    now = timezone.now()
    first = finding(w, personas, observed_at=now - dt.timedelta(days=10))
    second = finding(w, personas, observed_at=now - dt.timedelta(days=5))
    third = finding(w, personas)
    assert flags(first, second, third) == (False, True, True)
    services.finding_void(actor=personas.supervisor, finding=first, reason="不属实")
    assert flags(second, third) == (False, True)  # third still has second before it
    services.finding_mark_duplicate(actor=personas.supervisor, finding=second, original=third)
    assert flags(third) == (False,)
    assert Finding.history.filter(id=third.pk, is_repeat=False).exists()  # the change is in the history


def test_a_back_dated_finding_makes_the_later_one_a_repeat(w, personas):
    now = timezone.now()
    later = finding(w, personas, observed_at=now - dt.timedelta(days=2))
    assert flags(later) == (False,)
    earlier = finding(w, personas, observed_at=now - dt.timedelta(days=20))
    assert flags(earlier, later) == (False, True)
    outside = finding(w, personas, observed_at=now - dt.timedelta(days=80))
    assert flags(outside, earlier, later) == (False, False, True)
