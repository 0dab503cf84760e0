"""Writes with rules for volunteers, teams, activities, sign-ups and hours.

Pages, the API, imports and the demo loader all call these. Who may do what:
- supervisors, handling clerks and heads over a unit (``MANAGER_ROLES``)
  register and review its volunteers, run its teams and organise its
  activities (check-in/out, no-shows, approving hours);
- a volunteer with a login account signs up, cancels and checks in/out
  (by scanning the activity's QR code) for themselves;
- anyone may apply to become a volunteer (self-registration, reviewed by the
  community's handler).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import Membership, Unit, User
from campaigns.scope import has_role, in_scope
from civportal.errors import Conflict

from . import tally
from .models import Activity, HourEntry, Signup, Team, Volunteer, volunteer_of

MANAGER_ROLES = (Membership.Role.SUPERVISOR, Membership.Role.HANDLER, Membership.Role.HEAD)

# Check-in opens this long before the start; QR check-out stays possible this long after the end.
CHECK_IN_EARLY = timedelta(minutes=60)
CHECK_OUT_GRACE = timedelta(hours=2)
QR_SALT = "volunteers.activity-qr"

_PHONE = re.compile(r"^1[3-9]\d{9}$")
_ID_NUMBER = re.compile(r"^\d{17}[\dX]$")


# --- helpers --------------------------------------------------------------

def normalize_phone(raw: str) -> str:
    """A mainland mobile number from what people type: spaces, dashes, +86."""
    import unicodedata

    text = re.sub(r"[\s\-()（）]", "", unicodedata.normalize("NFKC", str(raw or "")))
    if text.startswith("+86"):
        text = text[3:]
    elif text.startswith("86") and len(text) == 13:
        text = text[2:]
    return text


def validate_phone(phone: str) -> None:
    if not phone:
        raise ValidationError({"phone": _("Enter a mobile phone number.")})
    if not _PHONE.fullmatch(phone):
        raise ValidationError({"phone": _("Enter a valid 11-digit mainland mobile number, e.g. 13812345678.")})


def phone_taken(phone: str, *, exclude_pk: int | None = None) -> bool:
    qs = Volunteer.objects.filter(phone=phone).exclude(status=Volunteer.Status.REJECTED)
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    return qs.exists()


def _duplicate_phone() -> ValidationError:
    return ValidationError({"phone": _("This phone number is already registered as a volunteer.")})


def _check_community(unit: Unit | None) -> None:
    if unit is None:
        raise ValidationError({"unit": _("Choose your community.")})
    if unit.kind != Unit.Kind.COMMUNITY or not unit.active:
        raise ValidationError({"unit": _("Volunteers register with an active community.")})


def _check_birth_year(birth_year: int | None) -> None:
    if birth_year is None:
        return
    this_year = timezone.localdate().year
    if not 1900 <= birth_year <= this_year:
        raise ValidationError({"birth_year": _("Enter a birth year between 1900 and %(year)d.") % {"year": this_year}})


def _check_id_number(id_number: str) -> str:
    id_number = (id_number or "").strip().upper()
    if id_number and not _ID_NUMBER.fullmatch(id_number):
        raise ValidationError({"id_number": _("An ID card number has 18 characters: 17 digits and a digit or X.")})
    return id_number


def _require_manager(actor: User, unit: Unit) -> None:
    if not has_role(actor, unit, MANAGER_ROLES):
        raise PermissionDenied(_("Only the campaign office or the unit's handling clerks and heads may do this."))


def _require_organiser(actor: User, activity: Activity) -> None:
    if not has_role(actor, activity.unit, MANAGER_ROLES):
        raise PermissionDenied(_("Only the organising unit's clerks and heads or the campaign office may do this."))


def is_organiser(user, activity: Activity) -> bool:
    return has_role(user, activity.unit, MANAGER_ROLES)


def is_manager(user, unit: Unit) -> bool:
    return has_role(user, unit, MANAGER_ROLES)


# --- volunteers -----------------------------------------------------------

def _check_account(user: User | None, *, exclude_pk: int | None = None) -> None:
    if user is not None and Volunteer.objects.filter(user=user).exclude(pk=exclude_pk).exists():
        raise ValidationError({"user": _("This account already belongs to another volunteer.")})


def _save_new_volunteer(volunteer: Volunteer) -> Volunteer:
    _check_account(volunteer.user)
    volunteer.full_clean(validate_constraints=False, exclude=["user"])
    if phone_taken(volunteer.phone):
        raise _duplicate_phone()
    try:
        with transaction.atomic():
            volunteer.save()
            tally.created([volunteer])
    except IntegrityError as exc:  # a concurrent registration with the same number
        raise _duplicate_phone() from exc
    return volunteer


def volunteer_register_self(
    *, name: str, phone: str, unit: Unit | None, gender: str = "", birth_year: int | None = None, skills: str = "",
) -> Volunteer:
    """A citizen's application (status applied), to be reviewed by the community."""
    errors: dict[str, list] = {}
    phone = normalize_phone(phone)
    for check in (lambda: validate_phone(phone), lambda: _check_community(unit), lambda: _check_birth_year(birth_year)):
        try:
            check()
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                errors.setdefault(field, []).extend(messages)
    if not name or not name.strip():
        errors.setdefault("name", []).append(_("Enter your name."))
    if "phone" not in errors and phone_taken(phone):
        errors["phone"] = _duplicate_phone().message_dict["phone"]
    if errors:
        raise ValidationError(errors)
    volunteer = Volunteer(
        name=name.strip(), phone=phone, unit=unit, gender=gender, birth_year=birth_year, skills=skills.strip(),
        status=Volunteer.Status.APPLIED, source=Volunteer.Source.SELF, registered_on=timezone.localdate(),
    )
    return _save_new_volunteer(volunteer)


