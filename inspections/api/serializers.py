from __future__ import annotations

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from campaigns.models import Campaign, Indicator, Point, Unit, User

from ..models import (
    ExtensionRequest, Finding, FindingCategory, Inspection, RectificationTask, Severity, Submission, TaskEvent, Visit,
    VisitCheck,
)


@extend_schema_field(OpenApiTypes.INT)
class ScopedUnitField(serializers.PrimaryKeyRelatedField):
    """A unit id limited to the caller's scope (an out-of-scope id is invalid, never a leak)."""

    def get_queryset(self):
        request = self.context.get("request")
        return Unit.objects.visible_to(request.user) if request else Unit.objects.none()


@extend_schema_field(OpenApiTypes.INT)
class ScopedPointField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        request = self.context.get("request")
        return Point.objects.visible_to(request.user).select_related("unit", "department") if request \
            else Point.objects.none()


@extend_schema_field(OpenApiTypes.INT)
class ScopedVisitField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        request = self.context.get("request")
        return Visit.objects.visible_to(request.user).select_related("point", "inspection__campaign") if request \
            else Visit.objects.none()


class PhotoSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()

    kind = "finding"

    def _absolute(self, path: str) -> str:
        """Absolute, as the schema's ``uri`` says (generated clients validate it): the request's
        host, or SITE_URL outside a request (webhook payloads)."""
        request = self.context.get("request")
        if request is not None:
            return request.build_absolute_uri(path)
        from django.conf import settings

        return settings.SITE_URL.rstrip("/") + path

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, photo) -> str:
        return self._absolute(reverse("inspections:photo", args=[self.kind, photo.pk, "full"]))

    @extend_schema_field(OpenApiTypes.URI)
    def get_thumbnail_url(self, photo) -> str:
        return self._absolute(reverse("inspections:photo", args=[self.kind, photo.pk, "thumb"]))


class SubmissionPhotoSerializer(PhotoSerializer):
    kind = "submission"


class FindingCategorySerializer(serializers.ModelSerializer):
    group_name = serializers.CharField(source="group.name", read_only=True, allow_null=True)

    class Meta:
        model = FindingCategory
        fields = ["id", "code", "name", "group", "group_name", "default_severity", "deduction", "engineering",
                  "supervising_department", "sort_order", "active"]


class InspectionSerializer(serializers.ModelSerializer):
    campaign = serializers.PrimaryKeyRelatedField(queryset=Campaign.objects.all())
    unit = ScopedUnitField()
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    inspectors = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True), many=True,
                                                    required=False)
    visit_count = serializers.IntegerField(read_only=True)
    finding_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Inspection
        fields = ["id", "campaign", "title", "kind", "status", "unit", "unit_name", "starts_on", "ends_on",
                  "inspectors", "notes", "visit_count", "finding_count", "created_at"]
        read_only_fields = ["status", "created_at"]


class VisitSerializer(serializers.ModelSerializer):
    inspection = serializers.PrimaryKeyRelatedField(queryset=Inspection.objects.all())
    point = ScopedPointField()
    point_name = serializers.CharField(source="point.name", read_only=True)
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    finding_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Visit
        fields = ["id", "inspection", "point", "point_name", "unit", "unit_name", "visited_at", "inspector",
                  "latitude", "longitude", "is_clean", "notes", "finding_count"]
        read_only_fields = ["unit", "inspector"]
        extra_kwargs = {"visited_at": {"required": False}}


class TaskBriefSerializer(serializers.ModelSerializer):
    light = serializers.CharField(read_only=True)
    unit_name = serializers.CharField(source="unit.name", read_only=True)

    class Meta:
        model = RectificationTask
        fields = ["id", "unit", "unit_name", "status", "supervision", "due_at", "light", "rework_count"]


