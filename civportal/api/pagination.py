from rest_framework import pagination


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    default_limit = 50
    max_limit = 200


class CursorPagination(pagination.CursorPagination):
    """For the big, fast-growing lists (findings, tasks): ``next``/``previous``
    links carrying an opaque ``cursor``, no ``count`` (no COUNT(*) over the
    table) and no rows skipped or repeated while new rows arrive. Page size
    in ``limit`` like the other lists (default 50, at most 200). The ordering
    is the view's ``ordering`` or an allowed ``ordering`` parameter, with the
    id appended in the same direction so that ties have a stable order."""

    page_size = 50
    max_page_size = 200
    page_size_query_param = "limit"
    ordering = "-created_at"

    def get_ordering(self, request, queryset, view):
        ordering = list(super().get_ordering(request, queryset, view))
        if not any(field.lstrip("-") in {"id", "pk"} for field in ordering):
            ordering.append("-id" if ordering[0].startswith("-") else "id")
        return tuple(ordering)
