from rest_framework import serializers

from ..models import ApiClient, Membership, Unit, User


class UnitSerializer(serializers.ModelSerializer):
    parent = serializers.IntegerField(source="parent_pk", read_only=True, allow_null=True)
    parent_code = serializers.CharField(read_only=True, allow_null=True)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)

    class Meta:
        model = Unit
        fields = ["id", "code", "name", "kind", "kind_display", "parent", "parent_code", "depth", "population",
                  "active", "created_at", "updated_at"]
        read_only_fields = ["depth", "active", "created_at", "updated_at"]


class UnitWriteSerializer(serializers.Serializer):
    """Create or change a unit; the parent must be in the caller's scope."""

    parent = serializers.PrimaryKeyRelatedField(queryset=Unit.objects.none(), allow_null=True, required=False)
    code = serializers.CharField(max_length=40)
    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=Unit.Kind.choices)
    population = serializers.IntegerField(min_value=0, max_value=2_000_000_000, allow_null=True, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["parent"].queryset = Unit.objects.visible_to(request.user)


class UnitMoveSerializer(serializers.Serializer):
    parent = serializers.PrimaryKeyRelatedField(queryset=Unit.objects.none())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["parent"].queryset = Unit.objects.visible_to(request.user)


class MembershipSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    user_display = serializers.CharField(source="user.__str__", read_only=True)
    unit_code = serializers.CharField(source="unit.code", read_only=True)
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    role_display = serializers.CharField(source="get_role_display", read_only=True)
    user = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True))
    unit = serializers.PrimaryKeyRelatedField(queryset=Unit.objects.none())

    class Meta:
        model = Membership
        fields = ["id", "user", "username", "user_display", "unit", "unit_code", "unit_name", "role",
                  "role_display", "title", "active", "created_at", "ended_at"]
        read_only_fields = ["active", "created_at", "ended_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["unit"].queryset = Unit.objects.visible_to(request.user)


class ApiClientSerializer(serializers.ModelSerializer):
    unit_code = serializers.CharField(source="unit.code", read_only=True)
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    role_display = serializers.CharField(source="get_role_display", read_only=True)
    state = serializers.ChoiceField(choices=["active", "revoked", "expired", "disabled"], read_only=True,
                                    help_text="active, revoked, expired or disabled (its membership was ended)")
    created_by = serializers.CharField(source="created_by.username", read_only=True)

    class Meta:
        model = ApiClient
        fields = ["id", "name", "role", "role_display", "unit", "unit_code", "unit_name", "prefix", "state",
                  "expires_at", "revoked_at", "last_used_at", "created_by", "created_at"]
        read_only_fields = fields


class ApiClientCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    role = serializers.ChoiceField(choices=Membership.Role.choices)
    unit = serializers.PrimaryKeyRelatedField(queryset=Unit.objects.none())
    expires_at = serializers.DateTimeField(required=False, allow_null=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["unit"].queryset = Unit.objects.visible_to(request.user)


class ApiClientCreatedSerializer(ApiClientSerializer):
    key = serializers.CharField(read_only=True, help_text="The key itself: shown only in this response, store it now.")

    class Meta(ApiClientSerializer.Meta):
        fields = ApiClientSerializer.Meta.fields + ["key"]
        read_only_fields = fields
