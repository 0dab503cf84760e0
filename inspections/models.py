"""Inspections, findings and the rectification loop.

A problem seen at a place (a Finding) becomes a RectificationTask for the
responsible unit with a deadline counted in Chinese working days; the task
only closes when a supervisor checks the fix. Every step is a TaskEvent, so
on-time rate (按期整改率) and rework rate (返工率) are plain SQL over these
tables."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Case, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from campaigns.models import Campaign, Indicator, Point, Unit
from campaigns.scope import ScopePathsModel, ScopePathsQuerySet
from civportal.models import TimeStampedModel

from civportal.storage import photo_storage


class Severity(models.TextChoices):
    MINOR = "minor", _("minor")
    MODERATE = "moderate", _("moderate")
    SEVERE = "severe", _("severe")


class FindingCategory(TimeStampedModel):
    """A kind of problem (问题类别) such as 乱停乱放 or 垃圾乱堆乱放, grouped under
    a top-level group (环境卫生, 公共秩序 …). It carries the default severity,
    the points a finding deducts and whether fixing it is engineering work
    (which gets a long deadline)."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    group = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="subcategories",
        verbose_name=_("group"),
    )
    default_severity = models.CharField(
        _("default severity"), max_length=20, choices=Severity.choices, default=Severity.MODERATE
    )
    deduction = models.DecimalField(
        _("deduction"), max_digits=6, decimal_places=2, default=1,
        help_text=_("Points a moderate finding deducts from a visit's 100 (minor × 0.5, severe × 2)."),
    )
    engineering = models.BooleanField(
        _("engineering work"), default=False,
        help_text=_("Fixing it needs construction or procurement (long default deadline)."),
    )
    supervising_department = models.ForeignKey(
        Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="supervised_categories",
        verbose_name=_("supervising department"),
        limit_choices_to={"kind": Unit.Kind.DEPARTMENT},
    )
    sort_order = models.PositiveIntegerField(_("sort order"), default=0)
    active = models.BooleanField(_("active"), default=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("finding category")
        verbose_name_plural = _("finding categories")
        ordering = ["sort_order", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(deduction__gte=0), name="category_deduction_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name


class DeadlineRule(TimeStampedModel):
    """How long a unit gets to fix a finding: per category and severity (either
    may be blank to mean "any"), in hours or Chinese working days. The most
    specific rule wins; without any rule the built-in defaults apply."""

    class Measure(models.TextChoices):
        HOURS = "hours", _("hours")
        WORKING_DAYS = "working_days", _("working days")

    category = models.ForeignKey(
        FindingCategory, on_delete=models.PROTECT, null=True, blank=True, related_name="deadline_rules",
        verbose_name=_("category"),
    )
    severity = models.CharField(_("severity"), max_length=20, choices=Severity.choices, blank=True)
    amount = models.PositiveIntegerField(_("amount"))
    measure = models.CharField(_("measure"), max_length=20, choices=Measure.choices)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("deadline rule")
        verbose_name_plural = _("deadline rules")
        ordering = ["category_id", "severity"]
        constraints = [
            models.UniqueConstraint(fields=["category", "severity"], name="deadline_rule_unique"),
            models.UniqueConstraint(
                fields=["severity"], condition=Q(category__isnull=True), name="deadline_rule_unique_default"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="deadline_rule_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.category or '*'} · {self.severity or '*'} · {self.amount} {self.get_measure_display()}"


class CalendarOverride(TimeStampedModel):
    """A supervisor's correction of the working-day calendar for one date (a
    local holiday, a storm day off, a swapped workday). It beats the national
    calendar for every deadline computed afterwards."""

    date = models.DateField(_("date"), unique=True)
    is_workday = models.BooleanField(_("working day"))
    reason = models.CharField(_("reason"), max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="calendar_overrides", verbose_name=_("created by"),
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("calendar override")
        verbose_name_plural = _("calendar overrides")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} · {self.reason}"


class HolidaySchedule(TimeStampedModel):
    """A year's holidays and make-up workdays imported by the office (from the
    State Council's notice) for a year the holiday library does not know yet.
    The dates themselves are stored as ``CalendarOverride`` rows; this record
    says the year's schedule is complete, so its deadlines are no longer
    provisional."""

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    source_name = models.CharField(_("file"), max_length=200, blank=True)
    holiday_count = models.PositiveSmallIntegerField(_("days off"), default=0)
    workday_count = models.PositiveSmallIntegerField(_("make-up working days"), default=0)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="holiday_schedules", verbose_name=_("imported by"),
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("holiday schedule")
        verbose_name_plural = _("holiday schedules")
        ordering = ["year"]

    def __str__(self) -> str:
        return str(self.year)


# --- inspections and visits -----------------------------------------------------------------


class InspectionQuerySet(models.QuerySet):
    def visible_to(self, user) -> InspectionQuerySet:
        """Inspections of an area in scope; a concealed round (暗访) only shows, until it ends, to the
        supervisors over its area and to its own inspectors."""
        from campaigns.models import Membership
        from campaigns.scope import role_paths, scope_paths, scope_q

        if scope_paths(user) is None:
            return self
        if not getattr(user, "is_authenticated", False):
            return self.none()
        office = Q()
        for path in role_paths(user, [Membership.Role.SUPERVISOR]):
            office |= Q(unit__path__startswith=path)
        hidden = Q(concealed=True, ends_on__gte=timezone.localdate()) & ~office & ~Q(inspectors=user)
        return self.filter(scope_q(user, "unit__path")).exclude(hidden)


class Inspection(TimeStampedModel):
    """An inspection round (暗访, 实地测评, 督查, 自查, 市民找差): who went out,
    when, over which area. Its visits and findings are the evidence."""

    class Kind(models.TextChoices):
        UNANNOUNCED = "unannounced", _("unannounced visit")
        FIELD_EVALUATION = "field_evaluation", _("field evaluation")
        SUPERVISION = "supervision", _("supervision check")
        SELF_CHECK = "self_check", _("self-check")
        CITIZEN = "citizen", _("citizen fault-finding")

    class Status(models.TextChoices):
        PLANNED = "planned", _("planned")
        IN_PROGRESS = "in_progress", _("in progress")
        COMPLETED = "completed", _("completed")
        CANCELLED = "cancelled", _("cancelled")

    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="inspections", verbose_name=_("campaign")
    )
    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PLANNED)
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="inspections", verbose_name=_("area"),
        help_text=_("The unit whose territory is inspected (the city for city-wide rounds)."),
    )
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    inspectors = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="inspections", verbose_name=_("inspectors")
    )
    notes = models.TextField(_("notes"), blank=True)
    # 暗访: the units of the area must not learn of the round before it ends (a point draw's round).
    concealed = models.BooleanField(
        _("concealed until it ends"), default=False,
        help_text=_("Until the end date passes only the office over the area and the round's inspectors see it."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="created_inspections", verbose_name=_("created by"),
    )

    objects = InspectionQuerySet.as_manager()
    history = HistoricalRecords(m2m_fields=[inspectors])

    class Meta:
        verbose_name = _("inspection")
        verbose_name_plural = _("inspections")
        ordering = ["-starts_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gte=models.F("starts_on")), name="inspection_dates_ordered"),
        ]
        indexes = [
            # The inspection list of a campaign, newest first.
            models.Index(fields=["campaign", "-starts_on"], name="inspection_campaign_start_idx"),
        ]

    def __str__(self) -> str:
        return self.title


class VisitQuerySet(ScopePathsQuerySet):
    def visible_to(self, user) -> VisitQuerySet:
        """Visits at a unit in scope or at a point a department in scope supervises."""
        from campaigns.scope import path_q

        within = path_q(user, "unit_path", "department_path")
        return self if within is None else self.filter(within)


class Visit(ScopePathsModel, TimeStampedModel):
    """One inspector's stop at an evaluation point during an inspection. A
    visit with no findings is evidence of a clean place (it scores 100)."""

    inspection = models.ForeignKey(
        Inspection, on_delete=models.PROTECT, related_name="visits", verbose_name=_("inspection")
    )
    point = models.ForeignKey(Point, on_delete=models.PROTECT, related_name="visits", verbose_name=_("point"))
    # The point's territorial unit when visited, so monthly scores stay as of that time.
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="visits", verbose_name=_("territorial unit"))
    visited_at = models.DateTimeField(_("visited at"), default=timezone.now)
    inspector = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="visits",
        verbose_name=_("inspector"),
    )
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    is_clean = models.BooleanField(_("no problems found"), default=False)
    notes = models.TextField(_("notes"), blank=True)
    # Scope as columns (docs/performance.md): paths of the unit and of the point's supervising department.
    SCOPE_PATHS = {"unit_path": "unit", "department_path": "point__department"}
    unit_path = models.CharField(_("unit path"), max_length=255, blank=True, default="", editable=False)
    department_path = models.CharField(_("department path"), max_length=255, blank=True, default="", editable=False)

    objects = VisitQuerySet.as_manager()
    history = HistoricalRecords(excluded_fields=["unit_path", "department_path"])

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["inspection_id", "visited_at", "id"]
        indexes = [
            # Field score F: visits in a month at a unit's points.
            models.Index(fields=["visited_at"], name="visit_visited_at_idx"),
            models.Index(fields=["point", "visited_at"], name="visit_point_time_idx"),
            # Scoped visit lists (newest first) of a narrow scope: a prefix range on the path.
            models.Index(fields=["unit_path", "-visited_at"], opclasses=["varchar_pattern_ops", "timestamptz_ops"],
                         name="visit_unit_path_time_idx"),
            models.Index(fields=["department_path", "-visited_at"],
                         opclasses=["varchar_pattern_ops", "timestamptz_ops"], condition=~Q(department_path=""),
                         name="visit_dept_path_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.point} · {timezone.localtime(self.visited_at):%Y-%m-%d %H:%M}"


class VisitCheckQuerySet(models.QuerySet):
    def visible_to(self, user) -> VisitCheckQuerySet:
        """Checks of visits in the user's scope (the visit's path columns)."""
        from campaigns.scope import path_q

        within = path_q(user, "visit__unit_path", "visit__department_path")
        return self if within is None else self.filter(within)


class VisitCheck(models.Model):
    """One criterion (测评标准) judged at a visit: met (达标), failed (不达标) or not
    applicable (不适用), with a note. A failed check is evidence through its
    finding (linked to the criterion), which the rectification loop handles as
    any other. ``client_id`` is the id the inspector's device gave the
    submission that last wrote the row: a resend of it changes nothing."""

    class Result(models.TextChoices):
        MET = "met", _("met")
        FAILED = "failed", _("not met")
        NOT_APPLICABLE = "na", _("not applicable")

    # Results that count in a visit's criteria score (不适用 does not).
    SCORED = [Result.MET, Result.FAILED]

    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="checks", verbose_name=_("visit"))
    indicator = models.ForeignKey(
        Indicator, on_delete=models.PROTECT, related_name="visit_checks", verbose_name=_("criterion")
    )
    result = models.CharField(_("result"), max_length=10, choices=Result.choices)
    note = models.TextField(_("note"), blank=True)
    finding = models.ForeignKey(
        "Finding", on_delete=models.PROTECT, null=True, blank=True, related_name="checks", verbose_name=_("finding")
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="visit_checks",
        verbose_name=_("recorded by"),
    )
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    client_id = models.UUIDField(_("client id"), null=True, blank=True)

    objects = VisitCheckQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("checklist result")
        verbose_name_plural = _("checklist results")
        ordering = ["visit_id", "indicator_id"]
        constraints = [
            models.UniqueConstraint(fields=["visit", "indicator"], name="visitcheck_one_per_criterion"),
            models.CheckConstraint(condition=Q(result__in=["met", "failed", "na"]), name="visitcheck_result_known"),
        ]
        indexes = [
            # A resend of a submission: the visit's rows written by that client id.
            models.Index(fields=["visit", "client_id"], name="visitcheck_visit_client_idx"),
            # Lost points and the repeat rule: a criterion's results over time.
            models.Index(fields=["indicator", "result"], name="visitcheck_ind_result_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.visit_id} · {self.indicator_id} · {self.get_result_display()}"


# --- findings -----------------------------------------------------------------------------


class FindingQuerySet(ScopePathsQuerySet):
    def visible_to(self, user) -> FindingQuerySet:
        """Findings whose responsible unit or department is in the user's scope:
        ``unit_path LIKE 'p%' OR department_path LIKE 'p%'`` on the table itself."""
        from campaigns.scope import path_q

        within = path_q(user, "unit_path", "department_path")
        return self if within is None else self.filter(within)

    def open(self) -> FindingQuerySet:
        return self.filter(status__in=Finding.OPEN_STATUSES)

    def counting(self) -> FindingQuerySet:
        """Findings that deduct points: not voided, not duplicates."""
        return self.exclude(status__in=[Finding.Status.VOID, Finding.Status.DUPLICATE])


class Finding(ScopePathsModel, TimeStampedModel):
    """A problem (问题) seen at a place or reported by the hotline, a citizen, a
    volunteer or another system. The responsible unit answers for it; once
    dispatched it is fixed through a rectification task."""

    class Source(models.TextChoices):
        INSPECTION = "inspection", _("inspection")
        HOTLINE = "hotline", _("12345 hotline")
        CITIZEN = "citizen", _("citizen report")
        VOLUNTEER = "volunteer", _("volunteer")
        API = "api", _("external system")
        MEDIA = "media", _("media")

    class Status(models.TextChoices):
        NEW = "new", _("awaiting triage")
        DISPATCHED = "dispatched", _("being rectified")
        CLOSED = "closed", _("closed")
        DUPLICATE = "duplicate", _("duplicate")
        VOID = "void", _("void")

    OPEN_STATUSES = [Status.NEW, Status.DISPATCHED]

    uid = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, null=True, blank=True, related_name="findings", verbose_name=_("campaign")
    )
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, default=Source.INSPECTION)
    external_id = models.CharField(_("external id"), max_length=100, null=True, blank=True)
    # Chosen by the inspector's phone when the form is filled (docs/offline.md): a
    # resend of the same draft (lost answer, offline outbox) finds this row again.
    client_id = models.UUIDField(_("client id"), null=True, blank=True, editable=False)
    visit = models.ForeignKey(
        Visit, on_delete=models.PROTECT, null=True, blank=True, related_name="findings", verbose_name=_("visit")
    )
    point = models.ForeignKey(
        Point, on_delete=models.PROTECT, null=True, blank=True, related_name="findings", verbose_name=_("point")
    )
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="findings", verbose_name=_("responsible unit")
    )
    department = models.ForeignKey(
        Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="department_findings",
        verbose_name=_("supervising department"),
    )
    indicator = models.ForeignKey(
        Indicator, on_delete=models.PROTECT, null=True, blank=True, related_name="findings",
        verbose_name=_("indicator"),
    )
    category = models.ForeignKey(
        FindingCategory, on_delete=models.PROTECT, related_name="findings", verbose_name=_("category")
    )
    severity = models.CharField(_("severity"), max_length=20, choices=Severity.choices)
    description = models.TextField(_("description"))
    address = models.CharField(_("location"), max_length=300, blank=True)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    observed_at = models.DateTimeField(_("observed at"), default=timezone.now)
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="reported_findings",
        verbose_name=_("reporter"),
    )
    reporter_name = models.CharField(_("reporter name"), max_length=100, blank=True)
    reporter_contact = models.CharField(_("reporter contact"), max_length=100, blank=True)
    # An earlier finding of the same category at the same point within 30 days:
    # it deducts double in the monthly score. Set once, at recording time.
    is_repeat = models.BooleanField(_("repeat problem"), default=False)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.NEW)
    duplicate_of = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="duplicates",
        verbose_name=_("duplicate of"),
    )
    # 回头看: a re-check found the closed problem back. Same point and category as the original; it
    # counts as a repeat (``is_repeat``) whatever the time since the original (docs/rectification.md).
    recurrence_of = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="recurrences",
        verbose_name=_("recurrence of"),
    )
    void_reason = models.CharField(_("reason for voiding"), max_length=300, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # 回头看, stored (inspections/recurrence.py): when the problem of this closed finding was first
    # seen again — the observed_at of the first counting finding of the same category at the same
    # point observed after the closure; NULL while it has not come back (and for open findings).
    recurred_at = models.DateTimeField(_("came back at"), null=True, blank=True, editable=False)
    # Scope as columns (docs/performance.md): paths of the responsible unit and the department.
    SCOPE_PATHS = {"unit_path": "unit", "department_path": "department"}
    unit_path = models.CharField(_("unit path"), max_length=255, blank=True, default="", editable=False)
    department_path = models.CharField(_("department path"), max_length=255, blank=True, default="", editable=False)

    objects = FindingQuerySet.as_manager()
    history = HistoricalRecords(excluded_fields=["unit_path", "department_path", "recurred_at"])

    class Meta:
        verbose_name = _("finding")
        verbose_name_plural = _("findings")
        ordering = ["-observed_at", "-id"]
        constraints = [
            # Idempotent ingest: the hotline may push the same case twice.
            models.UniqueConstraint(
                fields=["source", "external_id"], condition=Q(external_id__isnull=False),
                name="finding_external_id_unique_per_source",
            ),
            # Exactly once from the offline outbox: one row per client-generated id, whoever sends it.
            models.UniqueConstraint(
                fields=["client_id"], condition=Q(client_id__isnull=False), name="finding_client_id_unique",
            ),
            models.CheckConstraint(
                condition=~Q(status="duplicate") | Q(duplicate_of__isnull=False), name="finding_duplicate_has_original"
            ),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True) | Q(latitude__gte=-90, latitude__lte=90),
                name="finding_latitude_range",
            ),
            models.CheckConstraint(
                condition=Q(longitude__isnull=True) | Q(longitude__gte=-180, longitude__lte=180),
                name="finding_longitude_range",
            ),
        ]
        indexes = [
            # Every finding list in its default order (newest first): a scoped list walks this
            # index and checks the scope per row (a hashed subplan), stopping after one page.
            models.Index(fields=["-observed_at", "-id"], name="finding_observed_id_idx"),
            # The API's cursor pages (newest first by creation). It also carries the columns of the
            # scope and of the text search, so that a search page's ids are read from the index alone
            # (scope and text tested on the index entries, no table visit: 122 buffers instead of
            # 8,300 at bench-1M). PostgreSQL only; elsewhere the same index without the copies.
            models.Index(fields=["-created_at", "-id"], include=["unit_path", "department_path", "description",
                                                                 "address"], name="finding_created_cover_idx"),
            # The finding list (newest first) filtered by status; the triage queue (status=new).
            models.Index(fields=["status", "-observed_at"], name="finding_status_observed_idx"),
            # Monthly score: findings of a month per campaign.
            models.Index(fields=["campaign", "observed_at"], name="finding_campaign_observed_idx"),
            # Repeat detection and duplicate suggestions: same point and category, recent.
            models.Index(fields=["point", "category", "observed_at"], name="finding_point_cat_time_idx"),
            # A narrow scope's list (a street, a grid), newest first: a prefix range on the path.
            models.Index(fields=["unit_path", "-observed_at", "-id"],
                         opclasses=["varchar_pattern_ops", "timestamptz_ops", "int8_ops"],
                         name="finding_unit_path_obs_idx"),
            # A department's findings, newest first (only rows with a department).
            models.Index(fields=["department_path", "-observed_at"],
                         opclasses=["varchar_pattern_ops", "timestamptz_ops"], condition=~Q(department_path=""),
                         name="finding_dept_path_obs_idx"),
            # The list filtered by category (a literal id list) and status.
            models.Index(fields=["category", "status", "-observed_at"], name="finding_cat_status_obs_idx"),
            # The API's list (newest first by creation) filtered by category and status: walked in order
            # and stopped after a page (bench-1M, a district's dispatched findings of one category: 2,774 → 822
            # buffers, no sort). The scope paths are tested on the row (INCLUDE would not spare the heap visit
            # of a plain index scan and would make the index 60 % bigger).
            models.Index(fields=["category", "status", "-created_at", "-id"], name="finding_cat_status_created_idx"),
            # Recurrence rates (回头看): a campaign's findings closed in a range.
            models.Index(fields=["campaign", "closed_at"], condition=Q(status="closed"), name="finding_closed_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.category} · {self.unit}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


def photo_path(instance, filename: str) -> str:
    """Random names: nothing about the file, the finding or the uploader leaks."""
    now = timezone.now()
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "jpg"
    return f"photos/{now:%Y/%m}/{uuid.uuid4().hex}.{ext}"


class PhotoBase(models.Model):
    """A re-encoded evidence photo (no EXIF/GPS) and its thumbnail."""

    image = models.ImageField(
        _("photo"), upload_to=photo_path, storage=photo_storage, max_length=200,
        width_field="width", height_field="height",
    )
    thumbnail = models.ImageField(_("thumbnail"), upload_to=photo_path, storage=photo_storage, max_length=200)
    width = models.PositiveIntegerField(_("width"), default=0)
    height = models.PositiveIntegerField(_("height"), default=0)
    size = models.PositiveIntegerField(_("size"), default=0)
    content_type = models.CharField(_("content type"), max_length=40)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("uploaded by"),
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    class Meta:
        abstract = True


class FindingPhoto(PhotoBase):
    """A "before" photo of a finding (整改前)."""

    finding = models.ForeignKey(Finding, on_delete=models.PROTECT, related_name="photos", verbose_name=_("finding"))

    class Meta:
        verbose_name = _("finding photo")
        verbose_name_plural = _("finding photos")
        ordering = ["finding_id", "id"]

    def __str__(self) -> str:
        return f"{self.finding_id} · {self.pk}"


# --- rectification ------------------------------------------------------------------------


# Urgency classes of the task lists' order: 0 red, 1 yellow, 2 green, 3 finished.
URGENCY_RED, URGENCY_YELLOW, URGENCY_GREEN, URGENCY_FINISHED = 0, 1, 2, 3


def urgency_q(urgency: int, now: datetime) -> Q:
    """The rows of one urgency class, written as ranges an index can serve (the
    same rows as ``with_light()``'s ``urgency`` CASE, which no index can):

    - 0 red: open and ``due_at < now``;
    - 1 yellow: open, ``due_at >= now`` and ``warn_at <= now``;
    - 2 green: open, ``due_at >= now`` and ``warn_at > now``;
    - 3 finished: not open.

    Each class is read in ``(due_at, id)`` order from the open tasks' partial
    indexes (``task_open_due_idx``, ``task_open_unit_path_due_idx``) or, for
    finished tasks, ``task_due_id_idx`` (inspections/urgency.py, docs/performance.md)."""
    open_ = Q(status__in=RectificationTask.OPEN_STATUSES)
    if urgency == URGENCY_RED:
        return open_ & Q(due_at__lt=now)
    if urgency == URGENCY_YELLOW:
        return open_ & Q(due_at__gte=now, warn_at__lte=now)
    if urgency == URGENCY_GREEN:
        return open_ & Q(due_at__gte=now, warn_at__gt=now)
    if urgency == URGENCY_FINISHED:
        return ~open_
    raise ValueError(urgency)


class TaskQuerySet(ScopePathsQuerySet):
    def visible_to(self, user) -> TaskQuerySet:
        """Tasks assigned to a unit in scope, plus those of findings a department in
        scope supervises: both are path columns on the task, never a subquery. The
        department's path is also tested non-blank, so that a narrow scope (a grid, a
        street) reads both path indexes instead of the whole table (``path_q``). Tasks
        only: on findings, whose category lists read the category index, it lets the
        planner AND a wide scope's whole path index into the plan (bench-1M: 1 → 28 ms)."""
        from campaigns.scope import path_q

        within = path_q(user, "unit_path", "department_path", nonblank=["department_path"])
        return self if within is None else self.filter(within)

    def open(self) -> TaskQuerySet:
        return self.filter(status__in=RectificationTask.OPEN_STATUSES)

    def overdue(self, now: datetime | None = None) -> TaskQuerySet:
        return self.open().filter(due_at__lt=now or timezone.now())

    def not_overdue(self, now: datetime | None = None) -> TaskQuerySet:
        return self.exclude(status__in=RectificationTask.OPEN_STATUSES, due_at__lt=now or timezone.now())

    def in_urgency(self, urgency: int, now: datetime | None = None) -> TaskQuerySet:
        """The tasks of one urgency slice (see ``urgency_q``)."""
        return self.filter(urgency_q(urgency, now or timezone.now()))

    def with_light(self, now: datetime | None = None) -> TaskQuerySet:
        """Annotate ``light`` (green/yellow/red; blank for finished tasks) and
        ``urgency`` (0 red, 1 yellow, 2 green, 3 finished) for sorting."""
        now = now or timezone.now()
        Light = RectificationTask.Light
        open_ = Q(status__in=RectificationTask.OPEN_STATUSES)
        return self.annotate(
            light=Case(
                When(open_ & Q(due_at__lt=now), then=Value(Light.RED)),
                When(open_ & Q(warn_at__lte=now), then=Value(Light.YELLOW)),
                When(open_, then=Value(Light.GREEN)),
                default=Value(""),
                output_field=models.CharField(),
            ),
            urgency=Case(
                When(open_ & Q(due_at__lt=now), then=Value(0)),
                When(open_ & Q(warn_at__lte=now), then=Value(1)),
                When(open_, then=Value(2)),
                default=Value(3),
                output_field=models.IntegerField(),
            ),
        )


class RectificationTask(ScopePathsModel, TimeStampedModel):
    """A rectification task (整改任务): the responsible unit must fix a finding
    by ``due_at`` and report back with "after" photos; a supervisor verifies.
    At most one task per finding is open at a time."""

    class Status(models.TextChoices):
        ASSIGNED = "assigned", _("assigned")
        IN_PROGRESS = "in_progress", _("in progress")
        SUBMITTED = "submitted", _("submitted for verification")
        RETURNED = "returned", _("returned for rework")
        CLOSED = "closed", _("closed")
        VOID = "void", _("void")

    class Supervision(models.TextChoices):
        NONE = "none", _("none")
        SUPERVISED = "supervised", _("supervised")  # 督办
        LISTED = "listed", _("listed supervision")  # 挂牌督办

    class Light(models.TextChoices):
        GREEN = "green", _("on time")
        YELLOW = "yellow", _("due soon")
        RED = "red", _("overdue")

    OPEN_STATUSES = [Status.ASSIGNED, Status.IN_PROGRESS, Status.SUBMITTED, Status.RETURNED]
    SUPERVISION_ORDER = [Supervision.NONE, Supervision.SUPERVISED, Supervision.LISTED]
    # Share of the allowed time after which the light turns yellow (and the unit is reminded).
    WARN_SHARE = 0.8

    finding = models.ForeignKey(Finding, on_delete=models.PROTECT, related_name="tasks", verbose_name=_("finding"))
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="tasks", verbose_name=_("assigned unit"))
    # The finding's campaign, copied at dispatch, so task figures never join the findings table.
    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, null=True, blank=True, related_name="tasks", verbose_name=_("campaign")
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.ASSIGNED)
    supervision = models.CharField(
        _("supervision level"), max_length=20, choices=Supervision.choices, default=Supervision.NONE
    )
    instructions = models.TextField(_("instructions"), blank=True)
    dispatched_at = models.DateTimeField(_("dispatched at"), default=timezone.now)
    dispatched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="dispatched_tasks",
        verbose_name=_("dispatched by"),
    )
    original_due_at = models.DateTimeField(_("original deadline"))
    due_at = models.DateTimeField(_("deadline"))
    warn_at = models.DateTimeField(_("reminder time"), help_text=_("When four fifths of the allowed time have passed."))
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="closed_tasks",
        verbose_name=_("verified by"),
    )
    voided_at = models.DateTimeField(_("voided at"), null=True, blank=True)
    void_reason = models.CharField(_("reason for voiding"), max_length=300, blank=True)
    rework_count = models.PositiveIntegerField(_("rework count"), default=0)
    extension_count = models.PositiveIntegerField(_("extensions granted"), default=0)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    # Scope as columns (docs/performance.md): paths of the assigned unit and of the
    # finding's supervising department (kept when the finding's department changes).
    SCOPE_PATHS = {"unit_path": "unit", "department_path": "finding__department"}
    unit_path = models.CharField(_("unit path"), max_length=255, blank=True, default="", editable=False)
    department_path = models.CharField(_("department path"), max_length=255, blank=True, default="", editable=False)
    # The finding's category, copied (as the campaign): the category filter of the task lists
    # reads the task's own column through the indexes below, not a join to the findings.
    # Set when the task is created (a finding's category never changes after that; a service
    # that changes it must update its tasks); tests/inspections/test_task_category.py
    # compares every task with its finding.
    category = models.ForeignKey("FindingCategory", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+", db_index=False, editable=False, verbose_name=_("category"))

    objects = TaskQuerySet.as_manager()
    history = HistoricalRecords(excluded_fields=["unit_path", "department_path", "category"])

    class Meta:
        verbose_name = _("rectification task")
        verbose_name_plural = _("rectification tasks")
        ordering = ["due_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["finding"], condition=Q(status__in=["assigned", "in_progress", "submitted", "returned"]),
                name="task_one_open_per_finding",
            ),
            models.CheckConstraint(condition=Q(due_at__gte=models.F("dispatched_at")), name="task_due_after_dispatch"),
        ]
        indexes = [
            # Task lists in their default order (deadline first), walked page by page.
            models.Index(fields=["due_at", "id"], name="task_due_id_idx"),
            # The API's cursor pages (newest first by creation).
            models.Index(fields=["-created_at", "-id"], name="task_created_id_idx"),
            # The task list page's capped count (urgency.capped_count: in primary-key order, stopping after
            # cap + 1) tests the campaign and the scope on the index entries without visiting the table
            # (bench-1M, a district: 5.3 → 2.5–3.0 ms).
            models.Index(fields=["id"], include=["campaign", "unit_path", "department_path"],
                         name="task_scope_count_idx"),
            # The same pages of one category (?category=N, its ids a literal list), and of its open
            # (and overdue: ?overdue=true) tasks.
            models.Index(fields=["category", "-created_at", "-id"], name="task_category_created_idx"),
            models.Index(fields=["category", "-created_at", "-id"], name="task_open_category_created_idx",
                         condition=Q(status__in=["assigned", "in_progress", "submitted", "returned"])),
            # A scope's task list by deadline, and its workbench (open tasks by deadline).
            models.Index(fields=["unit_path", "due_at", "id"],
                         opclasses=["varchar_pattern_ops", "timestamptz_ops", "int8_ops"],
                         name="task_unit_path_due_idx"),
            models.Index(fields=["department_path", "due_at"],
                         opclasses=["varchar_pattern_ops", "timestamptz_ops"], condition=~Q(department_path=""),
                         name="task_dept_path_due_idx"),
            # The urgency slices of the task list and the workbench (urgency_q): open tasks by
            # deadline, walked in order for wide scopes, by path prefix then deadline for narrow ones.
            models.Index(fields=["due_at", "id"], condition=Q(status__in=["assigned", "in_progress", "submitted", "returned"]),
                         name="task_open_due_idx"),
            models.Index(fields=["unit_path", "due_at", "id"],
                         opclasses=["varchar_pattern_ops", "timestamptz_ops", "int8_ops"],
                         condition=Q(status__in=["assigned", "in_progress", "submitted", "returned"]), name="task_open_unit_path_due_idx"),
            # The API's list of open tasks (newest first by creation, e.g. ?overdue=true): walked in order,
            # closed tasks skipped by the index (bench-1M, a district: 3,138 → 1,074 buffers).
            models.Index(fields=["-created_at", "-id"],
                         condition=Q(status__in=["assigned", "in_progress", "submitted", "returned"]),
                         name="task_open_created_id_idx"),
            # Reminder scan and rectification score: open/closed tasks by deadline.
            models.Index(fields=["status", "due_at"], name="task_status_due_idx"),
            models.Index(fields=["status", "warn_at"], name="task_status_warn_idx"),
        ]

    def __str__(self) -> str:
        return f"{_('Task')} #{self.pk} · {self.unit}"

    def save(self, *args, **kwargs) -> None:
        # The campaign is a denormalised copy of the finding's (the services set it; this keeps
        # direct creates — fixtures, the admin, loaders — consistent).
        if self.campaign_id is None and self.finding_id is not None:
            self.campaign_id = self.finding.campaign_id
        if self.category_id is None and self.finding_id is not None:
            self.category_id = self.finding.category_id
        super().save(*args, **kwargs)

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @classmethod
    def light_of(cls, status: str, due_at: datetime, warn_at: datetime, now: datetime) -> str:
        """Traffic light of a task's columns at ``now`` (rows read without instances use it too):
        green before 80% of the allowed time, yellow to the deadline, red after; none when closed."""
        if status not in cls.OPEN_STATUSES:
            return ""
        if now > due_at:
            return cls.Light.RED.value
        if now >= warn_at:
            return cls.Light.YELLOW.value
        return cls.Light.GREEN.value

    def light_at(self, now: datetime | None = None) -> str:
        return self.light_of(self.status, self.due_at, self.warn_at, now or timezone.now())

    @property
    def light(self) -> str:
        # Prefer the SQL annotation (with_light) when present.
        return self.__dict__.get("light") or self.light_at()

    @light.setter
    def light(self, value: str) -> None:
        self.__dict__["light"] = value

    @property
    def closed_on_time(self) -> bool | None:
        if self.status != self.Status.CLOSED or self.closed_at is None:
            return None
        return self.closed_at <= self.due_at


