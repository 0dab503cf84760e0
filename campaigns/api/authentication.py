"""``Authorization: Api-Key <key>``: requests from external systems.

The key resolves to its client's service user, which holds one membership
(the client's role in the client's unit), so scope and role permissions
apply exactly as for a person. Revoked or expired keys answer 401."""

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

KEYWORD = "Api-Key"


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != KEYWORD.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid Api-Key header: give exactly one key after \"Api-Key\"."))
        from campaigns import api_keys

        try:
            key = parts[1].decode("ascii")
        except UnicodeError:
            key = ""
        client = api_keys.lookup(key) if key else None
        if client is None:
            raise exceptions.AuthenticationFailed(_("Invalid API key."))
        state = client.state(timezone.now())
        if state == "revoked":
            raise exceptions.AuthenticationFailed(_("This API key has been revoked."))
        if state == "expired":
            raise exceptions.AuthenticationFailed(_("This API key has expired."))
        if state == "disabled":
            raise exceptions.AuthenticationFailed(_("This API key is disabled: its membership has been ended."))
        if not client.user.is_active:
            raise exceptions.AuthenticationFailed(_("Invalid API key."))
        api_keys.touch(client)
        return client.user, client

    def authenticate_header(self, request):
        return KEYWORD


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "campaigns.api.authentication.ApiKeyAuthentication"
    name = "apiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "API key of an external system, created by a supervisor: "
            "`Authorization: Api-Key civ_xxxxxxxx_...`. The key acts with the role and "
            "unit scope it was created with.",
        }
