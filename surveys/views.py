"""Survey pages: the office's builder, waves and results, and the public
answer page (no account; one answer per device; rate-limited per address)."""

from __future__ import annotations

import uuid

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core import signing
from django.core.cache import cache
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from campaigns.models import Unit
from civportal.errors import Conflict, PermissionDenied, ValidationError
from civportal.forms import add_service_errors
from civportal.pagination import paginate
from civportal.xlsx import xlsx_response

from . import selectors, services
from .forms import QuestionForm, SurveyForm, VoidForm, WaveForm
from .models import Survey, SurveyResponse, SurveyWave, WaveTarget

DEVICE_COOKIE = "civ_survey_device"
DEVICE_SALT = "surveys.device"


# --- office pages ----------------------------------------------------------------------------------


@login_required
@permission_required("surveys.view_survey", raise_exception=True)
def survey_list(request):
    form = SurveyForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_perm("surveys.add_survey"):
            raise PermissionDenied
        if form.is_valid():
            try:
                survey = services.survey_create(actor=request.user, **form.cleaned_data)
            except (ValidationError, PermissionDenied) as exc:
                form.add_error(None, " ".join(getattr(exc, "messages", [str(exc)])))
            else:
                return redirect("surveys:survey_detail", pk=survey.pk)
    page = paginate(request, Survey.objects.all())
    return render(request, "surveys/survey_list.html", {
        "page": page, "form": form, "can_create": request.user.has_perm("surveys.add_survey")})


@login_required
@permission_required("surveys.view_survey", raise_exception=True)
def survey_export(request):
    rows = ([s.pk, s.name, s.name_en, s.created_at.date().isoformat()] for s in Survey.objects.all())
    return xlsx_response(filename="surveys.xlsx", title=_("surveys"), user=request.user,
                         headers=["id", _("name"), _("name (English)"), _("created at")], rows=rows)


