from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from campaigns.models import Campaign, Indicator, Unit

from ..models import MaterialCall, MaterialEvent, MaterialFile, MaterialSubmission


class MaterialCallSerializer(serializers.ModelSerializer):
    indicator_code = serializers.CharField(source="indicator.code", read_only=True)
    campaign = serializers.PrimaryKeyRelatedField(queryset=Campaign.objects.all())
    indicator = serializers.PrimaryKeyRelatedField(queryset=Indicator.objects.all())
    units = serializers.SlugRelatedField(slug_field="code", queryset=Unit.objects.all(), many=True, write_only=True,
                                         required=False, help_text=_("codes of the units that must answer"))
    kind = serializers.ChoiceField(choices=Unit.Kind.choices, write_only=True, required=False,
                                   help_text=_("or every active unit of this kind"))
    within = serializers.SlugRelatedField(slug_field="code", queryset=Unit.objects.all(), write_only=True,
                                          required=False, allow_null=True, help_text=_("under this unit"))

    class Meta:
        model = MaterialCall
        fields = ["id", "campaign", "indicator", "indicator_code", "title", "evidence", "deadline", "status",
                  "created_at", "units", "kind", "within"]
        read_only_fields = ["status", "created_at"]
        extra_kwargs = {"title": {"required": False}}


class MaterialFileSerializer(serializers.ModelSerializer):
    class Meta:
        model = MaterialFile
        fields = ["id", "round", "original_name", "kind", "size", "created_at"]


class MaterialEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", read_only=True)

    class Meta:
        model = MaterialEvent
        fields = ["kind", "actor", "note", "share", "created_at"]


class MaterialSubmissionSerializer(serializers.ModelSerializer):
    unit_code = serializers.CharField(source="unit.code", read_only=True)
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    indicator_code = serializers.CharField(source="call.indicator.code", read_only=True)
    deadline = serializers.DateField(source="call.deadline", read_only=True)

    class Meta:
        model = MaterialSubmission
        fields = ["id", "call", "indicator_code", "unit", "unit_code", "unit_name", "deadline", "status",
                  "description", "share", "reason", "round", "reworks", "submitted_at", "reviewed_at"]
        read_only_fields = fields


class MaterialSubmissionDetailSerializer(MaterialSubmissionSerializer):
    files = MaterialFileSerializer(many=True, read_only=True)
    events = MaterialEventSerializer(many=True, read_only=True)

    class Meta(MaterialSubmissionSerializer.Meta):
        fields = [*MaterialSubmissionSerializer.Meta.fields, "files", "events"]
        read_only_fields = fields


class SubmitInputSerializer(serializers.Serializer):
    description = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    files = serializers.ListField(child=serializers.FileField(), allow_empty=False, max_length=10)


class ReviewInputSerializer(serializers.Serializer):
    share = serializers.DecimalField(max_digits=4, decimal_places=3, min_value=0, max_value=1, required=False,
                                     allow_null=True, help_text=_("empty or 1: passed; between 0 and 1: partly passed"))
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ReturnInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class CompletenessCellSerializer(serializers.ModelSerializer):
    """One cell of the completeness matrix: an indicator (call) × a unit."""

    indicator_code = serializers.CharField(source="call.indicator.code", read_only=True)
    unit_code = serializers.CharField(source="unit.code", read_only=True)
    state = serializers.ChoiceField(choices=MaterialSubmission.State.choices, read_only=True)

    class Meta:
        model = MaterialSubmission
        fields = ["id", "call", "indicator_code", "unit", "unit_code", "state"]
        read_only_fields = fields
