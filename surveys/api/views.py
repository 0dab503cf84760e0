"""REST endpoints for resident surveys (read; the office builds surveys and waves on the pages)."""

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.scope import scope_q
from civportal.api.throttling import AddressRateThrottle

from .. import selectors, services
from ..models import Survey, SurveyWave, WaveTarget
from .serializers import (
    PublicAnswerSerializer, PublicAnswerResultSerializer, PublicSurveySerializer, SurveyResultSerializer,
    SurveySerializer, SurveyWaveSerializer,
)

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


class SurveyAnswerThrottle(AddressRateThrottle):
    """Per address, ``SURVEY_RATE_PER_MINUTE`` answers a minute (read per request; 0: no limit);
    reading the questionnaire is not counted."""

    scope = "survey-answer"
    rate_setting = "SURVEY_RATE_PER_MINUTE"

    def allow_request(self, request, view):
        return request.method != "POST" or super().allow_request(request, view)


class PublicSurveyAnswerView(APIView):
    """The public questionnaire of one surveyed unit's link token, and its answer
    endpoint: anonymous, throttled per address (429 with Retry-After), one
    answer per device and wave (409), refused once the unit's quota is reached (409)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [SurveyAnswerThrottle]

    def _target(self, token):
        return get_object_or_404(WaveTarget.objects.select_related("wave__survey", "unit"), token=token)

    @extend_schema(responses={200: PublicSurveySerializer}, tags=["survey-answers"])
    def get(self, request, token):
        target = self._target(token)
        return Response(PublicSurveySerializer({
            "survey": target.wave.survey.title, "unit": target.unit.name,
            "questions": list(target.wave.survey.questions.all())}).data)

    @extend_schema(request=PublicAnswerSerializer, responses={201: PublicAnswerResultSerializer},
                   tags=["survey-answers"])
    def post(self, request, token):
        target = self._target(token)
        serializer = PublicAnswerSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            answer = services.response_submit(target=target, device=f"api-{data['device']}", data=data["answers"])
        except DjangoValidationError as exc:
            raise ValidationError({"answers": exc.messages})
        return Response({"id": answer.pk, "counted": answer.voided_at is None}, status=status.HTTP_201_CREATED)
