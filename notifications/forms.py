from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Event


class PreferencesForm(forms.Form):
    """One checkbox per event: receive it by email too (the inbox always gets it)."""

    def __init__(self, *args, current: dict[str, bool], **kwargs):
        super().__init__(*args, **kwargs)
        for event in Event:
            self.fields[event.value] = forms.BooleanField(label=event.label, required=False,
                                                          initial=current.get(event.value, True))


class WebhookSubscriptionForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https",
                         help_text=_("We POST JSON here, signed with the secret (see the documentation)."))
    events = forms.MultipleChoiceField(label=_("Events"), choices=Event.choices, required=False,
                                       widget=forms.CheckboxSelectMultiple,
                                       help_text=_("None ticked means every event."))
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)
