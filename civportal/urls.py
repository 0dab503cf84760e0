from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from campaigns.accounts import views as account_views
from campaigns.accounts.api import UserViewSet
from campaigns.api.boundaries import UnitBoundaryViewSet
from campaigns.api.views import ApiClientViewSet, MembershipViewSet, UnitViewSet
from campaigns.planning.api import (
    CampaignViewSet, ImportJobViewSet, IndicatorSystemViewSet, IndicatorViewSet, PointTypeViewSet, PointViewSet,
    WorkItemViewSet,
)
from civportal.api.exceptions import api_not_found
from civportal.api.views import TokenLoginView
from civportal.auth import throttled_login
from dashboards.home import home
from inspections.api.rechecks import RecheckViewSet, RecurrenceViewSet
from inspections.api.views import (
    FindingCategoryViewSet, FindingViewSet, InspectionViewSet, MyReportViewSet, TaskViewSet, VisitViewSet,
)
from materials.api.views import MaterialCallViewSet, MaterialCompletenessViewSet, MaterialSubmissionViewSet
from open311.urls import not_found as open311_not_found
from rounds.api.views import InspectionScheduleViewSet, PointDrawViewSet
from surveys.api.views import PublicSurveyAnswerView, SurveyResultViewSet, SurveyViewSet, SurveyWaveViewSet
from notices.api.views import NoticeViewSet
from notifications.api.views import NotificationViewSet, WebhookDeliveryViewSet, WebhookSubscriptionViewSet
from scores.api.views import (
    AccountabilityRecordViewSet, AnnualReportViewSet, AppealViewSet, ExposureViewSet, LostPointsViewSet,
    ScoreViewSet, ScoringSchemeViewSet,
)
from volunteers.api.views import ActivityViewSet, TeamViewSet, VolunteerViewSet

from . import observability, pwa, views

admin.site.site_header = _("civportal administration")
admin.site.site_title = _("civportal administration")

router = DefaultRouter()
router.register("units", UnitViewSet, basename="unit")
router.register("unit-boundaries", UnitBoundaryViewSet, basename="unit-boundary")
router.register("memberships", MembershipViewSet, basename="membership")
router.register("campaigns", CampaignViewSet, basename="campaign")
router.register("indicator-systems", IndicatorSystemViewSet, basename="indicator-system")
router.register("indicators", IndicatorViewSet, basename="indicator")
router.register("point-types", PointTypeViewSet, basename="point-type")
router.register("points", PointViewSet, basename="point")
router.register("work-items", WorkItemViewSet, basename="work-item")
router.register("finding-categories", FindingCategoryViewSet, basename="finding-category")
router.register("inspections", InspectionViewSet, basename="inspection")
router.register("visits", VisitViewSet, basename="visit")
router.register("findings", FindingViewSet, basename="finding")
router.register("tasks", TaskViewSet, basename="task")
router.register("rechecks", RecheckViewSet, basename="recheck")
router.register("recurrence", RecurrenceViewSet, basename="recurrence")
router.register("my-reports", MyReportViewSet, basename="my-report")
router.register("import-jobs", ImportJobViewSet, basename="import-job")
router.register("scores", ScoreViewSet, basename="score")
router.register("appeals", AppealViewSet, basename="appeal")
router.register("exposures", ExposureViewSet, basename="exposure")
router.register("accountability-records", AccountabilityRecordViewSet, basename="accountability-record")
router.register("annual-reports", AnnualReportViewSet, basename="annual-report")
router.register("score-schemes", ScoringSchemeViewSet, basename="score-scheme")
router.register("lost-points", LostPointsViewSet, basename="lost-points")
router.register("volunteers", VolunteerViewSet, basename="volunteer")
router.register("teams", TeamViewSet, basename="team")
router.register("activities", ActivityViewSet, basename="activity")
router.register("notifications", NotificationViewSet, basename="notification")
router.register("webhook-subscriptions", WebhookSubscriptionViewSet, basename="webhook-subscription")
router.register("webhook-deliveries", WebhookDeliveryViewSet, basename="webhook-delivery")
router.register("api-clients", ApiClientViewSet, basename="api-client")
router.register("material-calls", MaterialCallViewSet, basename="material-call")
router.register("material-submissions", MaterialSubmissionViewSet, basename="material-submission")
router.register("material-completeness", MaterialCompletenessViewSet, basename="material-completeness")
router.register("surveys", SurveyViewSet, basename="survey")
router.register("survey-waves", SurveyWaveViewSet, basename="survey-wave")
router.register("survey-results", SurveyResultViewSet, basename="survey-result")
router.register("users", UserViewSet, basename="user")
router.register("notices", NoticeViewSet, basename="notice")
router.register("point-draws", PointDrawViewSet, basename="point-draw")
router.register("inspection-schedules", InspectionScheduleViewSet, basename="inspection-schedule")

