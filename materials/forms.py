from django import forms
from django.utils.translation import gettext_lazy as _

from campaigns.filtersets import UnitRefField
from civportal.forms import MultipleFileField
from campaigns.models import Campaign, Unit


class CallForm(forms.Form):
    campaign = forms.ModelChoiceField(queryset=Campaign.objects.all(), label=_("Campaign"))
    indicator_code = forms.CharField(label=_("Indicator code"), max_length=40)
    title = forms.CharField(label=_("Title"), max_length=300, required=False)
    evidence = forms.CharField(label=_("Evidence wanted"), widget=forms.Textarea(attrs={"rows": 3}), max_length=4000)
    deadline = forms.DateField(label=_("Deadline"), widget=forms.DateInput(attrs={"type": "date"}))
    unit_codes = forms.CharField(label=_("Units (codes, separated by commas)"), max_length=4000, required=False)
    kind = forms.ChoiceField(label=_("Or every unit of kind"), choices=[("", "—"), *Unit.Kind.choices], required=False)
    within = UnitRefField(queryset=Unit.objects.all(), label=_("Under unit (code)"), required=False)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["within"].queryset = Unit.objects.visible_to(user)
        self.user = user

    def clean_unit_codes(self):
        codes = [c.strip() for c in self.cleaned_data["unit_codes"].replace("，", ",").split(",") if c.strip()]
        units = list(Unit.objects.visible_to(self.user).filter(code__in=codes))
        missing = sorted(set(codes) - {u.code for u in units})
        if missing:
            raise forms.ValidationError(_("No unit with these codes in your scope: %(codes)s")
                                        % {"codes": ", ".join(missing)})
        return units


class SubmitForm(forms.Form):
    description = forms.CharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 3}), max_length=4000,
                                  required=False)
    files = MultipleFileField(label=_("Evidence files"), required=True,
                              help_text=_("PDF, JPEG/PNG/WebP images, Word or Excel."))


class ReviewForm(forms.Form):
    DECISIONS = [("pass", _("pass")), ("partial", _("partly pass")), ("return", _("return"))]
    decision = forms.ChoiceField(label=_("Decision"), choices=DECISIONS, widget=forms.RadioSelect)
    share = forms.DecimalField(label=_("Score share (partial pass)"), min_value=0, max_value=1, decimal_places=3,
                               required=False)
    note = forms.CharField(label=_("Note or reason"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000,
                           required=False)


class CompletenessForm(forms.Form):
    within = UnitRefField(queryset=Unit.objects.all(), label=_("Within unit (subtree)"), required=False)
    section = forms.CharField(label=_("Indicator section (code)"), max_length=40, required=False)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["within"].queryset = Unit.objects.visible_to(user)


class ArchiveForm(forms.Form):
    campaign = forms.ModelChoiceField(queryset=Campaign.objects.all(), label=_("Campaign"))
    unit = UnitRefField(queryset=Unit.objects.all(), label=_("Unit (code; empty for the whole campaign)"),
                        required=False)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = Unit.objects.visible_to(user)
