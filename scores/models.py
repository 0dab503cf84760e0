"""Monthly civility index (文明指数): the scoring scheme, the inputs supervisors
enter (survey and materials scores, bonus/penalty adjustments) and the
monthly scores per unit with their ranks and red/black list flags.

A month's scores are a draft until a supervisor publishes them; published
rows never change. Every number a unit sees is stored with the counts and
breakdown behind it, so a disputed score can be explained from the row."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from campaigns.models import Campaign, Unit
from civportal.models import TimeStampedModel

TWO = Decimal("0.01")
HUNDRED = Decimal(100)
COMPONENTS = ("F", "R", "S", "M")


def q2(value: Decimal | None) -> Decimal | None:
    """Round half up to two decimals (the published precision)."""
    return None if value is None else Decimal(value).quantize(TWO, rounding=ROUND_HALF_UP)


class Grade(models.TextChoices):
    EXCELLENT = "excellent", _("excellent")
    GOOD = "good", _("good")
    FAIR = "fair", _("fair")
    POOR = "poor", _("poor")


class ListFlag(models.TextChoices):
    RED = "red", _("red list")
    BLACK = "black", _("black list")
    NONE = "", _("none")


DEFAULT_WEIGHTS = {
    # Territorial units: field work weighs most, then rectification timeliness.
    Unit.Kind.DISTRICT: {"F": "0.6", "R": "0.2", "S": "0.1", "M": "0.1"},
    Unit.Kind.STREET: {"F": "0.6", "R": "0.2", "S": "0.1", "M": "0.1"},
    Unit.Kind.COMMUNITY: {"F": "0.6", "R": "0.2", "S": "0.1", "M": "0.1"},
    # Departments are judged on the places they supervise and their own tasks; no survey.
    Unit.Kind.DEPARTMENT: {"F": "0.5", "R": "0.3", "S": "0", "M": "0.2"},
}
DEFAULT_SEVERITY_FACTORS = {"minor": "0.5", "moderate": "1", "severe": "2"}
DEFAULT_GRADE_BANDS = [["excellent", "90"], ["good", "80"], ["fair", "70"], ["poor", "0"]]
DEFAULT_RANKED_KINDS = [Unit.Kind.DISTRICT, Unit.Kind.STREET, Unit.Kind.COMMUNITY, Unit.Kind.DEPARTMENT]
RANKABLE_KINDS = [Unit.Kind.DISTRICT, Unit.Kind.STREET, Unit.Kind.COMMUNITY, Unit.Kind.GRID, Unit.Kind.DEPARTMENT]


class ScoringSchemeQuerySet(models.QuerySet):
    def current(self) -> ScoringScheme | None:
        return self.order_by("-version").first()


class ScoringScheme(TimeStampedModel):
    """One version of the rules the monthly index is computed by: component
    weights per unit kind, severity factors, the repeat rule, list rules,
    grade bands and which kinds are ranked. Versions are never edited: a
    change is a new version, and a published month keeps the version it used."""

    class FieldMode(models.TextChoices):
        DEDUCTION = "deduction", _("deductions from 100")
        CRITERIA = "criteria", _("criteria met (weighted by points)")

    version = models.PositiveIntegerField(_("version"), unique=True)
    name = models.CharField(_("name"), max_length=100)
    field_mode = models.CharField(
        _("field scoring"), max_length=20, choices=FieldMode.choices, default=FieldMode.DEDUCTION,
        help_text=_("How a visit scores: 100 minus the findings' deductions, or the points of the criteria met "
                    "÷ the points of the criteria judged × 100 (docs/scores.md)."),
    )
    weights = models.JSONField(_("component weights by unit kind"), default=dict)
    severity_factors = models.JSONField(_("severity factors"), default=dict)
    repeat_window_days = models.PositiveSmallIntegerField(_("repeat window (days)"), default=30)
    repeat_factor = models.DecimalField(_("repeat factor"), max_digits=4, decimal_places=2, default=Decimal(2))
    list_share = models.DecimalField(
        _("list share"), max_digits=4, decimal_places=2, default=Decimal("0.10"),
        help_text=_("The red and black lists take the top and bottom share of a peer group (at least one unit)."),
    )
    red_min_total = models.DecimalField(_("red list minimum total"), max_digits=5, decimal_places=2, default=90)
    black_below_total = models.DecimalField(_("black list below total"), max_digits=5, decimal_places=2, default=70)
    black_bottom_min_group = models.PositiveSmallIntegerField(
        _("smallest group with a bottom black list"), default=3,
    )
    bottom_list_ceiling = models.DecimalField(
        _("bottom black list ceiling"), max_digits=5, decimal_places=2, default=90,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text=_("Only units whose total is below this can be black-listed as the group's bottom."),
    )
    appeal_window_days = models.PositiveSmallIntegerField(
        _("appeal window (working days)"), default=3, validators=[MinValueValidator(1), MaxValueValidator(30)],
        help_text=_("How long units may appeal a draft's deductions once the office opens it for review."),
    )
    grade_bands = models.JSONField(_("grade bands"), default=list)
    ranked_kinds = models.JSONField(_("ranked unit kinds"), default=list)
    notes = models.TextField(_("notes"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="created_scoring_schemes", verbose_name=_("created by"),
    )

    objects = ScoringSchemeQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("scoring scheme")
        verbose_name_plural = _("scoring schemes")
        ordering = ["-version"]
        constraints = [
            models.CheckConstraint(condition=Q(repeat_factor__gte=1), name="scheme_repeat_factor_at_least_one"),
            models.CheckConstraint(condition=Q(list_share__gt=0, list_share__lte=1), name="scheme_list_share_range"),
        ]

    def __str__(self) -> str:
        return f"v{self.version} {self.name}"

    @classmethod
    def defaults(cls) -> dict:
        return {
            "name": str(_("Default scheme")), "weights": DEFAULT_WEIGHTS, "severity_factors": DEFAULT_SEVERITY_FACTORS,
            "grade_bands": DEFAULT_GRADE_BANDS, "ranked_kinds": DEFAULT_RANKED_KINDS,
        }

    def clean(self) -> None:
        errors = {}
        if not self.ranked_kinds or any(k not in RANKABLE_KINDS for k in self.ranked_kinds):
            errors["ranked_kinds"] = _("Choose the ranked kinds among districts, streets, communities, grids and "
                                       "departments.")
        for kind in self.ranked_kinds or []:
            try:
                w = self.weights_for(kind)
            except (KeyError, TypeError, ValueError, ArithmeticError):
                errors["weights"] = _("Every ranked kind needs four weights (F, R, S, M) between 0 and 1.")
                break
            if any(v < 0 or v > 1 for v in w.values()) or w["F"] <= 0:
                errors["weights"] = _("Weights lie between 0 and 1, and the field score F needs a weight above 0.")
        try:
            factors = [self.severity_factor(s) for s in ("minor", "moderate", "severe")]
            if any(f < 0 for f in factors):
                raise ValueError
        except (KeyError, TypeError, ValueError, ArithmeticError):
            errors["severity_factors"] = _("Give a factor of 0 or more for minor, moderate and severe findings.")
        try:
            bands = self.bands()
            if not bands or bands[-1][1] != 0 or any(g not in Grade.values for g, _m in bands):
                raise ValueError
        except (TypeError, ValueError, ArithmeticError, IndexError):
            errors["grade_bands"] = _("Grade bands need a minimum total per grade, the lowest starting at 0.")
        if errors:
            raise ValidationError(errors)

    def weights_for(self, kind: str) -> dict[str, Decimal]:
        row = self.weights[kind]
        return {c: Decimal(str(row[c])) for c in COMPONENTS}

    def severity_factor(self, severity: str) -> Decimal:
        return Decimal(str(self.severity_factors[severity]))

    def bands(self) -> list[tuple[str, Decimal]]:
        """(grade, minimum total), highest first."""
        return sorted(((g, Decimal(str(m))) for g, m in self.grade_bands), key=lambda b: b[1], reverse=True)

    def grade_for(self, total: Decimal | None) -> str:
        if total is None:
            return ""
        for grade, minimum in self.bands():
            if total >= minimum:
                return grade
        return ""


def month_start(value: dt.date) -> dt.date:
    return value.replace(day=1)


def next_month(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def previous_month(month: dt.date) -> dt.date:
    return (month.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


class ScoreMonthQuerySet(models.QuerySet):
    def published(self) -> ScoreMonthQuerySet:
        return self.filter(status=ScoreMonth.Status.PUBLISHED)

    def announced(self) -> ScoreMonthQuerySet:
        """Published months the office made public (公示)."""
        return self.published().filter(announced_at__isnull=False)


class ScoreMonth(TimeStampedModel):
    """One campaign's scoring of one month: draft until a supervisor publishes
    it, then frozen. It pins the scheme version used and records who computed
    and published it; its row is the lock concurrent recomputations queue on."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        PUBLISHED = "published", _("published")

    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="score_months", verbose_name=_("campaign")
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    scheme = models.ForeignKey(
        ScoringScheme, on_delete=models.PROTECT, null=True, blank=True, related_name="score_months",
        verbose_name=_("scoring scheme"),
    )
    computed_at = models.DateTimeField(_("computed at"), null=True, blank=True)
    computed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("computed by"), help_text=_("Empty for the monthly job."),
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("published by"),
    )
    review_opened_at = models.DateTimeField(_("opened for review at"), null=True, blank=True)
    appeal_deadline = models.DateTimeField(_("appeals accepted until"), null=True, blank=True)
    announced_at = models.DateTimeField(_("announced to the public at"), null=True, blank=True)
    announced_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("announced by"),
    )
    publish_override_reason = models.TextField(
        _("published with open appeals because"), blank=True,
        help_text=_("Recorded on the bulletin when the office publishes while appeals are still open."),
    )

    objects = ScoreMonthQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("scored month")
        verbose_name_plural = _("scored months")
        ordering = ["-month", "campaign_id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "month"], name="score_month_unique"),
            models.CheckConstraint(condition=Q(month__day=1), name="score_month_first_day"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign} · {self.month:%Y-%m}"

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED


class EnteredScoreQuerySet(models.QuerySet):
    def visible_to(self, user):
        from campaigns.scope import scope_q

        return self.filter(scope_q(user, "unit__path"))


class EnteredScore(TimeStampedModel):
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="+", verbose_name=_("campaign"))
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", verbose_name=_("unit"))
    month = models.DateField(_("month"))
    score = models.DecimalField(_("score"), max_digits=5, decimal_places=2)
    note = models.CharField(_("note"), max_length=300, blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("entered by"),
    )

    objects = EnteredScoreQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["-month", "unit_id"]

    def __str__(self) -> str:
        return f"{self.unit} · {self.month:%Y-%m} · {self.score}"


