"""REST endpoints for the monthly index: scores (scoped; published ranks are
public to staff, drafts to supervisors), scheme versions, and the
recompute/publish actions of the city office."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError as InputError
from rest_framework.response import Response

from civportal.api.filters import refuse_unknown_params
from civportal.xlsx import xlsx_response

from .. import selectors, services
from ..filtersets import AccountabilityRecordFilterSet, AppealFilterSet, MonthlyScoreFilterSet, PeriodScoreFilterSet
from ..lost import LostPointsForm, headers, lost_points, period_bounds, rows
from ..selectors import default_campaign
from ..models import ScoringScheme
from . import serializers as s

READ = (mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet)


@extend_schema(tags=["scores"])
class ScoreViewSet(*READ):
    """Monthly scores with components, counts, rank and red/black list flag.
    Published scores are readable by all staff; drafts only by supervisors over the unit."""

    serializer_class = s.MonthlyScoreSerializer
    ordering_fields = ["month", "total", "rank", "field_score", "rectification_score"]
    ordering = ["-month", "kind", "rank", "unit__path"]
    action_permissions = {"recompute": ["scores.change_monthlyscore"], "publish": ["scores.change_monthlyscore"],
                          "open_review": ["scores.change_monthlyscore"]}

    def _long_period(self):
        """The ``period`` asked for when it is a quarter, half-year or year (its rows are PeriodScores);
        None for a month, no period or a malformed one (the monthly filters answer 400 to that)."""
        from django.core.exceptions import ValidationError

        from ..periods import Period

        raw = self.request.query_params.get("period") if self.action == "list" else None
        try:
            period = Period.parse(raw) if raw else None
        except ValidationError:
            return None
        return period if period is not None and not period.is_month else None

    @property
    def filterset_class(self):
        return PeriodScoreFilterSet if getattr(self, "request", None) and self._long_period() else MonthlyScoreFilterSet

    def get_serializer_class(self):
        return s.PeriodScoreSerializer if self._long_period() else s.MonthlyScoreSerializer

    def get_queryset(self):
        if self._long_period():
            from django.db.models import F

            return selectors.period_scores_for(self.request.user).annotate(month=F("period__starts_on"))
        return selectors.scores_for(self.request.user)

    @staticmethod
    def _answer(result, code=status.HTTP_200_OK):
        from ..models import ScorePeriod

        serializer = s.ScorePeriodSerializer if isinstance(result, ScorePeriod) else s.ScoreMonthSerializer
        return Response(serializer(result).data, status=code)

    @extend_schema(request=s.MonthActionSerializer, responses={200: s.ScoreMonthSerializer})
    @action(detail=False, methods=["post"])
    def recompute(self, request):
        """Compute a month's (or, with ``period``, a quarter's, half-year's or year's) draft again with the
        current scheme (409 once it is published)."""
        serializer = s.MonthActionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._answer(services.period_recompute(actor=request.user, **serializer.validated_data))

    @extend_schema(request=s.PublishSerializer, responses={200: s.ScoreMonthSerializer})
    @action(detail=False, methods=["post"])
    def publish(self, request):
        """Publish a computed month (or ``period``): its scores freeze and the units are notified. 409 while
        a month's appeals are open, unless ``override_reason`` says why not to wait (recorded on the bulletin)."""
        serializer = s.PublishSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._answer(services.period_publish(actor=request.user, **serializer.validated_data))

    @extend_schema(request=s.MonthActionSerializer, responses={200: s.ScoreMonthSerializer})
    @action(detail=False, methods=["post"], url_path="open-review")
    def open_review(self, request):
        """Open a computed month's draft for review: unit heads see their drafts and may appeal within the
        window. Months only."""
        from django.core.exceptions import ValidationError

        serializer = s.MonthActionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        d = serializer.validated_data
        if not d["period"].is_month:
            raise ValidationError({"period": _("Only a month is opened for review and appeals.")})
        month = services.score_month_open_review(actor=request.user, campaign=d["campaign"],
                                                 month=d["period"].first_month)
        return self._answer(month)


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


