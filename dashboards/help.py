"""Help pages (/help/): one page per role saying what to do, in order, with
screenshots the browser journeys take (static/help/, tests/e2e/test_help_journey.py
and test_appeal_journey.py). The pages are open to anyone: a person who cannot
sign in yet may read what the portal asks of them."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from campaigns.models import Membership
from campaigns.scope import user_roles

Role = Membership.Role


@dataclass
class Step:
    title: str
    text: str
    screenshot: str = ""  # a file under static/help/, taken by a browser journey
    alt: str = ""


@dataclass
class RoleHelp:
    slug: str
    title: str
    summary: str
    steps: list[Step] = field(default_factory=list)


VOLUNTEER = "volunteer"

ROLES = [
    RoleHelp(Role.HANDLER, _("Handling clerk (经办人)"), _(
        "You rectify what is assigned to your unit, by the deadline, with photos."), [
        Step(_("Open your tasks"), _(
            "Your home lists your unit's tasks by what they need: due today, overdue, returned for rework, awaiting "
            "acceptance, extension pending, awaiting verification. Start with the red ones."),
            "handler-home.png", _("The handling clerk's home with the task sections")),
        Step(_("Accept the task"), _(
            "Open a task and accept it: the office sees that your unit is on it. If the problem is not your "
            "unit's, say so in a note instead of leaving it.")),
        Step(_("Fix it and report back"), _(
            "Once fixed, take “after” photos from the same spot as the “before” photo and submit them with a short "
            "note. The task waits for verification.")),
        Step(_("Ask for more time when needed"), _(
            "If the deadline cannot be met (works, procurement), request an extension with a reason before it "
            "passes; the office approves or refuses.")),
        Step(_("Rework what comes back"), _(
            "A returned task counts as rework: read the reviewer's note, fix what is missing and submit again.")),
    ]),
    RoleHelp(Role.HEAD, _("Unit head (负责人)"), _(
        "You answer for your unit's tasks and score, and appeal deductions you contest."), [
        Step(_("Watch your unit's tasks"), _(
            "Your home shows your unit's tasks like the clerk's; the unit dashboard shows the overdue ones, the "
            "monthly score and what cost points.")),
        Step(_("Check the draft score"), _(
            "When the office opens a month for review you see your unit's draft score with every deduction "
            "(findings, visits, task credits).")),
        Step(_("Appeal a deduction"), _(
            "Within the appeal window (3 working days by default) appeal a deduction on the score page: choose what "
            "you contest, give the record number, the reason and attachments (photos, documents)."),
            "head-appeal.png", _("A unit head's appeal form on a phone")),
        Step(_("Read the decision"), _(
            "The office accepts (the record is corrected and the next computation shows it) or rejects with a "
            "reason; you are notified either way and the appeal shows its result."),
            "head-appeal-result.png", _("The appeal after the office's decision")),
        Step(_("Consult the unit record"), _(
            "The unit record (单位档案) gathers the year's scores, ranks, red and black lists, appeals and "
            "accountability records, with an xlsx for the annual assessment.")),
    ]),
    RoleHelp(Role.INSPECTOR, _("Inspector (测评员/督查员)"), _(
        "You visit places and record what you find, with photos."), [
        Step(_("See your rounds"), _(
            "Your home lists the inspection rounds you are on that are planned or under way, and the findings you "
            "recorded with their status."), "inspector-home.png", _("The inspector's home")),
        Step(_("Record a finding on the spot"), _(
            "Choose “Record a finding”, pick the point, category and severity, take the photos and let the phone "
            "add the location. A finding on a visit counts in the visit's month.")),
        Step(_("Record clean places too"), _(
            "A visit without problems is evidence of a clean place and scores 100: record it as well.")),
        Step(_("Follow your findings"), _(
            "Open a finding to see its task, deadline and the “after” photos once the unit reports back.")),
    ]),
    RoleHelp(Role.SUPERVISOR, _("Campaign office (创城办)"), _(
        "You dispatch, verify, score, publish and hold units to account."), [
        Step(_("Start on the dashboard"), _(
            "The dashboard shows open findings, overdue tasks, the index and the ranking of the units below you; "
            "every figure links to its list.")),
        Step(_("Triage and dispatch"), _(
            "New findings wait in the triage queue: dispatch each to the responsible unit with a deadline, mark "
            "duplicates, void the invalid ones with a reason.")),
        Step(_("Verify reports"), _(
            "Compare the “after” photos with the “before” ones: accept to close the task, or return it for rework "
            "with a note.")),
        Step(_("Compute, review and publish the month"), _(
            "On the ranking page compute the month, open it for review so units may appeal, decide the appeals, "
            "then publish and, if wanted, announce it to the public."),
            "supervisor-appeals.png", _("The office's appeals list")),
        Step(_("Expose and hold to account"), _(
            "Use the exposure board (曝光台) for problems that stay unfixed (after reviewing the photos for faces "
            "and number plates) and record public criticism, admonishing talks and accountability against units.")),
    ]),
    RoleHelp(Role.LEADER, _("Assigned leader (包保领导)"), _(
        "You follow how the units you answer for stand; you do not handle tasks yourself."), [
        Step(_("Read your units' situation"), _(
            "Your home shows each of your units' latest civility index, rank, red or black list, and its open, "
            "overdue and listed-supervision tasks."), "leader-home.png", _("The assigned leader's home")),
        Step(_("Open the unit dashboard"), _(
            "The unit dashboard gives the trend, the ranking of the units below and the findings that cost points.")),
        Step(_("Press on what is overdue"), _(
            "Follow the overdue tasks' link and take them up with the unit's head.")),
    ]),
    RoleHelp(VOLUNTEER, _("Volunteer (志愿者)"), _(
        "You report problems you see and take part in volunteer activities."), [
        Step(_("Register"), _(
            "Register on the volunteer page; your community approves the registration.")),
        Step(_("Report a problem"), _(
            "Once approved, choose “Report a problem”, take a photo and describe where it is. The office triages it "
            "and you can follow it under “My reports”."), "volunteer-home.png", _("The volunteer's home")),
        Step(_("Join activities"), _(
            "Sign up for activities and check in and out with the activity's QR code: your service hours are "
            "recorded.")),
    ]),
]
BY_SLUG = {r.slug: r for r in ROLES}


def _mine(user) -> set[str]:
    if not user.is_authenticated:
        return set()
    roles = set(user_roles(user))
    if not roles and hasattr(user, "volunteer"):
        roles.add(VOLUNTEER)
    return roles


def index(request):
    return render(request, "help/index.html", {"roles": ROLES, "mine": _mine(request.user)})


def role(request, slug: str):
    page = BY_SLUG.get(slug)
    if page is None:
        raise Http404
    return render(request, "help/role.html", {"page": page, "roles": ROLES, "mine": _mine(request.user)})
