"""Materials review (网上申报/材料审核): the office calls for evidence per
indicator, units upload and submit it, the office passes, partly passes or
returns it. Reviewed calls give the M component of the monthly index."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from campaigns.models import Campaign, Indicator, Unit
from civportal.models import TimeStampedModel


class MaterialCallQuerySet(models.QuerySet):
    def visible_to(self, user) -> MaterialCallQuerySet:
        """Calls that ask at least one unit in the user's scope for evidence."""
        from campaigns.scope import scope_paths, scope_q

        if scope_paths(user) is None:
            return self
        asked = MaterialSubmission.objects.filter(scope_q(user, "unit__path"), call_id=models.OuterRef("pk"))
        return self.filter(models.Exists(asked))


class MaterialCall(TimeStampedModel):
    """A call for evidence (材料征集): for one indicator of a campaign, what
    material the office wants, from which units, by when. Each unit asked
    gets one submission row (its answer), created with the call."""

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        CLOSED = "closed", _("closed")

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="material_calls",
                                 verbose_name=_("campaign"))
    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, related_name="material_calls",
                                  verbose_name=_("indicator"))
    title = models.CharField(_("title"), max_length=300)
    evidence = models.TextField(_("evidence wanted"))
    deadline = models.DateField(_("deadline"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.OPEN)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="created_material_calls", verbose_name=_("created by"))

    objects = MaterialCallQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("materials call")
        verbose_name_plural = _("materials calls")
        ordering = ["deadline", "id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "indicator"], name="material_call_one_per_indicator"),
        ]

    def __str__(self) -> str:
        return self.title


class MaterialSubmissionQuerySet(models.QuerySet):
    def visible_to(self, user) -> MaterialSubmissionQuerySet:
        from campaigns.scope import scope_q

        return self.filter(scope_q(user, "unit__path"))

    def with_state(self, today: dt.date) -> MaterialSubmissionQuerySet:
        """Annotate ``state``, the completeness cell: owed rows past the deadline are overdue."""
        S = MaterialSubmission.Status
        return self.annotate(state=models.Case(
            models.When(Q(status__in=MaterialSubmission.OWED, call__deadline__lt=today), then=models.Value("overdue")),
            models.When(status__in=[S.PASSED, S.PARTIAL], then=models.Value("passed")),
            default=models.F("status"), output_field=models.CharField(),
        ))