class TaskEvent(models.Model):
    """One step on a task's timeline: who did what, when, from which status to
    which, with their note. Rework (verify fail) events drive the rework rate."""

    class Action(models.TextChoices):
        DISPATCH = "dispatch", _("dispatched")
        ACCEPT = "accept", _("accepted")
        SUBMIT = "submit", _("submitted")
        VERIFY_PASS = "verify_pass", _("verified: passed")
        VERIFY_FAIL = "verify_fail", _("verified: returned")
        EXTENSION_REQUEST = "extension_request", _("extension requested")
        EXTENSION_APPROVE = "extension_approve", _("extension approved")
        EXTENSION_REFUSE = "extension_refuse", _("extension refused")
        ESCALATE = "escalate", _("supervision raised")
        VOID = "void", _("voided")
        REMIND = "remind", _("reminder sent")

    task = models.ForeignKey(
        RectificationTask, on_delete=models.PROTECT, related_name="events", verbose_name=_("task")
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="task_events",
        verbose_name=_("actor"), help_text=_("Empty for automatic steps."),
    )
    action = models.CharField(_("action"), max_length=30, choices=Action.choices)
    from_status = models.CharField(_("from"), max_length=20, choices=RectificationTask.Status.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=20, choices=RectificationTask.Status.choices)
    note = models.TextField(_("note"), blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("task event")
        verbose_name_plural = _("task events")
        ordering = ["task_id", "created_at", "id"]
        indexes = [
            # Rework counts up to a month's end; the timeline of a task.
            models.Index(fields=["action", "created_at"], name="taskevent_action_time_idx"),
            models.Index(fields=["task", "created_at"], name="taskevent_task_time_idx"),
        ]

    @property
    def display_note(self) -> str:
        """The note in the reader's language when it is a system text (``data["note_code"]``, see
        notifications/messages.py); a note written by a person as written."""
        from notifications.messages import render

        return render((self.data or {}).get("note_code"), self.note)

    def __str__(self) -> str:
        return f"{self.task_id} · {self.get_action_display()}"


class Submission(models.Model):
    """A unit's report that the problem is fixed (整改反馈): a note and "after"
    photos, judged by a supervisor as passed or failed."""

    class Outcome(models.TextChoices):
        PENDING = "pending", _("awaiting verification")
        PASSED = "passed", _("passed")
        FAILED = "failed", _("failed")

    task = models.ForeignKey(
        RectificationTask, on_delete=models.PROTECT, related_name="submissions", verbose_name=_("task")
    )
    round = models.PositiveIntegerField(_("round"), default=1)
    note = models.TextField(_("report"))
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="submissions", verbose_name=_("submitted by")
    )
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, default=Outcome.PENDING)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="reviewed_submissions",
        verbose_name=_("reviewed by"),
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    review_note = models.TextField(_("review note"), blank=True)

    class Meta:
        verbose_name = _("submission")
        verbose_name_plural = _("submissions")
        ordering = ["task_id", "submitted_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["task"], condition=Q(outcome="pending"), name="submission_one_pending_per_task"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task_id} · {self.round}"


class SubmissionPhoto(PhotoBase):
    """An "after" photo of a submission (整改后)."""

    submission = models.ForeignKey(
        Submission, on_delete=models.PROTECT, related_name="photos", verbose_name=_("submission")
    )

    class Meta:
        verbose_name = _("submission photo")
        verbose_name_plural = _("submission photos")
        ordering = ["submission_id", "id"]

    def __str__(self) -> str:
        return f"{self.submission_id} · {self.pk}"


class ExtensionRequest(models.Model):
    """A unit's request for more time (延期申请). The deadline moves only when a
    supervisor approves it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        APPROVED = "approved", _("approved")
        REFUSED = "refused", _("refused")

    task = models.ForeignKey(
        RectificationTask, on_delete=models.PROTECT, related_name="extension_requests", verbose_name=_("task")
    )
    reason = models.TextField(_("reason"))
    requested_due_at = models.DateTimeField(_("requested deadline"))
    previous_due_at = models.DateTimeField(_("deadline before"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="extension_requests",
        verbose_name=_("requested by"),
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="decided_extension_requests", verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("extension request")
        verbose_name_plural = _("extension requests")
        ordering = ["task_id", "requested_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["task"], condition=Q(status="pending"), name="extension_one_pending_per_task"),
        ]

    def __str__(self) -> str:
        return f"{self.task_id} · {self.get_status_display()}"


# --- dashboard rollups: kept by the services through inspections/rollups.py, rebuilt by `rebuild_rollups` ---


class FindingTally(models.Model):
    """How many findings of one campaign, unit, observed month, category and point type are in
    one status: the dashboards' finding figures sum these instead of the findings table. A row
    ``below`` counts the findings of the unit's descendants (kept for every proper ancestor of a
    finding's unit), so a unit's subtree is its rows, own and below: O(1) rows per figure, whatever
    the number of units under it."""

    campaign_key = models.IntegerField(help_text="Campaign id; 0 = no campaign.")
    unit = models.ForeignKey("campaigns.Unit", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    below = models.BooleanField(default=False, help_text="Counts the unit's descendants, not the unit itself.")
    month = models.DateField()
    category = models.ForeignKey("inspections.FindingCategory", on_delete=models.DO_NOTHING, db_constraint=False,
                                 related_name="+")
    point_type_key = models.IntegerField(help_text="The point's type id; 0 = no point.")
    status = models.CharField(max_length=20)
    n = models.IntegerField(default=0)

    class Meta:
        ordering = ["campaign_key", "month", "unit_id"]
        constraints = [
            # The upsert's conflict target; also the month figures' index (campaign, month …).
            models.UniqueConstraint(fields=["campaign_key", "month", "unit", "category", "point_type_key", "status",
                                            "below"], name="finding_tally_key"),
        ]
        # Covering indexes for the dashboards' reads: inspections/migrations/0009 (INCLUDE on PostgreSQL).


class ClosureTally(models.Model):
    """What was closed in one month for one campaign and unit: findings (by responsible unit) and
    tasks (by assigned unit) with the facts the on-time, rework and days-to-close figures need;
    ``below``: those of the unit's descendants (as in FindingTally)."""

    campaign_key = models.IntegerField(help_text="Campaign id; 0 = no campaign.")
    unit = models.ForeignKey("campaigns.Unit", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    below = models.BooleanField(default=False, help_text="Counts the unit's descendants, not the unit itself.")
    month = models.DateField()
    findings_closed = models.IntegerField(default=0)
    tasks_closed = models.IntegerField(default=0)
    tasks_on_time = models.IntegerField(default=0)
    tasks_reworked = models.IntegerField(default=0)
    task_micros = models.BigIntegerField(default=0, help_text="Σ (closed_at − dispatched_at) in microseconds.")

    class Meta:
        ordering = ["campaign_key", "month", "unit_id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign_key", "month", "unit", "below"], name="closure_tally_key"),
        ]


