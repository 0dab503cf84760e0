from django.urls import path

from . import views

app_name = "surveys"

urlpatterns = [
    path("surveys/", views.survey_list, name="survey_list"),
    path("surveys/export.xlsx", views.survey_export, name="survey_export"),
    path("surveys/<int:pk>/", views.survey_detail, name="survey_detail"),
    path("surveys/waves/", views.wave_list, name="wave_list"),
    path("surveys/waves/export.xlsx", views.wave_export, name="wave_export"),
    path("surveys/waves/new/", views.wave_create, name="wave_create"),
    path("surveys/waves/<int:pk>/", views.wave_detail, name="wave_detail"),
    path("surveys/waves/<int:pk>/results.xlsx", views.results_export, name="results_export"),
    path("surveys/waves/<int:pk>/answers/", views.answer_list, name="answer_list"),
    path("surveys/waves/<int:pk>/answers.xlsx", views.answers_export, name="answers_export"),
    path("surveys/answers/<int:pk>/void/", views.answer_void, name="answer_void"),
    path("surveys/targets/<int:pk>/qr.svg", views.target_qr_svg, name="target_qr_svg"),
    path("surveys/targets/<int:pk>/poster/", views.target_poster, name="target_poster"),
    # Public: no login.
    path("s/<str:token>/", views.answer, name="answer"),
]
