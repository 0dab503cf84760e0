from django.urls import path

from . import views

app_name = "rounds"

urlpatterns = [
    path("rounds/draws/", views.draw_list, name="draw_list"),
    path("rounds/draws/export.xlsx", views.draw_list_export, name="draw_list_export"),
    path("rounds/draws/new/", views.draw_create, name="draw_create"),
    path("rounds/draws/<int:pk>/", views.draw_detail, name="draw_detail"),
    path("rounds/draws/<int:pk>/export.xlsx", views.draw_export, name="draw_export"),
    path("rounds/mine/", views.my_round, name="my_round"),
    path("rounds/schedules/", views.schedule_list, name="schedule_list"),
    path("rounds/schedules/export.xlsx", views.schedule_export, name="schedule_export"),
    path("rounds/schedules/new/", views.schedule_create, name="schedule_create"),
    path("rounds/schedules/<int:pk>/", views.schedule_detail, name="schedule_detail"),
    path("rounds/schedules/<int:pk>/edit/", views.schedule_edit, name="schedule_edit"),
    path("rounds/schedules/<int:pk>/active/", views.schedule_active, name="schedule_active"),
]
