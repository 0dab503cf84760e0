"""Volunteers, teams, activities and service hours (issue: volunteers)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Count, Exists, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from campaigns.models import Unit
from campaigns.scope import ScopePathsModel, ScopePathsQuerySet, path_q, scope_q
from civportal.models import TimeStampedModel

_VOLUNTEER_CACHE = "_civportal_volunteer"


def volunteer_of(user) -> Volunteer | None:
    """The active volunteer record linked to a login account (cached on the user object)."""
    if not getattr(user, "is_authenticated", False):
        return None
    if not hasattr(user, _VOLUNTEER_CACHE):
        setattr(
            user, _VOLUNTEER_CACHE,
            Volunteer.objects.filter(user=user, status=Volunteer.Status.ACTIVE).select_related("unit").first(),
        )
    return getattr(user, _VOLUNTEER_CACHE)


class VolunteerQuerySet(ScopePathsQuerySet):
    def visible_to(self, user) -> VolunteerQuerySet:
        """Volunteers registered in a community inside the user's scope (the
        community's path column on the volunteer itself)."""
        within = path_q(user, "unit_path")
        return self if within is None else self.filter(within)

    def counted(self) -> VolunteerQuerySet:
        """Volunteers who count as registered: approved and active."""
        return self.filter(status=Volunteer.Status.ACTIVE)

    def with_totals(self) -> VolunteerQuerySet:
        """Annotate ``total_minutes`` (approved hours in the ledger) and
        ``activity_count`` (activities with approved hours) as subqueries, so
        list rows are not multiplied by joins."""
        entries = HourEntry.objects.filter(volunteer=OuterRef("pk")).order_by().values("volunteer")
        return self.annotate(
            total_minutes=Coalesce(Subquery(entries.annotate(s=Sum("minutes")).values("s")[:1]), 0),
            activity_count=Coalesce(Subquery(entries.annotate(c=Count("pk")).values("c")[:1]), 0),
        )


