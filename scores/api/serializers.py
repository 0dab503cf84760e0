from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from campaigns.models import Campaign

from ..models import COMPONENTS, RANKABLE_KINDS, AccountabilityRecord, Appeal, Exposure, Grade, MonthlyScore, ScoreMonth, ScoringScheme


@extend_schema_field({"type": "string", "pattern": r"^\d{4}-\d{2}$", "example": "2026-10"})
class MonthField(serializers.DateField):
    """A month as ``YYYY-MM`` (the first day of the month in the database)."""

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m", **kwargs)


class MonthlyScoreSerializer(serializers.ModelSerializer):
    unit_code = serializers.CharField(source="unit.code", read_only=True)
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    month = MonthField(read_only=True)
    grade = serializers.ChoiceField(choices=Grade.choices, allow_blank=True, read_only=True,
                                    help_text="Empty while the unit has no total.")
    previous_total = serializers.DecimalField(max_digits=5, decimal_places=2, read_only=True, allow_null=True,
                                              help_text="Total of the previous scored month, if visible.")
    previous_rank = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = MonthlyScore
        fields = [
            "id", "campaign", "month", "unit", "unit_code", "unit_name", "kind", "status", "scheme",
            "field_score", "rectification_score", "survey_score", "materials_score", "survey_from_subtree",
            "materials_from_subtree", "base_score", "bonus", "penalty", "total", "grade", "rank", "ranked_count",
            "list_flag", "previous_total", "previous_rank",
            "visit_count", "clean_visit_count", "finding_count", "severe_finding_count", "repeat_finding_count",
            "deduction_total", "task_count", "task_on_time_count", "task_late_count", "task_open_count",
            "rework_count", "breakdown",
        ]
        read_only_fields = fields


class ScoreMonthSerializer(serializers.ModelSerializer):
    month = MonthField(read_only=True)

    class Meta:
        model = ScoreMonth
        fields = ["id", "campaign", "month", "status", "scheme", "computed_at", "computed_by", "published_at",
                  "published_by", "review_opened_at", "appeal_deadline", "publish_override_reason"]
        read_only_fields = fields


class MonthActionSerializer(serializers.Serializer):
    campaign = serializers.PrimaryKeyRelatedField(queryset=Campaign.objects.all())
    month = serializers.CharField(max_length=10, help_text="YYYY-MM")

    def validate_month(self, value: str) -> dt.date:
        try:
            return dt.date.fromisoformat(f"{value}-01" if len(value) == 7 else value).replace(day=1)
        except ValueError:
            raise serializers.ValidationError(_("Enter a month as YYYY-MM."))


class WeightsSerializer(serializers.Serializer):
    F = serializers.DecimalField(max_digits=4, decimal_places=2, min_value=0, max_value=1)
    R = serializers.DecimalField(max_digits=4, decimal_places=2, min_value=0, max_value=1)
    S = serializers.DecimalField(max_digits=4, decimal_places=2, min_value=0, max_value=1)
    M = serializers.DecimalField(max_digits=4, decimal_places=2, min_value=0, max_value=1)


class SeveritySerializer(serializers.Serializer):
    minor = serializers.DecimalField(max_digits=4, decimal_places=2, min_value=0)
    moderate = serializers.DecimalField(max_digits=4, decimal_places=2, min_value=0)
    severe = serializers.DecimalField(max_digits=4, decimal_places=2, min_value=0)


class BandSerializer(serializers.Serializer):
    grade = serializers.ChoiceField(choices=Grade.choices)
    minimum = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=0, max_value=100)

    def to_representation(self, instance):
        grade, minimum = instance  # stored as [grade, minimum]
        return {"grade": grade, "minimum": str(minimum)}