class FindingSerializer(serializers.ModelSerializer):
    category_name = serializers.CharField(source="category.name", read_only=True)
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    point_name = serializers.CharField(source="point.name", read_only=True, allow_null=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    photos = PhotoSerializer(many=True, read_only=True)
    tasks = TaskBriefSerializer(source="task_list", many=True, read_only=True)

    class Meta:
        model = Finding
        fields = ["id", "uid", "campaign", "source", "external_id", "client_id", "visit", "point", "point_name",
                  "unit", "unit_name", "department", "indicator", "category", "category_name", "severity", "description",
                  "address", "latitude", "longitude", "observed_at", "reporter", "reporter_name", "is_repeat",
                  "status", "status_display", "duplicate_of", "void_reason", "closed_at", "photos", "tasks",
                  "created_at", "updated_at"]
        read_only_fields = fields


class FindingCreateSerializer(serializers.Serializer):
    """Record a finding; multipart with ``photos`` (before photos, required for
    inspection findings) or JSON for intake from the hotline and other systems."""

    source = serializers.ChoiceField(choices=Finding.Source.choices, default=Finding.Source.INSPECTION)
    external_id = serializers.CharField(max_length=100, required=False, allow_blank=True, allow_null=True)
    campaign = serializers.PrimaryKeyRelatedField(queryset=Campaign.objects.all(), required=False, allow_null=True)
    visit = ScopedVisitField(required=False, allow_null=True)
    point = ScopedPointField(required=False, allow_null=True)
    unit = ScopedUnitField(required=False, allow_null=True)
    department = ScopedUnitField(required=False, allow_null=True)
    indicator = serializers.PrimaryKeyRelatedField(queryset=Indicator.objects.all(), required=False, allow_null=True)
    category = serializers.PrimaryKeyRelatedField(queryset=FindingCategory.objects.filter(active=True))
    severity = serializers.ChoiceField(choices=Severity.choices, required=False, allow_null=True)
    description = serializers.CharField(max_length=4000)
    address = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6, min_value=-90, max_value=90, required=False,
                                        allow_null=True)
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6, min_value=-180, max_value=180,
                                         required=False, allow_null=True)
    observed_at = serializers.DateTimeField(required=False, allow_null=True)
    reporter_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    reporter_contact = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    photos = serializers.ListField(child=serializers.FileField(allow_empty_file=True), required=False, default=list,
                                   max_length=9)
    client_id = serializers.UUIDField(
        required=False, allow_null=True,
        help_text="A UUID the client chose for this draft: sending it again (by the same user) answers 200 with the "
                  "finding recorded the first time instead of recording another; another user's id answers 409.",
    )


class MyReportSerializer(serializers.ModelSerializer):
    """A volunteer's own report and where it stands (no internal triage details)."""

    category_name = serializers.CharField(source="category.name", read_only=True)
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    point_name = serializers.CharField(source="point.name", read_only=True, default=None)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    tasks = TaskBriefSerializer(source="task_list", many=True, read_only=True)

    class Meta:
        model = Finding
        fields = ["id", "uid", "source", "point", "point_name", "unit", "unit_name", "category", "category_name",
                  "description", "address", "latitude", "longitude", "observed_at", "status", "status_display",
                  "void_reason", "closed_at", "tasks", "created_at"]
        read_only_fields = fields


class MyReportCreateSerializer(serializers.Serializer):
    """A volunteer's report from the street; multipart with optional ``photos``."""

    category = serializers.PrimaryKeyRelatedField(queryset=FindingCategory.objects.filter(active=True))
    description = serializers.CharField(max_length=4000)
    point = serializers.PrimaryKeyRelatedField(queryset=Point.objects.active(), required=False, allow_null=True)
    address = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6, min_value=-90, max_value=90, required=False,
                                        allow_null=True)
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6, min_value=-180, max_value=180,
                                         required=False, allow_null=True)
    photos = serializers.ListField(child=serializers.FileField(allow_empty_file=True), required=False, default=list,
                                   max_length=9)


class PhotosInputSerializer(serializers.Serializer):
    photos = serializers.ListField(child=serializers.FileField(allow_empty_file=True), max_length=9)


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")


class VoidReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class DispatchSerializer(serializers.Serializer):
    unit = ScopedUnitField(required=False, allow_null=True)
    due_at = serializers.DateTimeField(required=False, allow_null=True)
    instructions = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")


class MarkDuplicateSerializer(serializers.Serializer):
    original = serializers.IntegerField()
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class SubmitSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=4000)
    photos = serializers.ListField(child=serializers.FileField(allow_empty_file=True), max_length=9)


class ExtensionInputSerializer(serializers.Serializer):
    requested_due_at = serializers.DateTimeField()
    reason = serializers.CharField(max_length=4000)


class DecideExtensionSerializer(serializers.Serializer):
    request = serializers.IntegerField(required=False, help_text="Defaults to the task's pending request.")
    approve = serializers.BooleanField()
    note = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    due_at = serializers.DateTimeField(required=False, allow_null=True)


class EscalateSerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=RectificationTask.Supervision.choices, required=False, allow_null=True)
    note = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")


class ExtensionRequestSerializer(serializers.ModelSerializer):
    class Meta:
        model = ExtensionRequest
        fields = ["id", "task", "reason", "requested_due_at", "previous_due_at", "requested_by", "requested_at",
                  "status", "decided_by", "decided_at", "decision_note"]


