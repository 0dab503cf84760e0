"""Demo data: the default scheme and last month's draft for the demo campaign."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils import timezone


def load(*, admin, stdout=None, **_kwargs) -> None:
    from campaigns.models import Campaign

    from . import services
    from .models import ScoreMonth

    services.scheme_current()
    today = timezone.localdate()
    month = (today.replace(day=1) - timezone.timedelta(days=1)).replace(day=1)
    for campaign in Campaign.objects.active():
        if campaign.starts_on > today or campaign.ends_on < month:
            continue
        if ScoreMonth.objects.published().filter(campaign=campaign, month=month).exists():
            continue
        try:
            services.scores_recompute(actor=admin, campaign=campaign, month=month)
        except ValidationError:  # the month lies outside the campaign's period
            continue
        if stdout is not None:
            stdout.write(f"scores: {campaign} {month:%Y-%m} draft computed")