class MaterialSubmission(TimeStampedModel):
    """One unit's answer to one call: its evidence files and description, and
    the office's review (通过 / 部分通过 with a score share / 退回 with a
    reason). A returned answer is resubmitted on the same row (rework counted);
    every step is kept as a MaterialEvent."""

    class Status(models.TextChoices):
        NOT_SUBMITTED = "not_submitted", _("not submitted")
        PENDING = "pending", _("awaiting review")
        PASSED = "passed", _("passed")
        PARTIAL = "partial", _("partly passed")
        RETURNED = "returned", _("returned")

    class State(models.TextChoices):
        """The cell of the completeness matrix (status plus the deadline)."""

        NOT_SUBMITTED = "not_submitted", _("not submitted")
        PENDING = "pending", _("awaiting review")
        PASSED = "passed", _("passed")
        RETURNED = "returned", _("returned")
        OVERDUE = "overdue", _("overdue")

    OWED = [Status.NOT_SUBMITTED, Status.RETURNED]
    APPROVED = [Status.PASSED, Status.PARTIAL]

    call = models.ForeignKey(MaterialCall, on_delete=models.PROTECT, related_name="submissions",
                             verbose_name=_("materials call"))
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="material_submissions",
                             verbose_name=_("unit"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.NOT_SUBMITTED)
    description = models.TextField(_("description"), blank=True)
    share = models.DecimalField(_("score share"), max_digits=4, decimal_places=3, null=True, blank=True,
                                help_text=_("The part of the indicator's points earned (1 = all)."))
    reason = models.TextField(_("review note"), blank=True)
    round = models.PositiveSmallIntegerField(_("round"), default=0)
    reworks = models.PositiveSmallIntegerField(_("reworks"), default=0)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+", verbose_name=_("submitted by"))
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("reviewed by"))

    objects = MaterialSubmissionQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("materials submission")
        verbose_name_plural = _("materials submissions")
        ordering = ["call_id", "unit__path"]
        constraints = [
            models.UniqueConstraint(fields=["call", "unit"], name="material_submission_one_per_unit"),
            models.CheckConstraint(condition=Q(share__isnull=True) | Q(share__gte=0, share__lte=1),
                                   name="material_submission_share_range"),
        ]
        indexes = [
            # A unit's own "what I still owe" view and the M of a unit.
            models.Index(fields=["unit", "status"], name="material_sub_unit_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.call} · {self.unit}"

    @property
    def earned_share(self) -> Decimal:
        if self.status == self.Status.PASSED:
            return Decimal(1)
        if self.status == self.Status.PARTIAL:
            return self.share or Decimal(0)
        return Decimal(0)

    def state(self, today: dt.date) -> str:
        if self.status in self.OWED and self.call.deadline < today:
            return self.State.OVERDUE
        if self.status in self.APPROVED:
            return self.State.PASSED
        return self.status


def material_file_path(instance: MaterialFile, filename: str) -> str:
    # Random names: the uploader's name is kept in original_name, never used on disk.
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"materials/{instance.submission.call_id}/{uuid.uuid4().hex}.{ext}"


class MaterialFile(models.Model):
    """An evidence file of a submission, checked by its content on upload and
    served only through a scope-checked download. ``round`` is the submission
    round it was sent in: the files of the approved round form the archive."""

    submission = models.ForeignKey(MaterialSubmission, on_delete=models.PROTECT, related_name="files",
                                   verbose_name=_("materials submission"))
    round = models.PositiveSmallIntegerField(_("round"))
    file = models.FileField(_("file"), upload_to=material_file_path, max_length=300)
    original_name = models.CharField(_("file name"), max_length=200)
    kind = models.CharField(_("file type"), max_length=10)
    size = models.PositiveIntegerField(_("size"))
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("uploaded by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("evidence file")
        verbose_name_plural = _("evidence files")
        ordering = ["submission_id", "round", "id"]

    def __str__(self) -> str:
        return self.original_name


class MaterialEvent(models.Model):
    """A step on a submission's timeline: submitted, passed, partly passed, returned."""

    class Kind(models.TextChoices):
        SUBMITTED = "submitted", _("submitted")
        RESUBMITTED = "resubmitted", _("resubmitted")
        PASSED = "passed", _("passed")
        PARTIAL = "partial", _("partly passed")
        RETURNED = "returned", _("returned")

    submission = models.ForeignKey(MaterialSubmission, on_delete=models.PROTECT, related_name="events",
                                   verbose_name=_("materials submission"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("by"))
    note = models.TextField(_("note"), blank=True)
    share = models.DecimalField(_("score share"), max_digits=4, decimal_places=3, null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("materials event")
        verbose_name_plural = _("materials events")
        ordering = ["submission_id", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.submission_id} · {self.get_kind_display()}"


class ArchiveJobQuerySet(models.QuerySet):
    def visible_to(self, user) -> ArchiveJobQuerySet:
        if getattr(user, "is_superuser", False):
            return self
        return self.filter(created_by=user) if getattr(user, "is_authenticated", False) else self.none()


class ArchiveJob(TimeStampedModel):
    """A background build of the 档案: a campaign's (or one unit's) approved
    evidence as a zip laid out by section/item/content with an index sheet."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="material_archives",
                                 verbose_name=_("campaign"))
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="material_archives",
                             verbose_name=_("unit"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(_("progress"), default=0)
    file_count = models.PositiveIntegerField(_("files"), default=0)
    # Paths of the units whose files are inside: who downloads must have all of them in scope.
    unit_paths = models.JSONField(_("unit paths"), default=list, blank=True)
    archive = models.FileField(_("archive"), upload_to="material-archives/", max_length=300, blank=True)
    message = models.CharField(_("message"), max_length=500, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("created by"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    objects = ArchiveJobQuerySet.as_manager()

    class Meta:
        verbose_name = _("archive job")
        verbose_name_plural = _("archive jobs")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.campaign} · {self.unit or '—'} · {self.get_status_display()}"
