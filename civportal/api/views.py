from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from civportal.auth import lockout_message, lockout_seconds

from .throttling import LoginRateThrottle


class TokenLoginSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, style={"input_type": "password"}, trim_whitespace=False)


class TokenLoginView(APIView):
    """Exchange a username and password for an API token. Guarded by the same
    lockout as the login page: 5 failures per username and address, 15 minutes;
    and, whatever the username, ``LOGIN_RATE_PER_MINUTE`` attempts per address."""

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [LoginRateThrottle]

    @extend_schema(
        request=TokenLoginSerializer,
        responses={200: inline_serializer("TokenResponse", {"token": serializers.CharField()})},
        tags=["auth"],
    )
    def post(self, request):
        serializer = TokenLoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        django_request = request._request
        user = authenticate(django_request, **serializer.validated_data)
        if getattr(django_request, "axes_locked_out", False):
            return Response({"code": "locked_out", "detail": lockout_message()}, status=status.HTTP_429_TOO_MANY_REQUESTS,
                            headers={"Retry-After": str(lockout_seconds())})
        if user is None:
            return Response(
                {"code": "authentication_failed", "detail": _("Wrong username or password.")},
                status=status.HTTP_401_UNAUTHORIZED, headers={"WWW-Authenticate": "Token"},
            )
        if getattr(user, "must_change_password", False):
            return Response(
                {"code": "password_change_required",
                 "detail": _("Your password was reset: log in on the portal and choose a new password first.")},
                status=status.HTTP_403_FORBIDDEN,
            )
        token, _created = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})
