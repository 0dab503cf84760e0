"""Thin Celery tasks: they take ids and call one service."""

from __future__ import annotations

import datetime as dt

from celery import shared_task

from campaigns.models import Campaign


@shared_task(name="scores.compute_previous_month")
def compute_previous_month() -> int:
    """Beat, 02:00 on the 1st (Asia/Shanghai): the previous month's drafts."""
    from .services import scores_compute_previous_month

    return len(scores_compute_previous_month())


@shared_task(name="scores.recompute_month")
def recompute_month(*, campaign_id: int, month: str, actor_id: int | None = None) -> None:
    """Recompute one campaign's month (``month`` as YYYY-MM-DD)."""
    from campaigns.models import User

    from .services import scores_recompute

    actor = User.objects.get(pk=actor_id) if actor_id else None
    scores_recompute(actor=actor, campaign=Campaign.objects.get(pk=campaign_id), month=dt.date.fromisoformat(month))
