"""Filing a GeoReport v2 service request: a finding with source ``api``.

Where it is decides who answers for it: ``address_id`` names an evaluation
point by its code; ``lat``/``long`` pick the nearest active point within
``OPEN311_POINT_RADIUS_M`` metres; otherwise (or with only an
``address_string``) the key's own unit answers. A place that belongs to a
unit outside the key's scope is refused. The finding is recorded by
``inspections.services.finding_create`` (role and scope rules, idempotence
on ``external_id``, hooks), so the key needs a role that may record findings
(inspector or supervisor), exactly as on /api/v1/findings/."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from campaigns.models import ApiClient, Point, User
from campaigns.scope import in_scope
from inspections import services as inspection_services
from inspections.models import Finding, FindingCategory

from .formats import Open311Error
from .models import ServiceRequestInfo

EARTH_RADIUS_M = 6_371_000


@dataclass
class Location:
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    address: str = ""
    point_code: str = ""


def _distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def nearest_point(latitude: Decimal, longitude: Decimal, radius_m: float | None = None) -> Point | None:
    """The nearest active point (of any scope) within ``radius_m`` of the position."""
    radius_m = settings.OPEN311_POINT_RADIUS_M if radius_m is None else radius_m
    if radius_m <= 0:
        return None
    lat, lon = float(latitude), float(longitude)
    dlat = radius_m / 111_320
    dlon = dlat / max(math.cos(math.radians(lat)), 0.01)
    q = lambda v: Decimal(str(round(v, 6)))  # noqa: E731
    candidates = (
        Point.objects.active().select_related("unit", "department")
        .filter(latitude__range=(q(lat - dlat), q(lat + dlat)), longitude__range=(q(lon - dlon), q(lon + dlon)))
        .order_by("id")[:500]
    )
    best, best_distance = None, radius_m
    for point in candidates:
        distance = _distance_m(lat, lon, float(point.latitude), float(point.longitude))
        if distance <= best_distance:
            best, best_distance = point, distance
    return best


def _visible(user: User, point: Point) -> bool:
    return in_scope(user, point.unit) or (point.department is not None and in_scope(user, point.department))


def file_request(
    *, client: ApiClient, category: FindingCategory, description: str, location: Location, severity: str | None,
    observed_at, external_id: str | None, reporter_name: str, reporter_contact: str, info: dict,
) -> tuple[Finding, bool]:
    """Create the finding (or return the one already filed with this external id)."""
    user = client.user
    point = None
    if location.point_code:
        point = (Point.objects.active().select_related("unit", "department")
                 .filter(code=location.point_code).first())
        if point is None or not _visible(user, point):
            raise Open311Error(400, _("No evaluation point with this address_id in the area of your API key."))
    elif location.latitude is not None:
        point = nearest_point(location.latitude, location.longitude)
        if point is not None and not _visible(user, point):
            raise Open311Error(403, _("This location belongs to a unit outside the area of your API key."))
    unit = point.unit if point is not None else client.unit
    if not in_scope(user, unit):
        raise Open311Error(403, _("This location belongs to a unit outside the area of your API key."))
    try:
        campaign = inspection_services.campaign_for_new_finding()
    except ValidationError as exc:
        raise Open311Error(400, " ".join(exc.message_dict["campaign"])) from exc
    with transaction.atomic():
        finding, created = inspection_services.finding_create(
            actor=user, source=Finding.Source.API, category=category, description=description, severity=severity,
            campaign=campaign, point=point, unit=unit, address=location.address, latitude=location.latitude,
            longitude=location.longitude, observed_at=observed_at, reporter_name=reporter_name,
            reporter_contact=reporter_contact, external_id=external_id,
        )
        if created:
            ServiceRequestInfo.objects.create(finding=finding, client=client, **info)
    if not created and not Finding.objects.visible_to(user).filter(pk=finding.pk).exists():
        # The same external id filed by another system for another area: never reveal that request.
        raise Open311Error(400, _("This external_id is already used by another request."))
    return finding, created


def allowance_notice(finding: Finding) -> str:
    """The service notice of a new request: how long the unit will have once it is dispatched."""
    from inspections import deadlines

    allowance = deadlines.allowance_for(finding.category, finding.severity)
    return _("Once dispatched, the responsible unit has %(allowance)s to fix it; "
             "the campaign office verifies the fix.") % {"allowance": allowance}
