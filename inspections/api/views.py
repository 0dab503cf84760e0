"""REST endpoints for inspections and the loop: scoped querysets, transitions
as POST actions that call one service each (a stale transition answers 409)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from .. import selectors, services
from ..filtersets import FindingCategoryFilterSet, FindingFilterSet, InspectionFilterSet, TaskFilterSet, VisitFilterSet
from ..models import ExtensionRequest, Finding
from . import serializers as s

PARSERS = [JSONParser, MultiPartParser, FormParser]
READ = (mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet)


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
    ordering_fields = ["visited_at"]
    ordering = ["-visited_at", "-id"]
    action_permissions = {"mark_clean": ["inspections.add_visit"]}

    def get_queryset(self):
        return selectors.visits_for(self.request.user)

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        data["clean"] = data.pop("is_clean", False)
        inspection = get_object_or_404(selectors.inspections_for(self.request.user), pk=data.pop("inspection").pk)
        visit = services.visit_create(actor=self.request.user, inspection=inspection, **data)
        serializer.instance = self.get_queryset().get(pk=visit.pk)

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


class FindingViewSet(mixins.CreateModelMixin, *READ):
    """Findings in the caller's scope. POST records one (idempotent on source + external_id:
    a repeat answers 200 with the existing finding). Triage: dispatch, mark-duplicate, void."""

    serializer_class = s.FindingSerializer
    filterset_class = FindingFilterSet
    ordering_fields = ["observed_at", "created_at", "severity"]
    ordering = ["-observed_at", "-id"]
    parser_classes = PARSERS
    action_permissions = {
        "dispatch_": ["inspections.add_rectificationtask"],
        "mark_duplicate": ["inspections.change_finding"],
        "void": ["inspections.change_finding"],
        "duplicates": ["inspections.view_finding"],
        "photos": ["inspections.add_finding"],
    }

    def get_queryset(self):
        return selectors.findings_for(self.request.user)

    def _out(self, finding, code=status.HTTP_200_OK):
        return Response(s.FindingSerializer(self.get_queryset().get(pk=finding.pk)).data, status=code)

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
    @action(detail=True, methods=["get"])
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
        return Response(s.PhotoSerializer(rows, many=True).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["tasks"])
class TaskViewSet(*READ):
    """Rectification tasks in the caller's scope with their traffic light. Every
    transition is a POST action; a stale or concurrent one answers 409."""

    serializer_class = s.TaskSerializer
    filterset_class = TaskFilterSet
    ordering_fields = ["due_at", "dispatched_at", "urgency"]
    ordering = ["urgency", "due_at", "id"]
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
        return selectors.tasks_for(self.request.user)

    def _out(self, task, code=status.HTTP_200_OK):
        return Response(s.TaskSerializer(self.get_queryset().get(pk=task.pk)).data, status=code)

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
    @action(detail=True, methods=["get"])
    def events(self, request, pk=None):
        """The task's timeline."""
        return Response(s.TaskEventSerializer(selectors.task_timeline(self.get_object()), many=True).data)

    @extend_schema(request=None, responses={200: s.SubmissionSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def submissions(self, request, pk=None):
        """The unit's reports with their "after" photos and verdicts."""
        return Response(s.SubmissionSerializer(selectors.task_submissions(self.get_object()), many=True).data)