def volunteer_create(
    *, actor: User, name: str, phone: str, unit: Unit | None, id_number: str = "", gender: str = "",
    birth_year: int | None = None, skills: str = "", team: Team | None = None, user: User | None = None,
) -> Volunteer:
    """Registration by the community (active at once)."""
    _check_community(unit)
    _require_manager(actor, unit)
    phone = normalize_phone(phone)
    validate_phone(phone)
    _check_birth_year(birth_year)
    if team is not None and not in_scope(actor, team.unit):
        raise ValidationError({"team": _("Choose a team in your scope.")})
    volunteer = Volunteer(
        name=name.strip(), phone=phone, unit=unit, id_number=_check_id_number(id_number), gender=gender,
        birth_year=birth_year, skills=skills.strip(), team=team, user=user, status=Volunteer.Status.ACTIVE,
        source=Volunteer.Source.OFFICE, registered_on=timezone.localdate(), reviewed_by=actor,
        reviewed_at=timezone.now(),
    )
    volunteer._history_user = actor
    return _save_new_volunteer(volunteer)


def volunteer_update(
    *, actor: User, volunteer: Volunteer, name: str, phone: str, unit: Unit, id_number: str = "", gender: str = "",
    birth_year: int | None = None, skills: str = "", team: Team | None = None, user: User | None = None,
) -> Volunteer:
    """Change a volunteer's data; ``user`` links (or, with None, unlinks) a login account."""
    _require_manager(actor, volunteer.unit)
    _check_account(user, exclude_pk=volunteer.pk)
    _check_community(unit)
    _require_manager(actor, unit)
    phone = normalize_phone(phone)
    validate_phone(phone)
    _check_birth_year(birth_year)
    if phone_taken(phone, exclude_pk=volunteer.pk):
        raise _duplicate_phone()
    if team is not None and not in_scope(actor, team.unit):
        raise ValidationError({"team": _("Choose a team in your scope.")})
    volunteer.name, volunteer.phone, volunteer.unit = name.strip(), phone, unit
    volunteer.id_number, volunteer.gender, volunteer.birth_year = _check_id_number(id_number), gender, birth_year
    volunteer.skills, volunteer.team, volunteer.user = skills.strip(), team, user
    volunteer.full_clean(validate_constraints=False, exclude=["user"])
    volunteer._history_user = actor
    try:
        with transaction.atomic():
            # The stored community and status (locked), not the caller's copy: the tally moves what was counted.
            before = Volunteer.objects.select_for_update().values_list("unit_id", "status").get(pk=volunteer.pk)
            volunteer.status = before[1]  # a status change is volunteer_set_status's, never this form's
            volunteer.save()
            tally.changed(before, (volunteer.unit_id, volunteer.status))
    except IntegrityError as exc:
        raise _duplicate_phone() from exc
    return volunteer


