"""Evaluation rounds the office plans ahead: point draws (模拟测评 samples
drawn the way the national test draws them) and recurring inspection
schedules (每两个月一次全市实地测评, 每周街道自查, 日常督查). Both end in an
ordinary inspection (inspections app) with planned stops for its
inspectors; the visits and findings are recorded there as always."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from campaigns.models import Campaign, Point, Unit
from civportal.models import TimeStampedModel
from inspections.models import Inspection


def _office_q(user, field: str) -> Q:
    """Rows whose ``field`` (a unit path) lies under a unit where the user is a supervisor."""
    from campaigns.models import Membership
    from campaigns.scope import role_paths

    office = Q(pk__in=[])
    for path in role_paths(user, [Membership.Role.SUPERVISOR]):
        office |= Q(**{f"{field}__startswith": path})
    return office


class PointDrawQuerySet(models.QuerySet):
    def visible_to(self, user) -> PointDrawQuerySet:
        """暗访: until the round ends only the office over the area and the round's inspectors see
        the draw; afterwards everyone whose scope covers the area or one of the drawn points."""
        from campaigns.scope import scope_paths, scope_q

        if scope_paths(user) is None:
            return self
        if not getattr(user, "is_authenticated", False):
            return self.none()
        mine = PlannedVisit.objects.filter(draw_id=OuterRef("pk"), inspector=user)
        in_scope_points = PlannedVisit.objects.filter(scope_q(user, "point__unit__path"), draw_id=OuterRef("pk"))
        ended = Q(ends_on__lt=timezone.localdate()) & (scope_q(user, "area__path") | Exists(in_scope_points))
        return self.filter(_office_q(user, "area__path") | Exists(mine) | ended)


class PointDraw(TimeStampedModel):
    """A sample of evaluation points drawn for a round (模拟测评): per point
    type a number or a share of the candidates, stratified by the area's next
    level (districts of a city), reproducible from the stored seed and rule.
    It becomes one concealed inspection whose stops are the drawn points."""

    class Mode(models.TextChoices):
        COUNT = "count", _("a number per type")
        SHARE = "share", _("a share per type")

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="point_draws",
                                 verbose_name=_("campaign"))
    title = models.CharField(_("title"), max_length=200)
    area = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="point_draws", verbose_name=_("area"),
                             help_text=_("Points are drawn under this unit, stratified by its next level."))
    seed = models.BigIntegerField(_("random seed"))
    # {"mode": "count"|"share", "value": "10"|"0.10", "point_types": [ids], "exclude_days": K}; see services.
    rule = models.JSONField(_("rule"))
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    inspection = models.OneToOneField(Inspection, on_delete=models.PROTECT, related_name="point_draw",
                                      verbose_name=_("inspection"))
    drawn_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="point_draws",
                                 verbose_name=_("drawn by"))
    candidate_count = models.PositiveIntegerField(_("candidates"), default=0)

    objects = PointDrawQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("point draw")
        verbose_name_plural = _("point draws")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gte=models.F("starts_on")), name="point_draw_dates_ordered",
                                   violation_error_message=_("The round cannot end before it starts.")),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def concealed(self) -> bool:
        return self.ends_on >= timezone.localdate()


class PlannedVisitQuerySet(models.QuerySet):
    def visible_to(self, user) -> PlannedVisitQuerySet:
        """An inspector's own stops; the office's over its area; the units' only once the round ended."""
        from campaigns.scope import scope_paths, scope_q

        if scope_paths(user) is None:
            return self
        if not getattr(user, "is_authenticated", False):
            return self.none()
        ended = Q(inspection__ends_on__lt=timezone.localdate(), inspection__concealed=True) | Q(
            inspection__concealed=False)
        return self.filter(_office_q(user, "inspection__unit__path") | Q(inspector=user)
                           | (ended & scope_q(user, "point__unit__path")))

    def with_done(self) -> PlannedVisitQuerySet:
        """Annotate ``done``: a visit to the point was recorded in the stop's inspection."""
        from inspections.models import Visit

        return self.annotate(done=Exists(Visit.objects.filter(inspection_id=OuterRef("inspection_id"),
                                                              point_id=OuterRef("point_id"))))


