from decimal import Decimal

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from campaigns.models import Unit

from .. import privacy
from ..hours import minutes_to_hours, star_level
from ..models import Activity, Signup, Team, Volunteer


class VolunteerSerializer(serializers.ModelSerializer):
    """Phone and ID card number are masked unless the caller may see them (see volunteers.privacy)."""

    phone = serializers.SerializerMethodField()
    id_number = serializers.SerializerMethodField()
    unit_code = serializers.CharField(source="unit.code", read_only=True)
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    team_name = serializers.CharField(source="team.name", read_only=True, allow_null=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    total_hours = serializers.SerializerMethodField()
    star_level = serializers.SerializerMethodField()

    class Meta:
        model = Volunteer
        fields = ["id", "name", "phone", "id_number", "gender", "birth_year", "skills", "unit", "unit_code",
                  "unit_name", "team", "team_name", "status", "status_display", "source", "registered_on",
                  "total_hours", "star_level", "created_at"]

    @extend_schema_field(serializers.CharField())
    def get_phone(self, obj) -> str:
        return privacy.phone_for(self.context["request"].user, obj)

    @extend_schema_field(serializers.CharField())
    def get_id_number(self, obj) -> str:
        return privacy.id_number_for(self.context["request"].user, obj)

    @extend_schema_field(serializers.DecimalField(max_digits=10, decimal_places=1, coerce_to_string=False))
    def get_total_hours(self, obj) -> Decimal:
        return minutes_to_hours(getattr(obj, "total_minutes", 0))

    @extend_schema_field(serializers.IntegerField())
    def get_star_level(self, obj) -> int:
        return star_level(getattr(obj, "total_minutes", 0))


@extend_schema_field(OpenApiTypes.INT)
class _ScopedUnitField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        request = self.context.get("request")
        return Unit.objects.visible_to(request.user) if request else Unit.objects.none()


@extend_schema_field(OpenApiTypes.INT)
class _ScopedTeamField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        request = self.context.get("request")
        return Team.objects.visible_to(request.user) if request else Team.objects.none()


class VolunteerWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=50)
    phone = serializers.CharField(max_length=20)
    unit = _ScopedUnitField()
    id_number = serializers.CharField(max_length=18, required=False, allow_blank=True, default="")
    gender = serializers.ChoiceField(choices=Volunteer.Gender.choices, required=False, allow_blank=True, default="")
    birth_year = serializers.IntegerField(min_value=1900, max_value=2100, required=False, allow_null=True,
                                          default=None)
    skills = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    team = _ScopedTeamField(required=False, allow_null=True, default=None)


class ReviewSerializer(serializers.Serializer):
    approve = serializers.BooleanField()
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class StatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[Volunteer.Status.ACTIVE, Volunteer.Status.SUSPENDED,
                                              Volunteer.Status.LEFT])
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class TeamSerializer(serializers.ModelSerializer):
    unit = _ScopedUnitField()
    unit_code = serializers.CharField(source="unit.code", read_only=True)
    leader = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    leader_name = serializers.CharField(source="leader.name", read_only=True, allow_null=True)
    member_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Team
        fields = ["id", "name", "unit", "unit_code", "leader", "leader_name", "description", "active",
                  "member_count", "created_at"]
        read_only_fields = ["active", "created_at"]


class ActivitySerializer(serializers.ModelSerializer):
    unit = _ScopedUnitField()
    team = _ScopedTeamField(required=False, allow_null=True)
    unit_code = serializers.CharField(source="unit.code", read_only=True)
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    category_display = serializers.CharField(source="get_category_display", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    taken = serializers.IntegerField(read_only=True)

    class Meta:
        model = Activity
        fields = ["id", "title", "category", "category_display", "unit", "unit_code", "unit_name", "team",
                  "address", "starts_at", "ends_at", "capacity", "taken", "description", "status",
                  "status_display", "status_note", "created_at"]
        read_only_fields = ["status", "status_note", "created_at"]


class SignupSerializer(serializers.ModelSerializer):
    volunteer_name = serializers.CharField(source="volunteer.name", read_only=True)
    volunteer_phone = serializers.SerializerMethodField()
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    approved_minutes = serializers.SerializerMethodField()

    class Meta:
        model = Signup
        fields = ["id", "activity", "volunteer", "volunteer_name", "volunteer_phone", "status", "status_display",
                  "checked_in_at", "check_in_method", "checked_out_at", "minutes", "approved_minutes",
                  "no_show_at", "cancelled_at", "created_at"]

    @extend_schema_field(serializers.CharField())
    def get_volunteer_phone(self, obj) -> str:
        return privacy.phone_for(self.context["request"].user, obj.volunteer)

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_approved_minutes(self, obj) -> int | None:
        entry = getattr(obj, "hour_entry", None)
        return entry.minutes if entry else None


class SignupTargetSerializer(serializers.Serializer):
    """Whose place: ``volunteer`` (organisers); leave it out to act for yourself.
    Volunteers checking in or out by QR code send the scanned ``token`` instead."""

    volunteer = serializers.IntegerField(required=False, min_value=1)
    token = serializers.CharField(required=False, max_length=500)


class ApproveHoursSerializer(serializers.Serializer):
    volunteer = serializers.IntegerField(min_value=1)
    minutes = serializers.IntegerField(min_value=0, max_value=24 * 60, required=False, allow_null=True, default=None)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200)



class SignupPageSerializer(serializers.Serializer):
    """One page of an activity's sign-ups (limit/offset pagination)."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = SignupSerializer(many=True)
