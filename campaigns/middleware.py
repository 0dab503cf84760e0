from django.utils.functional import SimpleLazyObject

from .scope import scope_of


class ScopeMiddleware:
    """``request.scope``: the signed-in user's Scope (roles, unit paths, supervisor
    or not), computed on first use from one read of their memberships. Views,
    selectors and forms take it from here instead of asking campaigns.scope again."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.scope = SimpleLazyObject(lambda: scope_of(request.user))
        return self.get_response(request)
