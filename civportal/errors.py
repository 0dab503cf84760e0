"""Domain errors raised by services and translated by views and the API."""

from django.core.exceptions import PermissionDenied, ValidationError  # noqa: F401  (re-exported)


class Conflict(Exception):
    """The object changed under the caller: a stale or concurrent transition (HTTP 409)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
