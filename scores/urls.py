from django.urls import path

from . import public, views

app_name = "scores"

urlpatterns = [
    path("scores/", views.ranking, name="ranking"),
    path("scores/<int:pk>/", views.score_detail, name="score_detail"),
    path("scores/bulletin/", views.bulletin, name="bulletin"),
    path("scores/bulletin.xlsx", views.bulletin_xlsx, name="bulletin_xlsx"),
    path("scores/month/<str:action>/", views.month_action, name="month_action"),
    path("scores/lost-points/", views.lost_points, name="lost_points"),
    path("scores/lost-points.xlsx", views.lost_points_xlsx, name="lost_points_xlsx"),
    path("scores/entries/", views.entries, name="entries"),
    path("scores/adjustments/<int:pk>/withdraw/", views.adjustment_withdraw, name="adjustment_withdraw"),
    path("scores/schemes/", views.scheme_list, name="scheme_list"),
    path("scores/schemes/new/", views.scheme_create, name="scheme_create"),
    path("scores/<int:pk>/appeal/", views.appeal_create, name="appeal_create"),
    path("scores/appeals/", views.appeal_list, name="appeal_list"),
    path("public/", public.index, name="public_index"),
    path("public/feed.atom", public.feed, name="public_feed"),
    path("public/exposures/", public.exposures, name="public_exposures"),
    path("public/exposures/photos/<str:kind>/<int:pk>/", public.exposure_photo, name="public_exposure_photo"),
    path("public/scores/<int:campaign_id>/<str:month>/", public.month_page, name="public_month"),
    path("public/scores/<int:campaign_id>/<str:month>.json", public.month_json, name="public_month_json"),
    path("scores/appeals/<int:pk>/<str:action>/", views.appeal_decide, name="appeal_decide"),
    path("scores/appeal-attachments/<int:pk>/", views.appeal_attachment, name="appeal_attachment"),
]
