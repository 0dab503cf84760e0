from django import forms
from django.utils.translation import gettext_lazy as _

from campaigns.filtersets import UnitRefField
from civportal.forms import MultipleFileField
from campaigns.models import Unit

from .models import Notice


class NoticeForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=Notice.Kind.choices)
    body = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 10}), required=False,
                           help_text=_("Markdown: **bold**, lists, links; HTML is shown as text."))
    target_root = UnitRefField(label=_("Send to the units of"), queryset=Unit.objects.none(),
                               help_text=_("unit id or code: the notice goes to the units below it"))
    target_kinds = forms.MultipleChoiceField(label=_("Only units of these kinds"), choices=Unit.Kind.choices,
                                             required=False, widget=forms.CheckboxSelectMultiple)
    pinned = forms.BooleanField(label=_("Pinned"), required=False)
    expires_at = forms.DateTimeField(label=_("Expires at"), required=False,
                                     widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    reply_required = forms.BooleanField(label=_("Reply required"), required=False)
    reply_due_at = forms.DateTimeField(label=_("Reply by"), required=False,
                                       widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    files = MultipleFileField(label=_("Attachments"), required=False)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target_root"].queryset = Unit.objects.visible_to(user)


class ReplyForm(forms.Form):
    text = forms.CharField(label=_("Reply"), widget=forms.Textarea(attrs={"rows": 4}))
    file = forms.FileField(label=_("Attachment"), required=False)
