"""A small but complete world for whole-API tests (fuzzing, hostile input):
the shared city and personas, a planned campaign, volunteers, a team, an
activity with a sign-up, an import job and an API client, and for each
``{id}`` route the id of an object in district A (so both the city-wide
supervisor and district A's handling clerk reach it)."""

from __future__ import annotations

from types import SimpleNamespace

from django.core.files.base import ContentFile

from campaigns import services as campaign_services
from campaigns.models import ImportJob, Membership
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
    }
    return SimpleNamespace(plan=plan, volunteer=volunteer, team=team, activity=activity, job=job, ids=ids)


def resource_of(path: str) -> str:
    """``/api/v1/work-items/{id}/submit/`` → ``work-items``."""
    return path.split("/api/v1/", 1)[-1].split("/", 1)[0]
