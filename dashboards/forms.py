"""The dashboards' filters: campaign, month and unit subtree. Bad values are
reported on the form and the dashboard falls back to the default for that
filter (never a 500)."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.filtersets import UnitRefField
from campaigns.models import Campaign, Unit
from scores.filtersets import MonthField


class DashboardForm(forms.Form):
    campaign = forms.ModelChoiceField(label=_("Campaign"), queryset=Campaign.objects.none(), required=False,
                                      empty_label=None)
    month = MonthField(label=_("Month"), required=False,
                       widget=forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"}))
    unit = UnitRefField(label=_("Unit (subtree)"), queryset=Unit.objects.none(), required=False,
                        widget=forms.Select)

    def __init__(self, data=None, *, user, units: list[Unit], default_campaign: Campaign | None, **kwargs):
        super().__init__(data, **kwargs)
        campaigns = Campaign.objects.visible_to(user).order_by("-starts_on", "-id")
        self.fields["campaign"].queryset = campaigns
        # One query for the select (a ModelChoiceIterator would query at every rendering).
        self.fields["campaign"].choices = [(c.pk, c.name) for c in campaigns]
        self.fields["unit"].queryset = Unit.objects.visible_to(user)
        self.default_campaign = default_campaign
        self.units = units
        self._set_unit_choices(units)

    def _set_unit_choices(self, units):
        self.fields["unit"].widget.choices = [
            (u.code, ("\u2003" * max(0, u.depth - units[0].depth)) + u.name) for u in units
        ] if units else []

    def clean_campaign(self):
        return self.cleaned_data.get("campaign") or self.default_campaign

    def value(self, name: str):
        """The cleaned value, or None when absent or invalid (the caller uses its default)."""
        if not self.is_bound:
            return None
        self.is_valid()
        if name in self.errors:
            return None
        return self.cleaned_data.get(name)

    def campaign_value(self) -> Campaign | None:
        return self.value("campaign") or self.default_campaign

    def month_value(self) -> dt.date:
        return self.value("month") or timezone.localdate().replace(day=1)

    def show_unit(self, unit: Unit) -> None:
        """Make sure the chosen unit is among the select's options."""
        if unit is not None and all(u.pk != unit.pk for u in self.units):
            self.units = sorted([*self.units, unit], key=lambda u: u.path)
            self._set_unit_choices(self.units)