@login_required
@permission_required("surveys.view_survey", raise_exception=True)
def survey_detail(request, pk):
    survey = get_object_or_404(Survey, pk=pk)
    form = QuestionForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_perm("surveys.change_survey"):
            raise PermissionDenied
        if form.is_valid():
            try:
                services.question_add(actor=request.user, survey=survey, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            except Conflict as exc:
                form.add_error(None, exc.message)
            else:
                return redirect("surveys:survey_detail", pk=pk)
    return render(request, "surveys/survey_detail.html", {
        "survey": survey, "questions": survey.questions.all(), "form": form,
        "can_edit": request.user.has_perm("surveys.change_survey")})


def _waves(user):
    return SurveyWave.objects.visible_to(user).select_related("survey", "campaign")


@login_required
@permission_required("surveys.view_surveywave", raise_exception=True)
def wave_list(request):
    page = paginate(request, _waves(request.user))
    return render(request, "surveys/wave_list.html", {"page": page,
                                                      "can_create": request.user.has_perm("surveys.add_surveywave")})


@login_required
@permission_required("surveys.view_surveywave", raise_exception=True)
def wave_export(request):
    rows = ([w.pk, w.name, w.survey.name, w.campaign.name, w.starts_on.isoformat(),
             w.ends_on.isoformat(), w.get_status_display()] for w in _waves(request.user))
    return xlsx_response(filename="survey-waves.xlsx", title=_("survey waves"), user=request.user,
                         headers=["id", _("name"), _("survey"), _("campaign"), _("starts on"), _("ends on"),
                                  _("status")], rows=rows)


@login_required
@permission_required("surveys.add_surveywave", raise_exception=True)
def wave_create(request):
    form = WaveForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        codes = [c.strip() for c in d["unit_codes"].replace("，", ",").split(",") if c.strip()]
        units = list(Unit.objects.visible_to(request.user).filter(code__in=codes))
        missing = sorted(set(codes) - {u.code for u in units})
        if missing:
            form.add_error("unit_codes", _("No unit with these codes in your scope: %(codes)s")
                           % {"codes": ", ".join(missing)})
        else:
            try:
                wave = services.wave_create(actor=request.user, survey=d["survey"], campaign=d["campaign"],
                                            name=d["name"], starts_on=d["starts_on"], ends_on=d["ends_on"],
                                            units=units, quota=d["quota"])
            except ValidationError as exc:
                add_service_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error(None, str(exc))
            else:
                return redirect("surveys:wave_detail", pk=wave.pk)
    return render(request, "surveys/wave_form.html", {"form": form})


def get_wave(user, pk) -> SurveyWave:
    return get_object_or_404(_waves(user), pk=pk)


def _targets(user, wave):
    from campaigns.scope import scope_q

    return wave.targets.filter(scope_q(user, "unit__path")).select_related("unit")


@login_required
@permission_required("surveys.view_surveywave", raise_exception=True)
def wave_detail(request, pk):
    """Results per unit: answers, rates with their 95 % margins, S (final or provisional), links and QR codes."""
    wave = get_wave(request.user, pk)
    rows = selectors.results(wave, _targets(request.user, wave))
    rates = list(selectors.rate_questions(wave))
    for row in rows:
        row.link = request.build_absolute_uri(reverse("surveys:answer", args=[row.target.token]))
        row.cells = [row.rates[r] for r in rates]
    in_scope = SurveyResponse.objects.visible_to(request.user).filter(wave=wave)
    return render(request, "surveys/wave_detail.html", {
        "wave": wave, "rows": rows, "distribution": selectors.distribution(wave, in_scope), "rates": [dict(selectors.Rate.choices)[r] for r in rates]})


@login_required
@permission_required("surveys.view_surveywave", raise_exception=True)
def results_export(request, pk):
    wave = get_wave(request.user, pk)
    rates = list(selectors.rate_questions(wave))
    labels = dict(selectors.Rate.choices)
    rows = []
    for r in selectors.results(wave, _targets(request.user, wave)):
        line = [r.target.unit.code, r.target.unit.name, r.target.quota, r.n]
        for rate in rates:
            res = r.rates[rate]
            line += [res.percent, res.margin]
        line += [r.score, _("final") if r.final else _("provisional")]
        rows.append(line)
    headers = [_("unit code"), _("unit"), _("quota"), _("answers")]
    for rate in rates:
        headers += [f"{labels[rate]} %", f"{labels[rate]} ± %"]
    headers += ["S", _("status")]
    return xlsx_response(filename=f"survey-results-{wave.pk}.xlsx", title=_("survey results"), user=request.user,
                         headers=headers, rows=rows)


def _responses(user, wave):
    return SurveyResponse.objects.visible_to(user).filter(wave=wave).select_related("target__unit")


@login_required
@permission_required("surveys.view_surveyresponse", raise_exception=True)
def answer_list(request, pk):
    wave = get_wave(request.user, pk)
    page = paginate(request, _responses(request.user, wave))
    questions = list(wave.survey.questions.all())
    for r in page:
        r.cells = [r.answers.get(q.key, "") for q in questions]
    return render(request, "surveys/answer_list.html", {
        "wave": wave, "page": page, "questions": questions, "void_form": VoidForm(),
        "can_void": request.user.has_perm("surveys.change_surveyresponse")})


@login_required
@permission_required("surveys.view_surveyresponse", raise_exception=True)
def answers_export(request, pk):
    """Every answer of the wave (no personal data beyond what the form asked)."""
    wave = get_wave(request.user, pk)
    questions = list(wave.survey.questions.all())

    def fmt(value):
        return "、".join(value) if isinstance(value, list) else value

    rows = ([r.pk, r.target.unit.code, r.target.unit.name, timezone.localtime(r.created_at).isoformat(),
             *[fmt(r.answers.get(q.key, "")) for q in questions],
             _("void") if r.voided_at else "", r.void_reason] for r in _responses(request.user, wave))
    return xlsx_response(filename=f"survey-answers-{wave.pk}.xlsx", title=_("survey answers"), user=request.user,
                         headers=["id", _("unit code"), _("unit"), _("answered at"), *[q.text for q in questions],
                                  _("void"), _("void reason")], rows=rows)


@login_required
@require_POST
@permission_required("surveys.change_surveyresponse", raise_exception=True)
def answer_void(request, pk):
    response = get_object_or_404(SurveyResponse.objects.visible_to(request.user).select_related("target__unit"), pk=pk)
    form = VoidForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(_("Say why the answer is void."))
        services.response_void(actor=request.user, response=response, reason=form.cleaned_data["reason"])
        messages.success(request, _("Answer voided."))
    except (ValidationError, Conflict, PermissionDenied) as exc:
        messages.error(request, getattr(exc, "message", None) or " ".join(getattr(exc, "messages", [str(exc)])))
    return redirect("surveys:answer_list", pk=response.wave_id)


def _target_in_scope(user, pk) -> WaveTarget:
    from campaigns.scope import scope_q

    return get_object_or_404(WaveTarget.objects.filter(scope_q(user, "unit__path"))
                             .select_related("unit", "wave__survey"), pk=pk)


@login_required
@permission_required("surveys.view_surveywave", raise_exception=True)
def target_qr_svg(request, pk):
    target = _target_in_scope(request.user, pk)
    url = request.build_absolute_uri(reverse("surveys:answer", args=[target.token]))
    response = HttpResponse(segno.make(url, error="m").svg_inline(scale=6, border=2, omitsize=False),
                            content_type="image/svg+xml")
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@permission_required("surveys.view_surveywave", raise_exception=True)
def target_poster(request, pk):
    """An A4 poster with the QR code of one unit's link, to print and put up."""
    target = _target_in_scope(request.user, pk)
    url = request.build_absolute_uri(reverse("surveys:answer", args=[target.token]))
    return render(request, "surveys/poster.html", {"target": target, "url": url})


# --- the public answer page ------------------------------------------------------------------------


def _client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _rate_limited(request) -> int:
    """Seconds to wait when this address sent too many answers this minute, else 0."""
    limit = settings.SURVEY_RATE_PER_MINUTE
    if limit <= 0:
        return 0
    window = int(timezone.now().timestamp()) // 60
    key = f"survey-rate:{_client_ip(request)}:{window}"
    cache.add(key, 0, timeout=120)
    try:
        used = cache.incr(key)
    except ValueError:
        used = 1
    if used > limit:
        return 60 - int(timezone.now().timestamp()) % 60
    return 0


def _device(request) -> str | None:
    try:
        return request.get_signed_cookie(DEVICE_COOKIE, default=None, salt=DEVICE_SALT)
    except signing.BadSignature:
        return None


def _with_device(response, device: str):
    response.set_signed_cookie(DEVICE_COOKIE, device, salt=DEVICE_SALT, max_age=400 * 24 * 3600, httponly=True,
                               samesite="Lax", secure=not settings.DEBUG)
    return response


def answer(request, token):
    """The public, phone-first questionnaire of one unit's link (no login)."""
    target = get_object_or_404(WaveTarget.objects.select_related("wave__survey", "unit"), token=token)
    wave = target.wave
    questions = list(wave.survey.questions.all())
    device = _device(request)
    context = {"target": target, "wave": wave, "survey": wave.survey, "questions": questions, "errors": [],
               "chosen": {}}
    status = 200
    if request.method == "POST":
        wait = _rate_limited(request)
        if wait:
            response = render(request, "surveys/answer.html", {**context, "refused": _(
                "Too many answers from your network just now: please try again in a minute.")}, status=429)
            response["Retry-After"] = str(wait)
            return response
        device = device or uuid.uuid4().hex
        try:
            services.response_submit(target=target, device=device, data=request.POST)
        except ValidationError as exc:
            context["errors"] = exc.messages
            context["chosen"] = {q.pk: request.POST.getlist(f"q{q.pk}") for q in questions}
            status = 400
        except Conflict as exc:
            context["refused"] = exc.message
            status = 409
        else:
            return _with_device(render(request, "surveys/answer_thanks.html", context), device)
    elif device and SurveyResponse.objects.filter(wave=wave, device=device).exists():
        context["refused"] = _("This device has already answered this survey. Thank you!")
    for q in questions:
        q.chosen = context["chosen"].get(q.pk, [])
    response = render(request, "surveys/answer.html", context, status=status)
    return _with_device(response, device or uuid.uuid4().hex)
