from django.contrib import admin

from .models import Notification, ReminderLog, WebhookDelivery, WebhookSubscription


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "recipient", "event", "title", "read_at", "email_status")
    list_filter = ("event", "email_status")
    search_fields = ("recipient__username", "title")
    list_select_related = ("recipient",)


@admin.register(ReminderLog)
class ReminderLogAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "content_type", "object_id", "level")
    list_filter = ("content_type", "level")


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "url", "active", "failure_count", "disabled_at")
    list_filter = ("active",)
    readonly_fields = ("failure_count", "disabled_at", "disabled_reason", "created_at", "updated_at")

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "subscription", "event", "status", "attempts", "response_code", "error")
    list_filter = ("status", "event")
    list_select_related = ("subscription",)
