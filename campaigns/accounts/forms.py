from django import forms
from django.contrib.auth.forms import PasswordResetForm
from django.utils.translation import gettext_lazy as _

from ..filtersets import UnitRefField
from ..models import ApiClient, Membership, Unit, User


class AccountForm(forms.Form):
    display_name = forms.CharField(label=_("Full name"), max_length=64)
    username = forms.CharField(label=_("Username"), max_length=150)
    phone = forms.CharField(label=_("Mobile"), max_length=32, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    unit = UnitRefField(label=_("Unit"), queryset=Unit.objects.none(), help_text=_("unit id or code"))
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices)
    title = forms.CharField(label=_("Job title"), max_length=64, required=False)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = Unit.objects.visible_to(user)


class AccountEditForm(forms.Form):
    display_name = forms.CharField(label=_("Full name"), max_length=64)
    phone = forms.CharField(label=_("Mobile"), max_length=32, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)


class RoleForm(forms.Form):
    unit = UnitRefField(label=_("Unit"), queryset=Unit.objects.none(), help_text=_("unit id or code"))
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices)
    title = forms.CharField(label=_("Job title"), max_length=64, required=False)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = Unit.objects.visible_to(user)


class StaffPasswordResetForm(PasswordResetForm):
    """Django's reset form, also for imported accounts that never had a
    password (they set their first one this way); never for API keys' service
    accounts. Unknown addresses get the same answer as known ones."""

    def get_users(self, email):
        return (
            User.objects.filter(email__iexact=email, is_active=True)
            .exclude(pk__in=ApiClient.objects.values("user_id"))
            .iterator()
        )