class Volunteer(ScopePathsModel, TimeStampedModel):
    """A registered volunteer (注册志愿者) of a community: a citizen who signed up
    on the portal or was registered by the community. Phone and ID number are
    personal data, shown in full only to the offices responsible for the
    volunteer's community (see ``volunteers.privacy``)."""

    class Status(models.TextChoices):
        APPLIED = "applied", _("applied")
        ACTIVE = "active", _("active")
        SUSPENDED = "suspended", _("suspended")
        LEFT = "left", _("left")
        REJECTED = "rejected", _("rejected")

    class Gender(models.TextChoices):
        FEMALE = "female", _("female")
        MALE = "male", _("male")

    class Source(models.TextChoices):
        SELF = "self", _("self-registration")
        OFFICE = "office", _("registered by the office")
        IMPORT = "import", _("Excel import")

    name = models.CharField(pgettext_lazy("person", "name"), max_length=50)
    phone = models.CharField(_("phone"), max_length=11)
    id_number = models.CharField(_("ID card number"), max_length=18, blank=True)
    gender = models.CharField(_("gender"), max_length=10, choices=Gender.choices, blank=True)
    birth_year = models.PositiveSmallIntegerField(_("birth year"), null=True, blank=True)
    skills = models.CharField(_("skills"), max_length=200, blank=True)
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="volunteers", verbose_name=_("community"),
    )
    team = models.ForeignKey(
        "Team", on_delete=models.PROTECT, null=True, blank=True, related_name="members", verbose_name=_("team"),
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.APPLIED)
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, default=Source.OFFICE)
    registered_on = models.DateField(_("registered on"))
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="volunteer", verbose_name=_("login account"),
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="reviewed_volunteers", verbose_name=_("reviewed by"),
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    status_note = models.CharField(_("reason"), max_length=200, blank=True)
    # Scope as a column (docs/performance.md): the community's path.
    SCOPE_PATHS = {"unit_path": "unit"}
    unit_path = models.CharField(_("unit path"), max_length=255, blank=True, default="", editable=False)

    objects = VolunteerQuerySet.as_manager()
    history = HistoricalRecords(excluded_fields=["unit_path"])

    class Meta:
        verbose_name = _("volunteer")
        verbose_name_plural = _("volunteers")
        # Newest first: the primary key index serves "the first 50 in my scope"
        # without sorting the whole subtree (200k volunteers city-wide).
        ordering = ["-id"]
        constraints = [
            # One person, one registration: a refused application frees the number.
            models.UniqueConstraint(fields=["phone"], condition=~Q(status="rejected"), name="volunteer_phone_unique"),
        ]
        indexes = [
            # Statistics and lists: "counted volunteers under this unit path".
            models.Index(fields=["status", "unit"], name="volunteer_status_unit_idx"),
            # Scoped lists (newest first) of a narrow scope: a prefix range on the path.
            models.Index(fields=["unit_path", "-id"], opclasses=["varchar_pattern_ops", "int8_ops"],
                         name="volunteer_unit_path_id_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class TeamQuerySet(models.QuerySet):
    def visible_to(self, user) -> TeamQuerySet:
        return self.filter(scope_q(user, "unit__path"))


class Team(TimeStampedModel):
    """A volunteer service team (志愿服务队), attached to a community, street or
    work unit, with a leader chosen among its volunteers."""

    name = models.CharField(_("name"), max_length=100)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="volunteer_teams", verbose_name=_("unit"))
    leader = models.ForeignKey(
        Volunteer, on_delete=models.PROTECT, null=True, blank=True, related_name="led_teams", verbose_name=_("leader"),
    )
    description = models.TextField(_("description"), blank=True)
    active = models.BooleanField(_("active"), default=True)

    objects = TeamQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("volunteer team")
        verbose_name_plural = _("volunteer teams")
        ordering = ["unit_id", "name"]
        constraints = [models.UniqueConstraint(fields=["unit", "name"], name="team_unit_name_unique")]

    def __str__(self) -> str:
        return self.name


class ActivityQuerySet(models.QuerySet):
    def visible_to(self, user) -> ActivityQuerySet:
        """Activities organised inside the user's scope; a volunteer with an
        account also sees every open activity (they may join any in the city)
        and the ones they signed up for."""
        q = scope_q(user, "unit__path")
        if getattr(user, "is_authenticated", False):
            # In SQL rather than a lookup first: no extra query on every list.
            is_volunteer = Exists(Volunteer.objects.filter(user=user, status=Volunteer.Status.ACTIVE))
            mine = Exists(Signup.objects.filter(
                activity=OuterRef("pk"), volunteer__user=user, volunteer__status=Volunteer.Status.ACTIVE))
            q |= (Q(status=Activity.Status.OPEN) & Q(is_volunteer)) | Q(mine)
        return self.filter(q)


class Activity(TimeStampedModel):
    """A volunteer service activity (志愿服务活动) organised by a unit (optionally
    by one of its teams): volunteers sign up within the capacity, check in and
    out on site, and the organiser approves the resulting service hours."""

    class Category(models.TextChoices):
        PERSUASION = "persuasion", _("civility persuasion")
        CLEANING = "cleaning", _("environmental cleaning")
        TRAFFIC = "traffic", _("traffic persuasion")
        ELDERLY = "elderly", _("care for the elderly and disabled")
        LEI_FENG = "lei_feng", _("learn-from-Lei-Feng service")
        OTHER = "other", _("other")

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        COMPLETED = "completed", _("completed")
        CANCELLED = "cancelled", _("cancelled")

    title = models.CharField(_("title"), max_length=100)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="volunteer_activities",
                             verbose_name=_("organising unit"))
    team = models.ForeignKey(Team, on_delete=models.PROTECT, null=True, blank=True, related_name="activities",
                             verbose_name=_("organising team"))
    address = models.CharField(_("place or address"), max_length=200)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    capacity = models.PositiveIntegerField(_("capacity"))
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.OPEN)
    status_note = models.CharField(_("reason"), max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="created_activities", verbose_name=_("created by"))

    objects = ActivityQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("volunteer activity")
        verbose_name_plural = _("volunteer activities")
        ordering = ["-starts_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="activity_ends_after_start"),
            models.CheckConstraint(condition=Q(capacity__gte=1), name="activity_capacity_positive"),
        ]
        indexes = [
            # Reminders and "held this month": activities by start time.
            models.Index(fields=["status", "starts_at"], name="activity_status_start_idx"),
        ]

    def __str__(self) -> str:
        return self.title


class SignupQuerySet(models.QuerySet):
    def visible_to(self, user) -> SignupQuerySet:
        return self.filter(activity__in=Activity.objects.visible_to(user))

    def taking_places(self) -> SignupQuerySet:
        """Sign-ups that occupy a place (everything but cancellations)."""
        return self.exclude(status=Signup.Status.CANCELLED)


