from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from campaigns.filtersets import UnitRefField
from campaigns.models import Campaign, Point, Unit

from .models import (
    CalendarOverride, DeadlineRule, Finding, FindingCategory, Inspection, RectificationTask, Severity, Visit,
)

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class MultiplePhotoInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """Several photos from one <input type=file multiple>; the content is checked by the service."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultiplePhotoInput(attrs={"accept": "image/jpeg,image/png,image/webp,image/*",
                                                               "capture": "environment", "multiple": True}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, (list, tuple)) else ([data] if data else [])
        if self.required and not files:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        return [super(PhotosField, self).clean(f, initial) for f in files]


class FindingRecordForm(forms.Form):
    """The field form an inspector fills in on a phone: point (nearest first
    once GPS is known), what is wrong, photos."""

    campaign = forms.ModelChoiceField(queryset=Campaign.objects.active(), label=_("campaign"), required=False)
    source = forms.ChoiceField(choices=Finding.Source.choices, label=_("source"), initial=Finding.Source.INSPECTION)
    visit = forms.ModelChoiceField(queryset=Visit.objects.none(), required=False, widget=forms.HiddenInput)
    point = forms.ModelChoiceField(queryset=Point.objects.none(), label=_("point"), required=False)
    unit = UnitRefField(queryset=Unit.objects.none(), label=_("responsible unit"), required=False,
                        help_text=_("Leave empty to use the point's territorial unit."))
    category = forms.ModelChoiceField(queryset=FindingCategory.objects.filter(active=True, group__isnull=False),
                                      label=_("category"))
    severity = forms.ChoiceField(choices=[("", _("category default"))] + Severity.choices, required=False,
                                 label=_("severity"))
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label=_("description"), max_length=4000)
    address = forms.CharField(label=_("location"), max_length=300, required=False)
    latitude = forms.DecimalField(max_digits=9, decimal_places=6, min_value=-90, max_value=90, required=False,
                                  label=_("latitude"), widget=forms.NumberInput(attrs={"step": "any", "readonly": True}))
    longitude = forms.DecimalField(max_digits=9, decimal_places=6, min_value=-180, max_value=180, required=False,
                                   label=_("longitude"), widget=forms.NumberInput(attrs={"step": "any", "readonly": True}))
    photos = PhotosField(label=_("“before” photos"), required=False,
                         help_text=_("JPEG, PNG or WebP, up to 10 MB each; required for inspection findings."))
    dispatch_now = forms.BooleanField(label=_("dispatch to the responsible unit now"), required=False)
    # Set by the page's script (docs/offline.md): sending the same draft twice records it once.
    client_id = forms.UUIDField(required=False, widget=forms.HiddenInput(attrs={"data-client-id": True}))

    def __init__(self, *args, user, points, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["point"].queryset = points
        self.fields["visit"].queryset = Visit.objects.visible_to(user).select_related("point", "inspection__campaign")
        self.fields["point"].label_from_instance = lambda p: f"{p.name} · {p.unit.name}"
        self.fields["unit"].queryset = Unit.objects.visible_to(user).active()
        self.fields["campaign"].initial = Campaign.objects.active().order_by("-starts_on").first()
        if not user.has_perm("inspections.add_rectificationtask"):
            del self.fields["dispatch_now"]


class VolunteerReportForm(forms.Form):
    """A volunteer's report from the street, on a phone: what and where, photos optional."""

    category = forms.ModelChoiceField(queryset=FindingCategory.objects.filter(active=True, group__isnull=False),
                                      label=_("kind of problem"))
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label=_("description"), max_length=4000)
    point = forms.ModelChoiceField(queryset=Point.objects.none(), label=_("point"), required=False,
                                   help_text=_("If the problem is at a listed place; otherwise give the location."))
    address = forms.CharField(label=_("location"), max_length=300, required=False)
    latitude = forms.DecimalField(max_digits=9, decimal_places=6, min_value=-90, max_value=90, required=False,
                                  label=_("latitude"), widget=forms.NumberInput(attrs={"step": "any", "readonly": True}))
    longitude = forms.DecimalField(max_digits=9, decimal_places=6, min_value=-180, max_value=180, required=False,
                                   label=_("longitude"), widget=forms.NumberInput(attrs={"step": "any", "readonly": True}))
    photos = PhotosField(label=_("photos"), required=False, help_text=_("Optional. JPEG, PNG or WebP, up to 10 MB each."))

    def __init__(self, *args, points, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["point"].queryset = points
        self.fields["point"].label_from_instance = lambda p: f"{p.name} · {p.unit.name}"


class DispatchForm(forms.Form):
    unit = UnitRefField(queryset=Unit.objects.none(), label=_("assigned unit"), required=False,
                        help_text=_("Leave empty for the responsible unit."))
    due_at = forms.DateTimeField(label=_("deadline"), required=False, widget=DATETIME,
                                 help_text=_("Leave empty to follow the category and severity rule."))
    instructions = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=4000,
                                   label=_("instructions"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = Unit.objects.visible_to(user).active()


class NoteForm(forms.Form):
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=4000, label=_("note"))
    expected_status = forms.ChoiceField(choices=RectificationTask.Status.choices, required=False,
                                        widget=forms.HiddenInput)


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=300, label=_("reason"))