# --- 回头看: re-checks of closed findings ---------------------------------------------------------


class RecheckRuleQuerySet(models.QuerySet):
    def visible_to(self, user) -> RecheckRuleQuerySet:
        from campaigns.models import Campaign as _Campaign

        return self.filter(campaign__in=_Campaign.objects.visible_to(user))


class RecheckRule(TimeStampedModel):
    """A campaign's 回头看 rule: every run draws ``share_percent`` % of the findings closed between
    ``closed_min_days`` and ``closed_max_days`` days ago (and every severe one when asked) for a
    re-check visit. Each closed finding is looked at by a rule once: a run covers the closures since
    the previous run's window."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="recheck_rules",
                                 verbose_name=_("campaign"))
    name = models.CharField(_("name"), max_length=120)
    share_percent = models.PositiveSmallIntegerField(
        _("share drawn (%)"), default=20, validators=[MinValueValidator(1), MaxValueValidator(100)])
    closed_min_days = models.PositiveSmallIntegerField(_("closed at least (days ago)"), default=15)
    closed_max_days = models.PositiveSmallIntegerField(_("closed at most (days ago)"), default=30)
    include_severe = models.BooleanField(_("always re-check severe findings"), default=True)
    active = models.BooleanField(_("active"), default=True,
                                 help_text=_("Active rules are run every morning by the scheduler."))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("created by"))

    objects = RecheckRuleQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("re-check rule")
        verbose_name_plural = _("re-check rules")
        ordering = ["campaign_id", "name", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(closed_max_days__gt=models.F("closed_min_days")),
                                   name="recheck_rule_window_ordered"),
            models.CheckConstraint(condition=Q(share_percent__gte=1, share_percent__lte=100),
                                   name="recheck_rule_share_range"),
        ]

    def __str__(self) -> str:
        return self.name


class RecheckRun(models.Model):
    """One draw of a rule: the closure window it covered, the random seed (the same seed over the
    same candidates gives the same draw), who or what ran it and the inspection it planned."""

    class Trigger(models.TextChoices):
        BEAT = "beat", _("scheduler")
        MANUAL = "manual", _("by hand")

    rule = models.ForeignKey(RecheckRule, on_delete=models.PROTECT, related_name="runs", verbose_name=_("rule"))
    trigger = models.CharField(_("started by"), max_length=10, choices=Trigger.choices)
    run_on = models.DateField(_("run on"))
    seed = models.BigIntegerField(_("random seed"))
    closed_from = models.DateTimeField(_("closed from"))
    closed_until = models.DateTimeField(_("closed before"))
    candidate_count = models.PositiveIntegerField(_("candidates"), default=0)
    drawn_count = models.PositiveIntegerField(_("drawn"), default=0)
    run_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="+", verbose_name=_("run by"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("re-check draw")
        verbose_name_plural = _("re-check draws")
        ordering = ["-created_at", "-id"]
        constraints = [
            # The scheduler runs a rule once a day, however often beat fires.
            models.UniqueConstraint(fields=["rule", "run_on"], condition=Q(trigger="beat"),
                                    name="recheck_run_once_a_day"),
        ]

    def __str__(self) -> str:
        return f"{self.rule} · {self.run_on}"


class RecheckQuerySet(models.QuerySet):
    def visible_to(self, user) -> RecheckQuerySet:
        """Re-checks of findings in the user's scope."""
        from campaigns.scope import path_q

        within = path_q(user, "finding__unit_path", "finding__department_path")
        return self if within is None else self.filter(within)


