"""REST endpoints for planning: three-line viewsets over scoped querysets;
writes and transitions go through the services."""

from django.db.models import Count, Q, Sum
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from django.conf import settings
from django.utils.translation import gettext as _

from civportal.api.pagination import CappedLimitOffsetPagination
from civportal.xlsx import ImportRejected

from ..models import Campaign, ImportJob, Indicator, IndicatorSystem, Point, PointType, WorkItem
from . import background, indicator_io, ledger_io, rows, selectors, services
from .filtersets import (
    CampaignFilterSet, IndicatorFilterSet, IndicatorSystemFilterSet, PointFilterSet, PointTypeFilterSet,
    WorkItemFilterSet,
)
from .serializers import (
    CampaignSerializer, EditionImportSerializer, ImportJobListSerializer, ImportJobSerializer, ImportResultSerializer,
    ImportUploadSerializer,
    IndicatorSerializer, IndicatorSystemCopySerializer, IndicatorSystemSerializer, IndicatorWriteSerializer,
    LedgerImportSerializer, PointSerializer, PointTypeSerializer, ProgressInputSerializer, ProgressReportSerializer,
    VerifyInputSerializer, WorkItemSerializer,
)

def rejected(exc: ImportRejected) -> Response:
    """Row errors in the API's one error format; nothing was imported."""
    return Response(
        {"code": "invalid", "detail": _("Nothing was imported: %(count)d problem(s) found.") % {"count": len(exc.errors)},
         "errors": {"rows": [e.as_dict() for e in exc.errors]}},
        status=status.HTTP_400_BAD_REQUEST,
    )


def run_import(request, *, kind: str, serializer_class, run, params=lambda data: {}):
    """Validate the upload; import inline, or queue a job for a large file (202)."""
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    upload = data["file"]
    if kind and upload.size > settings.INLINE_IMPORT_BYTES:
        job = background.import_job_start(actor=request.user, kind=kind, upload=upload, params=params(data))
        return Response({"created": 0, "updated": 0, "unchanged": 0, "job": job.pk}, status=status.HTTP_202_ACCEPTED)
    try:
        result = run(data)
    except ImportRejected as exc:
        return rejected(exc)
    return Response({"created": result.created, "updated": result.updated, "unchanged": result.unchanged},
                    status=status.HTTP_201_CREATED)


IMPORT_RESPONSES = {201: ImportResultSerializer, 202: ImportResultSerializer}


def edition_params(data) -> dict:
    """What a background edition import needs besides the file (JSON-safe)."""
    effective_from = data.get("effective_from")
    return {"name": data["name"], "layout": data["layout"], "is_sample": data["is_sample"],
            "effective_from": effective_from.isoformat() if effective_from else None}


WRITE = (mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin,
         viewsets.GenericViewSet)


@extend_schema(tags=["campaigns"])
class CampaignViewSet(*WRITE):
    """Campaign periods and the indicator edition each is judged by; only the campaign office writes."""

    serializer_class = CampaignSerializer
    filterset_class = CampaignFilterSet
    ordering_fields = ["starts_on", "name", "status"]
    ordering = ["-starts_on", "name"]

    def get_queryset(self):
        return Campaign.objects.visible_to(self.request.user).select_related("indicator_system")

    def perform_create(self, serializer):
        serializer.instance = services.campaign_create(actor=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.campaign_update(
            actor=self.request.user, campaign=serializer.instance, **serializer.validated_data
        )


@extend_schema(tags=["indicator-systems"])
class IndicatorSystemViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin,
                             viewsets.GenericViewSet):
    """Indicator editions. New editions come from an xlsx import (page) or a copy."""

    serializer_class = IndicatorSystemSerializer
    filterset_class = IndicatorSystemFilterSet
    ordering_fields = ["name", "effective_from"]
    ordering = ["-effective_from", "name"]
    action_permissions = {
        "publish": ["campaigns.change_indicatorsystem"], "copy": ["campaigns.add_indicatorsystem"],
        "import_": ["campaigns.add_indicatorsystem"],
    }

    def get_queryset(self):
        return IndicatorSystem.objects.order_by("-effective_from", "name", "pk").annotate(
            indicator_count=Count("indicators"),
            total_points=Sum("indicators__points", filter=Q(indicators__level=Indicator.Level.CRITERION)),
        )

    def perform_update(self, serializer):
        serializer.instance = services.indicator_system_update(
            actor=self.request.user, system=serializer.instance, **serializer.validated_data
        )

    def _out(self, system, code=status.HTTP_200_OK):
        return Response(IndicatorSystemSerializer(self.get_queryset().get(pk=system.pk)).data, status=code)

    @extend_schema(request=None, responses={200: IndicatorSystemSerializer})
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        return self._out(services.indicator_system_publish(actor=request.user, system=self.get_object()))

    @extend_schema(request=IndicatorSystemCopySerializer, responses={201: IndicatorSystemSerializer})
    @action(detail=True, methods=["post"])
    def copy(self, request, pk=None):
        """Copy the edition with its whole tree into a new draft edition."""
        serializer = IndicatorSystemCopySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        copy = services.indicator_system_copy(actor=request.user, system=self.get_object(), **serializer.validated_data)
        return self._out(copy, status.HTTP_201_CREATED)

    @extend_schema(request={"multipart/form-data": EditionImportSerializer}, responses=IMPORT_RESPONSES)
    @action(detail=False, methods=["post"], url_path="import", url_name="import",
            parser_classes=[MultiPartParser, FormParser])
    def import_(self, request):
        """Create a draft edition from an xlsx sheet (portal or office layout). Row errors: 400, nothing imported.
        Large files answer 202 with a job id (GET /api/v1/import-jobs/{id}/)."""
        return run_import(
            request, kind=ImportJob.Kind.INDICATORS, serializer_class=EditionImportSerializer,
            params=edition_params,
            run=lambda data: indicator_io.import_edition(
                actor=request.user, upload=data["file"], name=data["name"], layout=data["layout"],
                effective_from=data["effective_from"], is_sample=data["is_sample"])[1])


