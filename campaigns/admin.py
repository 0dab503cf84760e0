from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from .models import Membership, Unit, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    fieldsets = DjangoUserAdmin.fieldsets + ((_("Portal"), {"fields": ("display_name", "phone", "language")}),)
    list_display = ("username", "display_name", "email", "is_active", "is_staff")
    search_fields = ("username", "display_name", "email", "phone")

    def has_delete_permission(self, request, obj=None):
        return False  # deactivate accounts instead; their records must keep an author


@admin.register(Unit)
class UnitAdmin(SimpleHistoryAdmin):
    """Read and correct units; structure changes go through the unit pages (services)."""

    list_display = ("code", "name", "kind", "depth", "population", "active")
    list_filter = ("kind", "active")
    search_fields = ("code", "name")
    readonly_fields = ("path", "depth", "numchild", "created_at", "updated_at")
    fields = ("code", "name", "kind", "population", "active") + readonly_fields

    def has_add_permission(self, request):
        return False  # units are added in the tree (services keep paths consistent)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Membership)
class MembershipAdmin(SimpleHistoryAdmin):
    list_display = ("user", "unit", "role", "title", "active", "created_at", "ended_at")
    list_filter = ("role", "active")
    search_fields = ("user__username", "user__display_name", "unit__name", "unit__code")
    raw_id_fields = ("user", "unit", "created_by")
    readonly_fields = ("created_at", "updated_at", "ended_at")

    def has_delete_permission(self, request, obj=None):
        return False
