"""Reads for evaluation rounds: scoped, with their joins and counts in SQL."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, ExpressionWrapper, F, FloatField, Max, Prefetch, Value
from django.db.models.functions import Coalesce, Cos, Radians

from campaigns.models import Point

from .models import InspectionSchedule, PlannedVisit, PointDraw


def draws_for(user):
    return (PointDraw.objects.visible_to(user).select_related("campaign", "area", "drawn_by", "inspection")
            .annotate(drawn=Count("planned_visits", distinct=True))
            .order_by("-created_at", "-id"))


def draw_stops(draw: PointDraw, user):
    """The draw's planned visits the user may see (an inspector: their own), with their visit state."""
    return (PlannedVisit.objects.visible_to(user).filter(draw=draw).with_done()
            .select_related("point", "point__point_type", "point__unit", "stratum", "inspector")
            .order_by("position", "id"))


def schedules_for(user):
    return (InspectionSchedule.objects.visible_to(user).select_related("campaign", "unit", "created_by")
            .prefetch_related("inspectors", Prefetch("points", queryset=Point.objects.only("pk")))
            .annotate(occurrence_count=Count("occurrences", distinct=True),
                      last_occurrence=Max("occurrences__occurs_on"))
            .order_by("title", "id"))


def my_stops(user, *, today, latitude: Decimal | None = None, longitude: Decimal | None = None):
    """An inspector's planned visits in rounds still running, nearest first when the phone gave its position
    (squared equirectangular distance, in SQL), else by district and name; points without coordinates last."""
    qs = (PlannedVisit.objects.filter(inspector=user, inspection__ends_on__gte=today,
                                      inspection__status__in=["planned", "in_progress"])
          .with_done()
          .select_related("inspection", "point", "point__point_type", "point__unit", "stratum"))
    if latitude is not None and longitude is not None:
        lat, lng = float(latitude), float(longitude)
        distance = ExpressionWrapper(
            (F("point__latitude") - Value(lat)) * (F("point__latitude") - Value(lat))
            + ((F("point__longitude") - Value(lng)) * Cos(Radians(Value(lat))))
            * ((F("point__longitude") - Value(lng)) * Cos(Radians(Value(lat)))),
            output_field=FloatField())
        return qs.annotate(distance=distance).order_by("done", F("distance").asc(nulls_last=True),
                                                       "point__unit__path", "point__name", "id")
    return qs.order_by("done", "point__unit__path", "point__name", "id")


def occurrences(schedule: InspectionSchedule):
    return schedule.occurrences.select_related("inspection").annotate(
        visit_count=Coalesce(Count("inspection__visits", distinct=True), 0)).order_by("-occurs_on")



