from django.urls import path

from . import views

# Included in the campaigns namespace (campaigns/urls.py).
urlpatterns = [
    path("accounts/users/", views.account_list, name="account_list"),
    path("accounts/users/new/", views.account_create, name="account_create"),
    path("accounts/users/import/", views.account_import, name="account_import"),
    path("accounts/users/export.xlsx", views.account_export, name="account_export"),
    path("accounts/users/<int:pk>/", views.account_detail, name="account_detail"),
    path("accounts/users/<int:pk>/edit/", views.account_edit, name="account_edit"),
    path("accounts/users/<int:pk>/roles/", views.account_add_role, name="account_add_role"),
    path("accounts/users/<int:pk>/active/", views.account_set_active, name="account_set_active"),
    path("accounts/users/<int:pk>/reset-password/", views.account_reset_password, name="account_reset_password"),
]
