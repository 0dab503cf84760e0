from django import forms
from django.utils.translation import gettext_lazy as _

from .filtersets import UnitRefField
from .models import Membership, Unit, User


class UnitForm(forms.Form):
    name = forms.CharField(label=_("name"), max_length=100)
    code = forms.CharField(label=_("code"), max_length=40)
    kind = forms.ChoiceField(label=_("kind"), choices=Unit.Kind.choices)
    population = forms.IntegerField(label=_("population"), min_value=0, max_value=2_000_000_000, required=False)


class UnitMoveForm(forms.Form):
    parent = UnitRefField(label=_("new parent unit"), queryset=Unit.objects.none())

    def __init__(self, *args, user=None, unit=None, **kwargs):
        super().__init__(*args, **kwargs)
        queryset = Unit.objects.visible_to(user).exclude(path__startswith=unit.path)
        allowed = [kind for kind in Unit.ALLOWED_PARENT_KINDS.get(unit.kind, set()) if kind]
        self.fields["parent"].queryset = queryset.filter(kind__in=allowed)


class MembershipForm(forms.Form):
    username = forms.CharField(label=_("username"), max_length=150)
    role = forms.ChoiceField(label=_("role"), choices=Membership.Role.choices)
    title = forms.CharField(label=_("job title"), max_length=64, required=False)

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise forms.ValidationError(_("No active user with this username."))
        self.cleaned_data["user"] = user
        return username


class ImportForm(forms.Form):
    file = forms.FileField(label=_("xlsx file"))


class BoundaryImportForm(forms.Form):
    file = forms.FileField(label=_("GeoJSON file"), help_text=_("A FeatureCollection (.geojson or .json), UTF-8."),
                           widget=forms.ClearableFileInput(attrs={"accept": ".geojson,.json,application/geo+json,application/json"}))


class ApiClientForm(forms.Form):
    name = forms.CharField(label=_("name"), max_length=100, help_text=_("The system that will use the key, e.g. 12345 hotline platform."))
    role = forms.ChoiceField(label=_("role"), choices=Membership.Role.choices)
    unit = forms.Field(label=_("unit"), help_text=_("unit id or code; the key sees this unit and everything below it"))
    expires_at = forms.DateTimeField(
        label=_("expires at"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"], help_text=_("optional"),
    )

    def __init__(self, *args, user=None, **kwargs):
        from .filtersets import UnitRefField

        super().__init__(*args, **kwargs)
        self.fields["unit"] = UnitRefField(
            label=_("unit"), queryset=Unit.objects.visible_to(user), help_text=self.fields["unit"].help_text
        )
