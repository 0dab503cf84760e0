"""Volunteer pages: registry, applications, teams, activities with sign-up and
check-in, the hour ledger, profiles, certificates and statistics. Views
translate input and output; services decide."""

from __future__ import annotations

import datetime

from functools import wraps

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_POST

from campaigns.forms import ImportForm
from campaigns.models import ImportJob
from campaigns.planning.background import job_page_starter
from civportal.errors import Conflict
from civportal.forms import add_service_errors, import_page, save_with_service
from civportal.pagination import paginate
from civportal.xlsx import xlsx_response

from . import imports, privacy, selectors, services
from .filtersets import ActivityFilterSet, HourEntryFilterSet, TeamFilterSet, VolunteerFilterSet
from .forms import (
    ActivityForm, AddSignupForm, ApproveHoursForm, ReasonForm, ReviewForm, SelfRegistrationForm, StatsForm,
    StatusForm, TeamForm, VolunteerForm,
)
from .models import Activity, HourEntry, Signup, Team, Volunteer, volunteer_of


# --- permission-checked fetches -------------------------------------------

def get_volunteer(user, pk) -> Volunteer:
    """404 outside the user's scope (a volunteer account reaches only itself)."""
    own = volunteer_of(user)
    if own is not None and str(own.pk) == str(pk):
        return own
    if not user.has_perm("volunteers.view_volunteer"):
        raise Http404
    return get_object_or_404(Volunteer.objects.visible_to(user).select_related("unit", "team", "user"), pk=pk)


def get_activity(user, pk) -> Activity:
    return get_object_or_404(Activity.objects.visible_to(user).select_related("unit", "team"), pk=pk)


def get_signup(user, pk) -> Signup:
    return get_object_or_404(
        Signup.objects.filter(activity__in=Activity.objects.visible_to(user)).select_related(
            "activity", "activity__unit", "volunteer", "volunteer__unit"
        ),
        pk=pk,
    )


def staff_or_volunteer(view):
    """Activity pages: people with a role (view_activity) or volunteers with an account."""

    @wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        if not (request.user.has_perm("volunteers.view_activity") or volunteer_of(request.user) is not None):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def _service_error(request, exc) -> None:
    if isinstance(exc, Conflict):
        messages.error(request, exc.message)
    elif isinstance(exc, PermissionDenied):
        messages.error(request, str(exc) or _("You may not do this."))
    else:
        messages.error(request, " ".join(exc.messages))


def _filtered(filterset):
    return filterset.qs if filterset.is_bound and filterset.is_valid() else filterset.queryset


# --- self-registration (anonymous) ----------------------------------------