class SubmitForm(NoteForm):
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=4000, label=_("what was done"))
    photos = PhotosField(label=_("“after” photos"),
                         help_text=_("JPEG, PNG or WebP, up to 10 MB each, taken from the same angle as before."))


class ExtensionForm(forms.Form):
    requested_due_at = forms.DateTimeField(label=_("new deadline"), widget=DATETIME)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=4000, label=_("reason"))


class DecideExtensionForm(forms.Form):
    request = forms.IntegerField(widget=forms.HiddenInput)
    approve = forms.TypedChoiceField(choices=[("1", _("approve")), ("0", _("refuse"))], coerce=lambda v: v == "1",
                                     widget=forms.RadioSelect, label=_("decision"))
    note = forms.CharField(max_length=4000, required=False, label=_("note"))


class EscalateForm(forms.Form):
    note = forms.CharField(max_length=4000, required=False, label=_("note"))


class DuplicateForm(forms.Form):
    original = forms.IntegerField(label=_("original finding (number)"), min_value=1)
    note = forms.CharField(max_length=300, required=False, label=_("note"))


class InspectionForm(forms.ModelForm):
    unit = UnitRefField(queryset=Unit.objects.none(), label=_("area (unit id or code)"))

    class Meta:
        model = Inspection
        fields = ["campaign", "title", "kind", "unit", "starts_on", "ends_on", "notes"]
        widgets = {"starts_on": DATE, "ends_on": DATE}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = Unit.objects.visible_to(user).active()


class VisitForm(forms.Form):
    point = forms.ModelChoiceField(queryset=Point.objects.none(), label=_("point"))
    is_clean = forms.BooleanField(label=_("no problems found"), required=False)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, label=_("notes"))
    latitude = forms.DecimalField(max_digits=9, decimal_places=6, min_value=-90, max_value=90, required=False,
                                  widget=forms.HiddenInput)
    longitude = forms.DecimalField(max_digits=9, decimal_places=6, min_value=-180, max_value=180, required=False,
                                   widget=forms.HiddenInput)

    def __init__(self, *args, points, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["point"].queryset = points


class CategoryForm(forms.ModelForm):
    class Meta:
        model = FindingCategory
        fields = ["code", "name", "group", "default_severity", "deduction", "engineering", "sort_order", "active"]


class DeadlineRuleForm(forms.ModelForm):
    class Meta:
        model = DeadlineRule
        fields = ["category", "severity", "amount", "measure"]


class CalendarImportForm(forms.Form):
    file = forms.FileField(label=_("Holiday schedule (.xlsx: 日期, 类型 休/班, 名称)"))


class CalendarOverrideForm(forms.ModelForm):
    class Meta:
        model = CalendarOverride
        fields = ["date", "is_workday", "reason"]
        widgets = {"date": DATE}
