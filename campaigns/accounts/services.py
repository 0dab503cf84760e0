"""Writes on staff accounts. Every function checks that the actor may manage
the account, keeps a history row with the actor as author and a reason, and
never deletes anything."""

from __future__ import annotations

import secrets
import string

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from ..models import Membership, Unit, User
from ..scope import forget
from .selectors import can_manage, may_assign

# No look-alike characters (0/O, 1/l/I): the password is read off a screen and typed on a phone.
_ALPHABET = "".join(c for c in string.ascii_letters + string.digits if c not in "0OoIl1")


def temporary_password() -> str:
    """A random one-time password: 12 characters, about 70 bits."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(12))


def _require_manage(actor: User, user: User) -> None:
    if not can_manage(actor, user):
        raise PermissionDenied(_("You may not manage this account."))


def _require_assign(actor: User, unit: Unit, role: str) -> None:
    if not may_assign(actor, unit, role):
        raise PermissionDenied(
            _("You may not give the role %(role)s in %(unit)s.") % {"role": Membership.Role(role).label, "unit": unit.name}
        )


def _save(user: User, actor: User, reason: str, fields: list[str] | None = None) -> None:
    user._history_user = actor
    user._change_reason = reason
    user.save(update_fields=fields)


def _validate_person(*, username: str, display_name: str, email: str, phone: str) -> None:
    errors = {}
    if not display_name:
        errors["display_name"] = _("The name is missing.")
    if email:
        from django.core.validators import validate_email

        try:
            validate_email(email)
        except ValidationError:
            errors["email"] = _("Enter a valid e-mail address.")
    if phone and not all(c.isdigit() or c in "+- " for c in phone):
        errors["phone"] = _("A phone number has only digits, spaces, + and -.")
    if errors:
        raise ValidationError(errors)


def account_create(
    *, actor: User, username: str, display_name: str, unit: Unit, role: str, phone: str = "", email: str = "",
    title: str = "",
) -> tuple[User, str]:
    """Create a person with one role and a temporary password they must change
    at their first login. Returns (user, temporary password): the caller shows
    the password once; the portal keeps only its hash."""
    _require_assign(actor, unit, role)
    username, display_name, phone, email = username.strip(), display_name.strip(), phone.strip(), email.strip()
    _validate_person(username=username, display_name=display_name, email=email, phone=phone)
    user = User(username=username, display_name=display_name, phone=phone, email=email, must_change_password=True)
    password = temporary_password()
    user.set_password(password)
    user.full_clean(exclude=["password"])
    try:
        with transaction.atomic():
            user._history_user = actor
            user._change_reason = _("account created")
            user.save()
            membership = Membership(user=user, unit=unit, role=role, title=title.strip(), created_by=actor)
            membership._history_user = actor
            membership.save()
    except IntegrityError as exc:  # the same username created concurrently
        raise ValidationError({"username": _("A user with that username already exists.")}) from exc
    return user, password


def account_update(*, actor: User, user: User, display_name: str, phone: str = "", email: str = "") -> User:
    _require_manage(actor, user)
    display_name, phone, email = display_name.strip(), phone.strip(), email.strip()
    _validate_person(username=user.username, display_name=display_name, email=email, phone=phone)
    user.display_name, user.phone, user.email = display_name, phone, email
    user.full_clean(exclude=["password"])
    _save(user, actor, _("account edited"), ["display_name", "phone", "email"])
    return user


def account_add_role(*, actor: User, user: User, unit: Unit, role: str, title: str = "") -> Membership:
    """Give an account one more role (heads: the handler role in their unit)."""
    _require_assign(actor, unit, role)
    _require_manage(actor, user)
    if Membership.objects.filter(user=user, unit=unit, role=role, active=True).exists():
        raise ValidationError(_("%(user)s already holds this role in %(unit)s.") % {"user": user, "unit": unit})
    membership = Membership(user=user, unit=unit, role=role, title=title.strip(), created_by=actor)
    membership._history_user = actor
    try:
        with transaction.atomic():
            membership.save()
    except IntegrityError as exc:
        raise ValidationError(_("%(user)s already holds this role in %(unit)s.") % {"user": user, "unit": unit}) from exc
    forget(user)
    return membership


def account_set_active(*, actor: User, user: User, active: bool) -> User:
    """Disable an account (it can no longer log in, its sessions end and its API
    token is withdrawn) or enable it again. Nothing is deleted."""
    _require_manage(actor, user)
    if user.pk == actor.pk and not active:
        raise ValidationError(_("You cannot disable your own account."))
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if user.is_active == active:
            raise ValidationError(_("This account is already enabled.") if active else _("This account is already disabled."))
        user.is_active = active
        _save(user, actor, _("account enabled") if active else _("account disabled"), ["is_active"])
        if not active:
            Token.objects.filter(user=user).delete()
    return user


def account_reset_password(*, actor: User, user: User) -> tuple[User, str]:
    """Give the account a new temporary password (returned, to be shown once);
    the person must change it at their next login. Their API token is withdrawn."""
    _require_manage(actor, user)
    if user.pk == actor.pk:
        raise ValidationError(_("Change your own password on the password page."))
    password = temporary_password()
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        user.set_password(password)
        user.must_change_password = True
        _save(user, actor, _("password reset by %(actor)s") % {"actor": actor.username},
              ["password", "must_change_password"])
        Token.objects.filter(user=user).delete()
    return user, password


def account_password_changed(*, user: User, reason: str) -> None:
    """Record that the person chose a new password themselves (the forced change is done)."""
    user.must_change_password = False
    _save(user, user, reason, ["must_change_password"])
