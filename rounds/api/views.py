"""REST endpoints for evaluation rounds: scoped querysets; writes through the services."""

from __future__ import annotations


from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from .. import selectors, services
from ..filtersets import InspectionScheduleFilterSet, PointDrawFilterSet
from . import serializers as s


@extend_schema(tags=["point-draws"])
class PointDrawViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Point draws (模拟测评 samples). 暗访: until the round ends only the office over the area and the
    round's inspectors see a draw; an inspector sees only their own stops in it."""

    filterset_class = PointDrawFilterSet
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        return selectors.draws_for(self.request.user)

    def get_serializer_class(self):
        return s.PointDrawDetailSerializer if self.action == "retrieve" else s.PointDrawSerializer

    def retrieve(self, request, *args, **kwargs):
        draw = self.get_object()
        context = {**self.get_serializer_context(), "stops": selectors.draw_stops(draw, request.user)}
        return Response(s.PointDrawDetailSerializer(draw, context=context).data)

    @extend_schema(request=s.PointDrawInputSerializer, responses={201: s.PointDrawDetailSerializer})
    def create(self, request, *args, **kwargs):
        """Draw points and create the concealed inspection with its planned visits (send ``seed`` to repeat
        a draw)."""
        serializer = s.PointDrawInputSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        draw = services.point_draw_create(actor=request.user, point_types=data.pop("point_types", []), **data)
        draw = self.get_queryset().get(pk=draw.pk)
        context = {**self.get_serializer_context(), "stops": selectors.draw_stops(draw, request.user)}
        return Response(s.PointDrawDetailSerializer(draw, context=context).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["inspection-schedules"])
class InspectionScheduleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                                mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """Recurring inspection rounds; the beat turns each due occurrence into one inspection. Editing the rule
    applies from today on; pausing skips what falls in the pause."""

    filterset_class = InspectionScheduleFilterSet
    ordering = ["title", "id"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    action_permissions = {"pause": ["rounds.change_inspectionschedule"],
                          "resume": ["rounds.change_inspectionschedule"]}

    def get_queryset(self):
        return selectors.schedules_for(self.request.user)

    def get_serializer_class(self):
        if self.action in ("update", "partial_update"):
            return s.InspectionScheduleUpdateSerializer
        return s.InspectionScheduleSerializer

    def _out(self, schedule, code=status.HTTP_200_OK):
        return Response(s.InspectionScheduleSerializer(self.get_queryset().get(pk=schedule.pk),
                                                       context=self.get_serializer_context()).data, status=code)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        schedule = services.schedule_create(actor=request.user, **serializer.validated_data)
        return self._out(schedule, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        schedule = self.get_object()
        serializer = self.get_serializer(schedule, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        schedule = services.schedule_update(actor=request.user, schedule=schedule, **serializer.validated_data)
        return self._out(schedule)

    @extend_schema(request=None, responses={200: s.InspectionScheduleSerializer})
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        """Stop creating rounds (the ones already created stay)."""
        return self._out(services.schedule_set_active(actor=request.user, schedule=self.get_object(), active=False))

    @extend_schema(request=None, responses={200: s.InspectionScheduleSerializer})
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        """Create rounds again from today on (nothing that fell in the pause is back-filled)."""
        return self._out(services.schedule_set_active(actor=request.user, schedule=self.get_object(), active=True))


