from django.urls import path

from . import views

app_name = "dashboards"

urlpatterns = [
    path("dashboard/", views.supervisor, name="supervisor"),
    path("dashboard/unit/", views.unit, name="unit"),
    path("search/", views.search, name="search"),
]
