"""Writes with rules: every change to units and memberships goes through here,
called by pages, the API, imports and the admin alike."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_update_with_history

from .models import ApiClient, Membership, Unit, User
from .scope import ancestor_ids, forget, has_role, move_scope_paths, subtree_moved

SUPERVISOR = Membership.Role.SUPERVISOR


def _require_supervisor(actor: User, unit: Unit | None) -> None:
    allowed = actor.is_superuser if unit is None else has_role(actor, unit, [SUPERVISOR])
    if not allowed:
        raise PermissionDenied(_("Only the campaign office (supervisors) over this unit may do this."))


def _check_parent_kind(kind: str, parent: Unit | None) -> None:
    parent_kind = parent.kind if parent is not None else None
    if not Unit.parent_kind_allowed(kind, parent_kind):
        if parent is None:
            message = _("A %(kind)s needs a parent unit.") % {"kind": Unit.Kind(kind).label}
        else:
            message = _("A %(kind)s cannot be placed under a %(parent_kind)s.") % {
                "kind": Unit.Kind(kind).label,
                "parent_kind": Unit.Kind(parent.kind).label,
            }
        raise ValidationError({"parent": message})


def unit_create(
    *, actor: User, parent: Unit | None, name: str, code: str, kind: str, population: int | None = None
) -> Unit:
    _require_supervisor(actor, parent)
    _check_parent_kind(kind, parent)
    unit = Unit(name=name.strip(), code=code.strip(), kind=kind, population=population)
    unit.full_clean(exclude=["path", "depth", "numchild"])
    unit._history_user = actor
    with transaction.atomic():
        if parent is None:
            return Unit.objects.add_root(instance=unit)
        parent = Unit.objects.select_for_update().get(pk=parent.pk)
        return Unit.objects.add_child(parent, instance=unit)


def unit_update(*, actor: User, unit: Unit, name: str, code: str, kind: str, population: int | None) -> Unit:
    _require_supervisor(actor, unit)
    if kind != unit.kind:
        parent = unit.parent_unit()
        _check_parent_kind(kind, parent)
        bad_child = unit.children().exclude(kind__in=[k for k, parents in Unit.ALLOWED_PARENT_KINDS.items() if kind in parents]).first()
        if bad_child is not None:
            raise ValidationError(
                {"kind": _("Unit %(child)s below cannot stay under a %(kind)s.") % {"child": bad_child.name, "kind": Unit.Kind(kind).label}}
            )
    unit.name, unit.code, unit.kind, unit.population = name.strip(), code.strip(), kind, population
    unit.full_clean(exclude=["path", "depth", "numchild"])
    unit._history_user = actor
    unit.save()
    return unit


def unit_move(*, actor: User, unit: Unit, new_parent: Unit) -> Unit:
    """Move a unit with its whole subtree under ``new_parent``."""
    _require_supervisor(actor, unit)
    _require_supervisor(actor, new_parent)
    if new_parent.path.startswith(unit.path):
        raise ValidationError({"parent": _("A unit cannot be moved under itself or its own subtree.")})
    _check_parent_kind(unit.kind, new_parent)
    with transaction.atomic():
        # Lock both ends so two concurrent moves cannot interleave path rewrites.
        locked = {u.pk: u for u in Unit.objects.select_for_update().filter(pk__in=[unit.pk, new_parent.pk])}
        unit, new_parent = locked[unit.pk], locked[new_parent.pk]
        if unit.parent_path == new_parent.path:
            return unit
        old_path = unit.path
        old_ancestors = ancestor_ids(old_path)
        Unit.objects.move(unit, new_parent, pos="last-child")
        unit = Unit.objects.get(pk=unit.pk)
        # The subtree's rows in every scoped table follow: one UPDATE per path column, by prefix.
        move_scope_paths(old_path, unit.path)
        # Summaries kept per ancestor move the subtree's counts from the old ancestors to the new.
        subtree_moved(unit.pk, old_ancestors, ancestor_ids(unit.path))
        unit._history_user = actor
        unit._change_reason = _("moved under %(parent)s") % {"parent": new_parent.code}
        unit.save()  # records the move in the unit's history
    return unit


def unit_set_active(*, actor: User, unit: Unit, active: bool) -> int:
    """Deactivate a unit with its subtree, or reactivate it with its subtree;
    nothing is deleted. Returns how many units changed."""
    _require_supervisor(actor, unit)
    with transaction.atomic():
        unit = Unit.objects.select_for_update().get(pk=unit.pk)
        if active and unit.depth > 1 and not Unit.objects.filter(path=unit.parent_path, active=True).exists():
            raise ValidationError(_("Reactivate the parent unit first."))
        rows = list(Unit.objects.subtree_of(unit).filter(active=not active))
        for row in rows:
            row.active = active
        bulk_update_with_history(rows, Unit, ["active"], default_user=actor)
    return len(rows)


def membership_create(*, actor: User, user: User, unit: Unit, role: str, title: str = "") -> Membership:
    _require_supervisor(actor, unit)
    membership = Membership(user=user, unit=unit, role=role, title=title.strip(), created_by=actor)
    membership.full_clean(validate_constraints=False)
    if Membership.objects.filter(user=user, unit=unit, role=role, active=True).exists():
        raise ValidationError(_("%(user)s already holds this role in %(unit)s.") % {"user": user, "unit": unit})
    membership._history_user = actor
    try:
        with transaction.atomic():
            membership.save()
    except IntegrityError as exc:  # a concurrent request created the same role
        raise ValidationError(_("%(user)s already holds this role in %(unit)s.") % {"user": user, "unit": unit}) from exc
    forget(user)
    return membership


def membership_end(*, actor: User, membership: Membership) -> Membership:
    _require_supervisor(actor, membership.unit)
    with transaction.atomic():
        if membership.role == SUPERVISOR and membership.unit.depth == 1:
            # The city office must keep at least one person who can repair roles: lock the root unit so two
            # concurrent ends cannot each see the other as "the remaining supervisor".
            Unit.objects.select_for_update().filter(pk=membership.unit_id).first()
            others = Membership.objects.filter(
                unit_id=membership.unit_id, role=SUPERVISOR, active=True, user__is_active=True,
                user__api_client__isnull=True,
            ).exclude(pk=membership.pk)
            if not others.exists():
                raise ValidationError(_("This is the last supervisor of %(unit)s; add another supervisor before "
                                        "ending it.") % {"unit": membership.unit.name})
        updated = Membership.objects.filter(pk=membership.pk, active=True).update(active=False, ended_at=timezone.now())
    if not updated:
        raise ValidationError(_("This membership has already ended."))
    membership.refresh_from_db()
    membership._history_user = actor
    membership.save(update_fields=["active", "ended_at"])  # history row for the end
    forget(membership.user)
    return membership


# --- API clients ------------------------------------------------------------------------------


def api_client_create(
    *, actor: User, name: str, role: str, unit: Unit, expires_at=None
) -> tuple[ApiClient, str]:
    """Create a key for an external system; returns (client, raw key). The raw
    key is never stored: the caller shows it once. The client acts as a
    service user holding ``role`` in ``unit``."""
    from . import api_keys

    _require_supervisor(actor, unit)
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": _("The expiry must lie in the future.")})
    key, prefix = api_keys.generate()
    while ApiClient.objects.filter(prefix=prefix).exists():  # 32-bit prefixes: a clash is rare, not impossible
        key, prefix = api_keys.generate()
    client = ApiClient(
        name=name.strip(), role=role, unit=unit, prefix=prefix, key_hash=api_keys.hash_key(key),
        expires_at=expires_at, created_by=actor,
    )
    client.full_clean(exclude=["user"])
    with transaction.atomic():
        user = User(username=f"api-{prefix}", display_name=_("API client: %(name)s") % {"name": client.name})
        user.set_unusable_password()
        user.save()
        membership = Membership(user=user, unit=unit, role=role, title=_("API client"), created_by=actor)
        membership._history_user = actor
        membership.save()
        client.user = user
        client._history_user = actor
        client.save()
    return client, key


def api_client_revoke(*, actor: User, client: ApiClient) -> ApiClient:
    """Revoke the key for good: its service user is deactivated and its membership ended."""
    _require_supervisor(actor, client.unit)
    now = timezone.now()
    with transaction.atomic():
        updated = ApiClient.objects.filter(pk=client.pk, revoked_at__isnull=True).update(revoked_at=now, revoked_by=actor)
        if not updated:
            raise ValidationError(_("This key has already been revoked."))
        User.objects.filter(pk=client.user_id).update(is_active=False)
        for membership in Membership.objects.filter(user_id=client.user_id, active=True):
            membership.active, membership.ended_at = False, now
            membership._history_user = actor
            membership.save(update_fields=["active", "ended_at"])
        client.refresh_from_db()
        client._history_user = actor
        client.save(update_fields=["revoked_at", "revoked_by"])  # history row for the revocation
    return client
