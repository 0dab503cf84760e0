from django.core.paginator import Paginator
from django.utils.functional import cached_property

PAGE_SIZES = (20, 50, 100)
# Page lists count at most this many rows: beyond it the count would read a whole
# district's findings on every page view, and nobody pages that far — they filter.
# (bench-1M, one district's open findings: 7 ms to count 1,001 rows, 47 ms for 10,001.)
COUNT_CAP = 1_000


class CappedPaginator(Paginator):
    """A Paginator whose count stops at ``COUNT_CAP`` (``capped`` says it did).

    ``SELECT COUNT(*) FROM (… LIMIT cap + 1)`` lets PostgreSQL stop early; the
    page itself is still a LIMIT/OFFSET slice of the ordered queryset."""

    cap = COUNT_CAP

    @cached_property
    def count(self) -> int:
        rows = self.object_list
        if hasattr(rows, "order_by"):
            # Unordered: any cap + 1 matching rows tell whether there are more than cap.
            counted = rows.order_by()[: self.cap + 1].count()
        else:
            counted = len(rows)
        self.capped = counted > self.cap
        return min(counted, self.cap)

    capped = False


def paginate(request, queryset, default: int = 50):
    """A page of ``queryset`` from ``?page=`` and ``?per_page=``; bad values fall back."""
    try:
        per_page = int(request.GET.get("per_page", default))
    except (TypeError, ValueError):
        per_page = default
    per_page = min(max(per_page, 1), 200)
    return CappedPaginator(queryset, per_page).get_page(request.GET.get("page"))
