from rest_framework import pagination
from rest_framework.response import Response

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
    """Limit/offset with the usual ``count``/``next``/``previous``/``results``, plus
    ``count_capped``: the count stops at ``COUNT_CAP`` rows past the offset (``SELECT
    COUNT(*) FROM (… LIMIT offset + cap + 1)``), so a page costs O(offset + cap), not
    O(matching rows). When capped, ``count`` is ``offset + cap`` and ``next`` is there
    as long as more rows follow; walking ``next`` reaches every row."""

    cap = COUNT_CAP
    count_capped = False
    count_from = None

    def get_count(self, queryset) -> int:
        rows = queryset if self.count_from is None else self.count_from
        limit = self.offset + self.cap + 1
        if hasattr(rows, "order_by"):
            # Unordered: any offset + cap + 1 matching rows tell whether there are more. Only the keys:
            # the rows' annotations (per-row subqueries such as a volunteer's hours) are not computed to count.
            counted = rows.order_by().values("pk")[:limit].count()
        else:
            counted = min(len(rows), limit)
        self.count_capped = counted > self.offset + self.cap
        return min(counted, self.offset + self.cap)

    def paginate_queryset(self, queryset, request, view=None, count_from=None):
        """``count_from``: the same rows without what only the page needs (the joins of a
        values() list), counted instead of ``queryset``."""
        self.offset = self.get_offset(request)  # get_count reads it: set before the parent counts
        self.count_from = count_from
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data):
        return Response({"count": self.count, "count_capped": self.count_capped, "next": self.get_next_link(),
                         "previous": self.get_previous_link(), "results": data})

    def get_paginated_response_schema(self, schema):
        schema = super().get_paginated_response_schema(schema)
        properties = schema["properties"]
        schema["properties"] = {"count": properties["count"],
                                "count_capped": {"type": "boolean", "example": False,
                                                 "description": f"More rows follow than counted: the count stops "
                                                                f"{self.cap} rows past the offset."},
                                **{k: v for k, v in properties.items() if k != "count"}}
        return schema
