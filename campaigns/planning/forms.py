from django import forms
from django.utils.translation import gettext_lazy as _

from ..filtersets import UnitRefField
from ..models import Campaign, Indicator, IndicatorSystem, Point, PointType, Unit, WorkItem

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class CampaignForm(forms.ModelForm):
    class Meta:
        model = Campaign
        fields = ["name", "starts_on", "ends_on", "status", "indicator_system", "description"]
        widgets = {"starts_on": DATE, "ends_on": DATE}


class IndicatorSystemForm(forms.ModelForm):
    class Meta:
        model = IndicatorSystem
        fields = ["name", "effective_from", "effective_until", "is_sample", "description"]
        widgets = {"effective_from": DATE, "effective_until": DATE}


class EditionImportForm(forms.Form):
    LAYOUTS = [("auto", _("detect automatically")), ("portal", _("portal layout (code, parent code)")),
               ("office", _("office layout (版块 / 测评项目 / 测评内容 / 测评标准)"))]
    file = forms.FileField(label=_("xlsx file"))
    name = forms.CharField(label=_("edition name"), max_length=100)
    layout = forms.ChoiceField(label=_("layout"), choices=LAYOUTS, initial="auto")
    effective_from = forms.DateField(label=_("effective from"), required=False, widget=DATE)
    is_sample = forms.BooleanField(label=_("sample (not an official edition)"), required=False)


class CopyForm(forms.Form):
    name = forms.CharField(label=_("name of the new edition"), max_length=100)


class IndicatorForm(forms.ModelForm):
    class Meta:
        model = Indicator
        fields = ["name", "points", "method", "point_types", "description"]


class PointTypeForm(forms.ModelForm):
    class Meta:
        model = PointType
        fields = ["code", "name", "weight", "active"]


class ScopedUnitsMixin:
    """Unit fields become unit boxes (name or code, suggestions from the user's scope)."""

    unit_fields: tuple = ()

    def scope_units(self, user):
        for name in self.unit_fields:
            field = self.fields[name]
            if not isinstance(field, forms.ModelMultipleChoiceField):
                self.fields[name] = field = UnitRefField(
                    queryset=Unit.objects.none(), label=field.label, required=field.required,
                    help_text=field.help_text, initial=field.initial)
                if getattr(self.instance, "pk", None) and getattr(self.instance, f"{name}_id", None):
                    self.initial[name] = getattr(self.instance, name)  # shown as "name（code）"
            field.queryset = Unit.objects.visible_to(user).active()


class PointForm(ScopedUnitsMixin, forms.ModelForm):
    unit_fields = ("unit", "department")

    class Meta:
        model = Point
        fields = ["code", "name", "point_type", "address", "latitude", "longitude", "unit", "department"]

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.scope_units(user)
        self.fields["unit"].queryset = self.fields["unit"].queryset.exclude(kind=Unit.Kind.DEPARTMENT)
        self.fields["department"].queryset = Unit.objects.filter(kind=Unit.Kind.DEPARTMENT, active=True)
        self.fields["point_type"].queryset = PointType.objects.filter(active=True)


class WorkItemForm(ScopedUnitsMixin, forms.ModelForm):
    unit_fields = ("lead_unit", "cooperating_units")

    class Meta:
        model = WorkItem
        fields = ["title", "indicator", "description", "lead_unit", "cooperating_units", "deadline"]
        widgets = {"deadline": DATE}

    def __init__(self, *args, user=None, campaign=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.scope_units(user)
        self.fields["indicator"].queryset = Indicator.objects.filter(system_id=campaign.indicator_system_id)

    def _post_clean(self):
        pass  # the service validates and saves


class ProgressForm(forms.Form):
    text = forms.CharField(label=_("progress"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)
    files = forms.FileField(label=_("attachments"), required=False,
                            widget=forms.ClearableFileInput(attrs={"allow_multiple_selected": True}))


class ReviewForm(forms.Form):
    text = forms.CharField(label=_("note"), widget=forms.Textarea(attrs={"rows": 2}), max_length=5000, required=False)


class LedgerImportForm(forms.Form):
    file = forms.FileField(label=_("xlsx file"))