def register(request):
    form = SelfRegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.volunteer_register_self(**form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect("volunteers:register_done")
    status = 400 if request.method == "POST" else 200
    return render(request, "volunteers/register.html", {"form": form}, status=status)


def register_done(request):
    return render(request, "volunteers/register_done.html")


# --- volunteers -----------------------------------------------------------

def _volunteer_queryset(request):
    return Volunteer.objects.visible_to(request.user).select_related("unit", "team").with_totals()


@login_required
@permission_required("volunteers.view_volunteer", raise_exception=True)
def volunteer_list(request):
    filterset = VolunteerFilterSet(request.GET or None, queryset=_volunteer_queryset(request), request=request)
    page = paginate(request, _filtered(filterset))
    return render(request, "volunteers/volunteer_list.html", {"filter": filterset, "page": page})


@login_required
@permission_required("volunteers.view_volunteer", raise_exception=True)
def volunteer_export(request):
    queryset = Volunteer.objects.visible_to(request.user)
    filterset = VolunteerFilterSet(request.GET or None, queryset=queryset, request=request)
    return xlsx_response(
        filename="volunteers.xlsx", title=_("volunteers"), headers=imports.export_headers(),
        rows=imports.export_rows(_filtered(filterset), request.user), user=request.user,
    )


@login_required
@permission_required("volunteers.add_volunteer", raise_exception=True)
def volunteer_import(request):
    return import_page(
        request, ImportForm(request.POST or None, request.FILES or None),
        lambda upload: imports.import_volunteers(actor=request.user, upload=upload),
        template="volunteers/volunteer_import.html", next_url="volunteers:volunteer_list",
        background=job_page_starter(request, ImportJob.Kind.VOLUNTEERS),
        done=lambda result: _("Import finished: %(created)d volunteers registered.") % {"created": result.created},
    )


@login_required
@permission_required("volunteers.add_volunteer", raise_exception=True)
def volunteer_create(request):
    form = VolunteerForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            volunteer = services.volunteer_create(actor=request.user, **form.service_data())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Volunteer %(name)s registered.") % {"name": volunteer.name})
            return redirect("volunteers:volunteer_detail", pk=volunteer.pk)
    return render(request, "volunteers/volunteer_form.html", {"form": form})


@login_required
@permission_required("volunteers.change_volunteer", raise_exception=True)
def volunteer_edit(request, pk):
    volunteer = get_volunteer(request.user, pk)
    if not services.is_manager(request.user, volunteer.unit):
        raise PermissionDenied
    initial = {f: getattr(volunteer, f) for f in ("name", "phone", "unit", "id_number", "gender", "birth_year",
                                                   "skills", "team")}
    initial["account"] = volunteer.user.username if volunteer.user else ""
    form = VolunteerForm(request.POST or None, initial=initial, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.volunteer_update(actor=request.user, volunteer=volunteer, **form.service_data())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Volunteer saved."))
            return redirect("volunteers:volunteer_detail", pk=volunteer.pk)
    return render(request, "volunteers/volunteer_form.html", {"form": form, "volunteer": volunteer})


@login_required
def volunteer_detail(request, pk):
    """The profile: personal data (masked unless allowed), hours, star level, activities."""
    volunteer = get_volunteer(request.user, pk)
    signups = volunteer.signups.select_related("activity", "activity__unit", "hour_entry").order_by("-activity__starts_at")
    context = {
        "volunteer": volunteer,
        "summary": selectors.service_summary(volunteer),
        "entries": selectors.hour_entries(volunteer)[:100],
        "signups": signups[:100],
        "can_manage": services.is_manager(request.user, volunteer.unit),
        "review_form": ReviewForm(),
        "status_form": StatusForm(),
        "is_self": volunteer.user_id == request.user.pk,
    }
    return render(request, "volunteers/volunteer_detail.html", context)


@login_required
def my_profile(request):
    volunteer = volunteer_of(request.user)
    if volunteer is None:
        if request.user.has_perm("volunteers.view_volunteer"):
            return redirect("volunteers:volunteer_list")
        raise Http404
    return redirect("volunteers:volunteer_detail", pk=volunteer.pk)


@login_required
def volunteer_certificate(request, pk):
    volunteer = get_volunteer(request.user, pk)
    context = {
        "volunteer": volunteer,
        "summary": selectors.service_summary(volunteer),
        "entries": selectors.hour_entries(volunteer),
        "issued_on": timezone.localdate(),
    }
    return render(request, "volunteers/certificate.html", context)


@login_required
@require_POST
@permission_required("volunteers.change_volunteer", raise_exception=True)
def volunteer_review(request, pk):
    volunteer = get_volunteer(request.user, pk)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose approve or refuse."))
    else:
        try:
            services.volunteer_review(actor=request.user, volunteer=volunteer, **form.cleaned_data)
        except (ValidationError, PermissionDenied, Conflict) as exc:
            _service_error(request, exc)
        else:
            messages.success(request, _("Application reviewed."))
    return redirect("volunteers:volunteer_detail", pk=volunteer.pk)


@login_required
@require_POST
@permission_required("volunteers.change_volunteer", raise_exception=True)
def volunteer_status(request, pk):
    volunteer = get_volunteer(request.user, pk)
    form = StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a valid status."))
    else:
        try:
            services.volunteer_set_status(actor=request.user, volunteer=volunteer, **form.cleaned_data)
        except (ValidationError, PermissionDenied, Conflict) as exc:
            _service_error(request, exc)
        else:
            messages.success(request, _("Status changed."))
    return redirect("volunteers:volunteer_detail", pk=volunteer.pk)


# --- teams ----------------------------------------------------------------

@login_required
@permission_required("volunteers.view_team", raise_exception=True)
def team_list(request):
    queryset = (
        Team.objects.visible_to(request.user).select_related("unit", "leader")
        .annotate(member_count=Count("members", filter=Q(members__status=Volunteer.Status.ACTIVE)))
        .order_by("unit__path", "name")
    )
    filterset = TeamFilterSet(request.GET or None, queryset=queryset, request=request)
    page = paginate(request, _filtered(filterset))
    return render(request, "volunteers/team_list.html", {"filter": filterset, "page": page})


@login_required
@permission_required("volunteers.add_team", raise_exception=True)
def team_create(request):
    form = TeamForm(request.POST or None, user=request.user)
    team = save_with_service(request, form, lambda: services.team_create(actor=request.user, **form.cleaned_data),
                             denied_field="unit")
    if team is not None:
        messages.success(request, _("Team %(name)s created.") % {"name": team.name})
        return redirect("volunteers:team_detail", pk=team.pk)
    return render(request, "volunteers/team_form.html", {"form": form})


@login_required
@permission_required("volunteers.view_team", raise_exception=True)
def team_detail(request, pk):
    team = get_object_or_404(Team.objects.visible_to(request.user).select_related("unit", "leader"), pk=pk)
    members = team.members.select_related("unit").with_totals().order_by("name", "id")
    context = {
        "team": team,
        "members": members[:500],
        "can_manage": services.is_manager(request.user, team.unit),
    }
    return render(request, "volunteers/team_detail.html", context)


@login_required
@permission_required("volunteers.change_team", raise_exception=True)
def team_edit(request, pk):
    team = get_object_or_404(Team.objects.visible_to(request.user).select_related("unit"), pk=pk)
    if not services.is_manager(request.user, team.unit):
        raise PermissionDenied
    form = TeamForm(request.POST or None, user=request.user,
                    initial={"unit": team.unit, "name": team.name, "description": team.description})
    form.fields["unit"].disabled = True
    if request.method == "POST" and form.is_valid():
        try:
            services.team_update(actor=request.user, team=team, name=form.cleaned_data["name"], leader=team.leader,
                                 description=form.cleaned_data["description"], active=team.active)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Team saved."))
            return redirect("volunteers:team_detail", pk=team.pk)
    return render(request, "volunteers/team_form.html", {"form": form, "team": team})


@login_required
@require_POST
@permission_required("volunteers.change_team", raise_exception=True)
def team_set_leader(request, pk):
    team = get_object_or_404(Team.objects.visible_to(request.user).select_related("unit"), pk=pk)
    leader = get_object_or_404(team.members.all(), pk=request.POST.get("volunteer") or 0) \
        if str(request.POST.get("volunteer", "")).isascii() and str(request.POST.get("volunteer", "")).isdigit() else None
    try:
        services.team_update(actor=request.user, team=team, name=team.name, leader=leader,
                             description=team.description, active=team.active)
    except (ValidationError, PermissionDenied) as exc:
        _service_error(request, exc)
    else:
        messages.success(request, _("Team leader set."))
    return redirect("volunteers:team_detail", pk=team.pk)


# --- activities -----------------------------------------------------------

def _activity_queryset(request):
    return Activity.objects.visible_to(request.user).select_related("unit", "team").annotate(
        taken=Count("signups", filter=~Q(signups__status=Signup.Status.CANCELLED))
    ).order_by("-starts_at", "id")


@staff_or_volunteer
def activity_list(request):
    filterset = ActivityFilterSet(request.GET or None, queryset=_activity_queryset(request), request=request)
    page = paginate(request, _filtered(filterset))
    return render(request, "volunteers/activity_list.html", {"filter": filterset, "page": page})


@login_required
@permission_required("volunteers.add_activity", raise_exception=True)
def activity_create(request):
    form = ActivityForm(request.POST or None, user=request.user)
    activity = save_with_service(
        request, form, lambda: services.activity_create(actor=request.user, **form.cleaned_data), denied_field="unit")
    if activity is not None:
        messages.success(request, _("Activity %(title)s created.") % {"title": activity.title})
        return redirect("volunteers:activity_detail", pk=activity.pk)
    return render(request, "volunteers/activity_form.html", {"form": form})


@login_required
@permission_required("volunteers.change_activity", raise_exception=True)
def activity_edit(request, pk):
    activity = get_activity(request.user, pk)
    if not services.is_organiser(request.user, activity):
        raise PermissionDenied
    fields = ("unit", "team", "title", "category", "address", "starts_at", "ends_at", "capacity", "description")
    form = ActivityForm(request.POST or None, user=request.user,
                        initial={f: getattr(activity, f) for f in fields})
    form.fields["unit"].disabled = True
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "unit"}
        try:
            services.activity_update(actor=request.user, activity=activity, **data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        except Conflict as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Activity saved."))
            return redirect("volunteers:activity_detail", pk=activity.pk)
    return render(request, "volunteers/activity_form.html", {"form": form, "activity": activity})


@staff_or_volunteer
def activity_detail(request, pk):
    activity = get_activity(request.user, pk)
    organiser = services.is_organiser(request.user, activity)
    sees_signups = organiser or request.user.has_perm("volunteers.view_signup")
    signups = (
        activity.signups.select_related("volunteer", "volunteer__unit", "hour_entry").order_by("status", "created_at")
        if sees_signups else Signup.objects.none()
    )
    own = volunteer_of(request.user)
    my_signup = activity.signups.taking_places().filter(volunteer=own).first() if own else None
    context = {
        "activity": activity,
        "places": selectors.activity_places(activity),
        "organiser": organiser,
        "signups": signups,
        "own": own,
        "my_signup": my_signup,
        "add_form": AddSignupForm(),
        "approve_form": ApproveHoursForm(),
        "reason_form": ReasonForm(),
        "now": timezone.now(),
    }
    return render(request, "volunteers/activity_detail.html", context)


@login_required
@permission_required("volunteers.view_signup", raise_exception=True)
def activity_signups_export(request, pk):
    activity = get_activity(request.user, pk)
    signups = activity.signups.select_related("volunteer", "volunteer__unit", "hour_entry").order_by("created_at")

    def rows():
        for s in signups.iterator(chunk_size=1000):
            entry = getattr(s, "hour_entry", None)
            yield [s.volunteer.name, privacy.phone_for(request.user, s.volunteer), s.volunteer.unit.name,
                   s.get_status_display(), timezone.localtime(s.checked_in_at).strftime("%Y-%m-%d %H:%M") if s.checked_in_at else "",
                   timezone.localtime(s.checked_out_at).strftime("%Y-%m-%d %H:%M") if s.checked_out_at else "",
                   s.minutes, entry.minutes if entry else None]

    headers = [pgettext("person", "name"), _("mobile phone"), _("community"), _("status"), _("checked in at"), _("checked out at"),
               _("minutes from check-in/out"), _("approved minutes")]
    return xlsx_response(filename=f"activity-{activity.pk}-signups.xlsx", title=_("sign-ups"), headers=headers,
                         rows=rows(), user=request.user)


@login_required
@require_POST
@permission_required("volunteers.change_activity", raise_exception=True)
def activity_cancel(request, pk):
    activity = get_activity(request.user, pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a reason."))
    else:
        try:
            services.activity_cancel(actor=request.user, activity=activity, reason=form.cleaned_data["reason"])
        except (ValidationError, PermissionDenied, Conflict) as exc:
            _service_error(request, exc)
        else:
            messages.success(request, _("Activity cancelled."))
    return redirect("volunteers:activity_detail", pk=activity.pk)


@login_required
@require_POST
@permission_required("volunteers.change_activity", raise_exception=True)
def activity_complete(request, pk):
    activity = get_activity(request.user, pk)
    try:
        services.activity_complete(actor=request.user, activity=activity)
    except (ValidationError, PermissionDenied, Conflict) as exc:
        _service_error(request, exc)
    else:
        messages.success(request, _("Activity completed; volunteers who never checked in are recorded as no-shows."))
    return redirect("volunteers:activity_detail", pk=activity.pk)


@staff_or_volunteer
@require_POST
def activity_sign_up(request, pk):
    """A volunteer signs up themselves; an organiser signs up a volunteer by phone."""
    activity = get_activity(request.user, pk)
    volunteer = volunteer_of(request.user)
    if "phone" in request.POST:
        form = AddSignupForm(request.POST)
        phone = services.normalize_phone(form.data.get("phone", ""))
        volunteer = Volunteer.objects.visible_to(request.user).filter(phone=phone).select_related("unit").first()
        if volunteer is None:
            messages.error(request, _("No volunteer with this phone number in your units."))
            return redirect("volunteers:activity_detail", pk=activity.pk)
    if volunteer is None:
        raise PermissionDenied
    try:
        services.signup_create(actor=request.user, activity=activity, volunteer=volunteer)
    except (ValidationError, PermissionDenied, Conflict) as exc:
        _service_error(request, exc)
    else:
        messages.success(request, _("%(name)s signed up.") % {"name": volunteer.name})
    return redirect("volunteers:activity_detail", pk=activity.pk)


SIGNUP_ACTIONS = {
    "cancel": (services.signup_cancel, _("Sign-up cancelled.")),
    "check-in": (services.signup_check_in, _("Checked in.")),
    "check-out": (services.signup_check_out, _("Checked out.")),
    "no-show": (services.signup_mark_no_show, _("Recorded as a no-show.")),
}


@staff_or_volunteer
@require_POST
def signup_action(request, pk, action):
    signup = get_signup(request.user, pk)
    if action == "approve":
        form = ApproveHoursForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Enter whole minutes."))
            return redirect("volunteers:activity_detail", pk=signup.activity_id)
        call, done = services.signup_approve_hours, _("Hours approved.")
        kwargs = {"minutes": form.cleaned_data["minutes"]}
    elif action in SIGNUP_ACTIONS:
        (call, done), kwargs = SIGNUP_ACTIONS[action], {}
    else:
        raise Http404
    try:
        call(actor=request.user, signup=signup, **kwargs)
    except (ValidationError, PermissionDenied, Conflict) as exc:
        _service_error(request, exc)
    else:
        messages.success(request, str(done))
    return redirect("volunteers:activity_detail", pk=signup.activity_id)


# --- QR check-in ----------------------------------------------------------

def _scan_url(activity: Activity) -> str:
    return settings.SITE_URL + reverse("volunteers:scan", args=[services.activity_qr_token(activity)])


@login_required
@permission_required("volunteers.change_signup", raise_exception=True)
def activity_qr(request, pk):
    """The page to print or show on site: the QR code volunteers scan."""
    activity = get_activity(request.user, pk)
    if not services.is_organiser(request.user, activity):
        raise PermissionDenied
    return render(request, "volunteers/activity_qr.html", {"activity": activity, "scan_url": _scan_url(activity)})


@login_required
@permission_required("volunteers.change_signup", raise_exception=True)
def activity_qr_svg(request, pk):
    activity = get_activity(request.user, pk)
    if not services.is_organiser(request.user, activity):
        raise PermissionDenied
    qr = segno.make(_scan_url(activity), error="m")
    svg = qr.svg_inline(scale=6, border=2, omitsize=False)
    response = HttpResponse(svg, content_type="image/svg+xml")
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def scan(request, token):
    """Where the QR code leads: confirm, then check in (or out)."""
    try:
        activity = services.activity_from_qr_token(token)
    except ValidationError as exc:
        return render(request, "volunteers/scan.html", {"error": " ".join(exc.messages)}, status=400)
    own = volunteer_of(request.user)
    my_signup = activity.signups.taking_places().filter(volunteer=own).first() if own else None
    if request.method == "POST":
        try:
            signup = services.signup_scan(actor=request.user, token=token)
        except (ValidationError, PermissionDenied, Conflict) as exc:
            _service_error(request, exc)
        else:
            if signup.checked_out_at:
                messages.success(request, _("Checked out. Thank you for your service!"))
            else:
                messages.success(request, _("Checked in. Remember to scan again when you leave."))
        return redirect("volunteers:scan", token=token)
    return render(request, "volunteers/scan.html", {"activity": activity, "own": own, "my_signup": my_signup})


# --- ledger and statistics --------------------------------------------------

@login_required
@permission_required("volunteers.view_hourentry", raise_exception=True)
def ledger(request):
    queryset = HourEntry.objects.visible_to(request.user).select_related(
        "volunteer", "volunteer__unit", "activity", "approved_by"
    )
    filterset = HourEntryFilterSet(request.GET or None, queryset=queryset, request=request)
    page = paginate(request, _filtered(filterset))
    return render(request, "volunteers/ledger.html", {"filter": filterset, "page": page})


@login_required
@permission_required("volunteers.view_volunteer", raise_exception=True)
def statistics(request):
    form = StatsForm(request.GET or None, user=request.user)
    valid = form.is_bound and form.is_valid()
    root = form.cleaned_data.get("unit") if valid else None
    root = root or selectors.default_stats_root(request.user)
    # A past month is counted as of its end (the dashboards link here with their month).
    now = timezone.now()
    month = form.cleaned_data.get("month") if valid else None
    if month is not None:
        start = timezone.make_aware(datetime.datetime.combine(month, datetime.time()))
        end = (start + datetime.timedelta(days=32)).replace(day=1)
        now = min(now, end - datetime.timedelta(microseconds=1))
    total, rows = selectors.unit_statistics(root, now=now) if root else (None, [])
    return render(request, "volunteers/statistics.html", {"form": form, "root": root, "total": total, "rows": rows})
