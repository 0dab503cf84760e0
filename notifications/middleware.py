from .backends import with_unread_count

API_PREFIXES = ("/api/", "/open311/")


class LeanApiUserMiddleware:
    """On API paths the session's user is read without the bell's unread count (a correlated
    subquery on notifications the API never reads); pages keep it. Only a flag for the
    duration of the request: nothing about the user outlives it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith(API_PREFIXES):
            return self.get_response(request)
        token = with_unread_count.set(False)
        try:
            return self.get_response(request)
        finally:
            with_unread_count.reset(token)