class Recheck(TimeStampedModel):
    """A planned re-check visit (回头看) of one closed finding's point; the inspector records
    whether the problem came back (a new finding linked to the original) or stayed fixed."""

    class Status(models.TextChoices):
        PLANNED = "planned", _("planned")
        FIXED = "fixed", _("still fixed")
        RECURRED = "recurred", _("came back")

    run = models.ForeignKey(RecheckRun, on_delete=models.PROTECT, related_name="rechecks", verbose_name=_("draw"))
    rule = models.ForeignKey(RecheckRule, on_delete=models.PROTECT, related_name="rechecks", verbose_name=_("rule"))
    finding = models.ForeignKey(Finding, on_delete=models.PROTECT, related_name="rechecks",
                                verbose_name=_("closed finding"))
    point = models.ForeignKey(Point, on_delete=models.PROTECT, related_name="rechecks", verbose_name=_("point"))
    severe = models.BooleanField(_("drawn as severe"), default=False)
    # The planned visit belongs to a re-check inspection of the point's district (its inspectors
    # can record it), one per district and run.
    inspection = models.ForeignKey(Inspection, on_delete=models.PROTECT, related_name="rechecks",
                                   verbose_name=_("inspection"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PLANNED)
    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, null=True, blank=True, related_name="rechecks",
                              verbose_name=_("visit"))
    recurrence = models.ForeignKey(Finding, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                   verbose_name=_("new finding"))
    checked_at = models.DateTimeField(_("checked at"), null=True, blank=True)
    checked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("checked by"))

    objects = RecheckQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("re-check")
        verbose_name_plural = _("re-checks")
        ordering = ["-created_at", "-id"]
        constraints = [
            # A rule re-checks a closed finding once, however often it runs.
            models.UniqueConstraint(fields=["rule", "finding"], name="recheck_once_per_rule"),
        ]
        indexes = [models.Index(fields=["status", "-created_at"], name="recheck_status_created_idx")]

    def __str__(self) -> str:
        return f"{self.finding_id} · {self.get_status_display()}"


