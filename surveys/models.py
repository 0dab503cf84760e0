"""Resident surveys (问卷调查): questionnaires, waves with target units and
quotas, anonymous answers from a public page. The answers give the
awareness, support and satisfaction rates (知晓率/支持率/满意率) and the S
component of the monthly index."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from campaigns.models import Campaign, Unit
from civportal.models import TimeStampedModel


class Survey(TimeStampedModel):
    """A questionnaire, reusable across waves. Texts in Chinese and English."""

    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    intro = models.TextField(_("introduction"), blank=True)
    intro_en = models.TextField(_("introduction (English)"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("created by"))

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name

    @property
    def title(self) -> str:
        return self.name_en if get_language() == "en" and self.name_en else self.name


class Question(models.Model):
    """A question of a survey. ``rate`` says which rate it measures: a yes
    answer counts for awareness and support, a rating of 4 or 5 for
    satisfaction. ``check_answer`` makes it an attention check."""

    class Kind(models.TextChoices):
        SINGLE = "single", _("single choice")
        MULTIPLE = "multiple", _("multiple choice")
        RATING = "rating", _("rating 1–5")
        YESNO = "yesno", _("yes / no")
        TEXT = "text", _("short text")

    class Rate(models.TextChoices):
        AWARENESS = "awareness", _("awareness rate")
        SUPPORT = "support", _("support rate")
        SATISFACTION = "satisfaction", _("satisfaction rate")

    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="questions", verbose_name=_("survey"))
    position = models.PositiveSmallIntegerField(_("position"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    text = models.CharField(_("question"), max_length=300)
    text_en = models.CharField(_("question (English)"), max_length=300, blank=True)
    # Choices: [{"value": "a", "zh": "…", "en": "…"}, …] (single and multiple choice only).
    choices = models.JSONField(_("choices"), default=list, blank=True)
    required = models.BooleanField(_("required"), default=True)
    rate = models.CharField(_("rate measured"), max_length=20, choices=Rate.choices, blank=True)
    check_answer = models.CharField(_("expected answer (check question)"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        ordering = ["survey_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["survey", "position"], name="question_position_unique"),
            models.UniqueConstraint(fields=["survey", "rate"], condition=~Q(rate=""), name="question_one_per_rate"),
        ]

    def __str__(self) -> str:
        return self.text

    @property
    def key(self) -> str:
        """The answer's key in SurveyResponse.answers ("q12": a digit-only key would read as an array index)."""
        return f"q{self.pk}"

    @property
    def label(self) -> str:
        return self.text_en if get_language() == "en" and self.text_en else self.text

    def options(self) -> list[tuple[str, str]]:
        lang_en = get_language() == "en"
        if self.kind == self.Kind.YESNO:
            return [("yes", _("yes")), ("no", _("no"))]
        if self.kind == self.Kind.RATING:
            return [(str(i), str(i)) for i in range(1, 6)]
        return [(c["value"], (c.get("en") if lang_en and c.get("en") else c.get("zh", c["value"])))
                for c in self.choices]


class SurveyWaveQuerySet(models.QuerySet):
    def visible_to(self, user) -> SurveyWaveQuerySet:
        """Waves that target a unit in the user's scope."""
        from campaigns.scope import scope_paths, scope_q

        if scope_paths(user) is None:
            return self
        targeted = WaveTarget.objects.filter(scope_q(user, "unit__path"), wave_id=models.OuterRef("pk"))
        return self.filter(models.Exists(targeted))


class SurveyWave(TimeStampedModel):
    """One round of a survey in a campaign: a period, the units sampled and a quota per unit."""

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        CLOSED = "closed", _("closed")

    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="waves", verbose_name=_("survey"))
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="survey_waves",
                                 verbose_name=_("campaign"))
    name = models.CharField(_("name"), max_length=200)
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.OPEN)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("created by"))

    objects = SurveyWaveQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("survey wave")
        verbose_name_plural = _("survey waves")
        ordering = ["-starts_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gte=models.F("starts_on")), name="survey_wave_period_ordered"),
        ]

    def __str__(self) -> str:
        return self.name


def new_token() -> str:
    return secrets.token_urlsafe(12)


class WaveTarget(models.Model):
    """A unit sampled in a wave, with its quota and the token of its public link (and QR code)."""

    wave = models.ForeignKey(SurveyWave, on_delete=models.PROTECT, related_name="targets", verbose_name=_("survey wave"))
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="survey_targets", verbose_name=_("unit"))
    quota = models.PositiveIntegerField(_("quota"))
    token = models.CharField(_("link token"), max_length=32, unique=True, default=new_token)

    class Meta:
        verbose_name = _("surveyed unit")
        verbose_name_plural = _("surveyed units")
        ordering = ["wave_id", "unit__path"]
        constraints = [
            models.UniqueConstraint(fields=["wave", "unit"], name="wave_target_unique"),
            models.CheckConstraint(condition=Q(quota__gte=1), name="wave_target_quota_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.wave} · {self.unit}"


class SurveyResponseQuerySet(models.QuerySet):
    def visible_to(self, user) -> SurveyResponseQuerySet:
        from campaigns.scope import scope_q

        return self.filter(scope_q(user, "target__unit__path"))

    def valid(self) -> SurveyResponseQuerySet:
        return self.filter(voided_at__isnull=True)


class SurveyResponse(models.Model):
    """One resident's answers in a wave, anonymous: no account, no name; the
    device is a random id from a signed cookie (one answer per device and
    wave, a database constraint). Junk is voided with a reason, never deleted."""

    target = models.ForeignKey(WaveTarget, on_delete=models.PROTECT, related_name="responses",
                               verbose_name=_("surveyed unit"))
    wave = models.ForeignKey(SurveyWave, on_delete=models.PROTECT, related_name="responses",
                             verbose_name=_("survey wave"))
    device = models.CharField(_("device"), max_length=64)
    answers = models.JSONField(_("answers"), default=dict)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    voided_at = models.DateTimeField(_("voided at"), null=True, blank=True)
    voided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+", verbose_name=_("voided by"))
    void_reason = models.CharField(_("void reason"), max_length=300, blank=True)

    objects = SurveyResponseQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("survey answer")
        verbose_name_plural = _("survey answers")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["wave", "device"], name="survey_response_one_per_device"),
        ]
        indexes = [
            # Counting a unit's valid answers (quota) and rates per unit.
            models.Index(fields=["target", "voided_at"], name="survey_response_target_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.target} · {self.created_at:%Y-%m-%d %H:%M}"
