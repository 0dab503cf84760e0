"""Side effects of publishing a month, called after commit."""

from __future__ import annotations

import datetime as dt
import logging

from django.urls import reverse

logger = logging.getLogger(__name__)


def scores_published(campaign_id: int, month: dt.date, unit_ids: list[int], *, actor_id: int | None = None) -> None:
    """A campaign's month was published: tell the units (inbox, email and the
    ``score.published`` webhook) through the notifications app. A failure is
    logged and never undoes the publication."""
    from campaigns.models import User
    from notifications.services import notify_scores_published

    label = f"{month:%Y-%m}"
    logger.info("scores published campaign=%s month=%s units=%d", campaign_id, label, len(unit_ids))
    try:
        url = f"{reverse('scores:bulletin')}?campaign={campaign_id}&month={label}"
    except Exception:  # the page name is a convenience, not a condition
        url = ""
    try:
        actor = User.objects.filter(pk=actor_id).first() if actor_id else None
        notify_scores_published(campaign_id=campaign_id, month=label, unit_ids=unit_ids, url=url, actor=actor)
    except Exception:
        logger.exception("score.published notifications failed campaign=%s month=%s", campaign_id, label)
