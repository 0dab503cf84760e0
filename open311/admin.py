"""Admin: what Open311 clients sent with their requests, read only."""

from django.contrib import admin

from .models import ServiceRequestInfo


@admin.register(ServiceRequestInfo)
class ServiceRequestInfoAdmin(admin.ModelAdmin):
    list_display = ("finding", "client", "media_url", "account_id", "created_at")
    list_select_related = ("finding", "finding__category", "finding__unit", "client")
    search_fields = ("account_id", "device_id", "media_url")
    raw_id_fields = ("finding",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
