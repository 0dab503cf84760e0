from __future__ import annotations

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from campaigns.models import Campaign, Membership, Point, PointType, Unit, User
from campaigns.scope import scope_paths
from inspections.api.serializers import ScopedUnitField
from inspections.models import Inspection

from ..models import InspectionSchedule, PlannedVisit, PointDraw


@extend_schema_field(OpenApiTypes.INT)
class ScopedInspectorField(serializers.PrimaryKeyRelatedField):
    """A user id among the inspectors and supervisors the caller may assign (those in or above their scope)."""

    def get_queryset(self):
        request = self.context.get("request")
        if request is None:
            return User.objects.none()
        roles = [Membership.Role.INSPECTOR, Membership.Role.SUPERVISOR]
        paths = scope_paths(request.user)
        qs = User.objects.filter(is_active=True, memberships__active=True, memberships__role__in=roles)
        if paths is None:
            return qs.distinct()
        near = Q(pk__in=[])
        ancestors = set()
        for path in paths:
            near |= Q(memberships__unit__path__startswith=path)
            ancestors.update(path[:i] for i in range(Unit.steplen, len(path) + 1, Unit.steplen))
        return qs.filter(near | Q(memberships__unit__path__in=sorted(ancestors))).distinct()


@extend_schema_field(OpenApiTypes.INT)
class ScopedPointField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        request = self.context.get("request")
        return Point.objects.visible_to(request.user).select_related("unit") if request else Point.objects.none()


class PlannedVisitSerializer(serializers.ModelSerializer):
    point_code = serializers.CharField(source="point.code", read_only=True)
    point_name = serializers.CharField(source="point.name", read_only=True)
    point_type = serializers.CharField(source="point.point_type.name", read_only=True)
    unit_name = serializers.CharField(source="point.unit.name", read_only=True)
    stratum_name = serializers.CharField(source="stratum.name", read_only=True, allow_null=True, default=None)
    inspector_name = serializers.CharField(source="inspector.username", read_only=True, allow_null=True,
                                           default=None)
    done = serializers.BooleanField(read_only=True)

    class Meta:
        model = PlannedVisit
        fields = ["id", "inspection", "position", "point", "point_code", "point_name", "point_type", "unit_name",
                  "stratum", "stratum_name", "inspector", "inspector_name", "done"]
        read_only_fields = fields


class PointDrawSerializer(serializers.ModelSerializer):
    area_name = serializers.CharField(source="area.name", read_only=True)
    drawn_by_name = serializers.CharField(source="drawn_by.username", read_only=True)
    drawn = serializers.IntegerField(read_only=True, help_text=_("number of points drawn"))
    concealed = serializers.BooleanField(read_only=True, help_text=_("hidden from the evaluated units until it ends"))

    class Meta:
        model = PointDraw
        fields = ["id", "campaign", "title", "area", "area_name", "seed", "rule", "starts_on", "ends_on",
                  "inspection", "drawn_by", "drawn_by_name", "created_at", "candidate_count", "drawn", "concealed"]
        read_only_fields = fields


class PointDrawDetailSerializer(PointDrawSerializer):
    stops = serializers.SerializerMethodField()

    class Meta(PointDrawSerializer.Meta):
        fields = [*PointDrawSerializer.Meta.fields, "stops"]
        read_only_fields = fields

    @extend_schema_field(PlannedVisitSerializer(many=True))
    def get_stops(self, draw) -> list:
        return PlannedVisitSerializer(self.context["stops"], many=True).data


class PointDrawInputSerializer(serializers.Serializer):
    campaign = serializers.PrimaryKeyRelatedField(queryset=Campaign.objects.all())
    title = serializers.CharField(max_length=200)
    area = ScopedUnitField()
    mode = serializers.ChoiceField(choices=PointDraw.Mode.choices)
    value = serializers.DecimalField(max_digits=8, decimal_places=4, min_value=0,
                                     help_text=_("points per type (count) or a share such as 0.1 (share)"))
    point_types = serializers.PrimaryKeyRelatedField(queryset=PointType.objects.all(), many=True, required=False,
                                                     help_text=_("empty: every type"))
    exclude_days = serializers.IntegerField(min_value=0, max_value=366, required=False, default=0,
                                            help_text=_("leave out points visited in the last K days"))
    starts_on = serializers.DateField()
    ends_on = serializers.DateField()
    inspectors = ScopedInspectorField(many=True, allow_empty=False)
    seed = serializers.IntegerField(min_value=0, max_value=2 ** 63 - 1, required=False, allow_null=True,
                                    help_text=_("repeat a draw: the same seed and rule give the same points"))
    kind = serializers.ChoiceField(choices=Inspection.Kind.choices, required=False,
                                   default=Inspection.Kind.FIELD_EVALUATION)


class InspectionScheduleSerializer(serializers.ModelSerializer):
    unit = ScopedUnitField()
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    weekdays = serializers.ListField(child=serializers.IntegerField(min_value=0, max_value=6), required=False,
                                     max_length=7, help_text=_("weekly rules: 0 = Monday … 6 = Sunday"))
    inspectors = ScopedInspectorField(many=True, required=False)
    points = ScopedPointField(many=True, required=False)
    occurrence_count = serializers.IntegerField(read_only=True)
    last_occurrence = serializers.DateField(read_only=True, allow_null=True)
    next_occurrences = serializers.SerializerMethodField()
    interval = serializers.IntegerField(min_value=1, max_value=366, required=False, default=1)
    duration_days = serializers.IntegerField(min_value=1, max_value=92, required=False, default=1)
    lead_days = serializers.IntegerField(min_value=0, max_value=30, required=False, default=1)

    class Meta:
        model = InspectionSchedule
        fields = ["id", "campaign", "title", "kind", "unit", "unit_name", "frequency", "interval", "weekdays",
                  "starts_on", "until", "duration_days", "lead_days", "inspectors", "points", "active",
                  "created_by", "created_at", "occurrence_count", "last_occurrence", "next_occurrences"]
        read_only_fields = ["active", "created_by", "created_at"]

    @extend_schema_field(serializers.ListField(child=serializers.DateField()))
    def get_next_occurrences(self, schedule) -> list:
        if not schedule.active:
            return []
        return [d.isoformat() for d in schedule.next_occurrences(timezone.localdate(), 3)]


class InspectionScheduleUpdateSerializer(InspectionScheduleSerializer):
    class Meta(InspectionScheduleSerializer.Meta):
        read_only_fields = ["campaign", "active", "created_by", "created_at"]
