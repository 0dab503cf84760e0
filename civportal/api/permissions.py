from rest_framework.permissions import DjangoModelPermissions


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
        perms = getattr(view, "action_permissions", {}).get(getattr(view, "action", None))
        if perms is None:
            return super().has_permission(request, view)
        return bool(request.user and request.user.is_authenticated and request.user.has_perms(perms))
