"""/open311/v2/…: every resource with a .json or .xml extension; anything
else under /open311/ answers the spec's 404."""

from django.urls import re_path

from . import views
from .formats import error_response, format_of

FMT = r"\.(?P<fmt>[A-Za-z0-9]{1,10})"


def not_found(request, *args, **kwargs):
    from django.utils.translation import gettext as _

    return error_response(404, _("There is no Open311 resource at this URL (see /open311/v2/discovery.json)."),
                          format_of(request.path))


urlpatterns = [
    re_path(rf"^discovery{FMT}$", views.discovery, name="open311-discovery"),
    re_path(rf"^services{FMT}$", views.service_list, name="open311-services"),
    re_path(rf"^services/(?P<service_code>[^/]+){FMT}$", views.service_definition, name="open311-service"),
    re_path(rf"^requests{FMT}$", views.requests_view, name="open311-requests"),
    re_path(rf"^requests/(?P<service_request_id>[^/]+){FMT}$", views.request_detail, name="open311-request"),
    re_path(rf"^tokens/(?P<token>[^/]+){FMT}$", views.token_detail, name="open311-token"),
    re_path(r"", not_found),
]
