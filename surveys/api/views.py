"""REST endpoints for resident surveys (read; the office builds surveys and waves on the pages)."""

import django_filters
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.exceptions import ValidationError

from campaigns.scope import scope_q

from .. import selectors
from ..models import Survey, SurveyWave, WaveTarget
from .serializers import SurveyResultSerializer, SurveySerializer, SurveyWaveSerializer

READ = (mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet)


class SurveyViewSet(*READ):
    """Questionnaires with their questions (Chinese and English texts)."""

    serializer_class = SurveySerializer
    queryset = Survey.objects.prefetch_related("questions")


class SurveyWaveFilterSet(django_filters.FilterSet):
    class Meta:
        model = SurveyWave
        fields = ["campaign", "survey", "status"]


class SurveyWaveViewSet(*READ):
    """Survey waves that sample a unit in the caller's scope."""

    serializer_class = SurveyWaveSerializer
    filterset_class = SurveyWaveFilterSet

    def get_queryset(self):
        return SurveyWave.objects.visible_to(self.request.user)


class SurveyResultFilterSet(django_filters.FilterSet):
    wave = django_filters.NumberFilter(field_name="wave", required=True, label="wave")

    class Meta:
        model = WaveTarget
        fields = ["wave"]


@extend_schema(parameters=[OpenApiParameter("wave", int, required=True, description="survey wave id")])
class SurveyResultViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Per surveyed unit of a wave (``?wave=``): valid answers, awareness/support/satisfaction
    rates with 95 % margins, S and whether it is final (quota reached) or provisional."""

    serializer_class = SurveyResultSerializer
    filterset_class = SurveyResultFilterSet
    queryset = WaveTarget.objects.none()

    def get_queryset(self):
        return WaveTarget.objects.filter(scope_q(self.request.user, "unit__path")).select_related(
            "unit", "wave__survey").order_by("unit__path", "pk")

    def list(self, request, *args, **kwargs):
        wave_id = request.query_params.get("wave", "")
        if not wave_id.isdigit():
            raise ValidationError({"wave": [_("Give the survey wave (?wave=id).")]})
        return super().list(request, *args, **kwargs)

    def paginate_queryset(self, queryset):
        targets = super().paginate_queryset(queryset)
        if not targets:
            return targets
        rows = selectors.results(targets[0].wave, targets)
        for row in rows:
            row.rate_list = list(row.rates.values())
        return rows
