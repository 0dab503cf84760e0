"""A small but complete world for whole-API tests (fuzzing, hostile input):
the shared city and personas, a planned campaign, volunteers, a team, an
activity with a sign-up, an import job, an API client, the inspection loop
(category, inspection, visit, findings, a task), a monthly score and a
scoring scheme with its draft month opened for review and an open appeal (by
district A's head), a notice from the city office to district A's units, a
survey wave (``tokens`` holds its public link token for the ``{token}``
route), an account the supervisor manages, and for each ``{id}`` route the id
of an object in district A (so both the city-wide supervisor and district A's
handling clerk reach it).
Objects that belong to one person (notifications, webhook subscriptions and
their deliveries) are made for a key's service user by ``add_owned``."""

from __future__ import annotations

from types import SimpleNamespace

import datetime as dt

from django.core.files.base import ContentFile
from django.utils import timezone

from campaigns import services as campaign_services
from campaigns.accounts import services as account_services
from campaigns.models import ImportJob, Membership
from inspections import services as loop
from inspections.models import Finding, FindingCategory, Inspection, VisitCheck
from notices import services as notice_services
from notifications.models import Event, Notification, WebhookDelivery, WebhookSubscription
from scores import services as score_services
from scores.models import MonthlyScore, ScoreMonth, ScoringScheme
from surveys import services as survey_services
from volunteers.models import Signup, Team

from ..campaigns.planning_helpers import planned
from ..volunteers.conftest import make_activity, make_volunteer

Role = Membership.Role


def build_world(city, personas) -> SimpleNamespace:
    plan = planned(city)
    volunteer = make_volunteer(city.community_a1, name="王小明", phone="13800000001")
    team = Team.objects.create(unit=city.community_a1, name="春晖志愿队")
    activity = make_activity(city.community_a1)
    Signup.objects.create(activity=activity, volunteer=volunteer)
    job = ImportJob.objects.create(kind=ImportJob.Kind.POINTS, original_name="points.xlsx",
                                   created_by=personas.supervisor, file=ContentFile(b"x", name="points.xlsx"))
    client, _key = campaign_services.api_client_create(actor=personas.supervisor, name="existing", role=Role.HANDLER,
                                                       unit=city.district_a)
    membership = Membership.objects.get(user=personas.handler_a, unit=city.district_a)
    category = FindingCategory.objects.create(code="FZ-01", name="占道经营", active=True)
    inspection = Inspection.objects.create(campaign=plan.campaign, title="暗访", kind=Inspection.Kind.UNANNOUNCED,
                                           unit=city.district_a, starts_on=dt.date(2026, 11, 1),
                                           ends_on=dt.date(2026, 11, 30))
    visit = loop.visit_create(actor=personas.inspector, inspection=inspection, point=plan.point_a)
    # A checklist result (issue 18): the visit's checks and the lost-points report have a row.
    VisitCheck.objects.create(visit=visit, indicator=plan.criterion, result=VisitCheck.Result.FAILED, note="占道经营")
    finding, _created = loop.finding_create(
        actor=personas.supervisor, source=Finding.Source.HOTLINE, category=category, unit=city.street_a1,
        description="占道经营", external_id="FUZZ-1")
    tasked, _created = loop.finding_create(
        actor=personas.supervisor, source=Finding.Source.HOTLINE, category=category, unit=city.street_a1,
        description="占道经营（已交办）", external_id="FUZZ-2")
    task = loop.task_dispatch(actor=personas.supervisor, finding=tasked)
    scheme = ScoringScheme.objects.order_by("version").first() or ScoringScheme.objects.create(
        version=1, **ScoringScheme.defaults())
    score_month = ScoreMonth.objects.create(campaign=plan.campaign, month=dt.date(2026, 10, 1), scheme=scheme,
                                            computed_at=timezone.now())
    score = MonthlyScore.objects.create(campaign=plan.campaign, unit=city.street_a1, month=dt.date(2026, 10, 1),
                                        score_month=score_month, scheme=scheme, kind=city.street_a1.kind)
    # The draft is open for review (the appeal window runs): district A's head appeals the task's credit.
    score.score_month = score_services.score_month_open_review(actor=personas.supervisor, campaign=plan.campaign,
                                                               month=score.month)
    appeal = score_services.appeal_submit(actor=personas.head_a, score=score, target="task", obj=task,
                                          reason="已按期整改")
    notice = notice_services.notice_publish(actor=personas.supervisor, title="关于开展环境整治的通知",
                                            target_root=city.district_a, body="请各单位按期完成。")
    survey = survey_services.survey_create(actor=personas.supervisor, name="文明城市创建问卷", standard=True)
    today = timezone.localdate()
    wave = survey_services.wave_create(actor=personas.supervisor, survey=survey, campaign=plan.campaign, name="第一轮",
                                       starts_on=today - dt.timedelta(days=1), ends_on=today + dt.timedelta(days=10),
                                       units=[city.street_a1], quota=100)
    account, _password = account_services.account_create(actor=personas.supervisor, username="fuzz_clerk",
                                                          display_name="李办事", unit=city.street_a1,
                                                          role=Role.HANDLER)
    ids = {
        "units": city.street_a1.pk,
        "memberships": membership.pk,
        "campaigns": plan.campaign.pk,
        "indicator-systems": plan.system.pk,
        "indicators": plan.criterion.pk,
        "point-types": plan.types["农贸市场"].pk,
        "points": plan.point_a.pk,
        "work-items": plan.item_a.pk,
        "import-jobs": job.pk,
        "volunteers": volunteer.pk,
        "teams": team.pk,
        "activities": activity.pk,
        "api-clients": client.pk,
        "finding-categories": category.pk,
        "inspections": inspection.pk,
        "visits": visit.pk,
        "findings": finding.pk,
        "tasks": task.pk,
        "scores": score.pk,
        "score-schemes": scheme.pk,
        "appeals": appeal.pk,
        "notices": notice.pk,
        "surveys": survey.pk,
        "survey-waves": wave.pk,
        "users": account.pk,
    }
    tokens = {"survey-answers": wave.targets.get().token}
    return SimpleNamespace(plan=plan, volunteer=volunteer, team=team, activity=activity, job=job, ids=ids,
                           tokens=tokens, category=category, inspection=inspection, visit=visit, finding=finding,
                           task=task, score=score, scheme=scheme, appeal=appeal, notice=notice, wave=wave,
                           account=account)


def add_owned(world: SimpleNamespace, user) -> None:
    """A notification for ``user``, and (for a supervisor) a webhook subscription with one delivery,
    so the per-person routes reach real objects too."""
    now = timezone.now()
    note = Notification.objects.create(recipient=user, event=Event.FINDING_CREATED, title="新问题", created_at=now)
    world.ids["notifications"] = note.pk
    if Membership.Role.SUPERVISOR in set(Membership.objects.filter(user=user).values_list("role", flat=True)):
        subscription = WebhookSubscription.objects.create(owner=user, name="数字城管", events=[Event.FINDING_CREATED],
                                                          url="https://dcm.example.invalid/in")
        delivery = WebhookDelivery.objects.create(subscription=subscription, event=Event.FINDING_CREATED,
                                                  event_id=note.event_id, payload={"id": str(note.event_id)},
                                                  next_attempt_at=now, created_at=now)
        world.ids["webhook-subscriptions"] = subscription.pk
        world.ids["webhook-deliveries"] = delivery.pk


def resource_of(path: str) -> str:
    """``/api/v1/work-items/{id}/submit/`` → ``work-items``."""
    return path.split("/api/v1/", 1)[-1].split("/", 1)[0]
