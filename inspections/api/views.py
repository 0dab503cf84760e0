"""REST endpoints for inspections and the loop: scoped querysets, transitions
as POST actions that call one service each (a stale transition answers 409)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError as InputError
from rest_framework.generics import get_object_or_404 as get_row_or_404
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from civportal.api.pagination import CappedLimitOffsetPagination, CursorPagination
from civportal.api.parsers import invalid_text_message, invalid_text_path
from civportal.listcache import cached_list

from .. import intake, list_cache, selectors, services
from ..filtersets import FindingCategoryFilterSet, FindingFilterSet, InspectionFilterSet, TaskFilterSet, VisitFilterSet
from ..models import ExtensionRequest, Finding
from . import rows
from . import serializers as s

PARSERS = [JSONParser, MultiPartParser, FormParser]

BULK_REQUEST_EXAMPLE = OpenApiExample(
    "Two hotline tickets", request_only=True,
    value={"items": [
        {"source": "hotline", "external_id": "12345-20261120-0017", "category": "HJ-01",
         "description": "小区门口垃圾堆放三天无人清理", "unit": "MZ0101", "address": "明州市海曙区中山路 18 号",
         "latitude": "29.868336", "longitude": "121.543990", "observed_at": "2026-11-20T09:12:00+08:00",
         "reporter_name": "李女士", "reporter_contact": "138****0001"},
        {"source": "hotline", "external_id": "12345-20261120-0018", "category": "12", "point": "MZ-P-0031",
         "description": "Broken street light at the market entrance"},
    ]},
)
BULK_RESPONSE_EXAMPLE = OpenApiExample(
    "Per-item results", response_only=True, status_codes=["200"],
    value={"results": [
        {"index": 0, "external_id": "12345-20261120-0017", "result": "created", "id": 5821, "code": None,
         "errors": {}},
        {"index": 1, "external_id": "12345-20261120-0018", "result": "error", "id": None, "code": "invalid",
         "errors": {"point": ["No point with this id or code in your scope."]}},
    ], "summary": {"created": 1, "unchanged": 0, "error": 1}},
)
STATUS_REQUEST_EXAMPLE = OpenApiExample(
    "Three tickets", request_only=True,
    value={"source": "hotline", "external_ids": ["12345-20261120-0017", "12345-20261120-0018", "NOPE-1"]},
)
STATUS_RESPONSE_EXAMPLE = OpenApiExample(
    "Status rows", response_only=True, status_codes=["200"],
    value={"results": [
        {"external_id": "12345-20261120-0017", "found": True, "id": 5821,
         "uid": "3b1f6a52-8d0e-4a57-9c1e-2f1f3c9b7e10", "status": "dispatched", "status_display": "整改中",
         "status_notes": "已交办至中山街道整改：整改中，期限 2026-11-27 18:00。", "closed_at": None,
         "updated_at": "2026-11-20T10:02:11+08:00",
         "task": {"id": 933, "unit": 14, "unit_name": "中山街道", "status": "in_progress",
                  "status_display": "整改中", "light": "green", "due_at": "2026-11-27T18:00:00+08:00",
                  "closed_at": None}},
        {"external_id": "NOPE-1", "found": False, "id": None, "uid": None, "status": None, "status_display": None,
         "status_notes": None, "closed_at": None, "updated_at": None, "task": None},
    ]},
)
READ = (mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet)


def paged_rows(view, values, finish):
    """ListModelMixin.list over a values queryset: filtered and paginated as before (the
    cursor reads its ordering columns from the dicts), rows built without instances."""
    filtered = view.filter_queryset(view.get_queryset())
    queryset = values(filtered)
    if isinstance(view.paginator, CappedLimitOffsetPagination):
        # Count the filtered rows without the values() joins (the names of the page's rows).
        page = view.paginator.paginate_queryset(queryset, view.request, view=view, count_from=filtered)
    else:
        page = view.paginate_queryset(queryset)
    if page is None:
        return Response(finish(list(queryset), view.request))
    return view.get_paginated_response(finish(page, view.request))


def paged_rows_ids_first(view, by_id, finish):
    """``paged_rows`` for a filter the list's indexes cannot bound, such as a text search: the
    page's ids first, from the filtered rows' ids and ordering columns only (PostgreSQL reads them
    from a covering index, ``finding_created_cover_idx``, testing scope and text in the index
    without visiting the table), then the page's rows by id (``by_id``: ids → row dicts), in the
    page's order."""
    filtered = view.filter_queryset(view.get_queryset())
    ordering = view.paginator.get_ordering(view.request, filtered, view)
    keys = filtered.values(*dict.fromkeys(f.lstrip("-") for f in ordering))
    page = view.paginate_queryset(keys)
    ids = [r["id"] for r in (keys if page is None else page)]
    found = {row["id"]: row for row in by_id(ids)}
    rows = finish([found[pk] for pk in ids], view.request)
    return Response(rows) if page is None else view.get_paginated_response(rows)


