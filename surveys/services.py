"""Writes of resident surveys: questionnaires, waves, anonymous answers, voiding."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import Campaign, Membership, Unit, User
from campaigns.scope import has_role
from civportal.errors import Conflict, PermissionDenied, ValidationError

from .models import Question, Survey, SurveyResponse, SurveyWave, WaveTarget

Role = Membership.Role
Kind = Question.Kind
Rate = Question.Rate

# The standard questions (知晓率/支持率/满意率 and two optional ones).
STANDARD = [
    dict(kind=Kind.YESNO, rate=Rate.AWARENESS, text="您知道我市正在创建全国文明城市吗？",
         text_en="Do you know that our city is working to become a National Civilized City?"),
    dict(kind=Kind.YESNO, rate=Rate.SUPPORT, text="您支持我市创建全国文明城市吗？",
         text_en="Do you support the city's civilized-city campaign?"),
    dict(kind=Kind.RATING, rate=Rate.SATISFACTION, text="您对所在社区（街道）创建工作的成效满意吗？（1 很不满意，5 很满意）",
         text_en="How satisfied are you with the campaign's results where you live? (1 very unsatisfied, 5 very satisfied)"),
    dict(kind=Kind.SINGLE, required=False, text="您的年龄段", text_en="Your age group",
         choices=[{"value": "u30", "zh": "30岁以下", "en": "under 30"}, {"value": "30_60", "zh": "30–60岁", "en": "30–60"},
                  {"value": "o60", "zh": "60岁以上", "en": "over 60"}]),
    dict(kind=Kind.TEXT, required=False, text="您对创建工作有什么意见或建议？",
         text_en="Any comments or suggestions for the campaign?"),
]


def _require_office(actor: User, units=None) -> None:
    units = list(units) if units is not None else []
    if units:
        ok = all(has_role(actor, u, [Role.SUPERVISOR]) for u in units)
    else:
        from campaigns.scope import user_roles

        ok = Role.SUPERVISOR in user_roles(actor)
    if not ok:
        raise PermissionDenied(_("Only the campaign office may do this."))


def survey_create(*, actor: User, name: str, name_en: str = "", intro: str = "", intro_en: str = "",
                  standard: bool = False) -> Survey:
    """A new questionnaire; ``standard`` adds the standard awareness/support/satisfaction questions."""
    _require_office(actor)
    if not (name or "").strip():
        raise ValidationError({"name": _("Give the survey a name.")})
    with transaction.atomic():
        survey = Survey.objects.create(name=name.strip()[:200], name_en=(name_en or "").strip()[:200],
                                       intro=intro or "", intro_en=intro_en or "", created_by=actor)
        if standard:
            for position, spec in enumerate(STANDARD, start=1):
                Question.objects.create(survey=survey, position=position, **spec)
    return survey


def question_add(*, actor: User, survey: Survey, kind: str, text: str, text_en: str = "", choices=(),
                 required: bool = True, rate: str = "", check_answer: str = "") -> Question:
    _require_office(actor)
    if survey.waves.filter(responses__isnull=False).exists():
        raise Conflict(_("This survey already has answers; copy it to change its questions."))
    choices = [c for c in (choices or []) if c.get("value")]
    if kind in (Kind.SINGLE, Kind.MULTIPLE) and len(choices) < 2:
        raise ValidationError({"choices": _("A choice question needs at least two choices.")})
    if rate in (Rate.AWARENESS, Rate.SUPPORT) and kind != Kind.YESNO:
        raise ValidationError({"rate": _("Awareness and support are measured by yes/no questions.")})
    if rate == Rate.SATISFACTION and kind != Kind.RATING:
        raise ValidationError({"rate": _("Satisfaction is measured by a 1–5 rating question.")})
    if rate and survey.questions.filter(rate=rate).exists():
        raise ValidationError({"rate": _("The survey already measures this rate.")})
    position = (survey.questions.order_by("-position").values_list("position", flat=True).first() or 0) + 1
    question = Question(survey=survey, position=position, kind=kind, text=(text or "").strip(),
                        text_en=(text_en or "").strip(), choices=list(choices), required=required, rate=rate,
                        check_answer=(check_answer or "").strip())
    question.full_clean(validate_unique=False, validate_constraints=False)
    question.save()
    return question


def wave_create(*, actor: User, survey: Survey, campaign: Campaign, name: str, starts_on: dt.date, ends_on: dt.date,
                units, quota: int) -> SurveyWave:
    """A wave over ``units``, each with the same quota (changeable per unit afterwards)."""
    units = list(units)
    if not units:
        raise ValidationError({"units": _("Name the units to survey.")})
    _require_office(actor, units)
    if ends_on < starts_on:
        raise ValidationError({"ends_on": _("The period ends before it starts.")})
    if not quota or quota < 1:
        raise ValidationError({"quota": _("The quota is at least 1 answer.")})
    with transaction.atomic():
        wave = SurveyWave(survey=survey, campaign=campaign, name=(name or survey.name).strip()[:200],
                          starts_on=starts_on, ends_on=ends_on, created_by=actor)
        wave.full_clean(validate_constraints=False)
        wave._history_user = actor
        wave.save()
        WaveTarget.objects.bulk_create([WaveTarget(wave=wave, unit=u, quota=quota) for u in units])
    return wave


def clean_answers(questions, data) -> tuple[dict, list[str]]:
    """Answers keyed by question id (strings); and the errors, per question, in words."""
    answers, errors = {}, []
    for q in questions:
        raw = data.getlist(f"q{q.pk}") if hasattr(data, "getlist") else data.get(f"q{q.pk}", [])
        if isinstance(raw, str):
            raw = [raw]
        values = [str(v).strip()[:500] for v in raw if str(v).strip()]
        allowed = {value for value, _label in q.options()}
        if not values:
            if q.required:
                errors.append(_("Please answer: %(q)s") % {"q": q.label})
            continue
        if q.kind == Kind.TEXT:
            answers[q.key] = values[0]
        elif q.kind == Kind.MULTIPLE:
            if not set(values) <= allowed:
                errors.append(_("Choose among the offered answers: %(q)s") % {"q": q.label})
            answers[q.key] = sorted(set(values))
        else:
            if len(values) != 1 or values[0] not in allowed:
                errors.append(_("Choose one of the offered answers: %(q)s") % {"q": q.label})
            answers[q.key] = values[0]
    return answers, errors


def response_submit(*, target: WaveTarget, device: str, data, now: dt.datetime | None = None) -> SurveyResponse:
    """Store one anonymous answer. Refuses (Conflict) a closed or finished wave, a
    unit whose quota is reached and a second answer from the same device; an
    answer failing the check question is kept, voided with that reason."""
    now = now or timezone.now()
    wave = target.wave
    today = timezone.localtime(now).date()
    if wave.status != SurveyWave.Status.OPEN or not wave.starts_on <= today <= wave.ends_on:
        raise Conflict(_("This survey is not open now."))
    questions = list(wave.survey.questions.all())
    answers, errors = clean_answers(questions, data)
    if errors:
        raise ValidationError(errors)
    failed_check = any(q.check_answer and answers.get(q.key) != q.check_answer for q in questions)
    with transaction.atomic():
        target = WaveTarget.objects.select_for_update().get(pk=target.pk)  # quota: answers for one unit queue here
        if SurveyResponse.objects.filter(wave=wave, device=device).exists():
            raise Conflict(_("This device has already answered this survey. Thank you!"))
        if SurveyResponse.objects.valid().filter(target=target).count() >= target.quota:
            raise Conflict(_("This survey has all the answers it needs here. Thank you!"))
        try:
            with transaction.atomic():
                response = SurveyResponse.objects.create(
                    target=target, wave=wave, device=device, answers=answers,
                    voided_at=now if failed_check else None,
                    void_reason=_("failed the check question") if failed_check else "",
                )
        except IntegrityError:
            raise Conflict(_("This device has already answered this survey. Thank you!"))
    return response


def response_void(*, actor: User, response: SurveyResponse, reason: str) -> SurveyResponse:
    """Void a junk answer with the reason; it is kept and no longer counts."""
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Say why the answer is void.")})
    _require_office(actor, [response.target.unit])
    now = timezone.now()
    if SurveyResponse.objects.filter(pk=response.pk, voided_at__isnull=True).update(
            voided_at=now, voided_by=actor, void_reason=reason.strip()[:300]) != 1:
        raise Conflict(_("This answer is already void."))
    response.refresh_from_db()
    return response