class ScoringSchemeSerializer(serializers.ModelSerializer):
    weights = serializers.DictField(child=WeightsSerializer(), help_text="Component weights per unit kind.")
    severity_factors = SeveritySerializer()
    grade_bands = BandSerializer(many=True)
    ranked_kinds = serializers.ListField(child=serializers.ChoiceField(choices=RANKABLE_KINDS), min_length=1)

    class Meta:
        model = ScoringScheme
        fields = ["id", "version", "name", "weights", "severity_factors", "repeat_window_days", "repeat_factor",
                  "list_share", "red_min_total", "black_below_total", "black_bottom_min_group", "grade_bands",
                  "ranked_kinds", "notes", "bottom_list_ceiling", "appeal_window_days", "field_mode", "created_at",
                  "created_by"]
        read_only_fields = ["id", "version", "created_at", "created_by"]

    CARRIED_OVER = ["repeat_window_days", "repeat_factor", "list_share", "red_min_total", "black_below_total",
                    "black_bottom_min_group", "notes", "field_mode"]

    def service_kwargs(self) -> dict:
        """The service's arguments; optional fields left out keep the current version's value (or the default)."""
        v = dict(self.validated_data)
        latest = ScoringScheme.objects.order_by("-version").first()
        for name in self.CARRIED_OVER:
            if name not in v:
                v[name] = getattr(latest, name) if latest else ScoringScheme._meta.get_field(name).get_default()
        v["weights"] = {kind: {c: str(w[c]) for c in COMPONENTS} for kind, w in v["weights"].items()}
        v["severity_factors"] = {k: str(x) for k, x in v["severity_factors"].items()}
        v["grade_bands"] = [[b["grade"], str(b["minimum"])] for b in v["grade_bands"]]
        return v


class PublishSerializer(MonthActionSerializer):
    override_reason = serializers.CharField(
        required=False, allow_blank=True, max_length=4000,
        help_text="Publish although appeals are still open: why not wait (recorded on the bulletin).")


class AppealAttachmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="original_name")
    size = serializers.IntegerField()


class AppealSerializer(serializers.ModelSerializer):
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    month = MonthField(read_only=True)
    score = serializers.IntegerField(write_only=True, min_value=1, max_value=2**62,
                                     help_text="The draft monthly score appealed.")
    object_id = serializers.IntegerField(write_only=True, min_value=1, max_value=2**62,
                                         help_text="Id of the finding, visit or task appealed.")
    files = serializers.ListField(child=serializers.FileField(), write_only=True, required=False, max_length=5)
    attachments = AppealAttachmentSerializer(many=True, read_only=True)
    resolution = serializers.ChoiceField(choices=Appeal.Resolution.choices, allow_blank=True, read_only=True,
                                         help_text="The correction made, once accepted (empty while open).")

    class Meta:
        model = Appeal
        fields = ["id", "campaign", "unit", "unit_name", "month", "score", "target", "object_id", "finding",
                  "visit", "task", "reason", "files", "attachments", "status", "resolution", "decision_note",
                  "submitted_by", "decided_by", "decided_at", "created_at"]
        read_only_fields = ["id", "campaign", "unit", "month", "finding", "visit", "task", "status", "resolution",
                            "decision_note", "submitted_by", "decided_by", "decided_at", "created_at"]


class AppealAcceptSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=4000)
    resolution = serializers.ChoiceField(choices=Appeal.Resolution.choices, required=False, allow_blank=True)
    severity = serializers.ChoiceField(choices=["minor", "moderate", "severe"], required=False, allow_blank=True)


class AppealRejectSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=4000)


class ExposureSerializer(serializers.ModelSerializer):
    is_public = serializers.BooleanField(read_only=True)
    photos_reviewed = serializers.BooleanField(
        write_only=True, required=False, default=False,
        help_text="Confirms the photos were reviewed for faces and number plates (required before going public).")

    class Meta:
        model = Exposure
        fields = ["id", "finding", "note", "photos_reviewed", "is_public", "photos_reviewed_at", "withdrawn_at",
                  "withdraw_reason", "created_by", "created_at"]
        read_only_fields = ["id", "is_public", "photos_reviewed_at", "withdrawn_at", "withdraw_reason", "created_by",
                            "created_at"]

    def get_fields(self):
        from inspections.models import Finding

        fields = super().get_fields()
        request = self.context.get("request")
        if "finding" in fields and request is not None:
            fields["finding"] = serializers.PrimaryKeyRelatedField(queryset=Finding.objects.visible_to(request.user))
        return fields


class ExposureWithdrawSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class AccountabilityRecordSerializer(serializers.ModelSerializer):
    unit_name = serializers.CharField(source="unit.name", read_only=True)

    class Meta:
        model = AccountabilityRecord
        fields = ["id", "unit", "unit_name", "kind", "decided_on", "decision_maker", "document_number", "attachment",
                  "task", "finding", "score", "note", "created_by", "created_at"]
        read_only_fields = ["id", "created_by", "created_at"]

    def get_fields(self):
        from campaigns.models import Unit
        from inspections.models import Finding, RectificationTask

        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None:
            user = request.user
            fields["unit"] = serializers.PrimaryKeyRelatedField(queryset=Unit.objects.visible_to(user))
            fields["task"] = serializers.PrimaryKeyRelatedField(
                queryset=RectificationTask.objects.visible_to(user), required=False, allow_null=True)
            fields["finding"] = serializers.PrimaryKeyRelatedField(
                queryset=Finding.objects.visible_to(user), required=False, allow_null=True)
            fields["score"] = serializers.PrimaryKeyRelatedField(
                queryset=MonthlyScore.objects.visible_to(user), required=False, allow_null=True)
        return fields


class AnnualReportQuerySerializer(serializers.Serializer):
    campaign = serializers.PrimaryKeyRelatedField(queryset=Campaign.objects.all())
    year = serializers.IntegerField(min_value=2000, max_value=2099)
    unit = serializers.IntegerField(min_value=1, max_value=2**62)


# --- lost points by criterion -----------------------------------------------------------------


class LostPointsQuerySerializer(serializers.Serializer):
    """Query of ``GET /api/v1/lost-points/`` (documentation; the values are checked by scores.lost.LostPointsForm)."""

    campaign = serializers.IntegerField(required=False, help_text="Campaign id (default: the newest active one).")
    period = serializers.CharField(required=False, help_text="2026-10 (month), 2026-Q3, 2026-H2 or 2026; "
                                                             "default: the current month.")
    within = serializers.CharField(required=False, help_text="Unit id or code: visits in its subtree only.")
    point_type = serializers.IntegerField(required=False, help_text="Point type id.")
    export = serializers.ChoiceField(choices=["xlsx"], required=False, help_text="xlsx: the same table as a workbook.")


class LostUnitSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    lost = serializers.DecimalField(max_digits=14, decimal_places=2)


class LostNodeSerializer(serializers.Serializer):
    indicator = serializers.IntegerField(source="indicator.pk")
    code = serializers.CharField(source="indicator.code")
    name = serializers.CharField(source="indicator.name")
    level = serializers.CharField(source="indicator.level")
    parent = serializers.IntegerField(source="indicator.parent_id", allow_null=True)
    points_at_stake = serializers.DecimalField(source="stake", max_digits=14, decimal_places=2)
    points_lost = serializers.DecimalField(source="lost", max_digits=14, decimal_places=2)
    compliance_rate = serializers.DecimalField(source="rate", max_digits=6, decimal_places=2, allow_null=True,
                                               help_text="达标率: points met ÷ points at stake × 100.")
    judged_checks = serializers.IntegerField(source="judged")
    failed_checks = serializers.IntegerField(source="failed")
    top_units = LostUnitSerializer(many=True)
    findings_url = serializers.CharField(help_text="The findings behind the node (the findings list, filtered).")


class LostPointsSerializer(serializers.Serializer):
    campaign = serializers.IntegerField(allow_null=True)
    period = serializers.CharField()
    start = serializers.DateField()
    end = serializers.DateField(help_text="The first day after the period.")
    nodes = LostNodeSerializer(many=True)