def _locked_volunteer(volunteer: Volunteer) -> Volunteer:
    locked = Volunteer.objects.select_for_update().select_related("unit").get(pk=volunteer.pk)
    return locked


def volunteer_review(*, actor: User, volunteer: Volunteer, approve: bool, note: str = "") -> Volunteer:
    """Approve (active) or refuse (rejected) a citizen's application."""
    _require_manager(actor, volunteer.unit)
    if not approve and not note.strip():
        raise ValidationError({"note": _("Give a reason for refusing the application.")})
    with transaction.atomic():
        volunteer = _locked_volunteer(volunteer)
        if volunteer.status != Volunteer.Status.APPLIED:
            raise Conflict(_("This application has already been reviewed."))
        before = (volunteer.unit_id, volunteer.status)
        volunteer.status = Volunteer.Status.ACTIVE if approve else Volunteer.Status.REJECTED
        volunteer.reviewed_by, volunteer.reviewed_at, volunteer.status_note = actor, timezone.now(), note.strip()
        volunteer._history_user = actor
        volunteer.save()
        tally.changed(before, (volunteer.unit_id, volunteer.status))
    return volunteer


# Allowed manual status changes (from → to); applications go through review.
STATUS_CHANGES = {
    Volunteer.Status.ACTIVE: {Volunteer.Status.SUSPENDED, Volunteer.Status.LEFT},
    Volunteer.Status.SUSPENDED: {Volunteer.Status.ACTIVE, Volunteer.Status.LEFT},
    Volunteer.Status.LEFT: {Volunteer.Status.ACTIVE},
}


def volunteer_set_status(*, actor: User, volunteer: Volunteer, status: str, reason: str = "") -> Volunteer:
    """Suspend, mark as left or reactivate a volunteer (records are never deleted)."""
    _require_manager(actor, volunteer.unit)
    if status != Volunteer.Status.ACTIVE and not reason.strip():
        raise ValidationError({"reason": _("Give a reason.")})
    with transaction.atomic():
        volunteer = _locked_volunteer(volunteer)
        if status not in STATUS_CHANGES.get(volunteer.status, set()):
            raise Conflict(
                _("A volunteer who is %(current)s cannot become %(new)s.")
                % {"current": volunteer.get_status_display(), "new": Volunteer.Status(status).label}
            )
        if status == Volunteer.Status.ACTIVE and phone_taken(volunteer.phone, exclude_pk=volunteer.pk):
            raise _duplicate_phone()
        before = (volunteer.unit_id, volunteer.status)
        volunteer.status, volunteer.status_note = status, reason.strip()
        volunteer._history_user = actor
        volunteer.save()
        tally.changed(before, (volunteer.unit_id, volunteer.status))
    return volunteer


# --- teams ----------------------------------------------------------------

def _check_team(actor: User, *, unit: Unit, name: str, leader: Volunteer | None, exclude_pk: int | None = None) -> None:
    _require_manager(actor, unit)
    if not name.strip():
        raise ValidationError({"name": _("Enter a name.")})
    if Team.objects.filter(unit=unit, name=name.strip()).exclude(pk=exclude_pk).exists():
        raise ValidationError({"name": _("This unit already has a team with this name.")})
    if leader is not None and (leader.status != Volunteer.Status.ACTIVE or not in_scope(actor, leader.unit)):
        raise ValidationError({"leader": _("The leader must be an active volunteer in your scope.")})


