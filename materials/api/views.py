"""REST endpoints for materials review: scoped querysets; writes go through the services."""

import django_filters
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from .. import selectors, services
from ..filtersets import MaterialCallFilterSet, MaterialSubmissionFilterSet
from ..models import MaterialSubmission
from .serializers import (
    CompletenessCellSerializer, MaterialCallSerializer, MaterialSubmissionDetailSerializer,
    MaterialSubmissionSerializer, ReturnInputSerializer, ReviewInputSerializer, SubmitInputSerializer,
)


class MaterialCallViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                          viewsets.GenericViewSet):
    """Calls for evidence (材料征集) that ask a unit in the caller's scope."""

    serializer_class = MaterialCallSerializer
    filterset_class = MaterialCallFilterSet
    ordering = ["deadline", "id"]

    def get_queryset(self):
        return selectors.calls(self.request.user)

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        serializer.instance = services.material_call_create(
            actor=self.request.user, campaign=data["campaign"], indicator=data["indicator"],
            title=data.get("title", ""), evidence=data["evidence"], deadline=data["deadline"],
            units=data.get("units", []), kind=data.get("kind", ""), within=data.get("within"))


class MaterialSubmissionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Each unit's answer to a call; the unit submits, the office reviews or returns."""

    filterset_class = MaterialSubmissionFilterSet
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    action_permissions = {
        "submit": ["materials.add_materialfile"],
        "review": ["materials.change_materialsubmission"],
        "return_": ["materials.change_materialsubmission"],
    }

    def get_queryset(self):
        qs = selectors.submissions(self.request.user)
        if self.action == "retrieve":
            qs = qs.prefetch_related("files", "events__actor")
        return qs

    def get_serializer_class(self):
        return MaterialSubmissionDetailSerializer if self.action != "list" else MaterialSubmissionSerializer

    def _out(self, submission):
        return Response(MaterialSubmissionDetailSerializer(
            selectors.submissions(self.request.user).prefetch_related("files", "events__actor").get(pk=submission.pk)
        ).data)

    @extend_schema(request=SubmitInputSerializer, responses={200: MaterialSubmissionDetailSerializer})
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        """Send the evidence (multipart: ``files`` repeated, ``description``)."""
        serializer = SubmitInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        submission = services.material_submission_submit(actor=request.user, submission=self.get_object(),
                                                         **serializer.validated_data)
        return self._out(submission)

    @extend_schema(request=ReviewInputSerializer, responses={200: MaterialSubmissionDetailSerializer})
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        """Pass (no share, or 1) or partly pass (share between 0 and 1); 409 if no longer awaiting review."""
        serializer = ReviewInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        submission = services.material_submission_review(actor=request.user, submission=self.get_object(),
                                                         share=data.get("share"), note=data.get("note", ""))
        return self._out(submission)

    @extend_schema(request=ReturnInputSerializer, responses={200: MaterialSubmissionDetailSerializer})
    @action(detail=True, methods=["post"], url_path="return")
    def return_(self, request, pk=None):
        """Return to the unit with a reason; the unit resubmits (rework counted)."""
        serializer = ReturnInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        submission = services.material_submission_return(actor=request.user, submission=self.get_object(),
                                                         reason=serializer.validated_data["reason"])
        return self._out(submission)


class CompletenessFilterSet(MaterialSubmissionFilterSet):
    campaign = django_filters.NumberFilter(field_name="call__campaign", label="campaign")
    section = django_filters.CharFilter(method="filter_section", max_length=40, label="section")
    state = django_filters.MultipleChoiceFilter(distinct=False, choices=MaterialSubmission.State.choices,
                                                label="state")

    class Meta(MaterialSubmissionFilterSet.Meta):
        fields = ["campaign", "call", "status", "within", "section", "state"]

    def filter_section(self, queryset, name, value):
        from campaigns.models import Indicator

        paths = Indicator.objects.filter(code=value).values_list("path", "system_id")
        from django.db.models import Q

        q = Q(pk__in=[])
        for path, system_id in paths:
            q |= Q(call__indicator__system_id=system_id, call__indicator__path__startswith=path)
        return queryset.filter(q)


class MaterialCompletenessViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The completeness matrix as cells (indicator × unit → 未提交/待审/通过/退回/逾期)."""

    serializer_class = CompletenessCellSerializer
    filterset_class = CompletenessFilterSet
    queryset = MaterialSubmission.objects.none()  # for the model permission

    def get_queryset(self):
        return (MaterialSubmission.objects.visible_to(self.request.user).with_state(timezone.localdate())
                .select_related("call__indicator", "unit").order_by("call__indicator__path", "unit__path", "pk"))
