"""civportal.middleware.CSPMiddleware: django-csp's headers, the nonce-free policy built once
per process (issue 13, the fixed cost of a request), byte for byte what django-csp builds."""

from __future__ import annotations

from csp.constants import NONE, SELF
from csp.utils import build_policy
from django.http import HttpResponse
from django.test import RequestFactory

from civportal.middleware import CSPMiddleware


def test_a_page_gets_django_csps_policy(client, db):
    response = client.get("/accounts/login/")
    assert response["Content-Security-Policy"] == build_policy()
    assert "Content-Security-Policy-Report-Only" not in response


def test_the_policy_follows_the_settings(settings):
    middleware = CSPMiddleware(lambda request: HttpResponse("ok"))
    request = RequestFactory().get("/x/")
    first = middleware(request)["Content-Security-Policy"]
    assert first == build_policy()
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": [NONE], "img-src": [SELF]}}
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": {"default-src": [SELF]}}
    response = middleware(RequestFactory().get("/x/"))
    assert response["Content-Security-Policy"] == build_policy() != first
    assert response["Content-Security-Policy-Report-Only"] == build_policy(report_only=True) == "default-src 'self'"
    settings.CONTENT_SECURITY_POLICY = {"EXCLUDE_URL_PREFIXES": ["/x/"], "DIRECTIVES": {"default-src": [NONE]}}
    assert "Content-Security-Policy" not in middleware(RequestFactory().get("/x/"))


def test_per_view_changes_exemptions_and_nonces_go_through_django_csp():
    def view(request):
        response = HttpResponse("ok")
        response._csp_update = {"style-src": ["'unsafe-inline'"]}
        return response

    response = CSPMiddleware(view)(RequestFactory().get("/docs/"))
    assert response["Content-Security-Policy"] == build_policy(update={"style-src": ["'unsafe-inline'"]})

    def exempt(request):
        response = HttpResponse("ok")
        response._csp_exempt = True
        return response

    assert "Content-Security-Policy" not in CSPMiddleware(exempt)(RequestFactory().get("/"))

    def with_nonce(request):
        return HttpResponse(str(request.csp_nonce))

    response = CSPMiddleware(with_nonce)(RequestFactory().get("/"))
    nonce = response.content.decode()
    assert response["Content-Security-Policy"] == build_policy(nonce=nonce)