@extend_schema(tags=["indicators"])
class IndicatorViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin,
                       viewsets.GenericViewSet):
    """Nodes of the editions' trees, with ``total_points`` rolled up from the criteria below."""

    serializer_class = IndicatorSerializer
    filterset_class = IndicatorFilterSet
    ordering_fields = ["path", "code", "points"]
    ordering = ["system_id", "path"]

    def get_queryset(self):
        return Indicator.objects.with_rollup().select_related("parent", "system").prefetch_related("point_types")

    def get_serializer_class(self):
        return IndicatorWriteSerializer if self.action in {"update", "partial_update"} else IndicatorSerializer

    @extend_schema(request=IndicatorWriteSerializer, responses={200: IndicatorSerializer})
    def update(self, request, *args, **kwargs):
        indicator = self.get_object()
        serializer = IndicatorWriteSerializer(data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        data = {"name": indicator.name, "points": indicator.points, "method": indicator.method,
                "description": indicator.description, "point_types": None}
        data.update(serializer.validated_data)
        services.indicator_update(actor=request.user, indicator=indicator, **data)
        return Response(IndicatorSerializer(self.get_queryset().get(pk=indicator.pk)).data)


@extend_schema(tags=["point-types"])
class PointTypeViewSet(*WRITE):
    """Kinds of evaluation places and their weights."""

    serializer_class = PointTypeSerializer
    filterset_class = PointTypeFilterSet
    ordering_fields = ["code", "name", "weight"]
    ordering = ["code"]
    queryset = PointType.objects.all()

    def perform_create(self, serializer):
        serializer.instance = services.point_type_save(actor=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        data = {f: getattr(serializer.instance, f) for f in ("code", "name", "weight", "active")}
        data.update(serializer.validated_data)
        serializer.instance = services.point_type_save(actor=self.request.user, point_type=serializer.instance, **data)


@extend_schema(tags=["points"])
class PointViewSet(*WRITE):
    """Evaluation points in the caller's scope (by territorial unit or supervising department)."""

    serializer_class = PointSerializer
    filterset_class = PointFilterSet
    # A district holds thousands of points: the count stops COUNT_CAP rows past the offset.
    pagination_class = CappedLimitOffsetPagination
    ordering_fields = ["name", "code", "created_at"]
    ordering = ["point_type_id", "name", "id"]
    action_permissions = {
        "activate": ["campaigns.change_point"], "deactivate": ["campaigns.change_point"],
        "import_": ["campaigns.add_point"],
    }

    def get_queryset(self):
        return Point.objects.visible_to(self.request.user).select_related("point_type", "unit", "department")

    def list(self, request, *args, **kwargs):
        # Rows from .values(), the same JSON as PointSerializer (campaigns/planning/rows.py); no docstring
        # here, the schema's description of the list is the class's.
        points = self.filter_queryset(self.get_queryset())
        queryset = rows.point_values(points)
        # The capped count reads the points alone (no join for the names the page shows).
        page = self.paginator.paginate_queryset(queryset, request, view=self, count_from=points)
        if page is None:
            return Response(rows.point_rows(list(queryset), request))
        return self.get_paginated_response(rows.point_rows(page, request))

    def perform_create(self, serializer):
        serializer.instance = services.point_create(actor=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.point_update(
            actor=self.request.user, point=serializer.instance, **serializer.validated_data
        )

    def _set_active(self, active: bool):
        point = services.point_set_active(actor=self.request.user, point=self.get_object(), active=active)
        return Response(PointSerializer(point, context=self.get_serializer_context()).data)

    @extend_schema(request=None, responses={200: PointSerializer})
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        return self._set_active(False)

    @extend_schema(request=None, responses={200: PointSerializer})
    @action(detail=True, methods=["post"])
    def activate(self, request, pk=None):
        return self._set_active(True)

    @extend_schema(request={"multipart/form-data": ImportUploadSerializer}, responses=IMPORT_RESPONSES)
    @action(detail=False, methods=["post"], url_path="import", url_name="import",
            parser_classes=[MultiPartParser, FormParser])
    def import_(self, request):
        """Import a points sheet; existing codes are updated. Large files answer 202 with a job id."""
        return run_import(request, kind=ImportJob.Kind.POINTS, serializer_class=ImportUploadSerializer,
                          run=lambda data: ledger_io.import_points(actor=request.user, upload=data["file"]))


@extend_schema(tags=["work-items"])
class WorkItemViewSet(*WRITE):
    """The task ledger: work items led by, or shared with, a unit in the caller's scope.
    Units report progress and submit; the campaign office verifies or returns."""

    serializer_class = WorkItemSerializer
    filterset_class = WorkItemFilterSet
    ordering_fields = ["deadline", "status", "created_at"]
    ordering = ["deadline", "id"]
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    action_permissions = {
        "progress": ["campaigns.add_progressreport"],
        "submit": ["campaigns.add_progressreport"],
        "verify": ["campaigns.change_workitem"],
        "return_": ["campaigns.change_workitem"],
        "reports": ["campaigns.view_progressreport"],
        "import_": ["campaigns.add_workitem"],
    }

    def get_queryset(self):
        return (
            WorkItem.objects.visible_to(self.request.user)
            .select_related("indicator", "lead_unit")
            .prefetch_related("cooperating_units")
        )

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "today": timezone.localdate()}

    def perform_create(self, serializer):
        serializer.instance = services.work_item_create(actor=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        data.pop("campaign", None)
        serializer.instance = services.work_item_update(actor=self.request.user, item=serializer.instance, **data)

    def _out(self, item):
        return Response(WorkItemSerializer(self.get_queryset().get(pk=item.pk), context=self.get_serializer_context()).data)

    @extend_schema(request=ProgressInputSerializer, responses={201: ProgressReportSerializer})
    @action(detail=True, methods=["post"])
    def progress(self, request, pk=None):
        """Report progress (text and up to 10 attachments) for the lead or a cooperating unit."""
        serializer = ProgressInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        report = services.work_item_report_progress(
            actor=request.user, item=self.get_object(), text=serializer.validated_data["text"],
            files=serializer.validated_data["files"],
        )
        return Response(ProgressReportSerializer(report).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ProgressInputSerializer, responses={200: WorkItemSerializer})
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        serializer = ProgressInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        item = services.work_item_submit(actor=request.user, item=self.get_object(), **serializer.validated_data)
        return self._out(item)

    @extend_schema(request=VerifyInputSerializer, responses={200: WorkItemSerializer})
    @action(detail=True, methods=["post"])
    def verify(self, request, pk=None):
        serializer = VerifyInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        item = services.work_item_verify(actor=request.user, item=self.get_object(), accept=True,
                                         text=serializer.validated_data["text"])
        return self._out(item)

    @extend_schema(request=VerifyInputSerializer, responses={200: WorkItemSerializer})
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_(self, request, pk=None):
        """Send a submitted item back to the lead unit (a reason is required)."""
        serializer = VerifyInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        item = services.work_item_verify(actor=request.user, item=self.get_object(), accept=False,
                                         text=serializer.validated_data["text"])
        return self._out(item)

    @extend_schema(request={"multipart/form-data": LedgerImportSerializer}, responses=IMPORT_RESPONSES)
    @action(detail=False, methods=["post"], url_path="import", url_name="import",
            parser_classes=[MultiPartParser, FormParser])
    def import_(self, request):
        """Add a task breakdown sheet to a campaign's ledger. Large files answer 202 with a job id."""
        return run_import(
            request, kind=ImportJob.Kind.WORK_ITEMS, serializer_class=LedgerImportSerializer,
            params=lambda data: {"campaign": data["campaign"].pk},
            run=lambda data: ledger_io.import_work_items(actor=request.user, upload=data["file"],
                                                         campaign=data["campaign"]),
        )

    @extend_schema(request=None, responses={200: ProgressReportSerializer(many=True)})
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def reports(self, request, pk=None):
        """The item's timeline: progress, submissions, verifications and returns."""
        item = self.get_object()
        reports = item.progress_reports.select_related("author", "unit").order_by("created_at", "id")
        return Response(ProgressReportSerializer(reports, many=True).data)


@extend_schema(tags=["import-jobs"])
class ImportJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Background imports started by the caller: status, progress and row errors."""

    serializer_class = ImportJobSerializer
    ordering_fields = ["created_at"]
    ordering = ["-created_at", "-id"]
    filterset_fields = ["kind", "status"]

    def get_serializer_class(self):
        return ImportJobListSerializer if self.action == "list" else ImportJobSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ImportJob.objects.none()
        jobs = selectors.import_jobs(self.request.user)
        return jobs.defer("errors") if self.action == "list" else jobs
