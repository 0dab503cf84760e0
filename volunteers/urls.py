from django.urls import path

from . import views

app_name = "volunteers"

urlpatterns = [
    path("volunteers/register/", views.register, name="register"),
    path("volunteers/register/done/", views.register_done, name="register_done"),
    path("volunteers/", views.volunteer_list, name="volunteer_list"),
    path("volunteers/me/", views.my_profile, name="me"),
    path("volunteers/new/", views.volunteer_create, name="volunteer_create"),
    path("volunteers/import/", views.volunteer_import, name="volunteer_import"),
    path("volunteers/export.xlsx", views.volunteer_export, name="volunteer_export"),
    path("volunteers/ledger/", views.ledger, name="ledger"),
    path("volunteers/statistics/", views.statistics, name="statistics"),
    path("volunteers/<int:pk>/", views.volunteer_detail, name="volunteer_detail"),
    path("volunteers/<int:pk>/edit/", views.volunteer_edit, name="volunteer_edit"),
    path("volunteers/<int:pk>/review/", views.volunteer_review, name="volunteer_review"),
    path("volunteers/<int:pk>/status/", views.volunteer_status, name="volunteer_status"),
    path("volunteers/<int:pk>/certificate/", views.volunteer_certificate, name="volunteer_certificate"),
    path("volunteer-teams/", views.team_list, name="team_list"),
    path("volunteer-teams/new/", views.team_create, name="team_create"),
    path("volunteer-teams/<int:pk>/", views.team_detail, name="team_detail"),
    path("volunteer-teams/<int:pk>/edit/", views.team_edit, name="team_edit"),
    path("volunteer-teams/<int:pk>/leader/", views.team_set_leader, name="team_set_leader"),
    path("activities/", views.activity_list, name="activity_list"),
    path("activities/new/", views.activity_create, name="activity_create"),
    path("activities/<int:pk>/", views.activity_detail, name="activity_detail"),
    path("activities/<int:pk>/edit/", views.activity_edit, name="activity_edit"),
    path("activities/<int:pk>/cancel/", views.activity_cancel, name="activity_cancel"),
    path("activities/<int:pk>/complete/", views.activity_complete, name="activity_complete"),
    path("activities/<int:pk>/sign-up/", views.activity_sign_up, name="activity_sign_up"),
    path("activities/<int:pk>/signups.xlsx", views.activity_signups_export, name="activity_signups_export"),
    path("activities/<int:pk>/qr/", views.activity_qr, name="activity_qr"),
    path("activities/<int:pk>/qr.svg", views.activity_qr_svg, name="activity_qr_svg"),
    path("signups/<int:pk>/<slug:action>/", views.signup_action, name="signup_action"),
    path("check-in/<str:token>/", views.scan, name="scan"),
]