class Signup(TimeStampedModel):
    """A volunteer's place in an activity: signed up, then attended (checked in
    and out) or recorded as a no-show, or cancelled before the start."""

    class Status(models.TextChoices):
        SIGNED_UP = "signed_up", _("signed up")
        ATTENDED = "attended", _("attended")
        NO_SHOW = "no_show", _("no-show")
        CANCELLED = "cancelled", _("cancelled")

    class Method(models.TextChoices):
        ORGANISER = "organiser", _("by the organiser")
        QR = "qr", _("QR code scan")

    activity = models.ForeignKey(Activity, on_delete=models.PROTECT, related_name="signups", verbose_name=_("activity"))
    volunteer = models.ForeignKey(Volunteer, on_delete=models.PROTECT, related_name="signups",
                                  verbose_name=_("volunteer"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.SIGNED_UP)
    signed_up_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+", verbose_name=_("signed up by"))
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    checked_in_at = models.DateTimeField(_("checked in at"), null=True, blank=True)
    checked_in_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="+", verbose_name=_("checked in by"))
    check_in_method = models.CharField(_("check-in method"), max_length=20, choices=Method.choices, blank=True)
    checked_out_at = models.DateTimeField(_("checked out at"), null=True, blank=True)
    checked_out_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                       related_name="+", verbose_name=_("checked out by"))
    minutes = models.PositiveIntegerField(_("minutes from check-in/out"), null=True, blank=True)
    no_show_at = models.DateTimeField(_("no-show recorded at"), null=True, blank=True)

    objects = SignupQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("sign-up")
        verbose_name_plural = _("sign-ups")
        ordering = ["activity_id", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["activity", "volunteer"], condition=~Q(status="cancelled"), name="signup_one_place_per_volunteer"
            ),
        ]
        indexes = [
            # Capacity check under the activity lock: "places taken in this activity".
            models.Index(fields=["activity", "status"], name="signup_activity_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.volunteer} · {self.activity}"


class HourEntryQuerySet(ScopePathsQuerySet):
    def visible_to(self, user) -> HourEntryQuerySet:
        """Hours of volunteers registered in the user's scope (the volunteer's
        community path, a column on the entry itself)."""
        within = path_q(user, "unit_path")
        return self if within is None else self.filter(within)


class HourEntry(ScopePathsModel):
    """One line of the service-hour ledger (服务时长): hours a volunteer served
    in an activity, written when the organiser approves them. Only approved
    hours exist here, so every total (profile, certificate, star level,
    statistics) is a sum over this table."""

    volunteer = models.ForeignKey(Volunteer, on_delete=models.PROTECT, related_name="hour_entries",
                                  verbose_name=_("volunteer"))
    activity = models.ForeignKey(Activity, on_delete=models.PROTECT, related_name="hour_entries",
                                 verbose_name=_("activity"))
    signup = models.OneToOneField(Signup, on_delete=models.PROTECT, related_name="hour_entry",
                                  verbose_name=_("sign-up"))
    minutes = models.PositiveIntegerField(_("minutes"))
    served_at = models.DateTimeField(_("served at"), help_text=_("Check-in time; decides the month the hours count in."))
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("approved by"))
    approved_at = models.DateTimeField(_("approved at"))
    # Scope as a column (docs/performance.md): the path of the volunteer's community,
    # kept in step when the volunteer moves to another community.
    SCOPE_PATHS = {"unit_path": "volunteer__unit"}
    unit_path = models.CharField(_("unit path"), max_length=255, blank=True, default="", editable=False)

    objects = HourEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("service-hour entry")
        verbose_name_plural = _("service-hour ledger")
        ordering = ["-served_at", "id"]
        indexes = [
            # Statistics: "hours served this month", grouped by unit subtree.
            models.Index(fields=["served_at"], name="hourentry_served_idx"),
            # The scoped ledger in list order (newest service first) of a narrow scope.
            models.Index(fields=["unit_path", "-served_at", "id"],
                         opclasses=["varchar_pattern_ops", "timestamptz_ops", "int8_ops"],
                         name="hourentry_unit_path_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.volunteer} · {self.activity} · {self.minutes}"

    @property
    def hours(self):
        from .hours import minutes_to_hours

        return minutes_to_hours(self.minutes)


class VolunteerTally(models.Model):
    """How many registered (active) volunteers a community has: the dashboards and the volunteer
    statistics sum these rows over a subtree instead of counting the volunteers (200,000 city-wide).
    Kept by ``volunteers.tally`` in the same transaction as every registration, review, status change,
    move to another community and import; ``tally.rebuild`` refills it from the volunteers. Keyed by
    unit id, so moving a unit needs no rewrite (a subtree's rows are found through the unit table)."""

    unit = models.OneToOneField(Unit, on_delete=models.DO_NOTHING, db_constraint=False, primary_key=True,
                                related_name="+")
    active = models.IntegerField(default=0)

    class Meta:
        ordering = ["unit_id"]

    def __str__(self) -> str:
        return f"{self.unit_id} · {self.active}"