class PlannedVisit(TimeStampedModel):
    """A stop an inspector is to make in a round: a drawn point (or a
    schedule's point) with the inspector it was dealt to. Recording a visit
    to that point in that inspection marks it done."""

    inspection = models.ForeignKey(Inspection, on_delete=models.PROTECT, related_name="planned_visits",
                                   verbose_name=_("inspection"))
    draw = models.ForeignKey(PointDraw, on_delete=models.PROTECT, null=True, blank=True,
                             related_name="planned_visits", verbose_name=_("point draw"))
    point = models.ForeignKey(Point, on_delete=models.PROTECT, related_name="planned_visits",
                              verbose_name=_("point"))
    stratum = models.ForeignKey(Unit, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="planned_visits", verbose_name=_("stratum"),
                                help_text=_("The district (the area's next level) the point was drawn in."))
    inspector = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="planned_visits", verbose_name=_("inspector"))
    position = models.PositiveIntegerField(_("order"), default=0)

    objects = PlannedVisitQuerySet.as_manager()

    class Meta:
        verbose_name = _("planned visit")
        verbose_name_plural = _("planned visits")
        ordering = ["inspection_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["inspection", "point"], name="planned_visit_once_per_point"),
        ]
        indexes = [
            # An inspector's own list on the phone.
            models.Index(fields=["inspector", "inspection"], name="planned_visit_inspector_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.inspection} · {self.point}"


class InspectionScheduleQuerySet(models.QuerySet):
    def visible_to(self, user) -> InspectionScheduleQuerySet:
        """Schedules over an area in scope, and those the user is assigned to."""
        from campaigns.scope import scope_paths, scope_q

        if scope_paths(user) is None:
            return self
        if not getattr(user, "is_authenticated", False):
            return self.none()
        assigned = InspectionSchedule.inspectors.through.objects.filter(
            inspectionschedule_id=OuterRef("pk"), user_id=user.pk)
        return self.filter(scope_q(user, "unit__path") | Exists(assigned))


class InspectionSchedule(TimeStampedModel):
    """A recurring round the office runs on a rhythm (每两个月全市实地测评,
    每周街道自查, 日常督查): a recurrence rule (RFC 5545, evaluated with
    dateutil), the area, the inspectors and optionally fixed points. The beat
    turns each due occurrence into one inspection, exactly once."""

    class Frequency(models.TextChoices):
        DAILY = "DAILY", _("daily")
        WEEKLY = "WEEKLY", _("weekly")
        MONTHLY = "MONTHLY", _("monthly")
        YEARLY = "YEARLY", _("yearly")

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="inspection_schedules",
                                 verbose_name=_("campaign"))
    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=Inspection.Kind.choices)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="inspection_schedules",
                             verbose_name=_("area"))
    frequency = models.CharField(_("repeats"), max_length=10, choices=Frequency.choices)
    interval = models.PositiveSmallIntegerField(_("every"), default=1,
                                                help_text=_("Every N days, weeks, months or years."))
    weekdays = models.JSONField(_("weekdays"), default=list, blank=True,
                                help_text=_("For weekly rules: 0 = Monday … 6 = Sunday; empty = the start's weekday."))
    starts_on = models.DateField(_("first occurrence on or after"))
    until = models.DateField(_("last occurrence on or before"), null=True, blank=True)
    duration_days = models.PositiveSmallIntegerField(_("days per round"), default=1)
    lead_days = models.PositiveSmallIntegerField(
        _("days ahead"), default=1, help_text=_("The inspection is created and the inspectors reminded this many "
                                                "days before the round starts."))
    inspectors = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="inspection_schedules",
                                        verbose_name=_("inspectors"))
    points = models.ManyToManyField(Point, blank=True, related_name="inspection_schedules",
                                    verbose_name=_("points"))
    active = models.BooleanField(_("active"), default=True)
    # Occurrences before this date are never created: set when the schedule is resumed or its rule edited,
    # so a pause is not back-filled and an edit cannot bring back occurrences already passed.
    not_before = models.DateField(_("not before"), null=True, blank=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="created_inspection_schedules", verbose_name=_("created by"))

    objects = InspectionScheduleQuerySet.as_manager()
    history = HistoricalRecords(m2m_fields=[inspectors])

    class Meta:
        verbose_name = _("inspection schedule")
        verbose_name_plural = _("inspection schedules")
        ordering = ["title", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(interval__gte=1), name="schedule_interval_positive",
                                   violation_error_message=_("Enter an interval from 1 to 366.")),
            models.CheckConstraint(condition=Q(duration_days__gte=1), name="schedule_duration_positive",
                                   violation_error_message=_("A round lasts at least one day.")),
            models.CheckConstraint(condition=Q(until__isnull=True) | Q(until__gte=models.F("starts_on")),
                                   name="schedule_until_after_start",
                                   violation_error_message=_("The last occurrence cannot come before the first.")),
        ]

    def __str__(self) -> str:
        return self.title

    def recurrence(self):
        """The rule as a dateutil rrule over local midnights."""
        from dateutil import rrule

        start = dt.datetime.combine(self.starts_on, dt.time())
        kwargs = {"dtstart": start, "interval": self.interval}
        if self.until:
            kwargs["until"] = dt.datetime.combine(self.until, dt.time())
        if self.frequency == self.Frequency.WEEKLY and self.weekdays:
            kwargs["byweekday"] = sorted(set(self.weekdays))
        return rrule.rrule(getattr(rrule, self.frequency), **kwargs)

    def occurrences_between(self, first: dt.date, last: dt.date) -> list[dt.date]:
        """Occurrence dates in [first, last], none before ``not_before``."""
        if self.not_before:
            first = max(first, self.not_before)
        if last < first:
            return []
        rule = self.recurrence()
        return [d.date() for d in rule.between(dt.datetime.combine(first, dt.time()),
                                               dt.datetime.combine(last, dt.time()), inc=True)]

    def next_occurrences(self, after: dt.date, count: int = 5) -> list[dt.date]:
        rule = self.recurrence()
        start = max(after, self.not_before) if self.not_before else after
        moment = dt.datetime.combine(start, dt.time()) - dt.timedelta(seconds=1)
        found = []
        for _ in range(count):
            moment = rule.after(moment)
            if moment is None:
                break
            found.append(moment.date())
        return found


class ScheduleOccurrence(models.Model):
    """One occurrence of a schedule that became an inspection. The unique
    (schedule, date) pair is what makes the beat's work exactly-once."""

    schedule = models.ForeignKey(InspectionSchedule, on_delete=models.PROTECT, related_name="occurrences",
                                 verbose_name=_("schedule"))
    occurs_on = models.DateField(_("occurs on"))
    inspection = models.OneToOneField(Inspection, on_delete=models.PROTECT, related_name="schedule_occurrence",
                                      verbose_name=_("inspection"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("schedule occurrence")
        verbose_name_plural = _("schedule occurrences")
        ordering = ["schedule_id", "-occurs_on"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "occurs_on"], name="schedule_occurrence_once"),
        ]

    def __str__(self) -> str:
        return f"{self.schedule} · {self.occurs_on}"

