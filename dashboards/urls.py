from django.urls import path

from . import help, views

app_name = "dashboards"

urlpatterns = [
    path("dashboard/", views.supervisor, name="supervisor"),
    path("dashboard/unit/", views.unit, name="unit"),
    path("help/", help.index, name="help"),
    path("help/<slug:slug>/", help.role, name="help_role"),
    path("search/", views.search, name="search"),
]
