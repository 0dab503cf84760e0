from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Activity, HourEntry, Signup, Team, Volunteer


class NoDeleteAdmin(SimpleHistoryAdmin):
    def has_delete_permission(self, request, obj=None):
        return False  # records are deactivated, cancelled or voided, never deleted


@admin.register(Volunteer)
class VolunteerAdmin(NoDeleteAdmin):
    list_display = ("name", "unit", "team", "status", "source", "registered_on")
    list_filter = ("status", "source")
    search_fields = ("name",)
    raw_id_fields = ("unit", "team", "user", "reviewed_by")
    list_select_related = ("unit", "team")
    # Registrations, reviews, status changes and moves go through volunteers.services (phone and community
    # checks, history, the registered-volunteer tally); the admin corrects the other fields only.
    readonly_fields = ("unit", "status", "reviewed_by", "reviewed_at")

    def has_add_permission(self, request):
        return False


@admin.register(Team)
class TeamAdmin(NoDeleteAdmin):
    list_display = ("name", "unit", "leader", "active")
    raw_id_fields = ("unit", "leader")
    list_select_related = ("unit", "leader")


@admin.register(Activity)
class ActivityAdmin(NoDeleteAdmin):
    list_display = ("title", "category", "unit", "starts_at", "capacity", "status")
    list_filter = ("status", "category")
    search_fields = ("title", "address")
    raw_id_fields = ("unit", "team", "created_by")
    list_select_related = ("unit",)


@admin.register(Signup)
class SignupAdmin(NoDeleteAdmin):
    list_display = ("activity", "volunteer", "status", "checked_in_at", "checked_out_at", "minutes")
    list_filter = ("status",)
    raw_id_fields = ("activity", "volunteer", "signed_up_by", "checked_in_by", "checked_out_by")
    list_select_related = ("activity", "volunteer")


@admin.register(HourEntry)
class HourEntryAdmin(admin.ModelAdmin):
    list_display = ("volunteer", "activity", "minutes", "served_at", "approved_by")
    raw_id_fields = ("volunteer", "activity", "signup", "approved_by")
    list_select_related = ("volunteer", "activity", "approved_by")

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # the ledger is written by approving hours only
