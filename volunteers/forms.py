from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from campaigns.filtersets import UnitRefField
from campaigns.models import Unit
from civportal.forms import DateTimeInput

from .models import Activity, Team, Volunteer


class CommunityChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} ({obj.code})"


class SelfRegistrationForm(forms.Form):
    """A citizen applies; the community's handling clerk reviews the application."""

    name = forms.CharField(label=pgettext_lazy("person", "name"), max_length=50)
    phone = forms.CharField(label=_("mobile phone"), max_length=20)
    unit = CommunityChoiceField(
        label=_("community"), queryset=Unit.objects.filter(kind=Unit.Kind.COMMUNITY, active=True),
        error_messages={"required": _("Choose your community."), "invalid_choice": _("Choose your community.")},
    )
    gender = forms.ChoiceField(label=_("gender"), choices=[("", "—")] + Volunteer.Gender.choices, required=False)
    birth_year = forms.IntegerField(label=_("birth year"), min_value=1900, max_value=2100, required=False)
    skills = forms.CharField(label=_("skills"), max_length=200, required=False,
                             help_text=_("For example first aid, photography, sign language."))

    def clean_phone(self):
        """Checked here too, so every problem is reported at once (the service checks again)."""
        from django.core.exceptions import ValidationError

        from . import services

        phone = services.normalize_phone(self.cleaned_data["phone"])
        try:
            services.validate_phone(phone)
        except ValidationError as exc:
            raise forms.ValidationError(exc.message_dict["phone"]) from exc
        if services.phone_taken(phone):
            raise forms.ValidationError(_("This phone number is already registered as a volunteer."))
        return phone


class VolunteerForm(forms.Form):
    name = forms.CharField(label=pgettext_lazy("person", "name"), max_length=50)
    phone = forms.CharField(label=_("mobile phone"), max_length=20)
    unit = UnitRefField(label=_("community"), queryset=Unit.objects.none())
    id_number = forms.CharField(label=_("ID card number"), max_length=18, required=False)
    gender = forms.ChoiceField(label=_("gender"), choices=[("", "—")] + Volunteer.Gender.choices, required=False)
    birth_year = forms.IntegerField(label=_("birth year"), min_value=1900, max_value=2100, required=False)
    skills = forms.CharField(label=_("skills"), max_length=200, required=False)
    team = forms.ModelChoiceField(label=_("team"), queryset=Team.objects.none(), required=False)
    account = forms.CharField(label=_("login account (username)"), max_length=150, required=False,
                              help_text=_("Links an existing account, so the volunteer can sign up and scan QR codes."))

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = Unit.objects.visible_to(user).filter(kind=Unit.Kind.COMMUNITY, active=True)
        self.fields["team"].queryset = Team.objects.visible_to(user).filter(active=True)

    def clean_account(self):
        from campaigns.models import User

        username = self.cleaned_data["account"].strip()
        if not username:
            return None
        account = User.objects.filter(username=username, is_active=True).first()
        if account is None:
            raise forms.ValidationError(_("No active user with this username."))
        return account

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        data["user"] = data.pop("account")
        return data


class ReviewForm(forms.Form):
    approve = forms.TypedChoiceField(
        label=_("decision"), coerce=lambda value: value == "1",
        choices=[("1", _("approve")), ("0", _("refuse"))],
    )
    note = forms.CharField(label=_("note or reason"), max_length=200, required=False)


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_("new status"), choices=[
        (Volunteer.Status.ACTIVE, Volunteer.Status.ACTIVE.label),
        (Volunteer.Status.SUSPENDED, Volunteer.Status.SUSPENDED.label),
        (Volunteer.Status.LEFT, Volunteer.Status.LEFT.label),
    ])
    reason = forms.CharField(label=_("reason"), max_length=200, required=False)


class TeamForm(forms.Form):
    unit = UnitRefField(label=_("unit"), queryset=Unit.objects.none())
    name = forms.CharField(label=_("name"), max_length=100)
    description = forms.CharField(label=_("description"), widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = Unit.objects.visible_to(user).filter(active=True)


class ActivityForm(forms.Form):
    unit = UnitRefField(label=_("organising unit"), queryset=Unit.objects.none())
    team = forms.ModelChoiceField(label=_("organising team"), queryset=Team.objects.none(), required=False)
    title = forms.CharField(label=_("title"), max_length=100)
    category = forms.ChoiceField(label=_("category"), choices=Activity.Category.choices)
    address = forms.CharField(label=_("place or address"), max_length=200)
    starts_at = forms.DateTimeField(label=_("starts at"), widget=DateTimeInput(),
                                    input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"])
    ends_at = forms.DateTimeField(label=_("ends at"), widget=DateTimeInput(),
                                  input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"])
    capacity = forms.IntegerField(label=_("capacity"), min_value=1, max_value=10000)
    description = forms.CharField(label=_("description"), widget=forms.Textarea(attrs={"rows": 4}), required=False)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = Unit.objects.visible_to(user).filter(active=True)
        self.fields["team"].queryset = Team.objects.visible_to(user).filter(active=True)


class AddSignupForm(forms.Form):
    """The organiser signs up a volunteer of their units by phone number."""

    phone = forms.CharField(label=_("volunteer's mobile phone"), max_length=20)


class ApproveHoursForm(forms.Form):
    minutes = forms.IntegerField(label=_("minutes to approve"), min_value=0, max_value=24 * 60, required=False,
                                 help_text=_("Empty: the minutes from check-in and check-out."))


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("reason"), max_length=200)


class StatsForm(forms.Form):
    unit = UnitRefField(label=_("unit"), queryset=Unit.objects.none(), required=False)
    month = forms.CharField(label=_("month"), required=False, max_length=7,
                            widget=forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"}),
                            help_text=_("Empty: the current month."))

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = Unit.objects.visible_to(user).exclude(kind=Unit.Kind.GRID)

    def clean_month(self):
        """The month's first day (YYYY-MM), or None for the current month."""
        import datetime as dt

        value = self.cleaned_data.get("month", "").strip()
        if not value:
            return None
        try:
            return dt.date.fromisoformat(f"{value}-01")
        except ValueError:
            raise forms.ValidationError(_("Enter a month as YYYY-MM."), code="invalid")