class SurveyScore(EnteredScore):
    """A unit's citizen survey result (问卷调查: awareness, support,
    satisfaction) for a month, 0–100, entered or imported by supervisors."""

    history = HistoricalRecords()

    class Meta(EnteredScore.Meta):
        verbose_name = _("survey score")
        verbose_name_plural = _("survey scores")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "unit", "month"], name="survey_score_unique"),
            models.CheckConstraint(condition=Q(score__gte=0, score__lte=100), name="survey_score_range"),
            models.CheckConstraint(condition=Q(month__day=1), name="survey_score_first_day"),
        ]


class MaterialsScore(EnteredScore):
    """A unit's document review result (材料审核) for a month, 0–100, entered
    or imported by supervisors."""

    history = HistoricalRecords()

    class Meta(EnteredScore.Meta):
        verbose_name = _("materials score")
        verbose_name_plural = _("materials scores")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "unit", "month"], name="materials_score_unique"),
            models.CheckConstraint(condition=Q(score__gte=0, score__lte=100), name="materials_score_range"),
            models.CheckConstraint(condition=Q(month__day=1), name="materials_score_first_day"),
        ]


class ScoreAdjustment(TimeStampedModel):
    """A bonus (e.g. praise from above) or penalty (e.g. media exposure, a
    superior's bulletin) a supervisor adds to a unit's month, with the reason.
    Withdrawing one keeps the record with who withdrew it and why."""

    class Kind(models.TextChoices):
        BONUS = "bonus", _("bonus")
        PENALTY = "penalty", _("penalty")

    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="score_adjustments", verbose_name=_("campaign")
    )
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="score_adjustments", verbose_name=_("unit"))
    month = models.DateField(_("month"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    points = models.DecimalField(_("points"), max_digits=5, decimal_places=2)
    reason = models.CharField(_("reason"), max_length=300)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("entered by"),
    )
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("withdrawn by"),
    )
    withdraw_reason = models.CharField(_("reason for withdrawal"), max_length=300, blank=True)

    objects = EnteredScoreQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("score adjustment")
        verbose_name_plural = _("score adjustments")
        ordering = ["-month", "unit_id", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(points__gt=0, points__lte=100), name="adjustment_points_range"),
            models.CheckConstraint(condition=Q(month__day=1), name="adjustment_first_day"),
        ]
        indexes = [
            # The computation: active adjustments of a campaign's month.
            models.Index(fields=["campaign", "month"], name="adjustment_campaign_month_idx"),
        ]

    def __str__(self) -> str:
        sign = "+" if self.kind == self.Kind.BONUS else "−"
        return f"{self.unit} · {self.month:%Y-%m} · {sign}{self.points}"