def team_create(*, actor: User, unit: Unit, name: str, leader: Volunteer | None = None, description: str = "") -> Team:
    _check_team(actor, unit=unit, name=name, leader=leader)
    team = Team(unit=unit, name=name.strip(), leader=leader, description=description.strip())
    team.full_clean(validate_constraints=False)
    team._history_user = actor
    try:
        with transaction.atomic():
            team.save()
    except IntegrityError as exc:
        raise ValidationError({"name": _("This unit already has a team with this name.")}) from exc
    return team


def team_update(
    *, actor: User, team: Team, name: str, leader: Volunteer | None = None, description: str = "", active: bool = True,
) -> Team:
    _check_team(actor, unit=team.unit, name=name, leader=leader, exclude_pk=team.pk)
    team.name, team.leader, team.description, team.active = name.strip(), leader, description.strip(), active
    team.full_clean(validate_constraints=False)
    team._history_user = actor
    try:
        with transaction.atomic():
            team.save()
    except IntegrityError as exc:
        raise ValidationError({"name": _("This unit already has a team with this name.")}) from exc
    return team


# --- activities -----------------------------------------------------------

# Activities take place in the campaign's era; far-off years are typing errors.
ACTIVITY_YEARS = (2000, 2100)


def _check_activity(actor, *, unit, team, starts_at, ends_at, capacity) -> None:
    if unit is None:
        raise ValidationError({"unit": _("Choose the organising unit.")})
    _require_manager(actor, unit)
    if team is not None and not team.unit.is_within(unit) and not unit.is_within(team.unit):
        raise ValidationError({"team": _("The team must belong to the organising unit or a unit above or below it.")})
    for field, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if value and not (ACTIVITY_YEARS[0] <= value.year <= ACTIVITY_YEARS[1]):
            raise ValidationError({field: _("Choose a time between the years %(first)d and %(last)d.")
                                   % {"first": ACTIVITY_YEARS[0], "last": ACTIVITY_YEARS[1]}})
    if starts_at and ends_at and ends_at <= starts_at:
        raise ValidationError({"ends_at": _("The end must be after the start.")})
    if capacity is not None and capacity < 1:
        raise ValidationError({"capacity": _("The capacity must be at least 1.")})


def activity_create(
    *, actor: User, unit: Unit, title: str, category: str, address: str, starts_at: datetime, ends_at: datetime,
    capacity: int, description: str = "", team: Team | None = None,
) -> Activity:
    _check_activity(actor, unit=unit, team=team, starts_at=starts_at, ends_at=ends_at, capacity=capacity)
    activity = Activity(
        unit=unit, team=team, title=title.strip(), category=category, address=address.strip(), starts_at=starts_at,
        ends_at=ends_at, capacity=capacity, description=description.strip(), created_by=actor,
    )
    activity.full_clean()
    activity._history_user = actor
    activity.save()
    return activity


def activity_update(
    *, actor: User, activity: Activity, title: str, category: str, address: str, starts_at: datetime,
    ends_at: datetime, capacity: int, description: str = "", team: Team | None = None,
) -> Activity:
    _require_organiser(actor, activity)
    _check_activity(actor, unit=activity.unit, team=team, starts_at=starts_at, ends_at=ends_at, capacity=capacity)
    with transaction.atomic():
        locked = Activity.objects.select_for_update().get(pk=activity.pk)
        if locked.status != Activity.Status.OPEN:
            raise Conflict(_("Only an open activity can be changed."))
        taken = locked.signups.taking_places().count()
        if capacity < taken:
            raise ValidationError(
                {"capacity": _("%(count)d volunteers have already signed up; the capacity cannot be lower.")
                 % {"count": taken}}
            )
        locked.title, locked.category, locked.address = title.strip(), category, address.strip()
        locked.starts_at, locked.ends_at, locked.capacity = starts_at, ends_at, capacity
        locked.description, locked.team = description.strip(), team
        locked.full_clean()
        locked._history_user = actor
        locked.save()
    return locked


