from django.urls import path

from . import views
from .api.photos import PhotoView

app_name = "inspections"

urlpatterns = [
    path("photos/<str:kind>/<int:pk>/<str:variant>/", PhotoView.as_view(), name="photo"),
    path("findings/", views.finding_list, name="finding_list"),
    path("findings/map.json", views.finding_map_data, name="finding_map_data"),
    path("findings/export.xlsx", views.finding_export, name="finding_export"),
    path("findings/new/", views.finding_record, name="finding_record"),
    path("findings/triage/", views.triage_queue, name="triage_queue"),
    path("my-reports/", views.my_reports, name="my_reports"),
    path("my-reports/new/", views.volunteer_report, name="volunteer_report"),
    path("my-reports/<int:pk>/", views.my_report_detail, name="my_report_detail"),
    path("findings/<int:pk>/", views.finding_detail, name="finding_detail"),
    path("findings/<int:pk>/<str:action>/", views.finding_action, name="finding_action"),
    path("tasks/", views.task_list, name="task_list"),
    path("tasks/export.xlsx", views.task_export, name="task_export"),
    path("tasks/<int:pk>/", views.task_detail, name="task_detail"),
    path("tasks/<int:pk>/<str:action>/", views.task_action, name="task_action"),
    path("workbench/", views.workbench, name="workbench"),
    path("inspections/", views.inspection_list, name="inspection_list"),
    path("inspections/new/", views.inspection_create, name="inspection_create"),
    path("inspections/<int:pk>/", views.inspection_detail, name="inspection_detail"),
    path("inspections/<int:pk>/visits/new/", views.visit_create, name="visit_create"),
    path("visits/<int:pk>/checks/", views.visit_checks, name="visit_checks"),
    path("finding-categories/", views.category_list, name="category_list"),
    path("calendar/", views.calendar, name="calendar"),
]
