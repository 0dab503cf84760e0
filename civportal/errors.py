"""Domain errors raised by services and translated by views and the API."""

from django.core.exceptions import PermissionDenied, ValidationError  # noqa: F401  (re-exported)


class Conflict(Exception):
    """The object changed under the caller: a stale or concurrent transition (HTTP 409)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def prefix_error(path: str, status: int, message: str):
    """The response of the app that owns ``path``'s prefix for an error answered
    outside its views (unknown URL, NUL bytes, too large), or None. Apps are named
    in settings (``PATH_ERROR_RESPONDERS``: prefix -> dotted path of a function
    ``(path, status, message) -> HttpResponse``), so the core imports none."""
    from django.conf import settings
    from django.utils.module_loading import import_string

    for prefix, dotted in getattr(settings, "PATH_ERROR_RESPONDERS", {}).items():
        if path.startswith(prefix):
            return import_string(dotted)(path, status, message)
    return None
