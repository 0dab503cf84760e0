"""The registered-volunteer tally (volunteers.tally) equals a count of the volunteers after every service
that changes one: registrations, reviews, status changes, a move to another community, an import and a
unit move. Each step compares the incremental rows with a rebuild from scratch, and the subtree figures
(dashboards, the statistics page) with a raw count of the volunteers."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.test import RequestFactory
from django.urls import reverse

from campaigns.models import Unit
from campaigns.services import unit_move
from dashboards.selectors import volunteer_totals
from tests.factories import make_unit
from volunteers import services, tally
from volunteers.models import Volunteer, VolunteerTally
from volunteers.selectors import unit_statistics

from .test_imports import _sheet

pytestmark = pytest.mark.django_db


def rows() -> dict[int, int]:
    return {row.unit_id: row.active for row in VolunteerTally.objects.all() if row.active}


def raw_rows() -> dict[int, int]:
    return dict(Volunteer.objects.filter(status=Volunteer.Status.ACTIVE).order_by().values("unit_id")
                .annotate(n=Count("pk")).values_list("unit_id", "n"))


def raw_registered(root: Unit) -> int:
    root.refresh_from_db()
    return Volunteer.objects.filter(status=Volunteer.Status.ACTIVE, unit__path__startswith=root.path).count()


def check(city, *roots):
    """The incremental tally equals the raw count and a rebuild; every root's figures agree with it."""
    incremental = rows()
    assert incremental == raw_rows()
    tally.rebuild()
    assert rows() == incremental
    now = dt.datetime.now(dt.UTC)
    for root in (city.city, city.district_a, city.street_a1, city.community_a1, city.district_b, *roots):
        expected = raw_registered(root)
        assert volunteer_totals(root, now=now).registered == expected, root.name
        total, children = unit_statistics(root, now=now)
        assert total.registered == expected, root.name
        for child in children:
            assert child.registered == raw_registered(child.unit), child.unit.name


def test_every_service_keeps_the_tally_equal_to_the_volunteers(city, personas, login):
    community_a2 = make_unit(city.street_a1, kind=Unit.Kind.COMMUNITY, name="锦绣社区", code="C-A-1-2")
    community_b1 = make_unit(city.street_b1, kind=Unit.Kind.COMMUNITY, name="解放社区", code="C-B-1-1")
    supervisor = personas.supervisor
    check(city)

    first = services.volunteer_create(actor=supervisor, name="王一", phone="13800000001", unit=city.community_a1)
    second = services.volunteer_create(actor=supervisor, name="王二", phone="13800000002", unit=community_a2)
    services.volunteer_create(actor=supervisor, name="王三", phone="13800000003", unit=community_b1)
    assert rows() == {city.community_a1.pk: 1, community_a2.pk: 1, community_b1.pk: 1}
    check(city, community_a2)

    applied = services.volunteer_register_self(name="申请人", phone="13800000004", unit=city.community_a1)
    refused = services.volunteer_register_self(name="被拒人", phone="13800000005", unit=city.community_a1)
    check(city)  # applications are not registered volunteers
    services.volunteer_review(actor=supervisor, volunteer=applied, approve=True)
    services.volunteer_review(actor=supervisor, volunteer=refused, approve=False, note="信息不实")
    assert rows()[city.community_a1.pk] == 2
    check(city)

    services.volunteer_set_status(actor=supervisor, volunteer=first, status=Volunteer.Status.SUSPENDED, reason="外出")
    services.volunteer_set_status(actor=supervisor, volunteer=second, status=Volunteer.Status.LEFT, reason="搬走")
    check(city, community_a2)
    services.volunteer_set_status(actor=supervisor, volunteer=first, status=Volunteer.Status.LEFT, reason="搬走")
    services.volunteer_set_status(actor=supervisor, volunteer=second, status=Volunteer.Status.ACTIVE)
    with pytest.raises(ValidationError):  # a refused change moves nothing
        services.volunteer_set_status(actor=supervisor, volunteer=second, status=Volunteer.Status.LEFT, reason="")
    check(city, community_a2)

    # Moving an active volunteer to another district's community moves the count; a stale copy of the
    # volunteer (its status changed meanwhile) neither counts twice nor undoes the status change.
    stale = Volunteer.objects.get(pk=applied.pk)
    services.volunteer_set_status(actor=supervisor, volunteer=applied, status=Volunteer.Status.SUSPENDED, reason="病假")
    services.volunteer_update(actor=supervisor, volunteer=stale, name=stale.name, phone=stale.phone, unit=community_b1)
    assert Volunteer.objects.get(pk=applied.pk).status == Volunteer.Status.SUSPENDED
    check(city, community_b1)
    services.volunteer_update(actor=supervisor, volunteer=second, name=second.name, phone=second.phone,
                              unit=community_b1)
    assert rows().get(community_a2.pk, 0) == 0 and rows()[community_b1.pk] == 2
    check(city, community_a2, community_b1)

    response = login(personas.handler_a).post(reverse("volunteers:volunteer_import"), {"file": _sheet([
        ["周一", "13611110000", "C-A-1-1", "男", "1980", "", ""],
        ["吴二", "13611110001", "C-A-1-2", "女", None, "", ""],
    ])})
    assert response.status_code == 302
    check(city, community_a2)

    # A street moves to the other district with its communities: the tally (by unit id) needs no rewrite.
    unit_move(actor=supervisor, unit=city.street_a1, new_parent=city.district_b)
    check(city, community_a2, community_b1)
    now = dt.datetime.now(dt.UTC)
    assert volunteer_totals(city.district_a, now=now).registered == 0
    assert volunteer_totals(city.district_b, now=now).registered == sum(raw_rows().values()) == \
        raw_registered(city.district_b) == 4


def test_the_statistics_and_dashboard_read_the_tally_not_the_volunteers(city, personas):
    """Rows written without the services are not counted until a rebuild: the figure comes from the tally."""
    services.volunteer_create(actor=personas.supervisor, name="王一", phone="13800000001", unit=city.community_a1)
    Volunteer.objects.create(name="直接写入", phone="13800000009", unit=city.community_a1,
                             status=Volunteer.Status.ACTIVE, registered_on=dt.date(2026, 1, 1))
    now = dt.datetime.now(dt.UTC)
    assert volunteer_totals(city.city, now=now).registered == 1
    assert unit_statistics(city.city, now=now)[0].registered == 1
    tally.rebuild()
    assert volunteer_totals(city.city, now=now).registered == 2
    assert unit_statistics(city.street_a1, now=now)[0].registered == 2


def test_the_admin_cannot_add_volunteers_or_change_their_status_or_community(city, personas):
    """The admin would bypass the services (and so the tally, the phone and community checks)."""
    model_admin = admin.site._registry[Volunteer]
    request = RequestFactory().get("/")
    request.user = personas.supervisor
    request.user.is_superuser = True
    assert not model_admin.has_add_permission(request)
    assert {"status", "unit"} <= set(model_admin.get_readonly_fields(request, None))


def test_the_migration_fills_the_tally_as_a_rebuild_does(city, personas):
    from importlib import import_module

    from django.apps import apps as django_apps

    services.volunteer_create(actor=personas.supervisor, name="王一", phone="13800000001", unit=city.community_a1)
    services.volunteer_create(actor=personas.supervisor, name="王二", phone="13800000002", unit=city.community_a1)
    expected = rows()
    VolunteerTally.objects.all().delete()
    import_module("volunteers.migrations.0005_volunteer_tally").fill(django_apps, None)
    assert rows() == expected == {city.community_a1.pk: 2}
