"""REST endpoints of 回头看: ``/api/v1/rechecks/`` (planned and recorded re-checks, the office's
"draw now", the inspector's result) and ``/api/v1/recurrence/`` (recurrence rates per unit, point
or category, and the 顽疾点位)."""

from __future__ import annotations

import django_filters
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from campaigns.models import Campaign, Unit
from civportal.api.filters import refuse_unknown_params
from civportal.api.pagination import LimitOffsetPagination

from .. import rechecks
from ..models import Recheck, RecheckRule, RecheckRun, Severity

GROUPS = [("unit", gettext_lazy("unit")), ("point", gettext_lazy("point")), ("category", gettext_lazy("category"))]


class RecheckSerializer(serializers.ModelSerializer):
    campaign = serializers.IntegerField(source="rule.campaign_id", read_only=True)
    rule_name = serializers.CharField(source="rule.name", read_only=True)
    point_name = serializers.CharField(source="point.name", read_only=True)
    unit_name = serializers.CharField(source="finding.unit.name", read_only=True)
    category_name = serializers.CharField(source="finding.category.name", read_only=True)
    closed_at = serializers.DateTimeField(source="finding.closed_at", read_only=True)

    class Meta:
        model = Recheck
        fields = ["id", "campaign", "rule", "rule_name", "run", "inspection", "finding", "closed_at", "point",
                  "point_name", "unit_name", "category_name", "severe", "status", "visit", "recurrence",
                  "checked_at", "checked_by", "created_at"]
        read_only_fields = fields


class RecheckRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = RecheckRun
        fields = ["id", "rule", "trigger", "run_on", "seed", "closed_from", "closed_until", "candidate_count",
                  "drawn_count", "run_by", "created_at"]
        read_only_fields = fields


class DrawSerializer(serializers.Serializer):
    rule = serializers.PrimaryKeyRelatedField(queryset=RecheckRule.objects.all())
    seed = serializers.IntegerField(required=False, min_value=0, max_value=2**62,
                                    help_text="Reuse a seed to reproduce a draw; a new random one otherwise.")


class RecordSerializer(serializers.Serializer):
    recurred = serializers.BooleanField(help_text="true: the problem came back (a new finding, a repeat).")
    description = serializers.CharField(required=False, allow_blank=True, max_length=4000)
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6, required=False, min_value=-90, max_value=90)
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6, required=False, min_value=-180,
                                         max_value=180)
    photos = serializers.ListField(child=serializers.FileField(allow_empty_file=True), required=False, default=list,
                                   max_length=9, help_text="Photos of the problem found again (required then).")


class RecheckFilterSet(django_filters.FilterSet):
    campaign = django_filters.ModelChoiceFilter(field_name="rule__campaign", queryset=Campaign.objects.all(),
                                                label=gettext_lazy("Campaign"))
    rule = django_filters.ModelChoiceFilter(queryset=RecheckRule.objects.all(), label=gettext_lazy("Rule"))
    status = django_filters.ChoiceFilter(choices=Recheck.Status.choices, label=gettext_lazy("Status"))

    class Meta:
        model = Recheck
        fields = ["campaign", "rule", "status"]


def rechecks_for(user):
    return Recheck.objects.visible_to(user).select_related(
        "rule", "run", "point", "finding__unit", "finding__category")


@extend_schema(tags=["rechecks"])
class RecheckViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """回头看: re-check visits of closed findings drawn by the campaign's rules (scoped by the
    original finding). ``POST draw/`` runs a rule now (the city office); ``POST {id}/record/``
    records the result (inspectors; multipart with ``photos`` when the problem came back)."""

    serializer_class = RecheckSerializer
    filterset_class = RecheckFilterSet
    ordering_fields = ["created_at", "checked_at"]
    ordering = ["-created_at", "-id"]
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    action_permissions = {"draw": ["inspections.add_recheckrule"], "record": ["inspections.change_recheck"]}

    def get_queryset(self):
        return rechecks_for(self.request.user)

    @extend_schema(request=DrawSerializer, responses={201: RecheckRunSerializer})
    @action(detail=False, methods=["post"])
    def draw(self, request):
        """Draw re-checks by a rule now: the closures since the rule's last window, the share and the
        severe ones; the run (seed, window, counts) is answered."""
        serializer = DrawSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rule = get_object_or_404(RecheckRule.objects.visible_to(request.user),
                                 pk=serializer.validated_data["rule"].pk)
        run = rechecks.rule_run(rule=rule, actor=request.user, seed=serializer.validated_data.get("seed"))
        return Response(RecheckRunSerializer(run).data, status=201)

    @extend_schema(request=RecordSerializer, responses={200: RecheckSerializer})
    @action(detail=True, methods=["post"])
    def record(self, request, pk=None):
        """Record the re-check once: still fixed, or came back (a new finding linked to the original,
        counted as a repeat). A second answer is 409."""
        recheck = self.get_object()
        serializer = RecordSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        d = dict(serializer.validated_data)
        photos = d.pop("photos", []) or request.FILES.getlist("photos")
        done = rechecks.recheck_record(actor=request.user, recheck=recheck, photos_in=photos, **d)
        return Response(RecheckSerializer(self.get_queryset().get(pk=done.pk)).data)


