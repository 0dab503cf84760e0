from django.contrib.auth.backends import ModelBackend

from .roles import permissions_for
from .scope import user_roles


class RoleBackend(ModelBackend):
    """Password login, plus model permissions derived from the user's unit roles
    (in addition to any permissions given directly in the admin)."""

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_civportal_role_perms"):
            user_obj._civportal_role_perms = super().get_all_permissions(user_obj) | permissions_for(
                user_roles(user_obj)
            )
        return user_obj._civportal_role_perms
