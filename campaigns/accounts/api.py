"""``/api/v1/users/``: staff accounts for people (session or personal token).
API keys of external systems are refused (403): accounts, like memberships
and keys, are managed by people only."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from ..models import ApiClient, ImportJob, Membership, Unit, User
from ..planning.api import IMPORT_RESPONSES, run_import
from ..planning.serializers import ImportUploadSerializer
from . import imports, services
from .filtersets import AccountFilterSet
from .selectors import manageable_users
from .views import with_roles


class RoleSerializer(serializers.ModelSerializer):
    unit_code = serializers.CharField(source="unit.code", read_only=True)
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    role_display = serializers.CharField(source="get_role_display", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "unit", "unit_code", "unit_name", "role", "role_display", "title"]
        read_only_fields = fields


class UserSerializer(serializers.ModelSerializer):
    roles = RoleSerializer(source="active_roles", many=True, read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "display_name", "phone", "email", "is_active", "must_change_password",
                  "last_login", "date_joined", "roles"]
        read_only_fields = ["username", "is_active", "must_change_password", "last_login", "date_joined", "roles"]


class UserUpdateSerializer(serializers.Serializer):
    display_name = serializers.CharField(max_length=64)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True)


class UserCreateSerializer(UserUpdateSerializer):
    username = serializers.CharField(max_length=150)
    unit = serializers.PrimaryKeyRelatedField(queryset=Unit.objects.none())
    role = serializers.ChoiceField(choices=Membership.Role.choices)
    title = serializers.CharField(max_length=64, required=False, allow_blank=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["unit"].queryset = Unit.objects.visible_to(request.user)


class UserPasswordSerializer(UserSerializer):
    temporary_password = serializers.CharField(
        read_only=True, help_text="Shown only in this response; the person must change it at the next login.")

    class Meta(UserSerializer.Meta):
        fields = UserSerializer.Meta.fields + ["temporary_password"]
        read_only_fields = fields


@extend_schema(tags=["users"])
class UserViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                  mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """Staff accounts the caller manages: supervisors those of their scope,
    unit heads their own unit's handlers. Accounts are disabled, never deleted."""

    serializer_class = UserSerializer
    filterset_class = AccountFilterSet
    ordering_fields = ["username", "display_name", "date_joined", "last_login"]
    ordering = ["username"]
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    action_permissions = {
        "reset_password": ["campaigns.change_user"],
        "disable": ["campaigns.change_user"],
        "enable": ["campaigns.change_user"],
        "import_": ["campaigns.add_user"],
    }

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if isinstance(request.auth, ApiClient):
            raise PermissionDenied(_("API keys cannot manage accounts; sign in as a person."))

    def get_queryset(self):
        return with_roles(manageable_users(self.request.user))

    def _out(self, user, code=status.HTTP_200_OK, **extra):
        data = UserSerializer(self.get_queryset().get(pk=user.pk), context=self.get_serializer_context()).data
        return Response({**data, **extra}, status=code)

    @extend_schema(request=UserCreateSerializer, responses={201: UserPasswordSerializer})
    def create(self, request, *args, **kwargs):
        """Create a person with one role; the response holds their temporary password, shown this once."""
        serializer = UserCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        user, password = services.account_create(actor=request.user, **serializer.validated_data)
        return self._out(user, status.HTTP_201_CREATED, temporary_password=password)

    @extend_schema(request=UserUpdateSerializer, responses={200: UserSerializer})
    def update(self, request, *args, **kwargs):
        user = self.get_object()
        serializer = UserUpdateSerializer(data=request.data, partial=kwargs.pop("partial", False))
        serializer.is_valid(raise_exception=True)
        data = {"display_name": user.display_name, "phone": user.phone, "email": user.email, **serializer.validated_data}
        return self._out(services.account_update(actor=request.user, user=user, **data))

    @extend_schema(request=None, responses={200: UserPasswordSerializer})
    @action(detail=True, methods=["post"], url_path="reset-password", url_name="reset-password")
    def reset_password(self, request, pk=None):
        """A new temporary password (in this response only), to be changed at the next login; the token is withdrawn."""
        user, password = services.account_reset_password(actor=request.user, user=self.get_object())
        return self._out(user, temporary_password=password)

    @extend_schema(request=None, responses={200: UserSerializer})
    @action(detail=True, methods=["post"])
    def disable(self, request, pk=None):
        """The account can no longer log in or use its token; nothing is deleted."""
        return self._out(services.account_set_active(actor=request.user, user=self.get_object(), active=False))

    @extend_schema(request=None, responses={200: UserSerializer})
    @action(detail=True, methods=["post"])
    def enable(self, request, pk=None):
        return self._out(services.account_set_active(actor=request.user, user=self.get_object(), active=True))

    @extend_schema(request={"multipart/form-data": ImportUploadSerializer}, responses=IMPORT_RESPONSES)
    @action(detail=False, methods=["post"], url_path="import", url_name="import",
            parser_classes=[MultiPartParser, FormParser])
    def import_(self, request):
        """Accounts from xlsx (姓名, 用户名, 手机, 邮箱, 单位编码, 角色). Row errors: 400, nothing imported;
        a file larger than INLINE_IMPORT_BYTES: 202 with the id of a background import job."""
        return run_import(request, kind=ImportJob.Kind.ACCOUNTS, serializer_class=ImportUploadSerializer,
                          run=lambda data: imports.import_accounts(actor=request.user, upload=data["file"]))