class TaskSerializer(serializers.ModelSerializer):
    light = serializers.CharField(read_only=True)
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    category_name = serializers.CharField(source="finding.category.name", read_only=True)
    severity = serializers.CharField(source="finding.severity", read_only=True)
    description = serializers.CharField(source="finding.description", read_only=True)
    point_name = serializers.CharField(source="finding.point.name", read_only=True, allow_null=True)
    pending_extension = serializers.SerializerMethodField()

    class Meta:
        model = RectificationTask
        fields = ["id", "finding", "unit", "unit_name", "status", "status_display", "supervision", "light",
                  "category_name", "severity", "description", "point_name", "instructions", "dispatched_at",
                  "dispatched_by", "original_due_at", "due_at", "warn_at", "accepted_at", "submitted_at", "closed_at",
                  "closed_by", "voided_at", "void_reason", "rework_count", "extension_count", "escalated_at",
                  "pending_extension", "created_at", "updated_at"]
        read_only_fields = fields

    @extend_schema_field(ExtensionRequestSerializer(allow_null=True))
    def get_pending_extension(self, task):
        pending = getattr(task, "pending_extensions", None)
        if pending is None:
            pending = list(task.extension_requests.filter(status=ExtensionRequest.Status.PENDING))
        return ExtensionRequestSerializer(pending[0]).data if pending else None


class TaskEventSerializer(serializers.ModelSerializer):
    actor_name = serializers.CharField(source="actor.__str__", read_only=True, allow_null=True)
    note = serializers.CharField(source="display_note", read_only=True)

    class Meta:
        model = TaskEvent
        fields = ["id", "action", "from_status", "to_status", "actor", "actor_name", "note", "data", "created_at"]


class SubmissionSerializer(serializers.ModelSerializer):
    photos = SubmissionPhotoSerializer(many=True, read_only=True)

    class Meta:
        model = Submission
        fields = ["id", "round", "note", "submitted_by", "submitted_at", "outcome", "reviewed_by", "reviewed_at",
                  "review_note", "photos"]


# --- bulk intake and status pull -----------------------------------------------------------------

INTAKE_SOURCES = [(value, label) for value, label in Finding.Source.choices
                  if value in {Finding.Source.HOTLINE, Finding.Source.CITIZEN, Finding.Source.API, Finding.Source.MEDIA}]


class BulkFindingItemSerializer(serializers.Serializer):
    """One ticket of a bulk intake batch."""

    source = serializers.ChoiceField(choices=INTAKE_SOURCES, default=Finding.Source.HOTLINE,
                                     help_text="Where the ticket comes from; with `external_id` it identifies the "
                                     "ticket (idempotency key).")
    external_id = serializers.CharField(max_length=100, help_text="The ticket's id in your system (e.g. the 12345 "
                                        "case number); unique per source.")
    category = serializers.CharField(max_length=40, help_text="Finding category id or code.")
    description = serializers.CharField(max_length=4000)
    severity = serializers.ChoiceField(choices=Severity.choices, required=False, allow_null=True,
                                       help_text="Defaults to the category's severity.")
    unit = serializers.CharField(max_length=40, required=False, allow_null=True, allow_blank=True,
                                 help_text="Responsible unit id or code, in the key's scope. Give `unit` or `point`.")
    point = serializers.CharField(max_length=40, required=False, allow_null=True, allow_blank=True,
                                  help_text="Evaluation point id or code, in the key's scope; its unit answers for "
                                  "the finding unless `unit` is given.")
    campaign = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=2**31 - 1,
                                        help_text="Campaign id; defaults to the active campaign.")
    address = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6, min_value=-90, max_value=90, required=False,
                                        allow_null=True)
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6, min_value=-180, max_value=180,
                                         required=False, allow_null=True)
    observed_at = serializers.DateTimeField(required=False, allow_null=True,
                                            help_text="When the problem was reported or seen; defaults to now.")
    reporter_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    reporter_contact = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class BulkIntakeSerializer(serializers.Serializer):
    items = BulkFindingItemSerializer(many=True, max_length=1000,
                                      help_text="1 to 1,000 tickets; each is validated and answered on its own.")


class BulkItemResultSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the item in `items`, from 0.")
    external_id = serializers.CharField(allow_null=True)
    result = serializers.ChoiceField(choices=[("created", "created"), ("unchanged", "unchanged"), ("error", "error")])
    id = serializers.IntegerField(allow_null=True, help_text="The finding's id (created, unchanged, or the existing "
                                  "finding of a conflict).")
    code = serializers.ChoiceField(
        choices=[("invalid", "invalid"), ("permission_denied", "permission_denied"), ("conflict", "conflict")],
        allow_null=True, help_text="Why the item was refused (only with `result: error`).")
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()),
                                   help_text="Messages per field (only with `result: error`).")


class BulkSummarySerializer(serializers.Serializer):
    created = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    error = serializers.IntegerField()


class BulkIntakeResultSerializer(serializers.Serializer):
    results = BulkItemResultSerializer(many=True)
    summary = BulkSummarySerializer()


class StatusPullSerializer(serializers.Serializer):
    source = serializers.ChoiceField(choices=Finding.Source.choices, default=Finding.Source.HOTLINE)
    external_ids = serializers.ListField(child=serializers.CharField(max_length=100), min_length=1, max_length=1000,
                                         help_text="1 to 1,000 external ids.")


class StatusTaskSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    unit = serializers.IntegerField()
    unit_name = serializers.CharField()
    status = serializers.ChoiceField(choices=RectificationTask.Status.choices)
    status_display = serializers.CharField()
    light = serializers.CharField(allow_null=True)
    due_at = serializers.DateTimeField(help_text="The deadline.")
    closed_at = serializers.DateTimeField(allow_null=True)


class FindingStatusSerializer(serializers.Serializer):
    external_id = serializers.CharField()
    found = serializers.BooleanField(help_text="False when no finding in your scope has this external id.")
    id = serializers.IntegerField(allow_null=True)
    uid = serializers.UUIDField(allow_null=True)
    status = serializers.ChoiceField(choices=Finding.Status.choices, allow_null=True)
    status_display = serializers.CharField(allow_null=True)
    status_notes = serializers.CharField(allow_null=True, help_text="Where the case stands, in words.")
    closed_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField(allow_null=True)
    task = StatusTaskSerializer(allow_null=True, help_text="The latest rectification task, if dispatched.")


class FindingStatusListSerializer(serializers.Serializer):
    results = FindingStatusSerializer(many=True)


# --- the checklist at a visit (docs/field-evaluation.md) -------------------------------------


class VisitCheckSerializer(serializers.Serializer):
    """One criterion of the visit's checklist and its result (blank when not judged yet)."""

    indicator = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    section = serializers.CharField(allow_blank=True)
    item = serializers.CharField(allow_blank=True)
    points = serializers.DecimalField(max_digits=7, decimal_places=2)
    result = serializers.CharField(allow_blank=True, help_text="met, failed or na; blank when not judged yet.")
    note = serializers.CharField(allow_blank=True)
    finding = serializers.IntegerField(allow_null=True)
    recorded_at = serializers.DateTimeField(allow_null=True)


class VisitChecksCountsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    met = serializers.IntegerField()
    failed = serializers.IntegerField()
    na = serializers.IntegerField()
    open = serializers.IntegerField()
    score = serializers.DecimalField(max_digits=6, decimal_places=2, allow_null=True,
                                     help_text="Points met ÷ points judged × 100, before the repeat rule.")


class VisitChecksSerializer(serializers.Serializer):
    visit = serializers.IntegerField()
    client_id = serializers.UUIDField(allow_null=True)
    counts = VisitChecksCountsSerializer()
    checks = VisitCheckSerializer(many=True)


class VisitCheckItemInputSerializer(serializers.Serializer):
    indicator = serializers.IntegerField(help_text="A criterion that applies to the visit's point type.")
    result = serializers.ChoiceField(choices=VisitCheck.Result.choices)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    category = serializers.CharField(required=False, allow_blank=True, max_length=40,
                                     help_text="For a failed criterion: the problem category (id or code).")
    severity = serializers.ChoiceField(choices=Severity.choices, required=False, allow_blank=True)


class VisitChecksInputSerializer(serializers.Serializer):
    """JSON form of a submission. Failed criteria need photos: send those as multipart
    form fields ``c-<indicator>-result``/``-note``/``-category``/``-severity``/``-photos``
    (the page's own fields, docs/field-evaluation.md)."""

    client_id = serializers.UUIDField(required=False, allow_null=True,
                                      help_text="Generated by the device; a resend with the same id changes nothing.")
    all_met = serializers.BooleanField(required=False, help_text="Mark every criterion not judged yet as met.")
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6, required=False, allow_null=True)
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6, required=False, allow_null=True)
    items = VisitCheckItemInputSerializer(many=True, required=False)
