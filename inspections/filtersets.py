"""One FilterSet per inspections list, shared by the pages and the API. The large
lists' sets (inspections, visits, findings, tasks) are ``civportal.filters.FilterSet``:
their form class is built once, record boxes read the scope only when filled, and
campaigns and categories are numbers checked with one query (docs/performance.md)."""

import django_filters
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.filtersets import UnitChoiceFilter
from campaigns.models import Campaign, Indicator, Point, PointType, Unit
from civportal.filters import FilterSet, IdChoiceFilter, NamedRecordFilter, YesNoFilter

from .models import ExtensionRequest, Finding, FindingCategory, Inspection, RectificationTask, Severity, Visit


def visible_points(request):
    return Point.objects.visible_to(request.user) if request is not None else Point.objects.none()


def visible_inspections(request):
    return Inspection.objects.visible_to(request.user) if request is not None else Inspection.objects.none()


class FindingCategoryFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"), max_length=100)
    top_level = YesNoFilter(field_name="group", lookup_expr="isnull", label=_("Groups only"))

    class Meta:
        model = FindingCategory
        fields = ["q", "group", "active", "top_level"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(code__istartswith=value))


class InspectionFilterSet(FilterSet):
    q = django_filters.CharFilter(field_name="title", lookup_expr="icontains", label=_("Search"), max_length=100)
    campaign = IdChoiceFilter(queryset=Campaign.objects.all(), label=_("Campaign"))
    kind = django_filters.MultipleChoiceFilter(distinct=False, choices=Inspection.Kind.choices, label=_("Kind"))
    status = django_filters.MultipleChoiceFilter(distinct=False, choices=Inspection.Status.choices, label=_("Status"))
    within = UnitChoiceFilter(method="filter_within", label=_("Within unit (subtree)"))
    date_from = django_filters.DateFilter(field_name="ends_on", lookup_expr="gte", label=_("From"))
    date_to = django_filters.DateFilter(field_name="starts_on", lookup_expr="lte", label=_("To"))

    class Meta:
        model = Inspection
        fields = ["q", "campaign", "kind", "status", "within", "date_from", "date_to"]

    def filter_within(self, queryset, name, unit):
        return queryset.filter(unit__in=Unit.objects.filter(path__startswith=unit.path).values("pk"))


class VisitFilterSet(FilterSet):
    inspection = NamedRecordFilter(queryset=visible_inspections, label=_("Inspection"), text_fields=("title",),
                                   help_text=_("inspection title or number"))
    point = NamedRecordFilter(queryset=visible_points, label=_("Point"), text_fields=("code", "name"),
                              help_text=_("point name, code or number"))
    within = UnitChoiceFilter(method="filter_within", label=_("Within unit (subtree)"))
    is_clean = YesNoFilter(label=_("No problems found"))
    date_from = django_filters.DateFilter(field_name="visited_at", lookup_expr="date__gte", label=_("From"))
    date_to = django_filters.DateFilter(field_name="visited_at", lookup_expr="date__lte", label=_("To"))

    class Meta:
        model = Visit
        fields = ["inspection", "point", "within", "is_clean", "date_from", "date_to"]

    def filter_within(self, queryset, name, unit):
        return queryset.filter(unit_path__startswith=unit.path)  # the path column: no subquery


def category_and_children(queryset, pk: int) -> list[int] | None:
    """Ids of the category and its sub-categories, or None when there is no such
    category: one query that both checks the number and resolves it before the main
    query, so the list filters on a literal ``category_id IN (…)`` the planner can
    estimate."""
    ids = list(queryset.filter(Q(pk=pk) | Q(group=pk)).order_by().values_list("pk", flat=True))
    return ids if pk in ids else None