def detail_row(view, values, finish):
    """RetrieveModelMixin.retrieve over a values queryset: the scoped queryset (outside the
    caller's scope, or a malformed id, answers 404 as get_object does), no filter backends (a
    detail is not filtered, and its FilterSet costs more than its query), the object permissions
    checked on the row as get_object checks them on the instance; the JSON is the list row's,
    which is the serializer's byte for byte (tests/inspections/test_list_rows.py)."""
    lookup = view.lookup_url_kwarg or view.lookup_field
    row = get_row_or_404(values(view.get_queryset()), **{view.lookup_field: view.kwargs[lookup]})
    view.check_object_permissions(view.request, row)
    return Response(finish([row], view.request)[0])


@extend_schema(tags=["finding-categories"])
class FindingCategoryViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, *READ):
    """The problem taxonomy with default severity, deduction and supervising department; the office edits it."""

    serializer_class = s.FindingCategorySerializer
    filterset_class = FindingCategoryFilterSet
    ordering_fields = ["sort_order", "code", "name"]
    ordering = ["sort_order", "code"]

    def get_queryset(self):
        return selectors.categories()

    def perform_create(self, serializer):
        serializer.instance = services.category_save(actor=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.category_save(actor=self.request.user, category=serializer.instance,
                                                     **serializer.validated_data)


@extend_schema(tags=["inspections"])
class InspectionViewSet(mixins.CreateModelMixin, *READ):
    """Inspection rounds over an area of the caller's scope, with visit and finding counts."""

    serializer_class = s.InspectionSerializer
    filterset_class = InspectionFilterSet
    ordering_fields = ["starts_on", "title"]
    ordering = ["-starts_on", "-id"]

    def get_queryset(self):
        return selectors.inspections_for(self.request.user)

    def perform_create(self, serializer):
        inspection = services.inspection_create(actor=self.request.user, **serializer.validated_data)
        serializer.instance = self.get_queryset().get(pk=inspection.pk)


@extend_schema(tags=["visits"])
class VisitViewSet(mixins.CreateModelMixin, *READ):
    """Stops at evaluation points; ``is_clean`` marks a visit that found nothing wrong."""

    serializer_class = s.VisitSerializer
    filterset_class = VisitFilterSet
    pagination_class = CappedLimitOffsetPagination  # a city's visits: no full COUNT per request
    ordering_fields = ["visited_at"]
    ordering = ["-visited_at", "-id"]
    action_permissions = {"mark_clean": ["inspections.add_visit"], "checks": ["inspections.view_visit"]}

    def get_queryset(self):
        return selectors.visits_for(self.request.user, lean=self.action == "list")

    def list(self, request, *args, **kwargs):
        # Rows from .values(), the same JSON as VisitSerializer (inspections/api/rows.py).
        return paged_rows(self, rows.visit_values, rows.visit_rows)

    def retrieve(self, request, *args, **kwargs):
        return detail_row(self, rows.visit_values, rows.visit_rows)

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        data["clean"] = data.pop("is_clean", False)
        inspection = get_object_or_404(selectors.inspections_for(self.request.user), pk=data.pop("inspection").pk)
        visit = services.visit_create(actor=self.request.user, inspection=inspection, **data)
        serializer.instance = self.get_queryset().get(pk=visit.pk)

    @extend_schema(
        methods=["GET"], request=None, responses={200: s.VisitChecksSerializer},
        summary="The visit's checklist: the edition's criteria for its point type and their results",
    )
    @extend_schema(
        methods=["POST"], request={"application/json": s.VisitChecksInputSerializer,
                                   "multipart/form-data": s.VisitChecksInputSerializer},
        responses={200: s.VisitChecksSerializer},
        summary="Record checklist results (bulk upsert, idempotent on client_id)",
        description="Each item sets one criterion to met / failed / na. A failed criterion without a finding "
                    "becomes a finding linked to it (category and at least one photo needed: send multipart "
                    "fields c-<indicator>-result/-note/-category/-severity/-photos). A resend with the same "
                    "client_id changes nothing and answers the same body (header Idempotent-Replayed: true).",
    )
    @action(detail=True, methods=["get", "post"], url_path="checks", parser_classes=PARSERS)
    def checks(self, request, pk=None):
        from .. import checklist

        visit = self.get_object()
        if request.method == "GET":
            return Response(s.VisitChecksSerializer(checklist.payload(visit)).data)
        if not request.user.has_perm("inspections.add_visit"):
            raise PermissionDenied(_("Only inspectors and the campaign office may record checklists here."))
        if not isinstance(request.data, dict):
            raise InputError({"items": [_("Each item is an object with an indicator and a result.")]})
        submission = checklist.parse(request.data, request.FILES)
        fresh = checklist.record(actor=request.user, visit=visit, submission=submission)
        response = Response(s.VisitChecksSerializer(checklist.payload(visit, submission.client_id)).data)
        if not fresh:
            response["Idempotent-Replayed"] = "true"
        return response

    @extend_schema(request=None, responses={200: s.VisitSerializer})
    @action(detail=True, methods=["post"], url_path="mark-clean")
    def mark_clean(self, request, pk=None):
        visit = services.visit_mark_clean(actor=request.user, visit=self.get_object())
        return Response(s.VisitSerializer(self.get_queryset().get(pk=visit.pk)).data)


@extend_schema(tags=["findings"])
class MyReportViewSet(mixins.CreateModelMixin, *READ):
    """The caller's own reports as a volunteer (source ``volunteer``) and their
    status; POST reports a problem from the street. Only active volunteers with
    a login account may report; nobody sees anyone else's reports."""

    serializer_class = s.MyReportSerializer
    permission_classes = [IsAuthenticated]
    parser_classes = PARSERS
    ordering_fields = ["observed_at"]
    ordering = ["-observed_at", "-id"]

    queryset = Finding.objects.none()  # for the schema; get_queryset scopes to the caller

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Finding.objects.none()
        return selectors.volunteer_reports(self.request.user)

    @extend_schema(request=s.MyReportCreateSerializer, responses={201: s.MyReportSerializer})
    def create(self, request, *args, **kwargs):
        from volunteers.models import volunteer_of

        if volunteer_of(request.user) is None:  # refuse before looking at the input
            raise PermissionDenied(_("Only active registered volunteers with a login account may report problems here."))
        serializer = s.MyReportCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data["photos_in"] = data.pop("photos")
        finding = services.finding_report_by_volunteer(actor=request.user, **data)
        return Response(s.MyReportSerializer(self.get_queryset().get(pk=finding.pk)).data,
                        status=status.HTTP_201_CREATED)


@cached_list(list_cache.FINDINGS)
class FindingViewSet(mixins.CreateModelMixin, *READ):
    """Findings in the caller's scope. POST records one (idempotent on source + external_id:
    a repeat answers 200 with the existing finding). Triage: dispatch, mark-duplicate, void."""

    serializer_class = s.FindingSerializer
    filterset_class = FindingFilterSet
    # Cursor pagination: only fields that never change and are (almost) unique can order the list.
    per_item_input = False  # True on bulk: invalid text is refused per item (civportal/api/parsers.py)
    pagination_class = CursorPagination
    ordering_fields = ["created_at", "observed_at"]
    ordering = ["-created_at", "-id"]
    parser_classes = PARSERS
    action_permissions = {
        "dispatch_": ["inspections.add_rectificationtask"],
        "mark_duplicate": ["inspections.change_finding"],
        "void": ["inspections.change_finding"],
        "duplicates": ["inspections.view_finding"],
        "photos": ["inspections.add_finding"],
        "bulk": ["inspections.add_finding"],
        "status_pull": ["inspections.view_finding"],
    }

    def get_queryset(self):
        return selectors.findings_for(self.request.user, lean=self.action in ("list", "retrieve"))

    def _out(self, finding, code=status.HTTP_200_OK):
        return Response(s.FindingSerializer(self.get_queryset().get(pk=finding.pk)).data, status=code)

    def list(self, request, *args, **kwargs):
        # Rows from .values(), the same JSON as FindingSerializer (inspections/api/rows.py); no docstring here,
        # the schema's description of the list is the class's.
        if request.query_params.get("q") and not request.query_params.get("ordering"):
            return paged_rows_ids_first(self, rows.FINDINGS_BY_ID.values, rows.finding_rows)
        return paged_rows(self, rows.finding_values, rows.finding_rows)

    def retrieve(self, request, *args, **kwargs):
        return detail_row(self, rows.finding_values, rows.finding_rows)

    @extend_schema(request=s.FindingCreateSerializer, responses={201: s.FindingSerializer, 200: s.FindingSerializer})
    def create(self, request, *args, **kwargs):
        serializer = s.FindingCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data["photos_in"] = data.pop("photos")
        finding, created = services.finding_create(actor=request.user, **data)
        return self._out(finding, status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(request=s.DispatchSerializer, responses={201: s.TaskSerializer})
    @action(detail=True, methods=["post"], url_path="dispatch", url_name="dispatch")
    def dispatch_(self, request, pk=None):
        """Send the finding to a unit (default: its responsible unit) as a task; the deadline follows the rules."""
        serializer = s.DispatchSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        task = services.task_dispatch(actor=request.user, finding=self.get_object(), **serializer.validated_data)
        return Response(s.TaskSerializer(selectors.tasks_for(request.user).get(pk=task.pk)).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(request=s.MarkDuplicateSerializer, responses={200: s.FindingSerializer})
    @action(detail=True, methods=["post"], url_path="mark-duplicate")
    def mark_duplicate(self, request, pk=None):
        serializer = s.MarkDuplicateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        original = Finding.objects.visible_to(request.user).filter(pk=serializer.validated_data["original"]).first()
        if original is None:
            raise ValidationError({"original": _("No such finding in your scope.")})
        finding = services.finding_mark_duplicate(actor=request.user, finding=self.get_object(), original=original,
                                                  note=serializer.validated_data["note"])
        return self._out(finding)

    @extend_schema(request=s.VoidReasonSerializer, responses={200: s.FindingSerializer})
    @action(detail=True, methods=["post"])
    def void(self, request, pk=None):
        serializer = s.VoidReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        finding = services.finding_void(actor=request.user, finding=self.get_object(), **serializer.validated_data)
        return self._out(finding)

    @extend_schema(request=None, responses={200: s.FindingSerializer(many=True)})
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def duplicates(self, request, pk=None):
        """Suggestions for triage: open findings of the same category at the same point or within ~100 m, ±30 days."""
        candidates = services.duplicate_candidates(self.get_object())
        rows = self.get_queryset().filter(pk__in=[c.pk for c in candidates])
        return Response(s.FindingSerializer(rows, many=True).data)

    @extend_schema(request=s.PhotosInputSerializer, responses={201: s.PhotoSerializer(many=True)})
    @action(detail=True, methods=["post"])
    def photos(self, request, pk=None):
        """Add "before" photos (JPEG, PNG or WebP, ≤ 10 MB each)."""
        serializer = s.PhotosInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rows = services.finding_add_photos(actor=request.user, finding=self.get_object(),
                                           photos_in=serializer.validated_data["photos"])
        return Response(s.PhotoSerializer(rows, many=True, context=self.get_serializer_context()).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=s.BulkIntakeSerializer, responses={200: s.BulkIntakeResultSerializer},
        summary="Bulk intake of hotline tickets (up to 1,000 findings)",
        examples=[BULK_REQUEST_EXAMPLE, BULK_RESPONSE_EXAMPLE],
    )
    @action(detail=False, methods=["post"], url_path="bulk", per_item_input=True)
    def bulk(self, request):
        """Record up to 1,000 findings in one request, idempotent on (`source`, `external_id`).

        Every item is answered on its own, in order: `created`, `unchanged` (this
        source and external id are already recorded with the same content: a re-sent
        batch creates nothing), or `error` with a `code` — `invalid` (see `errors`),
        `permission_denied` (the unit is not one the key may record findings for) or
        `conflict` (the external id is already recorded with different content; the
        existing finding is never overwritten). Valid items are recorded even when
        others are refused (partial success), so the answer is `200` whenever the
        batch itself is well-formed; a batch that is not an object with a list
        `items` of at most 1,000 entries is a `400` and records nothing."""
        items = request.data.get("items") if isinstance(request.data, dict) else None
        if not isinstance(items, list):
            raise ValidationError({"items": _("Send an object with a list “items” of findings.")})
        if len(items) > intake.BULK_MAX:
            raise ValidationError({"items": _("At most %(max)s items per request (got %(count)s); split the batch.")
                                   % {"max": intake.BULK_MAX, "count": len(items)}})
        checked = []
        # One serializer for every item (as a list serializer does): building one per item costs more than
        # validating it.
        validator = s.BulkFindingItemSerializer(context=self.get_serializer_context())
        for item in items:
            if not isinstance(item, dict):
                checked.append((None, {"non_field_errors": [_("Each item must be an object.")]}, None))
                continue
            sent_id = item.get("external_id")
            sent_id = sent_id if isinstance(sent_id, str) and len(sent_id) <= 100 and "\x00" not in sent_id else None
            bad_text = invalid_text_path(item)
            if bad_text:  # refused per item, before any field echoes it (civportal/api/parsers.py)
                if sent_id is not None and invalid_text_path(sent_id):
                    sent_id = None
                field = bad_text.split(".", 1)[0]
                field = "non_field_errors" if invalid_text_path(field) else field
                checked.append((None, {field: [invalid_text_message()]}, sent_id))
                continue
            try:
                checked.append((validator.run_validation(item), {}, sent_id))
            except InputError as exc:
                checked.append((None, exc.detail if isinstance(exc.detail, dict) else
                                {"non_field_errors": exc.detail}, sent_id))
        outcomes = intake.findings_bulk_ingest(actor=request.user, items=checked)
        results = [o.as_dict() for o in outcomes]
        summary = {key: sum(1 for r in results if r["result"] == key) for key in ("created", "unchanged", "error")}
        return Response({"results": results, "summary": summary})

    @extend_schema(
        methods=["GET"], request=None, responses={200: s.FindingStatusListSerializer},
        summary="Status of findings by external id",
        parameters=[
            OpenApiParameter("source", OpenApiTypes.STR, enum=Finding.Source.values, default="hotline",
                             description="The source the external ids belong to."),
            OpenApiParameter("external_id", OpenApiTypes.STR, required=True,
                             description="Comma-separated external ids (at most 1,000; for long lists use POST, "
                                         "URLs are limited to about 4 KB)."),
        ],
        examples=[STATUS_RESPONSE_EXAMPLE],
    )
    @extend_schema(
        methods=["POST"], request=s.StatusPullSerializer, responses={200: s.FindingStatusListSerializer},
        summary="Status of findings by external id (long lists)",
        examples=[STATUS_REQUEST_EXAMPLE, STATUS_RESPONSE_EXAMPLE],
    )
    @action(detail=False, methods=["get", "post"], url_path="status", url_name="status", filter_backends=[],
            pagination_class=None)
    def status_pull(self, request):
        """Where your tickets stand: one row per external id, in the order asked.

        Gives the finding's id, status, status notes and closing time, and its latest
        rectification task (unit, status, traffic light, deadline). An external id with
        no finding in your scope answers `found: false`. Reads only (POST is offered
        for lists too long for a URL)."""
        if request.method == "POST":
            serializer = s.StatusPullSerializer(data=request.data)
        else:
            raw = request.query_params.get("external_id", "")
            ids = [part.strip() for part in raw.split(",") if part.strip()] if raw else []
            serializer = s.StatusPullSerializer(data={"source": request.query_params.get("source", "hotline"),
                                                      "external_ids": ids})
        serializer.is_valid(raise_exception=True)
        wanted = list(dict.fromkeys(serializer.validated_data["external_ids"]))
        found = intake.findings_status(actor=request.user, source=serializer.validated_data["source"],
                                       external_ids=wanted)
        rows = [intake.status_row(external_id, found.get(external_id)) for external_id in wanted]
        return Response(s.FindingStatusListSerializer({"results": rows}).data)


@extend_schema(tags=["tasks"])
@cached_list(list_cache.TASKS)
class TaskViewSet(*READ):
    """Rectification tasks in the caller's scope with their traffic light. Every
    transition is a POST action; a stale or concurrent one answers 409."""

    serializer_class = s.TaskSerializer
    filterset_class = TaskFilterSet
    # Cursor pagination: only fields that rarely change and are (almost) unique can order the list.
    pagination_class = CursorPagination
    ordering_fields = ["created_at", "dispatched_at", "due_at"]
    ordering = ["-created_at", "-id"]
    parser_classes = PARSERS
    unit_actions = ["inspections.add_submission"]
    office_actions = ["inspections.change_rectificationtask"]
    action_permissions = {
        "accept": unit_actions, "submit": unit_actions, "request_extension": ["inspections.add_extensionrequest"],
        "verify": office_actions, "return_": office_actions, "escalate": office_actions, "void": office_actions,
        "decide_extension": ["inspections.change_extensionrequest"],
        "events": ["inspections.view_rectificationtask"], "submissions": ["inspections.view_rectificationtask"],
    }

    def get_queryset(self):
        return selectors.tasks_for(self.request.user, lean=self.action in ("list", "retrieve"))

    def _out(self, task, code=status.HTTP_200_OK):
        return Response(s.TaskSerializer(self.get_queryset().get(pk=task.pk)).data, status=code)

    def list(self, request, *args, **kwargs):
        # Rows from .values(), the same JSON as TaskSerializer (inspections/api/rows.py); no docstring here,
        # the schema's description of the list is the class's.
        return paged_rows(self, rows.task_values, rows.task_rows)

    def retrieve(self, request, *args, **kwargs):
        return detail_row(self, rows.task_values, rows.task_rows)

    def _input(self, serializer_class):
        serializer = serializer_class(data=self.request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    @extend_schema(request=s.NoteSerializer, responses={200: s.TaskSerializer})
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        return self._out(services.task_accept(actor=request.user, task=self.get_object(), **self._input(s.NoteSerializer)))

    @extend_schema(request=s.SubmitSerializer, responses={200: s.TaskSerializer})
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        """Report the fix: a note and "after" photos (multipart, field ``photos``)."""
        data = self._input(s.SubmitSerializer)
        task = self.get_object()
        services.task_submit(actor=request.user, task=task, note=data["note"], photos_in=data["photos"])
        return self._out(task)

    @extend_schema(request=s.NoteSerializer, responses={200: s.TaskSerializer})
    @action(detail=True, methods=["post"])
    def verify(self, request, pk=None):
        """Accept the fix: the task and its finding close."""
        data = self._input(s.NoteSerializer)
        return self._out(services.task_verify(actor=request.user, task=self.get_object(), passed=True, **data))

    @extend_schema(request=s.NoteSerializer, responses={200: s.TaskSerializer})
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_(self, request, pk=None):
        """Reject the fix (a reason is required): back to the unit, rework + 1."""
        data = self._input(s.NoteSerializer)
        return self._out(services.task_verify(actor=request.user, task=self.get_object(), passed=False, **data))

    @extend_schema(request=s.ExtensionInputSerializer, responses={201: s.ExtensionRequestSerializer})
    @action(detail=True, methods=["post"], url_path="request-extension")
    def request_extension(self, request, pk=None):
        extension = services.task_request_extension(actor=request.user, task=self.get_object(),
                                                    **self._input(s.ExtensionInputSerializer))
        return Response(s.ExtensionRequestSerializer(extension).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.DecideExtensionSerializer, responses={200: s.TaskSerializer})
    @action(detail=True, methods=["post"], url_path="decide-extension")
    def decide_extension(self, request, pk=None):
        data = self._input(s.DecideExtensionSerializer)
        task = self.get_object()
        requests = ExtensionRequest.objects.filter(task=task).select_related("task", "task__unit")
        extension = requests.filter(pk=data["request"]).first() if data.get("request") else \
            requests.filter(status=ExtensionRequest.Status.PENDING).first()
        if extension is None:
            raise ValidationError({"request": _("No pending extension request for this task.")})
        services.task_decide_extension(actor=request.user, request=extension, approve=data["approve"],
                                       note=data["note"], due_at=data.get("due_at"))
        return self._out(task)

    @extend_schema(request=s.EscalateSerializer, responses={200: s.TaskSerializer})
    @action(detail=True, methods=["post"])
    def escalate(self, request, pk=None):
        return self._out(services.task_escalate(actor=request.user, task=self.get_object(),
                                                **self._input(s.EscalateSerializer)))

    @extend_schema(request=s.VoidReasonSerializer, responses={200: s.TaskSerializer})
    @action(detail=True, methods=["post"])
    def void(self, request, pk=None):
        return self._out(services.task_void(actor=request.user, task=self.get_object(), **self._input(s.VoidReasonSerializer)))

    @extend_schema(request=None, responses={200: s.TaskEventSerializer(many=True)})
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def events(self, request, pk=None):
        """The task's timeline."""
        return Response(s.TaskEventSerializer(selectors.task_timeline(self.get_object()), many=True).data)

    @extend_schema(request=None, responses={200: s.SubmissionSerializer(many=True)})
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def submissions(self, request, pk=None):
        """The unit's reports with their "after" photos and verdicts."""
        return Response(s.SubmissionSerializer(selectors.task_submissions(self.get_object()), many=True,
                                               context=self.get_serializer_context()).data)
