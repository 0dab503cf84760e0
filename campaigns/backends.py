from django.contrib.auth.backends import ModelBackend

from .roles import permissions_for
from .scope import user_roles


class RoleBackend(ModelBackend):
    """Password login, with model permissions derived only from the user's unit
    roles (superusers have every permission anyway). No per-user or group
    permission tables are consulted, which keeps every request at one
    membership query."""

    def get_user_permissions(self, user_obj, obj=None):
        return set()

    def get_group_permissions(self, user_obj, obj=None):
        return set()

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_civportal_role_perms"):
            user_obj._civportal_role_perms = frozenset(permissions_for(user_roles(user_obj)))
        return user_obj._civportal_role_perms
