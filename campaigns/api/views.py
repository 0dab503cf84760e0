from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from .. import services
from ..filtersets import ApiClientFilterSet, MembershipFilterSet, UnitFilterSet
from ..models import ApiClient, Membership, Unit
from .serializers import (
    ApiClientCreatedSerializer, ApiClientCreateSerializer, ApiClientSerializer, MembershipSerializer,
    UnitMoveSerializer, UnitSerializer, UnitWriteSerializer,
)


@extend_schema(tags=["units"])
class UnitViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                  mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """Responsibility units (the organisation tree), scoped to the caller's subtrees.
    Units are never deleted: deactivate them."""

    serializer_class = UnitSerializer
    filterset_class = UnitFilterSet
    ordering_fields = ["path", "code", "name", "kind", "population"]
    ordering = ["path"]
    action_permissions = {
        "move": ["campaigns.change_unit"],
        "deactivate": ["campaigns.change_unit"],
        "activate": ["campaigns.change_unit"],
    }

    def get_queryset(self):
        units = Unit.objects.visible_to(self.request.user).with_parent()
        # Lists need no outlines (those are /unit-boundaries/); writes keep the whole row for its history.
        return units.defer("boundary") if self.action == "list" else units

    def get_serializer_class(self):
        if self.action in {"create", "update", "partial_update"}:
            return UnitWriteSerializer
        if self.action == "move":
            return UnitMoveSerializer
        return UnitSerializer

    def _out(self, unit, code=status.HTTP_200_OK):
        unit = self.get_queryset().get(pk=unit.pk)
        return Response(UnitSerializer(unit, context=self.get_serializer_context()).data, status=code)

    @extend_schema(request=UnitWriteSerializer, responses={201: UnitSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = {"parent": None, **serializer.validated_data}  # parent is optional (a root unit)
        unit = services.unit_create(actor=request.user, **data)
        return self._out(unit, status.HTTP_201_CREATED)

    @extend_schema(request=UnitWriteSerializer, responses={200: UnitSerializer})
    def update(self, request, *args, **kwargs):
        unit = self.get_object()
        partial = kwargs.pop("partial", False)
        serializer = self.get_serializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = {"name": unit.name, "code": unit.code, "kind": unit.kind, "population": unit.population}
        data.update({k: v for k, v in serializer.validated_data.items() if k != "parent"})
        unit = services.unit_update(actor=request.user, unit=unit, **data)
        if serializer.validated_data.get("parent") is not None:
            unit = services.unit_move(actor=request.user, unit=unit, new_parent=serializer.validated_data["parent"])
        return self._out(unit)

    @extend_schema(request=UnitMoveSerializer, responses={200: UnitSerializer})
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        """Move the unit, with its whole subtree, under another unit."""
        unit = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        unit = services.unit_move(actor=request.user, unit=unit, new_parent=serializer.validated_data["parent"])
        return self._out(unit)

    @extend_schema(request=None, responses={200: UnitSerializer})
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        """Deactivate the unit and its subtree (nothing is deleted)."""
        unit = self.get_object()
        services.unit_set_active(actor=request.user, unit=unit, active=False)
        return self._out(unit)

    @extend_schema(request=None, responses={200: UnitSerializer})
    @action(detail=True, methods=["post"])
    def activate(self, request, pk=None):
        unit = self.get_object()
        services.unit_set_active(actor=request.user, unit=unit, active=True)
        return self._out(unit)


@extend_schema(tags=["memberships"])
class MembershipViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                        viewsets.GenericViewSet):
    """Who holds which role in which unit. Ending a membership keeps it on record."""

    serializer_class = MembershipSerializer
    filterset_class = MembershipFilterSet
    ordering_fields = ["created_at", "role", "unit__path"]
    ordering = ["unit__path", "role", "id"]
    action_permissions = {"end": ["campaigns.change_membership"]}
    people_only = True  # writes answer 403 to API keys (civportal.api.permissions)

    def get_queryset(self):
        return Membership.objects.visible_to(self.request.user).select_related("user", "unit")

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.membership_create(
            actor=self.request.user, user=data["user"], unit=data["unit"], role=data["role"], title=data.get("title", "")
        )

    @extend_schema(request=None, responses={200: MembershipSerializer})
    @action(detail=True, methods=["post"])
    def end(self, request, pk=None):
        """End the membership (the role is taken away; the record stays)."""
        membership = services.membership_end(actor=request.user, membership=self.get_object())
        return Response(self.get_serializer(membership).data)


@extend_schema(tags=["api-clients"])
class ApiClientViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                       viewsets.GenericViewSet):
    """Keys of external systems, for units in the caller's scope (supervisors).
    A key acts with the role and unit it was created with. The key itself is in
    the create response only; the portal keeps just a hash. Keys are revoked,
    never deleted. A request made with an API key cannot manage keys."""

    serializer_class = ApiClientSerializer
    filterset_class = ApiClientFilterSet
    ordering_fields = ["created_at", "name", "last_used_at"]
    ordering = ["-created_at", "-id"]
    action_permissions = {"revoke": ["campaigns.change_apiclient"]}
    people_only = True

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if isinstance(request.auth, ApiClient):
            raise PermissionDenied(_("API keys cannot manage API keys; sign in as a supervisor."))

    def get_queryset(self):
        return ApiClient.objects.visible_to(self.request.user).select_related("unit", "created_by")

    @extend_schema(request=ApiClientCreateSerializer, responses={201: ApiClientCreatedSerializer})
    def create(self, request, *args, **kwargs):
        """Create a key; the response holds the key itself, shown this once."""
        serializer = ApiClientCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        client, key = services.api_client_create(actor=request.user, **serializer.validated_data)
        data = ApiClientCreatedSerializer(self.get_queryset().get(pk=client.pk)).data
        return Response({**data, "key": key}, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: ApiClientSerializer})
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        """Revoke the key: from now on it answers 401. Cannot be undone."""
        client = services.api_client_revoke(actor=request.user, client=self.get_object())
        return Response(ApiClientSerializer(self.get_queryset().get(pk=client.pk)).data)
