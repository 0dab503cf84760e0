from django.urls import path

from . import views

app_name = "materials"

urlpatterns = [
    path("materials/calls/", views.call_list, name="call_list"),
    path("materials/calls/export.xlsx", views.call_export, name="call_export"),
    path("materials/calls/new/", views.call_create, name="call_create"),
    path("materials/calls/<int:pk>/", views.call_detail, name="call_detail"),
    path("materials/submissions/<int:pk>/", views.submission_detail, name="submission_detail"),
    path("materials/files/<int:pk>/", views.file_download, name="file_download"),
    path("materials/owed/", views.owed, name="owed"),
    path("materials/owed/export.xlsx", views.owed_export, name="owed_export"),
    path("materials/campaigns/<int:pk>/completeness/", views.completeness, name="completeness"),
    path("materials/campaigns/<int:pk>/completeness/export.xlsx", views.completeness_export,
         name="completeness_export"),
    path("materials/archives/", views.archive_list, name="archive_list"),
    path("materials/archives/<int:pk>/", views.archive_detail, name="archive_detail"),
    path("materials/archives/<int:pk>/status/", views.archive_status, name="archive_status"),
    path("materials/archives/<int:pk>/download/", views.archive_download, name="archive_download"),
]
