from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import (
    Campaign, ImportJob, Indicator, IndicatorSystem, Point, PointType, ProgressReport, Unit, WorkItem,
)


class ScopedUnitField(serializers.PrimaryKeyRelatedField):
    """A unit id limited to the caller's scope (an out-of-scope id is invalid, never a leak)."""

    def get_queryset(self):
        request = self.context.get("request")
        return Unit.objects.visible_to(request.user) if request else Unit.objects.none()


class CampaignSerializer(serializers.ModelSerializer):
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    indicator_system_name = serializers.CharField(source="indicator_system.name", read_only=True, allow_null=True)

    class Meta:
        model = Campaign
        fields = ["id", "name", "starts_on", "ends_on", "status", "status_display", "description",
                  "indicator_system", "indicator_system_name", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]


class IndicatorSystemSerializer(serializers.ModelSerializer):
    indicator_count = serializers.IntegerField(read_only=True)
    total_points = serializers.DecimalField(max_digits=9, decimal_places=2, read_only=True, allow_null=True)

    class Meta:
        model = IndicatorSystem
        fields = ["id", "name", "status", "effective_from", "effective_until", "is_sample", "description",
                  "copied_from", "indicator_count", "total_points", "created_at", "updated_at"]
        read_only_fields = ["status", "copied_from", "created_at", "updated_at"]


class IndicatorSystemCopySerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)


class IndicatorSerializer(serializers.ModelSerializer):
    parent_code = serializers.CharField(source="parent.code", read_only=True, allow_null=True)
    total_points = serializers.DecimalField(max_digits=9, decimal_places=2, read_only=True)
    point_types = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)

    class Meta:
        model = Indicator
        fields = ["id", "system", "parent", "parent_code", "code", "level", "depth", "name", "points", "total_points",
                  "method", "point_types", "description"]
        read_only_fields = ["system", "parent", "code", "level", "depth"]


class IndicatorWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=500)
    points = serializers.DecimalField(max_digits=7, decimal_places=2, min_value=0)
    method = serializers.ChoiceField(choices=Indicator.Method.choices, allow_blank=True)
    description = serializers.CharField(allow_blank=True, required=False, default="")
    point_types = serializers.SlugRelatedField(slug_field="code", many=True, queryset=PointType.objects.all(),
                                               required=False)


class PointTypeSerializer(serializers.ModelSerializer):
    class Meta:
        model = PointType
        fields = ["id", "code", "name", "weight", "active"]


class PointSerializer(serializers.ModelSerializer):
    point_type_name = serializers.CharField(source="point_type.name", read_only=True)
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    department_name = serializers.CharField(source="department.name", read_only=True, allow_null=True)
    unit = ScopedUnitField()
    department = ScopedUnitField(allow_null=True, required=False)

    class Meta:
        model = Point
        fields = ["id", "code", "name", "point_type", "point_type_name", "address", "latitude", "longitude", "unit",
                  "unit_name", "department", "department_name", "active", "created_at", "updated_at"]
        read_only_fields = ["active", "created_at", "updated_at"]


class UnitBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Unit
        fields = ["id", "code", "name"]


class WorkItemSerializer(serializers.ModelSerializer):
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    indicator_code = serializers.CharField(source="indicator.code", read_only=True, allow_null=True)
    lead_unit_name = serializers.CharField(source="lead_unit.name", read_only=True)
    cooperating = UnitBriefSerializer(source="cooperating_units", many=True, read_only=True)
    overdue = serializers.SerializerMethodField()
    lead_unit = ScopedUnitField()
    cooperating_units = ScopedUnitField(many=True, required=False, write_only=True)

    class Meta:
        model = WorkItem
        fields = ["id", "campaign", "indicator", "indicator_code", "title", "description", "lead_unit",
                  "lead_unit_name", "cooperating_units", "cooperating", "deadline", "status", "status_display",
                  "overdue", "submitted_at", "verified_at", "created_at", "updated_at"]
        read_only_fields = ["status", "submitted_at", "verified_at", "created_at", "updated_at"]

    @extend_schema_field(serializers.BooleanField())
    def get_overdue(self, item) -> bool:
        return item.is_overdue(self.context["today"])


class ProgressReportSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    author_name = serializers.CharField(source="author.__str__", read_only=True)
    unit_name = serializers.CharField(source="unit.name", read_only=True, allow_null=True)

    class Meta:
        model = ProgressReport
        fields = ["id", "work_item", "kind", "kind_display", "unit", "unit_name", "author", "author_name", "text",
                  "created_at"]
        read_only_fields = fields


class ProgressInputSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=5000, allow_blank=True, required=False, default="")
    files = serializers.ListField(child=serializers.FileField(), required=False, default=list, max_length=10)


class VerifyInputSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=5000, allow_blank=True, required=False, default="")


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField()


class EditionImportSerializer(ImportUploadSerializer):
    name = serializers.CharField(max_length=100)
    layout = serializers.ChoiceField(choices=["auto", "portal", "office"], default="auto")
    effective_from = serializers.DateField(required=False, allow_null=True, default=None)
    is_sample = serializers.BooleanField(required=False, default=False)


class LedgerImportSerializer(ImportUploadSerializer):
    campaign = serializers.PrimaryKeyRelatedField(queryset=Campaign.objects.all())


class ImportResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    job = serializers.IntegerField(required=False, help_text="Set when the import runs in the background (HTTP 202).")


class ImportJobListSerializer(serializers.ModelSerializer):
    """A job in a list: counts only, never its row errors (a list stays small)."""

    class Meta:
        model = ImportJob
        fields = ["id", "kind", "status", "progress", "total_rows", "created_count", "error_count", "message",
                  "original_name", "created_at", "started_at", "finished_at"]
        read_only_fields = fields


class ImportJobSerializer(ImportJobListSerializer):
    """One job: also its first 1,000 row errors (``error_count`` is the total; the full list is the
    xlsx report on the job's page)."""

    class Meta(ImportJobListSerializer.Meta):
        fields = ImportJobListSerializer.Meta.fields + ["errors"]
        read_only_fields = fields