class MonthlyScoreQuerySet(models.QuerySet):
    def visible_to(self, user) -> MonthlyScoreQuerySet:
        """Published scores are public to everyone holding a role (the office
        publishes rankings); drafts only to supervisors over the unit."""
        from campaigns.models import Membership
        from campaigns.scope import role_paths, scope_paths

        paths = scope_paths(user)
        if paths is None:
            return self
        if not paths:
            return self.none()
        draft_q = Q(pk__in=[])
        for path in role_paths(user, [Membership.Role.SUPERVISOR]):
            draft_q |= Q(unit__path__startswith=path)
        # A draft opened for review: each unit's head sees its own draft, to check it and appeal.
        for path in role_paths(user, [Membership.Role.HEAD]):
            draft_q |= Q(unit__path=path, score_month__review_opened_at__isnull=False)
        return self.filter(Q(status=MonthlyScore.Status.PUBLISHED) | draft_q)

    def ranked(self) -> MonthlyScoreQuerySet:
        return self.filter(rank__isnull=False)


class MonthlyScore(models.Model):
    """A unit's civility index for one month of a campaign: the components
    (field F, rectification R, survey S, materials M), the counts and the
    breakdown behind them, adjustments, the total, its rank among peers and
    its red/black list flag. Recomputed while a draft; frozen once published."""

    Status = ScoreMonth.Status

    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="monthly_scores", verbose_name=_("campaign")
    )
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="monthly_scores", verbose_name=_("unit"))
    month = models.DateField(_("month"))
    score_month = models.ForeignKey(
        ScoreMonth, on_delete=models.PROTECT, related_name="scores", verbose_name=_("scored month")
    )
    scheme = models.ForeignKey(
        ScoringScheme, on_delete=models.PROTECT, related_name="scores", verbose_name=_("scoring scheme")
    )
    kind = models.CharField(_("peer group"), max_length=20, choices=Unit.Kind.choices)
    status = models.CharField(_("status"), max_length=20, choices=ScoreMonth.Status.choices,
                              default=ScoreMonth.Status.DRAFT)
    field_score = models.DecimalField(_("field score (F)"), max_digits=5, decimal_places=2, null=True, blank=True)
    rectification_score = models.DecimalField(
        _("rectification score (R)"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    survey_score = models.DecimalField(_("survey score (S)"), max_digits=5, decimal_places=2, null=True, blank=True)
    materials_score = models.DecimalField(
        _("materials score (M)"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    survey_from_subtree = models.BooleanField(_("survey from subordinate units"), default=False)
    materials_from_subtree = models.BooleanField(_("materials from subordinate units"), default=False)
    base_score = models.DecimalField(_("weighted score"), max_digits=5, decimal_places=2, null=True, blank=True)
    bonus = models.DecimalField(_("bonus"), max_digits=6, decimal_places=2, default=0)
    penalty = models.DecimalField(_("penalty"), max_digits=6, decimal_places=2, default=0)
    total = models.DecimalField(_("total"), max_digits=5, decimal_places=2, null=True, blank=True)
    grade = models.CharField(_("grade"), max_length=20, choices=Grade.choices, blank=True)
    rank = models.PositiveIntegerField(_("rank"), null=True, blank=True)
    ranked_count = models.PositiveIntegerField(_("units ranked"), default=0)
    list_flag = models.CharField(_("list"), max_length=10, choices=ListFlag.choices, blank=True, default="")
    # The inputs behind the components.
    visit_count = models.PositiveIntegerField(_("visits"), default=0)
    clean_visit_count = models.PositiveIntegerField(_("clean visits"), default=0)
    finding_count = models.PositiveIntegerField(_("findings deducted"), default=0)
    severe_finding_count = models.PositiveIntegerField(_("severe findings"), default=0)
    repeat_finding_count = models.PositiveIntegerField(_("repeat findings"), default=0)
    deduction_total = models.DecimalField(_("points deducted"), max_digits=10, decimal_places=2, default=0)
    task_count = models.PositiveIntegerField(_("tasks due"), default=0)
    task_on_time_count = models.PositiveIntegerField(_("closed on time"), default=0)
    task_late_count = models.PositiveIntegerField(_("closed late"), default=0)
    task_open_count = models.PositiveIntegerField(_("still open"), default=0)
    rework_count = models.PositiveIntegerField(_("reworks"), default=0)
    breakdown = models.JSONField(_("breakdown"), default=dict, blank=True)

    objects = MonthlyScoreQuerySet.as_manager()

    class Meta:
        verbose_name = _("monthly score")
        verbose_name_plural = _("monthly scores")
        ordering = ["-month", "kind", "rank", "unit_id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "unit", "month"], name="monthly_score_unique"),
            models.CheckConstraint(condition=Q(total__isnull=True) | Q(total__gte=0, total__lte=100),
                                   name="monthly_score_total_range"),
            models.CheckConstraint(condition=Q(month__day=1), name="monthly_score_first_day"),
        ]
        indexes = [
            # The ranking page and bulletin: one campaign's month, a peer group, by rank.
            models.Index(fields=["campaign", "month", "kind", "rank"], name="score_ranking_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.unit} · {self.month:%Y-%m} · {self.total}"

    @property
    def is_published(self) -> bool:
        return self.status == ScoreMonth.Status.PUBLISHED


# --- appeals (申诉) ---------------------------------------------------------------------------


class AppealQuerySet(models.QuerySet):
    def visible_to(self, user) -> AppealQuerySet:
        """Appeals of the units in the user's scope (their own unit's for a head)."""
        from campaigns.scope import scope_q

        return self.filter(scope_q(user, "unit__path"))

    def open(self) -> AppealQuerySet:
        return self.filter(status=Appeal.Status.OPEN)


class Appeal(TimeStampedModel):
    """A unit's appeal (申诉) against one deduction of a draft month: a
    finding, a visit or a task's credit. The office accepts it (the record is
    corrected through the loop's services, with history, and a recompute
    shows the effect) or rejects it with a reason; the unit is told either way."""

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        ACCEPTED = "accepted", _("accepted")
        REJECTED = "rejected", _("rejected")

    class Target(models.TextChoices):
        FINDING = "finding", _("finding")
        VISIT = "visit", _("visit")
        TASK = "task", _("task credit")

    class Resolution(models.TextChoices):
        VOID = "void", _("finding(s) voided")
        SEVERITY = "severity", _("severity changed")
        TASK_VOID = "task_void", _("task left out of the credit")

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="appeals",
                                 verbose_name=_("campaign"))
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="appeals", verbose_name=_("unit"))
    month = models.DateField(_("month"))
    score_month = models.ForeignKey(ScoreMonth, on_delete=models.PROTECT, related_name="appeals",
                                    verbose_name=_("scored month"))
    target = models.CharField(_("appealed"), max_length=20, choices=Target.choices)
    finding = models.ForeignKey("inspections.Finding", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="appeals", verbose_name=_("finding"))
    visit = models.ForeignKey("inspections.Visit", on_delete=models.PROTECT, null=True, blank=True,
                              related_name="appeals", verbose_name=_("visit"))
    task = models.ForeignKey("inspections.RectificationTask", on_delete=models.PROTECT, null=True, blank=True,
                             related_name="appeals", verbose_name=_("task"))
    reason = models.TextField(_("reason"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.OPEN)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("submitted by"))
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("decided by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision"), blank=True)
    resolution = models.CharField(_("correction"), max_length=20, choices=Resolution.choices, blank=True)

    objects = AppealQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("appeal")
        verbose_name_plural = _("appeals")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(month__day=1), name="appeal_first_day"),
            models.CheckConstraint(
                condition=Q(target="finding", finding__isnull=False, visit__isnull=True, task__isnull=True)
                | Q(target="visit", visit__isnull=False, finding__isnull=True, task__isnull=True)
                | Q(target="task", task__isnull=False, finding__isnull=True, visit__isnull=True),
                name="appeal_one_target"),
            # One open appeal per deduction and unit.
            models.UniqueConstraint(fields=["unit", "finding"], condition=Q(status="open", finding__isnull=False),
                                    name="appeal_open_finding_unique"),
            models.UniqueConstraint(fields=["unit", "visit"], condition=Q(status="open", visit__isnull=False),
                                    name="appeal_open_visit_unique"),
            models.UniqueConstraint(fields=["unit", "task"], condition=Q(status="open", task__isnull=False),
                                    name="appeal_open_task_unique"),
        ]
        indexes = [models.Index(fields=["campaign", "month", "status"], name="appeal_month_status_idx")]

    def __str__(self) -> str:
        return f"{self.unit} · {self.month:%Y-%m} · {self.get_target_display()}"

    @property
    def target_object(self):
        return self.finding or self.visit or self.task


def appeal_attachment_path(instance: AppealAttachment, filename: str) -> str:
    return f"appeals/{instance.appeal_id}/{filename}"


class AppealAttachment(models.Model):
    """A file backing an appeal (a photo, a document); served through the scope check only."""

    appeal = models.ForeignKey(Appeal, on_delete=models.PROTECT, related_name="attachments",
                               verbose_name=_("appeal"))
    file = models.FileField(_("file"), upload_to=appeal_attachment_path, max_length=300)
    original_name = models.CharField(_("file name"), max_length=200)
    size = models.PositiveIntegerField(_("size"), default=0)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["appeal_id", "id"]

    def __str__(self) -> str:
        return self.original_name


# --- 曝光台 (exposures) ------------------------------------------------------------------------


class ExposureQuerySet(models.QuerySet):
    def public(self) -> ExposureQuerySet:
        """Shown on the public 曝光台: photos reviewed (faces, number plates) and not withdrawn."""
        return self.filter(photos_reviewed_at__isnull=False, withdrawn_at__isnull=True)


class Exposure(TimeStampedModel):
    """A finding the office exposes publicly (曝光台) — overdue, repeated or
    severe — with its before photos, place, responsible unit and deadline,
    later the after photo. No photo goes public before someone confirmed the
    photos were reviewed for faces and number plates; exposure, review and
    withdrawal are kept in the history."""

    finding = models.ForeignKey("inspections.Finding", on_delete=models.PROTECT, related_name="exposures",
                                verbose_name=_("finding"))
    note = models.CharField(_("public note"), max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("exposed by"))
    photos_reviewed_at = models.DateTimeField(_("photos reviewed at"), null=True, blank=True)
    photos_reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                           blank=True, related_name="+", verbose_name=_("photos reviewed by"))
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    withdrawn_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+", verbose_name=_("withdrawn by"))
    withdraw_reason = models.CharField(_("reason for withdrawal"), max_length=300, blank=True)

    objects = ExposureQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("exposure")
        verbose_name_plural = _("exposures")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["finding"], condition=Q(withdrawn_at__isnull=True),
                                    name="exposure_one_active_per_finding"),
        ]

    def __str__(self) -> str:
        return f"{self.finding_id} · {self.created_at:%Y-%m-%d}"

    @property
    def is_public(self) -> bool:
        return self.photos_reviewed_at is not None and self.withdrawn_at is None


