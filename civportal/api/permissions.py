from django.utils.translation import gettext as _
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS, DjangoModelPermissions


class RolePermissions(DjangoModelPermissions):
    """Model permissions (derived from unit roles) gate every endpoint:
    reads need ``view_*``. A viewset may name the permissions of its custom
    actions in ``action_permissions``. Object scope is the viewset's queryset
    (out-of-scope objects answer 404); per-object role rules live in services."""

    perms_map = {
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "POST": ["%(app_label)s.add_%(model_name)s"],
        "PUT": ["%(app_label)s.change_%(model_name)s"],
        "PATCH": ["%(app_label)s.change_%(model_name)s"],
        "DELETE": ["%(app_label)s.delete_%(model_name)s"],
    }

    def _queryset(self, view):
        # Only the model is read here: take it from the class, not from get_queryset(),
        # which builds the scoped, joined list queryset (again) on every request.
        queryset = getattr(view, "queryset", None)
        if queryset is not None:
            return queryset
        model = getattr(getattr(getattr(view, "serializer_class", None), "Meta", None), "model", None)
        return model._default_manager.none() if model is not None else super()._queryset(view)

    def has_permission(self, request, view):
        if request.user and request.user.is_authenticated and not hasattr(view, request.method.lower()):
            return True  # no handler for this method: let the view answer 405, not 403
        if getattr(view, "people_only", False) and request.method not in SAFE_METHODS and is_api_key(request):
            # Who holds power (memberships, keys, scoring rules) is decided by people, never by a key:
            # a leaked integration key must not be able to promote, demote or mint.
            raise PermissionDenied(_("API keys act on records only; memberships, API keys and scoring schemes "
                                     "are managed by people (sign in or use a personal token)."), code="people_only")
        perms = getattr(view, "action_permissions", {}).get(getattr(view, "action", None))
        if perms is None:
            return super().has_permission(request, view)
        return bool(request.user and request.user.is_authenticated and request.user.has_perms(perms))


def is_api_key(request) -> bool:
    """Whether the request authenticated with an integration key. The core names no
    app: the key model marks itself (``ApiClient.is_api_key``)."""
    return bool(getattr(getattr(request, "auth", None), "is_api_key", False))