class RecurrenceQuerySerializer(serializers.Serializer):
    campaign = serializers.PrimaryKeyRelatedField(queryset=Campaign.objects.all())
    group = serializers.ChoiceField(choices=GROUPS, required=False, default="unit")
    kind = serializers.ChoiceField(choices=[(k.value, k.label) for k in Unit.Kind if k != Unit.Kind.GRID],
                                   required=False, help_text="Only units of this kind (group=unit).")
    chronic = serializers.BooleanField(required=False, default=False,
                                       help_text="group=point: only 顽疾点位 (two or more problems came back).")
    closed_from = serializers.DateField(required=False, help_text="Closures from this day (default: a year ago).")
    closed_to = serializers.DateField(required=False, help_text="Closures up to this day (default: today).")

    def validate(self, attrs):
        start, end = attrs.get("closed_from"), attrs.get("closed_to")
        for name in ("closed_from", "closed_to"):
            if attrs.get(name) and not 1900 <= attrs[name].year <= 2999:
                raise serializers.ValidationError({name: _("Choose a day between the years 1900 and 2999.")})
        if start and end and start > end:
            raise serializers.ValidationError({"closed_to": _("The range must end on or after its start.")})
        return attrs


class RecurrenceRowSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    code = serializers.CharField(allow_blank=True)
    kind = serializers.CharField(required=False, help_text="The unit's kind (group=unit).")
    closed = serializers.IntegerField(help_text="Closed findings at a point, closed in the range.")
    back_30 = serializers.IntegerField(help_text="Of those, came back within 30 days of closure.")
    back_60 = serializers.IntegerField()
    back_90 = serializers.IntegerField()
    rate_30 = serializers.DecimalField(max_digits=4, decimal_places=1, allow_null=True, help_text="Percent.")
    rate_60 = serializers.DecimalField(max_digits=4, decimal_places=1, allow_null=True)
    rate_90 = serializers.DecimalField(max_digits=4, decimal_places=1, allow_null=True)


def recurrence_rows(user, data: dict):
    """The rows asked for (a list, or a queryset of dicts for points) and the range."""
    campaign = data["campaign"]
    default = rechecks.default_range(campaign)
    rng = rechecks.Range(campaign, data.get("closed_from") or default.closed_from,
                         data.get("closed_to") or default.closed_to)
    group = data.get("group") or "unit"
    if group == "point":
        return rng, rechecks.by_point(rng, user, chronic=data.get("chronic", False)), rechecks.point_row
    if group == "category":
        return rng, rechecks.by_category(rng, user), None
    return rng, rechecks.by_unit(rng, user, kind=data.get("kind")), None


@extend_schema(tags=["rechecks"])
class RecurrenceViewSet(viewsets.GenericViewSet):
    """Recurrence rates (复发率): of the closed findings at a point closed in the range (default: the
    last year), the share whose problem came back — a counting finding of the same category at the
    same point — within 30, 60 and 90 days. ``group=unit`` (subtree; departments: the places they
    supervise), ``point`` (``chronic=true``: 顽疾点位) or ``category``. Scoped to the caller's units."""

    serializer_class = RecurrenceRowSerializer
    pagination_class = LimitOffsetPagination
    filter_backends = []
    action_permissions = {"list": ["inspections.view_finding"]}

    @extend_schema(parameters=[RecurrenceQuerySerializer], responses={200: RecurrenceRowSerializer(many=True)})
    def list(self, request):
        refuse_unknown_params(request, {*RecurrenceQuerySerializer().fields, "limit", "offset"})
        query = RecurrenceQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        campaign = Campaign.objects.visible_to(request.user).filter(pk=query.validated_data["campaign"].pk).first()
        if campaign is None:
            raise ValidationError({"campaign": _("Choose a campaign.")})
        _rng, rows, convert = recurrence_rows(request.user, {**query.validated_data, "campaign": campaign})
        page = self.paginate_queryset(rows)
        page = [convert(r) for r in page] if convert else page
        return self.get_paginated_response(RecurrenceRowSerializer(page, many=True).data)
