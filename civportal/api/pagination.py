from rest_framework import pagination

from civportal.pagination import COUNT_CAP


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


class CappedLimitOffsetPagination(LimitOffsetPagination):
    """``limit``/``offset`` pages whose ``count`` is capped instead of a full COUNT(*) per request:
    ``SELECT COUNT(*) FROM (… LIMIT cap + 1)`` stops after ``COUNT_CAP`` rows (or past the page asked
    for, when that is further), and ``count_capped`` says there are more than ``count``. ``next``
    stays right: it is there while more rows exist."""

    cap = COUNT_CAP
    capped = False

    def get_count(self, queryset):
        if not hasattr(queryset, "order_by"):
            return super().get_count(queryset)
        cap = max(self.cap, self.get_offset(self.request) + self.limit)
        # Unordered: any cap + 1 matching rows tell whether there are more than cap.
        # Only the keys: the rows' annotations (per-row subqueries) are not computed to be counted.
        counted = queryset.order_by().values("pk")[: cap + 1].count()
        self.capped = counted > cap
        self.shown_count = min(counted, cap)
        return counted  # cap + 1 when capped, so that the next link is kept

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        if hasattr(self, "shown_count"):
            response.data["count"] = self.shown_count
        response.data["count_capped"] = self.capped
        return response

    def get_paginated_response_schema(self, schema):
        result = super().get_paginated_response_schema(schema)
        result["properties"]["count_capped"] = {
            "type": "boolean", "description": f"true when more rows match than ``count`` (counted up to {self.cap})"}
        return result
