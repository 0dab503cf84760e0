from __future__ import annotations

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from campaigns.filtersets import UnitRefField
from campaigns.models import Campaign, Membership, Point, PointType, Unit, User
from campaigns.scope import scope_paths
from inspections.models import Inspection

from .models import InspectionSchedule, PointDraw

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def assignable_inspectors(user):
    """Inspectors and supervisors in or above the user's scope (the service checks them against the area)."""
    roles = [Membership.Role.INSPECTOR, Membership.Role.SUPERVISOR]
    qs = User.objects.filter(is_active=True, memberships__active=True, memberships__role__in=roles)
    paths = scope_paths(user)
    if paths is not None:
        near, ancestors = Q(pk__in=[]), set()
        for path in paths:
            near |= Q(memberships__unit__path__startswith=path)
            ancestors.update(path[:i] for i in range(Unit.steplen, len(path) + 1, Unit.steplen))
        qs = qs.filter(near | Q(memberships__unit__path__in=sorted(ancestors)))
    return qs.distinct().order_by("username")


class DrawForm(forms.Form):
    campaign = forms.ModelChoiceField(queryset=Campaign.objects.all(), label=_("campaign"))
    title = forms.CharField(max_length=200, label=_("title"))
    area = UnitRefField(queryset=Unit.objects.none(), label=_("area (unit id or code)"),
                        help_text=_("Points are drawn under this unit, stratified by its next level (districts)."))
    mode = forms.ChoiceField(choices=PointDraw.Mode.choices, label=_("draw"), initial=PointDraw.Mode.SHARE)
    value = forms.DecimalField(max_digits=8, decimal_places=4, min_value=0, label=_("number or share"),
                               initial="0.1", help_text=_("e.g. 5 points per type, or 0.1 for one tenth of each type"))
    point_types = forms.ModelMultipleChoiceField(queryset=PointType.objects.all(), required=False,
                                                 label=_("point types"), help_text=_("None chosen: every type."))
    exclude_days = forms.IntegerField(min_value=0, max_value=366, required=False, initial=0,
                                      label=_("leave out points visited in the last … days"))
    starts_on = forms.DateField(widget=DATE, label=_("starts on"))
    ends_on = forms.DateField(widget=DATE, label=_("ends on"))
    inspectors = forms.ModelMultipleChoiceField(queryset=User.objects.none(), label=_("inspectors"))
    seed = forms.IntegerField(min_value=0, max_value=2 ** 63 - 1, required=False, label=_("random seed"),
                              help_text=_("Leave empty for a new draw; give an earlier seed to repeat it."))
    kind = forms.ChoiceField(choices=Inspection.Kind.choices, initial=Inspection.Kind.FIELD_EVALUATION,
                             label=_("kind"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = Unit.objects.visible_to(user).active()
        self.fields["inspectors"].queryset = assignable_inspectors(user)
        self.fields["campaign"].queryset = Campaign.objects.active()


class ScheduleForm(forms.ModelForm):
    unit = UnitRefField(queryset=Unit.objects.none(), label=_("area (unit id or code)"))
    weekdays = forms.TypedMultipleChoiceField(
        coerce=int, required=False, label=_("weekdays"), widget=forms.CheckboxSelectMultiple,
        choices=[(0, _("Monday")), (1, _("Tuesday")), (2, _("Wednesday")), (3, _("Thursday")), (4, _("Friday")),
                 (5, _("Saturday")), (6, _("Sunday"))],
        help_text=_("For weekly rules; none chosen: the first occurrence's weekday."))
    inspectors = forms.ModelMultipleChoiceField(queryset=User.objects.none(), required=False,
                                                label=_("inspectors"))
    points = forms.ModelMultipleChoiceField(queryset=Point.objects.none(), required=False, label=_("points"),
                                            help_text=_("Fixed stops of every round (optional)."))

    class Meta:
        model = InspectionSchedule
        fields = ["campaign", "title", "kind", "unit", "frequency", "interval", "weekdays", "starts_on", "until",
                  "duration_days", "lead_days", "inspectors", "points"]
        widgets = {"starts_on": DATE, "until": DATE}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = Unit.objects.visible_to(user).active()
        self.fields["inspectors"].queryset = assignable_inspectors(user)
        self.fields["points"].queryset = Point.objects.visible_to(user).filter(active=True).select_related("unit")
        self.fields["points"].label_from_instance = lambda p: f"{p.name} · {p.unit.name}"
        self.fields["interval"].widget.attrs.update(max=366)
        if self.instance.pk:
            del self.fields["campaign"]
