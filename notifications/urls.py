from django.urls import path

from . import views

app_name = "notifications"

urlpatterns = [
    path("notifications/", views.inbox, name="inbox"),
    path("notifications/read-all/", views.notifications_mark_all, name="mark_all"),
    path("notifications/preferences/", views.preferences, name="preferences"),
    path("notifications/webhooks/", views.webhook_list, name="webhook_list"),
    path("notifications/webhooks/new/", views.webhook_form, name="webhook_create"),
    path("notifications/webhooks/<int:pk>/", views.webhook_detail, name="webhook_detail"),
    path("notifications/webhooks/<int:pk>/edit/", views.webhook_form, name="webhook_edit"),
    path("notifications/webhooks/<int:pk>/rotate-secret/", views.webhook_rotate_secret, name="webhook_rotate"),
    path("notifications/<int:pk>/", views.notification_open, name="open"),
    path("notifications/<int:pk>/mark/", views.notification_mark, name="mark"),
]