def activity_cancel(*, actor: User, activity: Activity, reason: str) -> Activity:
    _require_organiser(actor, activity)
    if not reason.strip():
        raise ValidationError({"reason": _("Give a reason.")})
    with transaction.atomic():
        locked = Activity.objects.select_for_update().get(pk=activity.pk)
        if locked.status != Activity.Status.OPEN:
            raise Conflict(_("Only an open activity can be cancelled."))
        if locked.hour_entries.exists():
            raise ValidationError(_("Hours have been approved for this activity; it cannot be cancelled."))
        locked.status, locked.status_note = Activity.Status.CANCELLED, reason.strip()
        locked._history_user = actor
        locked.save()
    return locked


def activity_complete(*, actor: User, activity: Activity, now: datetime | None = None) -> Activity:
    """Close the activity after its start; whoever signed up and never checked in is a no-show."""
    _require_organiser(actor, activity)
    now = now or timezone.now()
    with transaction.atomic():
        locked = Activity.objects.select_for_update().get(pk=activity.pk)
        if locked.status != Activity.Status.OPEN:
            raise Conflict(_("Only an open activity can be completed."))
        if now < locked.starts_at:
            raise ValidationError(_("The activity has not started yet."))
        for signup in locked.signups.filter(status=Signup.Status.SIGNED_UP).select_for_update():
            signup.status, signup.no_show_at = Signup.Status.NO_SHOW, now
            signup._history_user = actor
            signup.save(update_fields=["status", "no_show_at", "updated_at"])
        locked.status = Activity.Status.COMPLETED
        locked._history_user = actor
        locked.save()
    return locked


# --- sign-ups -------------------------------------------------------------

def _may_act_for(actor: User, signup_volunteer: Volunteer, activity: Activity) -> bool:
    own = volunteer_of(actor)
    return (own is not None and own.pk == signup_volunteer.pk) or is_organiser(actor, activity)


def signup_create(*, actor: User, activity: Activity, volunteer: Volunteer, now: datetime | None = None) -> Signup:
    """Take a place. The activity row is locked while places are counted, so
    concurrent sign-ups can never exceed the capacity."""
    now = now or timezone.now()
    own = volunteer_of(actor)
    if not ((own is not None and own.pk == volunteer.pk)
            or (is_organiser(actor, activity) and in_scope(actor, volunteer.unit))):
        raise PermissionDenied(_("You may sign up only yourself, or volunteers of your units for your activities."))
    if volunteer.status != Volunteer.Status.ACTIVE:
        raise ValidationError(_("Only active volunteers can sign up."))
    with transaction.atomic():
        locked = Activity.objects.select_for_update().get(pk=activity.pk)
        if locked.status != Activity.Status.OPEN:
            raise Conflict(_("This activity is not open for sign-up."))
        if now >= locked.starts_at:
            raise ValidationError(_("Sign-up closed when the activity started."))
        places = locked.signups.taking_places()
        if places.filter(volunteer=volunteer).exists():
            raise ValidationError(_("%(name)s has already signed up for this activity.") % {"name": volunteer.name})
        if places.count() >= locked.capacity:
            raise Conflict(_("This activity is full."))
        signup = Signup(activity=locked, volunteer=volunteer, signed_up_by=actor)
        signup._history_user = actor
        signup.save()
    return signup


def _locked_signup(signup: Signup) -> Signup:
    return Signup.objects.select_for_update().select_related("activity", "volunteer").get(pk=signup.pk)