# --- accountability (问责) -----------------------------------------------------------------------


class AccountabilityRecordQuerySet(models.QuerySet):
    def visible_to(self, user) -> AccountabilityRecordQuerySet:
        from campaigns.scope import scope_q

        return self.filter(scope_q(user, "unit__path"))


class AccountabilityRecord(TimeStampedModel):
    """A measure taken against a unit (通报批评, 约谈, 书面检查, 问责), optionally
    about a task, a finding or a month's result, with the decision's date,
    decision maker and document number. Results feed the annual assessment."""

    class Kind(models.TextChoices):
        CRITICISM = "criticism", _("public criticism (通报批评)")
        INTERVIEW = "interview", _("admonishing talk (约谈)")
        SELF_CRITICISM = "written_review", _("written self-criticism (书面检查)")
        ACCOUNTABILITY = "accountability", _("accountability (问责)")

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="accountability_records",
                             verbose_name=_("unit"))
    kind = models.CharField(_("measure"), max_length=30, choices=Kind.choices)
    decided_on = models.DateField(_("date"))
    decision_maker = models.CharField(_("decision maker"), max_length=200)
    document_number = models.CharField(_("document number"), max_length=100, blank=True)
    attachment = models.FileField(_("attachment"), upload_to="accountability/%Y/", max_length=300, blank=True)
    task = models.ForeignKey("inspections.RectificationTask", on_delete=models.PROTECT, null=True, blank=True,
                             related_name="accountability_records", verbose_name=_("task"))
    finding = models.ForeignKey("inspections.Finding", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="accountability_records", verbose_name=_("finding"))
    score = models.ForeignKey(MonthlyScore, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="accountability_records", verbose_name=_("month's result"))
    note = models.TextField(_("note"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("recorded by"))

    objects = AccountabilityRecordQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("accountability record")
        verbose_name_plural = _("accountability records")
        ordering = ["-decided_on", "-id"]
        indexes = [models.Index(fields=["unit", "decided_on"], name="accountability_unit_date_idx")]

    def __str__(self) -> str:
        return f"{self.unit} · {self.get_kind_display()} · {self.decided_on}"
