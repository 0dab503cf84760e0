from django.core.paginator import Paginator

PAGE_SIZES = (20, 50, 100)


def paginate(request, queryset, default: int = 50):
    """A page of ``queryset`` from ``?page=`` and ``?per_page=``; bad values fall back."""
    try:
        per_page = int(request.GET.get("per_page", default))
    except (TypeError, ValueError):
        per_page = default
    per_page = min(max(per_page, 1), 200)
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))