@extend_schema(tags=["appeals"])
class AppealViewSet(mixins.CreateModelMixin, *READ):
    """Appeals (申诉) of units against a draft month's deductions. Heads create them (multipart with
    ``files`` for attachments); the city office accepts or rejects them."""

    serializer_class = s.AppealSerializer
    filterset_class = AppealFilterSet
    ordering_fields = ["created_at", "month", "status"]
    ordering = ["-created_at", "-id"]
    action_permissions = {"accept": ["scores.change_appeal"], "reject": ["scores.change_appeal"]}

    def get_queryset(self):
        return selectors.appeals_for(self.request.user)

    def perform_create(self, serializer):
        from django.core.exceptions import ValidationError

        from inspections.models import Finding, RectificationTask, Visit

        d = serializer.validated_data
        score = selectors.scores_for(self.request.user).filter(pk=d["score"]).first()
        if score is None:
            raise ValidationError({"score": _("No such draft score in your scope.")})
        model = {"finding": Finding, "visit": Visit, "task": RectificationTask}[d["target"]]
        obj = model.objects.filter(pk=d["object_id"]).first()
        serializer.instance = services.appeal_submit(
            actor=self.request.user, score=score, target=d["target"], obj=obj, reason=d["reason"],
            files=d.get("files") or [])

    def _decide(self, request, serializer_class, service):
        appeal = self.get_object()
        serializer = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        decided = service(actor=request.user, appeal=appeal, **serializer.validated_data)
        return Response(s.AppealSerializer(selectors.appeals_for(request.user).get(pk=decided.pk)).data)

    @extend_schema(request=s.AppealAcceptSerializer, responses={200: s.AppealSerializer})
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        """Accept: the finding is voided or its severity changed, or the task left out of the credit."""
        return self._decide(request, s.AppealAcceptSerializer, services.appeal_accept)

    @extend_schema(request=s.AppealRejectSerializer, responses={200: s.AppealSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """Reject with a reason; nothing else changes."""
        return self._decide(request, s.AppealRejectSerializer, services.appeal_reject)


@extend_schema(tags=["exposures"])
class ExposureViewSet(mixins.CreateModelMixin, *READ):
    """The 曝光台: findings the city office exposes publicly. An exposure is public (``/public/exposures/``)
    only after the photo-review confirmation; withdrawal removes it. Both are in the history."""

    serializer_class = s.ExposureSerializer
    filterset_class = None
    ordering_fields = ["created_at"]
    ordering = ["-created_at", "-id"]
    action_permissions = {"confirm_review": ["scores.change_exposure"], "withdraw": ["scores.change_exposure"]}

    def get_queryset(self):
        from inspections.models import Finding

        from ..models import Exposure

        return Exposure.objects.filter(finding__in=Finding.objects.visible_to(self.request.user))

    def perform_create(self, serializer):
        d = serializer.validated_data
        serializer.instance = services.exposure_create(actor=self.request.user, finding=d["finding"],
                                                       note=d.get("note", ""),
                                                       photos_reviewed=d.get("photos_reviewed", False))

    @extend_schema(request=None, responses={200: s.ExposureSerializer})
    @action(detail=True, methods=["post"], url_path="confirm-review")
    def confirm_review(self, request, pk=None):
        """Confirm the photos were reviewed for faces and number plates: the exposure goes public."""
        exposure = services.exposure_confirm_review(actor=request.user, exposure=self.get_object())
        return Response(s.ExposureSerializer(exposure, context={"request": request}).data)

    @extend_schema(request=s.ExposureWithdrawSerializer, responses={200: s.ExposureSerializer})
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        """Withdraw from the 曝光台 with a reason."""
        serializer = s.ExposureWithdrawSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        exposure = services.exposure_withdraw(actor=request.user, exposure=self.get_object(),
                                              reason=serializer.validated_data["reason"])
        return Response(s.ExposureSerializer(exposure, context={"request": request}).data)


@extend_schema(tags=["accountability-records"])
class AccountabilityRecordViewSet(mixins.CreateModelMixin, *READ):
    """通报批评, 约谈, 书面检查 and 问责 recorded against units (supervisors over the unit record them).
    ``GET suggestions/?campaign=`` lists measures to consider: units black-listed two months in a row and
    tasks at 挂牌督办 without a record (suggested, never created)."""

    serializer_class = s.AccountabilityRecordSerializer
    filterset_class = AccountabilityRecordFilterSet
    ordering_fields = ["decided_on", "created_at"]
    ordering = ["-decided_on", "-id"]
    action_permissions = {"suggestions": ["scores.view_accountabilityrecord"]}

    def get_queryset(self):
        from ..models import AccountabilityRecord

        return AccountabilityRecord.objects.visible_to(self.request.user).select_related("unit")

    def perform_create(self, serializer):
        d = dict(serializer.validated_data)
        serializer.instance = services.accountability_record_create(actor=self.request.user, **d)

    @extend_schema(responses={200: dict})
    @action(detail=False, methods=["get"])
    def suggestions(self, request):
        from django.core.exceptions import ValidationError

        from campaigns.models import Campaign

        raw = request.query_params.get("campaign", "")
        campaign = Campaign.objects.visible_to(request.user).filter(pk=raw).first() if raw.isdigit() and len(
            raw) < 19 else None
        if campaign is None:
            raise ValidationError({"campaign": _("Choose a campaign.")})
        return Response(services.accountability_suggestions(user=request.user, campaign=campaign))


@extend_schema(tags=["annual-reports"])
class AnnualReportViewSet(viewsets.ViewSet):
    """A unit's year for the 年度考核 system: ``GET /api/v1/annual-reports/?campaign=&year=&unit=`` as JSON,
    add ``export=xlsx`` for a workbook. Units outside the caller's scope answer 404."""

    action_permissions = {"list": ["scores.view_monthlyscore"]}

    @extend_schema(parameters=[s.AnnualReportQuerySerializer], responses={200: dict})
    def list(self, request):
        from django.http import Http404

        from campaigns.models import Unit

        refuse_unknown_params(request, {*s.AnnualReportQuerySerializer().fields, "export"})
        q = s.AnnualReportQuerySerializer(data=request.query_params)
        q.is_valid(raise_exception=True)
        unit = Unit.objects.visible_to(request.user).filter(pk=q.validated_data["unit"]).first()
        if unit is None:
            raise Http404
        report = services.annual_report(user=request.user, campaign=q.validated_data["campaign"],
                                        year=q.validated_data["year"], unit=unit)
        if request.query_params.get("export") == "xlsx":
            from ..exports import annual_report_xlsx

            return annual_report_xlsx(report, user=request.user)
        return Response(report)


class OneReportSchema(AutoSchema):
    """A report route answers one object on ``list`` (not an array of them)."""

    def _is_list_view(self, serializer=None) -> bool:
        return False


@extend_schema(tags=["lost-points"])
class LostPointsViewSet(viewsets.ViewSet):
    """Lost points by criterion (失分项分析): the campaign edition's indicator tree with, per node, the
    points at stake and lost on the period's visit checklists in the caller's scope, the 达标率, the
    failed checks and the units that lost most. ``export=xlsx`` answers the same table as a workbook."""

    action_permissions = {"list": ["scores.view_monthlyscore"]}
    schema = OneReportSchema()

    @extend_schema(parameters=[s.LostPointsQuerySerializer], operation_id="lost_points_retrieve", responses={
        (200, "application/json"): s.LostPointsSerializer,
        # ``export=xlsx``: the same table as a workbook
        (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): OpenApiTypes.BINARY})
    def list(self, request):
        refuse_unknown_params(request, {*s.LostPointsQuerySerializer().fields})
        form = LostPointsForm(request.query_params, user=request.user)
        if not form.is_valid():
            raise InputError({k: [str(e) for e in v] for k, v in form.errors.items()})
        data = form.cleaned_data
        campaign = data.get("campaign") or default_campaign(request.user)
        period = data.get("period") or f"{timezone.localdate():%Y-%m}"
        start, end = period_bounds(period)
        nodes = lost_points(request.user, campaign, start, end, within=data.get("within"),
                            point_type=data.get("point_type")) if campaign is not None else []
        if request.query_params.get("export") == "xlsx":
            return xlsx_response(filename=f"lost-points-{period}.xlsx", title=_("Lost points"), headers=headers(),
                                 rows=rows(nodes), user=request.user)
        drill = {"date_from": f"{start:%Y-%m-%d}", "date_to": f"{end - dt.timedelta(days=1):%Y-%m-%d}"}
        if campaign is not None:
            drill["campaign"] = campaign.pk
        for key in ("within", "point_type"):
            if data.get(key) is not None:
                drill[key] = request.query_params.get(key)
        for node in nodes:
            node.findings_url = f"/api/v1/findings/?{urlencode({**drill, 'indicator': node.indicator.pk})}"
        return Response(s.LostPointsSerializer({
            "campaign": campaign.pk if campaign else None, "period": period, "start": start, "end": end,
            "nodes": nodes}).data)
