from django.db.models import Count, Q
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied as ApiPermissionDenied
from rest_framework.response import Response

from civportal.api.pagination import CappedLimitOffsetPagination
from civportal.api.permissions import RolePermissions

from .. import services
from ..filtersets import ActivityFilterSet, TeamFilterSet, VolunteerFilterSet
from ..models import Activity, Signup, Team, Volunteer, volunteer_of
from .serializers import (
    ActivitySerializer, ApproveHoursSerializer, ReasonSerializer, ReviewSerializer, SignupPageSerializer, SignupSerializer,
    SignupTargetSerializer, StatusSerializer, TeamSerializer, VolunteerSerializer, VolunteerWriteSerializer,
)


@extend_schema(tags=["volunteers"])
class VolunteerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                       mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """Registered volunteers of the communities in the caller's scope. Phone and
    ID card number are masked unless the caller is a supervisor, handling clerk
    or head over the volunteer's community. Volunteers are never deleted."""

    serializer_class = VolunteerSerializer
    filterset_class = VolunteerFilterSet
    pagination_class = CappedLimitOffsetPagination  # a city's volunteers: no full COUNT per request
    ordering_fields = ["id", "name", "registered_on", "created_at"]
    ordering = ["-id"]
    action_permissions = {"review": ["volunteers.change_volunteer"], "set_status": ["volunteers.change_volunteer"]}

    def get_queryset(self):
        return Volunteer.objects.visible_to(self.request.user).select_related("unit", "team").with_totals()

    def get_serializer_class(self):
        if self.action in {"create", "update", "partial_update"}:
            return VolunteerWriteSerializer
        return {"review": ReviewSerializer, "set_status": StatusSerializer}.get(self.action, VolunteerSerializer)

    def _out(self, volunteer, code=status.HTTP_200_OK):
        volunteer = self.get_queryset().get(pk=volunteer.pk)
        return Response(VolunteerSerializer(volunteer, context=self.get_serializer_context()).data, status=code)

    @extend_schema(request=VolunteerWriteSerializer, responses={201: VolunteerSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        volunteer = services.volunteer_create(actor=request.user, **serializer.validated_data)
        return self._out(volunteer, status.HTTP_201_CREATED)

    @extend_schema(request=VolunteerWriteSerializer, responses={200: VolunteerSerializer})
    def update(self, request, *args, **kwargs):
        volunteer = self.get_object()
        serializer = self.get_serializer(data=request.data, partial=kwargs.pop("partial", False))
        serializer.is_valid(raise_exception=True)
        data = {f: getattr(volunteer, f) for f in ("name", "phone", "unit", "id_number", "gender", "birth_year",
                                                   "skills", "team", "user")}
        data.update(serializer.validated_data)
        volunteer = services.volunteer_update(actor=request.user, volunteer=volunteer, **data)
        return self._out(volunteer)

    @extend_schema(request=ReviewSerializer, responses={200: VolunteerSerializer})
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        """Approve or refuse a citizen's application."""
        volunteer = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._out(services.volunteer_review(actor=request.user, volunteer=volunteer, **serializer.validated_data))

    @extend_schema(request=StatusSerializer, responses={200: VolunteerSerializer})
    @action(detail=True, methods=["post"], url_path="status")
    def set_status(self, request, pk=None):
        """Suspend, mark as left, or reactivate."""
        volunteer = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._out(services.volunteer_set_status(actor=request.user, volunteer=volunteer,
                                                       **serializer.validated_data))


@extend_schema(tags=["volunteers"])
class TeamViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Volunteer service teams of the units in the caller's scope."""

    serializer_class = TeamSerializer
    filterset_class = TeamFilterSet
    ordering_fields = ["name", "created_at"]
    ordering = ["unit__path", "name"]

    def get_queryset(self):
        return Team.objects.visible_to(self.request.user).select_related("unit", "leader").annotate(
            member_count=Count("members", filter=Q(members__status=Volunteer.Status.ACTIVE))
        )

    def perform_create(self, serializer):
        data = serializer.validated_data
        team = services.team_create(actor=self.request.user, unit=data["unit"], name=data["name"],
                                    description=data.get("description", ""))
        serializer.instance = self.get_queryset().get(pk=team.pk)


class ActivityPermissions(RolePermissions):
    """Role permissions, plus volunteers with an account: they read activities
    and sign up, cancel and check in/out for themselves (the services check that)."""

    VOLUNTEER_ACTIONS = {"list", "retrieve", "sign_up", "cancel", "check_in", "check_out"}

    def has_permission(self, request, view):
        if view.action in self.VOLUNTEER_ACTIONS and volunteer_of(request.user) is not None:
            return True
        return super().has_permission(request, view)


@extend_schema(tags=["activities"])
class ActivityViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                      mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """Volunteer activities organised in the caller's scope (volunteers with an
    account also see every open activity). Sign-up is limited by the capacity,
    also under concurrent requests."""

    serializer_class = ActivitySerializer
    filterset_class = ActivityFilterSet
    permission_classes = [ActivityPermissions]
    ordering_fields = ["starts_at", "created_at", "title"]
    ordering = ["-starts_at", "id"]
    action_permissions = {
        "sign_up": ["volunteers.add_signup"], "cancel": ["volunteers.change_signup"],
        "check_in": ["volunteers.change_signup"], "check_out": ["volunteers.change_signup"],
        "no_show": ["volunteers.change_signup"], "approve_hours": ["volunteers.add_hourentry"],
        "signups": ["volunteers.view_signup"], "complete": ["volunteers.change_activity"],
        "cancel_activity": ["volunteers.change_activity"],
    }

    def get_queryset(self):
        return Activity.objects.visible_to(self.request.user).select_related("unit", "team").annotate(
            taken=Count("signups", filter=~Q(signups__status=Signup.Status.CANCELLED))
        )

    def get_serializer_class(self):
        return {
            "sign_up": SignupTargetSerializer, "cancel": SignupTargetSerializer, "check_in": SignupTargetSerializer,
            "check_out": SignupTargetSerializer, "no_show": SignupTargetSerializer,
            "approve_hours": ApproveHoursSerializer, "cancel_activity": ReasonSerializer,
            "signups": SignupSerializer,
        }.get(self.action, ActivitySerializer)

    def _activity_out(self, activity, code=status.HTTP_200_OK):
        activity = self.get_queryset().get(pk=activity.pk)
        return Response(ActivitySerializer(activity, context=self.get_serializer_context()).data, status=code)

    def _signup_out(self, signup, code=status.HTTP_200_OK):
        signup = Signup.objects.select_related("volunteer", "volunteer__unit", "hour_entry").get(pk=signup.pk)
        return Response(SignupSerializer(signup, context=self.get_serializer_context()).data, status=code)

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        activity = services.activity_create(actor=self.request.user, **data)
        serializer.instance = self.get_queryset().get(pk=activity.pk)

    def perform_update(self, serializer):
        activity = serializer.instance
        fields = ("title", "category", "address", "starts_at", "ends_at", "capacity", "description", "team")
        data = {f: getattr(activity, f) for f in fields}
        data.update({k: v for k, v in serializer.validated_data.items() if k in fields})
        activity = services.activity_update(actor=self.request.user, activity=activity, **data)
        serializer.instance = self.get_queryset().get(pk=activity.pk)

    def _target(self, activity, volunteer_id):
        """The caller's own volunteer record, or (organisers) the volunteer named."""
        if volunteer_id is None:
            own = volunteer_of(self.request.user)
            if own is None:
                raise ApiPermissionDenied()
            return own
        volunteer = Volunteer.objects.visible_to(self.request.user).select_related("unit").filter(pk=volunteer_id).first()
        if volunteer is None:
            # Organisers also reach volunteers of other communities who signed up for their activity.
            signup = activity.signups.select_related("volunteer", "volunteer__unit").filter(
                volunteer_id=volunteer_id).first()
            if signup is None or not services.is_organiser(self.request.user, activity):
                raise Http404
            volunteer = signup.volunteer
        return volunteer

    def _signup_of(self, activity, volunteer) -> Signup:
        signup = activity.signups.taking_places().select_related("activity", "volunteer", "volunteer__unit").filter(
            volunteer=volunteer).first()
        if signup is None:
            raise Http404
        return signup

    @extend_schema(request=SignupTargetSerializer, responses={201: SignupSerializer})
    @action(detail=True, methods=["post"], url_path="sign-up")
    def sign_up(self, request, pk=None):
        """Take a place (for yourself, or an organiser for a volunteer of their units)."""
        activity = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        volunteer = self._target(activity, serializer.validated_data.get("volunteer"))
        signup = services.signup_create(actor=request.user, activity=activity, volunteer=volunteer)
        return self._signup_out(signup, status.HTTP_201_CREATED)

    @extend_schema(request=SignupTargetSerializer, responses={200: SignupSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel a sign-up before the start."""
        activity = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        signup = self._signup_of(activity, self._target(activity, serializer.validated_data.get("volunteer")))
        return self._signup_out(services.signup_cancel(actor=request.user, signup=signup))

    def _check(self, request, activity, check_out: bool):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token = serializer.validated_data.get("token")
        if token:
            if services.activity_from_qr_token(token).pk != activity.pk:
                raise Http404
            return self._signup_out(services.signup_scan(actor=request.user, token=token))
        volunteer_id = serializer.validated_data.get("volunteer")
        signup = self._signup_of(activity, self._target(activity, volunteer_id))
        method = Signup.Method.ORGANISER
        call = services.signup_check_out if check_out else services.signup_check_in
        return self._signup_out(call(actor=request.user, signup=signup, method=method))

    @extend_schema(request=SignupTargetSerializer, responses={200: SignupSerializer})
    @action(detail=True, methods=["post"], url_path="check-in")
    def check_in(self, request, pk=None):
        """Check in: an organiser names the volunteer; a volunteer sends the QR ``token``."""
        return self._check(request, self.get_object(), check_out=False)

    @extend_schema(request=SignupTargetSerializer, responses={200: SignupSerializer})
    @action(detail=True, methods=["post"], url_path="check-out")
    def check_out(self, request, pk=None):
        """Check out (the minutes are computed inside the activity's time)."""
        return self._check(request, self.get_object(), check_out=True)

    @extend_schema(request=SignupTargetSerializer, responses={200: SignupSerializer})
    @action(detail=True, methods=["post"], url_path="no-show")
    def no_show(self, request, pk=None):
        activity = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        signup = self._signup_of(activity, self._target(activity, serializer.validated_data.get("volunteer")))
        return self._signup_out(services.signup_mark_no_show(actor=request.user, signup=signup))

    @extend_schema(request=ApproveHoursSerializer, responses={200: SignupSerializer})
    @action(detail=True, methods=["post"], url_path="approve-hours")
    def approve_hours(self, request, pk=None):
        """Approve a volunteer's hours into the ledger (at most the check-in/out minutes)."""
        activity = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        signup = self._signup_of(activity, self._target(activity, serializer.validated_data["volunteer"]))
        entry = services.signup_approve_hours(actor=request.user, signup=signup,
                                              minutes=serializer.validated_data["minutes"])
        return self._signup_out(entry.signup)

    @extend_schema(request=None, responses={200: SignupPageSerializer})
    @action(detail=True, methods=["get"])
    def signups(self, request, pk=None):
        """The activity's sign-ups (phones masked unless the caller may see them)."""
        activity = self.get_object()
        queryset = activity.signups.select_related("volunteer", "volunteer__unit", "hour_entry").order_by("created_at", "id")
        page = self.paginate_queryset(queryset)
        serializer = SignupSerializer(page, many=True, context=self.get_serializer_context())
        return self.get_paginated_response(serializer.data)

    @extend_schema(request=None, responses={200: ActivitySerializer})
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        """Close the activity; whoever signed up and never checked in becomes a no-show."""
        return self._activity_out(services.activity_complete(actor=request.user, activity=self.get_object()))

    @extend_schema(request=ReasonSerializer, responses={200: ActivitySerializer})
    @action(detail=True, methods=["post"], url_path="cancel-activity")
    def cancel_activity(self, request, pk=None):
        activity = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._activity_out(services.activity_cancel(actor=request.user, activity=activity,
                                                           reason=serializer.validated_data["reason"]))
