"""REST endpoints for the monthly index: scores (scoped; published ranks are
public to staff, drafts to supervisors), scheme versions, and the
recompute/publish actions of the city office."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from .. import selectors, services
from ..filtersets import MonthlyScoreFilterSet
from ..models import ScoringScheme
from . import serializers as s

READ = (mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet)


@extend_schema(tags=["scores"])
class ScoreViewSet(*READ):
    """Monthly scores with components, counts, rank and red/black list flag.
    Published scores are readable by all staff; drafts only by supervisors over the unit."""

    serializer_class = s.MonthlyScoreSerializer
    filterset_class = MonthlyScoreFilterSet
    ordering_fields = ["month", "total", "rank", "field_score", "rectification_score"]
    ordering = ["-month", "kind", "rank", "unit__path"]
    action_permissions = {"recompute": ["scores.change_monthlyscore"], "publish": ["scores.change_monthlyscore"]}

    def get_queryset(self):
        return selectors.scores_for(self.request.user)

    def _month_action(self, request, service, code):
        serializer = s.MonthActionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        month = service(actor=request.user, **serializer.validated_data)
        return Response(s.ScoreMonthSerializer(month).data, status=code)

    @extend_schema(request=s.MonthActionSerializer, responses={200: s.ScoreMonthSerializer})
    @action(detail=False, methods=["post"])
    def recompute(self, request):
        """Compute a month's draft again with the current scheme (409 once the month is published)."""
        return self._month_action(request, services.scores_recompute, status.HTTP_200_OK)

    @extend_schema(request=s.MonthActionSerializer, responses={200: s.ScoreMonthSerializer})
    @action(detail=False, methods=["post"])
    def publish(self, request):
        """Publish a computed month: its scores freeze and the units are notified."""
        return self._month_action(request, services.scores_publish, status.HTTP_200_OK)


@extend_schema(tags=["score-schemes"])
class ScoringSchemeViewSet(mixins.CreateModelMixin, *READ):
    """Versions of the scoring rules. POST creates the next version (the city office only)."""

    serializer_class = s.ScoringSchemeSerializer
    ordering_fields = ["version"]
    ordering = ["-version"]
    filterset_class = None
    people_only = True  # scoring rules are set by people, never by an API key

    def get_queryset(self):
        return ScoringScheme.objects.select_related("created_by")

    def perform_create(self, serializer):
        serializer.instance = services.scheme_create(actor=self.request.user, **serializer.service_kwargs())