class FindingFilterSet(FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"), max_length=100)
    campaign = IdChoiceFilter(queryset=Campaign.objects.all(), label=_("Campaign"))
    within = UnitChoiceFilter(method="filter_within", label=_("Responsible unit (subtree)"))
    unit = UnitChoiceFilter(label=_("Responsible unit (exactly)"))
    category = IdChoiceFilter(queryset=FindingCategory.objects.all(), resolve=category_and_children,
                              method="filter_category", label=_("Category (and sub-categories)"))
    severity = django_filters.MultipleChoiceFilter(distinct=False, choices=Severity.choices, label=_("Severity"))
    status = django_filters.MultipleChoiceFilter(distinct=False, choices=Finding.Status.choices, label=_("Status"))
    source = django_filters.MultipleChoiceFilter(distinct=False, choices=Finding.Source.choices, label=_("Source"))
    inspection = NamedRecordFilter(
        queryset=visible_inspections, field_name="visit__inspection", label=_("Inspection"), text_fields=("title",),
        help_text=_("inspection title or number"))
    point = NamedRecordFilter(queryset=visible_points, label=_("Point"), text_fields=("code", "name"),
                              help_text=_("point name, code or number"))
    external_id = django_filters.CharFilter(label=_("External id"), max_length=100)
    date_from = django_filters.DateFilter(field_name="observed_at", lookup_expr="date__gte", label=_("From"))
    date_to = django_filters.DateFilter(field_name="observed_at", lookup_expr="date__lte", label=_("To"))
    overdue = YesNoFilter(method="filter_overdue", label=_("Overdue"))
    is_repeat = YesNoFilter(label=_("Repeat problem"))
    # A text box, not a select: the list page's query budget (8) has no room for one more dropdown.
    point_type = NamedRecordFilter(
        queryset=PointType.objects.all(), field_name="point__point_type", text_fields=("code", "name"),
        null_value="null", label=_("Point type"),
        help_text=_("point type name or code; “null”: findings without a point"))
    closed_from = django_filters.DateFilter(field_name="closed_at", lookup_expr="date__gte", label=_("Closed from"))
    closed_to = django_filters.DateFilter(field_name="closed_at", lookup_expr="date__lte", label=_("Closed until"))
    indicator = django_filters.NumberFilter(method="filter_indicator", label=_("Indicator (and its criteria)"),
                                            help_text=_("indicator id: findings linked to it or to a criterion under it"))

    class Meta:
        model = Finding
        fields = ["q", "campaign", "within", "unit", "category", "severity", "status", "source", "inspection", "point",
                  "external_id", "date_from", "date_to", "overdue", "is_repeat", "point_type", "closed_from",
                  "closed_to", "indicator"]

    def search(self, queryset, name, value):
        q = Q(description__icontains=value) | Q(address__icontains=value)
        if value.isascii() and value.isdigit() and len(value) < 12:
            q |= Q(pk=int(value))
        return queryset.filter(q)

    def filter_within(self, queryset, name, unit):
        return queryset.filter(unit_path__startswith=unit.path)  # the path column: no subquery

    def filter_category(self, queryset, name, ids: list[int]):
        return queryset.filter(category_id__in=ids)

    def filter_indicator(self, queryset, name, value):
        """The node and the criteria under it (ids resolved first: a literal ``IN`` list)."""
        if value is None or value != value.to_integral_value() or not 0 < value < 2**31:
            return queryset.none()
        node = Indicator.objects.filter(pk=int(value)).values("system_id", "path").first()
        if node is None:
            return queryset.none()
        ids = list(Indicator.objects.filter(system_id=node["system_id"], path__startswith=node["path"])
                   .order_by().values_list("pk", flat=True))
        return queryset.filter(indicator_id__in=ids)

    def filter_overdue(self, queryset, name, value):
        late = RectificationTask.objects.overdue(timezone.now()).values("finding_id")
        return queryset.filter(pk__in=late) if value else queryset.exclude(pk__in=late)


class TaskFilterSet(FilterSet):
    # The task's own copy of its finding's campaign: no join, and the open tasks' partial
    # index (campaign_id, due_at, id) serves the urgency slices (inspections/urgency.py).
    campaign = IdChoiceFilter(queryset=Campaign.objects.all(), field_name="campaign", label=_("Campaign"))
    within = UnitChoiceFilter(method="filter_within", label=_("Assigned unit (subtree)"))
    unit = UnitChoiceFilter(label=_("Assigned unit (exactly)"))
    status = django_filters.MultipleChoiceFilter(distinct=False, choices=RectificationTask.Status.choices, label=_("Status"))
    supervision = django_filters.MultipleChoiceFilter(distinct=False, 
        choices=RectificationTask.Supervision.choices, label=_("Supervision level"))
    light = django_filters.MultipleChoiceFilter(distinct=False, 
        choices=RectificationTask.Light.choices, method="filter_light", label=_("Traffic light"))
    category = IdChoiceFilter(
        queryset=FindingCategory.objects.all(), resolve=category_and_children, field_name="category",
        method="filter_category", label=_("Category (and sub-categories)"))
    severity = django_filters.MultipleChoiceFilter(distinct=False, 
        choices=Severity.choices, field_name="finding__severity", label=_("Severity"))
    finding = django_filters.NumberFilter(field_name="finding_id", label=_("Finding"))
    overdue = YesNoFilter(method="filter_overdue", label=_("Overdue"))
    due_from = django_filters.DateFilter(field_name="due_at", lookup_expr="date__gte", label=_("Due from"))
    due_to = django_filters.DateFilter(field_name="due_at", lookup_expr="date__lte", label=_("Due until"))
    extension_pending = YesNoFilter(method="filter_extension_pending",
                                                     label=_("Extension request pending"))
    closed_from = django_filters.DateFilter(field_name="closed_at", lookup_expr="date__gte", label=_("Closed from"))
    closed_to = django_filters.DateFilter(field_name="closed_at", lookup_expr="date__lte", label=_("Closed until"))
    on_time = YesNoFilter(method="filter_on_time", label=_("Closed by the deadline"))
    reworked = YesNoFilter(method="filter_reworked", label=_("Returned for rework at least once"))

    class Meta:
        model = RectificationTask
        fields = ["campaign", "within", "unit", "status", "supervision", "light", "category", "severity", "finding",
                  "overdue", "due_from", "due_to", "extension_pending", "closed_from", "closed_to", "on_time",
                  "reworked"]

    def filter_within(self, queryset, name, unit):
        return queryset.filter(unit_path__startswith=unit.path)  # the path column: no subquery

    def filter_category(self, queryset, name, ids: list[int]):
        return queryset.filter(category_id__in=ids)  # the task's copy of its finding's: no join

    def filter_light(self, queryset, name, values):
        """The lights as the urgency slices' ranges (indexable), not the ``with_light()`` CASE."""
        from .urgency import light_q

        if not values:
            return queryset
        return queryset.filter(light_q(values, timezone.now()))

    def filter_overdue(self, queryset, name, value):
        now = timezone.now()
        return queryset.overdue(now) if value else queryset.not_overdue(now)

    def filter_extension_pending(self, queryset, name, value):
        pending = Exists(ExtensionRequest.objects.filter(task=OuterRef("pk"), status=ExtensionRequest.Status.PENDING))
        return queryset.filter(pending if value else ~pending)
    def filter_on_time(self, queryset, name, value):
        """Closed tasks closed by their deadline (true) or after it (false)."""
        closed = queryset.filter(status=RectificationTask.Status.CLOSED, closed_at__isnull=False)
        on_time = Q(closed_at__lte=F("due_at"))
        return closed.filter(on_time) if value else closed.exclude(on_time)

    def filter_reworked(self, queryset, name, value):
        return queryset.filter(rework_count__gt=0) if value else queryset.filter(rework_count=0)