class RecurrenceTally(models.Model):
    """回头看 for the dashboards' panel: how many closed findings of one campaign, responsible unit and
    department (0: none), closed in one month (Asia/Shanghai), came back within 30, 60 or 90 days
    (``bucket`` 30/60/90; 0 = not within 90 days or not at all). Unit 0 (department 0) holds the
    campaign's totals, so the city's rates read a dozen rows. Keyed by ids, so a unit move needs no
    rewrite: the panel filters the unit's and department's current paths by join. Kept by
    inspections/recurrence.py in the services' transactions; ``rollups.rebuild`` refills it."""

    NOT_BACK = 0

    campaign_key = models.IntegerField(help_text="Campaign id; 0 = no campaign.")
    unit = models.ForeignKey("campaigns.Unit", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    department = models.ForeignKey("campaigns.Unit", on_delete=models.DO_NOTHING, db_constraint=False, null=True,
                                   related_name="+")
    month = models.DateField()
    bucket = models.SmallIntegerField()
    n = models.IntegerField(default=0)

    class Meta:
        ordering = ["campaign_key", "month", "unit_id"]
        constraints = [
            # The upsert's conflict target. A finding without department is stored as department 0 (no
            # NULL in the key, so the constraint exists on SQLite too); the foreign key stays nullable so
            # that joins through it are outer joins.
            models.UniqueConstraint(fields=["campaign_key", "month", "unit", "department", "bucket"],
                                    name="recurrence_month_key"),
        ]


class ChronicPoint(models.Model):
    """顽疾点位, stored: a point of one campaign where at least two of the problems closed in the
    recurrence panel's window ending with ``month`` (inspections/recurrence.py, ``window_start``) came
    back within 90 days — one row per responsible unit and department (0: none) of those closures,
    with their counts, so that a scope taking only part of them sums the rest. Points below the
    threshold have no row: the panel's 顽疾点位 read O(chronic points), not O(points). Kept by
    inspections/recurrence.py with the recurrence tally; ``rollups.rebuild`` refills it."""

    campaign_key = models.IntegerField(help_text="Campaign id; 0 = no campaign.")
    month = models.DateField(help_text="The window's last month (its first day).")
    point = models.ForeignKey("campaigns.Point", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    unit = models.ForeignKey("campaigns.Unit", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    department = models.ForeignKey("campaigns.Unit", on_delete=models.DO_NOTHING, db_constraint=False, null=True,
                                   related_name="+")
    closed = models.IntegerField(default=0)
    back_30 = models.IntegerField(default=0)
    back_60 = models.IntegerField(default=0)
    back_90 = models.IntegerField(default=0)

    class Meta:
        ordering = ["campaign_key", "month", "point_id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign_key", "month", "point", "unit", "department"],
                                    name="chronic_point_key"),
        ]
