from django.urls import path

from . import views
from .accounts.urls import urlpatterns as account_urlpatterns
from .planning.urls import urlpatterns as planning_urlpatterns

app_name = "campaigns"

urlpatterns = [
    path("units/", views.unit_list, name="unit_list"),
    path("units/tree/", views.unit_tree, name="unit_tree"),
    path("units/lookup/", views.unit_lookup, name="unit_lookup"),
    path("units/new/", views.unit_create, name="unit_create"),
    path("units/import/", views.unit_import, name="unit_import"),
    path("units/boundaries/import/", views.boundary_import, name="boundary_import"),
    path("units/export.xlsx", views.unit_export, name="unit_export"),
    path("units/<int:pk>/", views.unit_detail, name="unit_detail"),
    path("units/<int:pk>/edit/", views.unit_edit, name="unit_edit"),
    path("units/<int:pk>/move/", views.unit_move, name="unit_move"),
    path("units/<int:pk>/active/", views.unit_set_active, name="unit_set_active"),
    path("units/<int:pk>/members/", views.membership_add, name="membership_add"),
    path("memberships/<int:pk>/end/", views.membership_end, name="membership_end"),
    path("api-clients/", views.api_client_list, name="api_client_list"),
    path("api-clients/new/", views.api_client_create, name="api_client_create"),
    path("api-clients/<int:pk>/revoke/", views.api_client_revoke, name="api_client_revoke"),
] + planning_urlpatterns + account_urlpatterns
