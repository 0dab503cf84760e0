"""Admin: read the loop's records and correct the taxonomy. Transitions go
through the pages and the API (services); nothing is deleted here."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import (
    CalendarOverride, DeadlineRule, ExtensionRequest, Finding, FindingCategory, Inspection, RectificationTask,
    TaskEvent, Visit,
)


class NoDelete:
    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnly(NoDelete):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(FindingCategory)
class FindingCategoryAdmin(NoDelete, SimpleHistoryAdmin):
    list_display = ("code", "name", "group", "default_severity", "deduction", "engineering", "active")
    list_filter = ("group", "default_severity", "engineering", "active")
    search_fields = ("code", "name")
    raw_id_fields = ("supervising_department",)


@admin.register(DeadlineRule)
class DeadlineRuleAdmin(NoDelete, SimpleHistoryAdmin):
    list_display = ("category", "severity", "amount", "measure")


@admin.register(CalendarOverride)
class CalendarOverrideAdmin(NoDelete, SimpleHistoryAdmin):
    list_display = ("date", "is_workday", "reason", "created_by")
    raw_id_fields = ("created_by",)


@admin.register(Inspection)
class InspectionAdmin(ReadOnly, SimpleHistoryAdmin):
    list_display = ("title", "campaign", "kind", "unit", "starts_on", "ends_on", "status")
    list_filter = ("kind", "status")
    search_fields = ("title",)


@admin.register(Visit)
class VisitAdmin(ReadOnly, SimpleHistoryAdmin):
    list_display = ("inspection", "point", "unit", "visited_at", "inspector", "is_clean")
    list_select_related = ("inspection", "point", "unit", "inspector")


@admin.register(Finding)
class FindingAdmin(ReadOnly, SimpleHistoryAdmin):
    list_display = ("id", "category", "severity", "unit", "source", "status", "observed_at")
    list_filter = ("status", "source", "severity")
    list_select_related = ("category", "unit")
    search_fields = ("description", "external_id")


class TaskEventInline(admin.TabularInline):
    model = TaskEvent
    extra = 0
    can_delete = False
    fields = ("created_at", "action", "from_status", "to_status", "actor", "note")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(RectificationTask)
class RectificationTaskAdmin(ReadOnly, SimpleHistoryAdmin):
    list_display = ("id", "finding", "unit", "status", "supervision", "due_at", "rework_count")
    list_filter = ("status", "supervision")
    list_select_related = ("finding__category", "finding__unit", "unit")
    inlines = [TaskEventInline]


@admin.register(ExtensionRequest)
class ExtensionRequestAdmin(ReadOnly, SimpleHistoryAdmin):
    list_display = ("task", "requested_due_at", "status", "requested_by", "decided_by")
    list_filter = ("status",)
