from django import forms
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign

from .models import Question, Survey


class SurveyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    name_en = forms.CharField(label=_("Name (English)"), max_length=200, required=False)
    intro = forms.CharField(label=_("Introduction"), widget=forms.Textarea(attrs={"rows": 2}), required=False,
                            max_length=2000)
    standard = forms.BooleanField(label=_("Start from the standard awareness/support/satisfaction questions"),
                                  required=False, initial=True)


class QuestionForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=Question.Kind.choices)
    text = forms.CharField(label=_("Question"), max_length=300)
    text_en = forms.CharField(label=_("Question (English)"), max_length=300, required=False)
    choices = forms.CharField(label=_("Choices (one per line: Chinese | English)"), widget=forms.Textarea(attrs={"rows": 3}),
                              required=False, max_length=2000)
    required = forms.BooleanField(label=_("Required"), required=False, initial=True)
    rate = forms.ChoiceField(label=_("Rate measured"), choices=[("", "—"), *Question.Rate.choices], required=False)
    check_answer = forms.CharField(label=_("Expected answer (makes it a check question)"), max_length=40,
                                   required=False)

    def clean_choices(self):
        out = []
        for i, line in enumerate(self.cleaned_data["choices"].splitlines(), start=1):
            if line.strip():
                zh, _sep, en = line.partition("|")
                out.append({"value": str(i), "zh": zh.strip(), "en": en.strip()})
        return out


class WaveForm(forms.Form):
    survey = forms.ModelChoiceField(queryset=Survey.objects.all(), label=_("Survey"))
    campaign = forms.ModelChoiceField(queryset=Campaign.objects.all(), label=_("Campaign"))
    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    starts_on = forms.DateField(label=_("Starts on"), widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(label=_("Ends on"), widget=forms.DateInput(attrs={"type": "date"}))
    unit_codes = forms.CharField(label=_("Units (codes, separated by commas)"), max_length=4000)
    quota = forms.IntegerField(label=_("Quota per unit"), min_value=1, max_value=100000, initial=100)


class VoidForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300)
