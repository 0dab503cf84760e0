"""Filter building blocks every app's FilterSets share, so a filter reads the same
on every page: yes/no questions offer 全部/是/否 and an empty choice says 全部
(not "---------" or "未知")."""

import django_filters
from django.utils.translation import gettext_lazy as _
from django_filters.widgets import BooleanWidget


class AllYesNoWidget(BooleanWidget):
    """全部 / 是 / 否; accepts true/false/1/0 in the query string (pages and API alike)."""

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = [("", _("All")), ("true", _("Yes")), ("false", _("No"))]


class YesNoFilter(django_filters.BooleanFilter):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", AllYesNoWidget)
        super().__init__(*args, **kwargs)


class ModelChoiceFilter(django_filters.ModelChoiceFilter):
    """A select over a short list (campaigns, categories, point types) whose empty choice is 全部."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("empty_label", _("All"))
        super().__init__(*args, **kwargs)
