import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from campaigns import services
from campaigns.models import Membership, Unit

Role = Membership.Role


def test_supervisor_creates_unit_under_scope(personas, city):
    unit = services.unit_create(
        actor=personas.supervisor, parent=city.street_a1, name="锦绣社区", code="C-A-1-2", kind=Unit.Kind.COMMUNITY
    )
    assert unit.parent_unit() == city.street_a1
    assert unit.history.first().history_user == personas.supervisor


@pytest.mark.parametrize("persona", ["handler_a", "head_a", "leader", "inspector", "outsider"])
def test_only_supervisors_create_units(personas, city, persona):
    with pytest.raises(PermissionDenied):
        services.unit_create(actor=getattr(personas, persona), parent=city.district_a, name="X", code="X1",
                             kind=Unit.Kind.STREET)
    assert not Unit.objects.filter(code="X1").exists()


def test_kind_must_fit_the_parent(personas, city):
    with pytest.raises(ValidationError) as excinfo:
        services.unit_create(actor=personas.supervisor, parent=city.city, name="X", code="X2", kind=Unit.Kind.GRID)
    assert "parent" in excinfo.value.error_dict


def test_duplicate_code_refused(personas, city):
    with pytest.raises(ValidationError) as excinfo:
        services.unit_create(actor=personas.supervisor, parent=city.city, name="X", code="C-A", kind=Unit.Kind.DISTRICT)
    assert "code" in excinfo.value.error_dict


def test_move_keeps_the_subtree_consistent(personas, city):
    services.unit_move(actor=personas.supervisor, unit=city.street_a1, new_parent=city.district_b)
    street = Unit.objects.get(pk=city.street_a1.pk)
    community = Unit.objects.get(pk=city.community_a1.pk)
    grid = Unit.objects.get(pk=city.grid_a1.pk)
    district_b = Unit.objects.get(pk=city.district_b.pk)
    assert street.parent_unit() == district_b
    assert community.parent_unit() == street and grid.parent_unit() == community
    assert grid.path.startswith(district_b.path)
    assert set(Unit.objects.subtree_of(district_b).values_list("code", flat=True)) == {
        "C-B", "C-B-1", "C-A-1", "C-A-1-1", "C-A-1-1-1"
    }
    assert Unit.objects.get(pk=city.district_a.pk).numchild == 0
    assert district_b.numchild == 2
    # The handler of district A no longer sees the moved street; the one of B does.
    assert not Unit.objects.visible_to(personas.handler_a).filter(pk=street.pk).exists()
    assert Unit.objects.visible_to(personas.handler_b).filter(pk=street.pk).exists()


def test_move_into_own_subtree_refused(personas, city):
    with pytest.raises(ValidationError):
        services.unit_move(actor=personas.supervisor, unit=city.district_a, new_parent=city.grid_a1)


def test_deactivate_takes_the_subtree_and_deletes_nothing(personas, city):
    count = services.unit_set_active(actor=personas.supervisor, unit=city.street_a1, active=False)
    assert count == 3
    assert Unit.objects.filter(active=False).count() == 3
    assert Unit.objects.count() == 8
    assert Unit.objects.get(pk=city.grid_a1.pk).history.first().history_user == personas.supervisor
    with pytest.raises(ValidationError):
        services.unit_set_active(actor=personas.supervisor, unit=city.grid_a1, active=True)
    services.unit_set_active(actor=personas.supervisor, unit=city.street_a1, active=True)
    assert Unit.objects.get(pk=city.street_a1.pk).active


def test_membership_end_keeps_record_and_removes_scope(personas, city):
    membership = Membership.objects.get(user=personas.handler_a)
    assert Unit.objects.visible_to(personas.handler_a).count() == 4
    services.membership_end(actor=personas.supervisor, membership=membership)
    membership.refresh_from_db()
    assert membership.active is False and membership.ended_at is not None
    handler = type(personas.handler_a).objects.get(pk=personas.handler_a.pk)
    assert Unit.objects.visible_to(handler).count() == 0
    with pytest.raises(ValidationError):
        services.membership_end(actor=personas.supervisor, membership=membership)


def test_duplicate_active_membership_refused(personas, city):
    with pytest.raises(ValidationError):
        services.membership_create(actor=personas.supervisor, user=personas.handler_a, unit=city.district_a,
                                   role=Role.HANDLER)


def test_district_supervisor_cannot_touch_other_district(city):
    from tests.factories import make_member

    district_supervisor = make_member(city.district_a, Role.SUPERVISOR, "sup_a")
    services.unit_create(actor=district_supervisor, parent=city.street_a1, name="新社区", code="N1",
                         kind=Unit.Kind.COMMUNITY)
    with pytest.raises(PermissionDenied):
        services.unit_create(actor=district_supervisor, parent=city.street_b1, name="新社区", code="N2",
                             kind=Unit.Kind.COMMUNITY)
    with pytest.raises(PermissionDenied):
        services.unit_move(actor=district_supervisor, unit=city.street_a1, new_parent=city.district_b)


def test_scope_collapses_nested_memberships(city):
    from campaigns.scope import scope_paths
    from tests.factories import make_member

    user = make_member(city.district_a, Role.HEAD, "nested")
    Membership.objects.create(user=user, unit=city.community_a1, role=Role.HANDLER)
    Membership.objects.create(user=user, unit=city.street_b1, role=Role.HANDLER)
    assert scope_paths(user) == sorted([city.district_a.path, city.street_b1.path])