# Swagger UI styles itself with injected <style> elements and may start a
# blob: worker; allow those on the docs page only (scripts stay 'self').
# (Redoc is not offered: its bundle hard-codes an image from its vendor's CDN.)
docs_csp = csp_update({"style-src": ["'unsafe-inline'"], "worker-src": ["'self'", "blob:"]})

api_urlpatterns = [
    path("auth/token/", TokenLoginView.as_view(), name="api-token"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", docs_csp(SpectacularSwaggerSplitView.as_view(url_name="api-schema")), name="api-docs"),
    # Public (anonymous, throttled per address): residents' survey answers by link token.
    path("survey-answers/<str:token>/", PublicSurveyAnswerView.as_view(), name="survey-answer"),
    path("", include(router.urls)),
]

urlpatterns = [
    path("", home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", observability.metrics, name="metrics"),  # Prometheus; loopback, token or staff only
    path("favicon.ico", views.favicon),
    # The installable app (docs/offline.md): the worker must live at the root to serve every page.
    path("sw.js", pwa.service_worker, name="service_worker"),
    path("manifest.webmanifest", pwa.manifest, name="manifest"),
    path("offline/", pwa.offline, name="offline"),
    path("outbox/", pwa.outbox, name="outbox"),
    path("accounts/login/", throttled_login(auth_views.LoginView.as_view(redirect_authenticated_user=True)),
         name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", account_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    # "Forgot password" (Django's e-mail flow; throttled, no user enumeration): docs/accounts.md.
    path("accounts/password/reset/", account_views.PasswordResetView.as_view(), name="password_reset"),
    path("accounts/password/reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("accounts/password/reset/<uidb64>/<token>/", account_views.PasswordResetConfirmView.as_view(),
         name="password_reset_confirm"),
    path("accounts/password/reset/done/", auth_views.PasswordResetCompleteView.as_view(),
         name="password_reset_complete"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_urlpatterns)),
    # Any other /api/ URL answers the API's JSON 404 (also with DEBUG on).
    re_path(r"^api/", api_not_found),
    # Open311 GeoReport v2 (plain views, outside the OpenAPI schema); its own 404s below it.
    path("open311/v2/", include("open311.urls")),
    re_path(r"^open311/", open311_not_found),
    path("", include("campaigns.urls")),
    path("", include("inspections.urls")),
    path("", include("volunteers.urls")),
    path("", include("scores.urls")),
    path("", include("notifications.urls")),
    path("", include("notices.urls")),
    path("", include("dashboards.urls")),
    path("", include("materials.urls")),
    path("", include("surveys.urls")),
    path("", include("rounds.urls")),
]

# Error pages: JSON under /api/, translated HTML pages elsewhere.
handler400 = "civportal.views.bad_request"
handler403 = "civportal.views.permission_denied"
handler404 = "civportal.views.page_not_found"
handler500 = "civportal.views.server_error"