def signup_cancel(*, actor: User, signup: Signup, now: datetime | None = None) -> Signup:
    now = now or timezone.now()
    if not _may_act_for(actor, signup.volunteer, signup.activity):
        raise PermissionDenied(_("You may cancel only your own sign-up or sign-ups for your activities."))
    with transaction.atomic():
        signup = _locked_signup(signup)
        if signup.status != Signup.Status.SIGNED_UP:
            raise Conflict(_("Only a sign-up that is still waiting can be cancelled."))
        if now >= signup.activity.starts_at:
            raise ValidationError(_("The activity has started; the sign-up can no longer be cancelled."))
        signup.status, signup.cancelled_at = Signup.Status.CANCELLED, now
        signup._history_user = actor
        signup.save()
    return signup


def service_minutes(activity: Activity, checked_in_at: datetime, checked_out_at: datetime) -> int:
    """Whole minutes between check-in and check-out, counted inside the activity's time only."""
    start = max(checked_in_at, activity.starts_at)
    end = min(checked_out_at, activity.ends_at)
    return max(0, int((end - start).total_seconds() // 60))


def signup_check_in(*, actor: User, signup: Signup, method: str = Signup.Method.ORGANISER,
                    now: datetime | None = None) -> Signup:
    now = now or timezone.now()
    if method == Signup.Method.ORGANISER:
        _require_organiser(actor, signup.activity)
    elif not _may_act_for(actor, signup.volunteer, signup.activity):
        raise PermissionDenied(_("You may check in only yourself."))
    with transaction.atomic():
        signup = _locked_signup(signup)
        activity = signup.activity
        if signup.status != Signup.Status.SIGNED_UP:
            raise Conflict(_("%(name)s is already checked in or no longer signed up.") % {"name": signup.volunteer.name})
        if activity.status != Activity.Status.OPEN:
            raise Conflict(_("This activity is not open."))
        if now < activity.starts_at - CHECK_IN_EARLY:
            raise ValidationError(_("Check-in opens one hour before the start."))
        if now > activity.ends_at:
            raise ValidationError(_("The activity has ended; check-in is closed."))
        signup.status, signup.checked_in_at, signup.checked_in_by = Signup.Status.ATTENDED, now, actor
        signup.check_in_method = method
        signup._history_user = actor
        signup.save()
    return signup


def signup_check_out(*, actor: User, signup: Signup, method: str = Signup.Method.ORGANISER,
                     now: datetime | None = None) -> Signup:
    now = now or timezone.now()
    if method == Signup.Method.ORGANISER:
        _require_organiser(actor, signup.activity)
    elif not _may_act_for(actor, signup.volunteer, signup.activity):
        raise PermissionDenied(_("You may check out only yourself."))
    with transaction.atomic():
        signup = _locked_signup(signup)
        if signup.status != Signup.Status.ATTENDED or signup.checked_out_at is not None:
            raise Conflict(_("%(name)s is not checked in, or already checked out.") % {"name": signup.volunteer.name})
        if method == Signup.Method.QR and now > signup.activity.ends_at + CHECK_OUT_GRACE:
            raise ValidationError(_("Too late to check out by QR code; ask the organiser."))
        signup.checked_out_at, signup.checked_out_by = now, actor
        signup.minutes = service_minutes(signup.activity, signup.checked_in_at, now)
        signup._history_user = actor
        signup.save()
    return signup


def signup_mark_no_show(*, actor: User, signup: Signup, now: datetime | None = None) -> Signup:
    now = now or timezone.now()
    _require_organiser(actor, signup.activity)
    with transaction.atomic():
        signup = _locked_signup(signup)
        if signup.status != Signup.Status.SIGNED_UP:
            raise Conflict(_("Only a volunteer who signed up and did not check in can be a no-show."))
        if now < signup.activity.starts_at:
            raise ValidationError(_("The activity has not started yet."))
        signup.status, signup.no_show_at = Signup.Status.NO_SHOW, now
        signup._history_user = actor
        signup.save()
    return signup


def signup_approve_hours(*, actor: User, signup: Signup, minutes: int | None = None,
                         now: datetime | None = None) -> HourEntry:
    """Write the attended time into the service-hour ledger. The organiser may
    approve fewer minutes than check-in/out gave, never more."""
    _require_organiser(actor, signup.activity)
    now = now or timezone.now()
    with transaction.atomic():
        signup = _locked_signup(signup)
        if signup.status != Signup.Status.ATTENDED or signup.checked_out_at is None:
            raise ValidationError(_("Hours can be approved only after check-in and check-out."))
        if HourEntry.objects.filter(signup=signup).exists():
            raise Conflict(_("These hours have already been approved."))
        computed = signup.minutes or 0
        if minutes is None:
            minutes = computed
        if minutes < 0 or minutes > computed:
            raise ValidationError({"minutes": _("Approve between 0 and %(max)d minutes (from check-in and check-out).")
                                   % {"max": computed}})
        entry = HourEntry(volunteer=signup.volunteer, activity=signup.activity, signup=signup, minutes=minutes,
                          served_at=signup.checked_in_at, approved_by=actor, approved_at=now)
        try:
            with transaction.atomic():
                entry.save()
        except IntegrityError as exc:
            raise Conflict(_("These hours have already been approved.")) from exc
    return entry


# --- QR check-in ----------------------------------------------------------

def activity_qr_token(activity: Activity) -> str:
    """A signed token naming the activity, valid until CHECK_OUT_GRACE after its end."""
    expires = int((activity.ends_at + CHECK_OUT_GRACE).timestamp())
    return signing.dumps({"a": activity.pk, "e": expires}, salt=QR_SALT, compress=True)


def activity_from_qr_token(token: str, *, now: datetime | None = None) -> Activity:
    now = now or timezone.now()
    try:
        data = signing.loads(token, salt=QR_SALT)
        pk, expires = int(data["a"]), int(data["e"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise ValidationError(_("This QR code is not valid.")) from exc
    if now.timestamp() > expires:
        raise ValidationError(_("This QR code has expired."))
    activity = Activity.objects.select_related("unit").filter(pk=pk).first()
    if activity is None:
        raise ValidationError(_("This QR code is not valid."))
    return activity


def signup_scan(*, actor: User, token: str, now: datetime | None = None) -> Signup:
    """A volunteer scanned the activity's QR code: check in, or check out if already in."""
    now = now or timezone.now()
    activity = activity_from_qr_token(token, now=now)
    volunteer = volunteer_of(actor)
    if volunteer is None:
        raise PermissionDenied(_("Only registered volunteers with an account can check in by QR code."))
    signup = activity.signups.taking_places().filter(volunteer=volunteer).select_related("activity", "volunteer").first()
    if signup is None:
        raise ValidationError(_("You have not signed up for this activity."))
    if signup.status == Signup.Status.SIGNED_UP:
        return signup_check_in(actor=actor, signup=signup, method=Signup.Method.QR, now=now)
    if signup.status == Signup.Status.ATTENDED and signup.checked_out_at is None:
        return signup_check_out(actor=actor, signup=signup, method=Signup.Method.QR, now=now)
    raise Conflict(_("You have already checked out of this activity."))


# --- reminders (sending comes with the notifications app) -----------------

def activity_reminders_due(now: datetime):
    """Sign-ups to remind on the day before their activity: places still held
    in open activities that start tomorrow (calendar day in Asia/Shanghai)."""
    local = now.astimezone(ZoneInfo(settings.TIME_ZONE))
    tomorrow = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    day_after = (tomorrow + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (
        Signup.objects.filter(
            status=Signup.Status.SIGNED_UP, activity__status=Activity.Status.OPEN,
            activity__starts_at__gte=tomorrow, activity__starts_at__lt=day_after,
        )
        .select_related("activity", "volunteer", "volunteer__user")
        .order_by("activity__starts_at", "id")
    )
