"""Side effects of publishing a month, called after commit."""

from __future__ import annotations

import datetime as dt
import logging

logger = logging.getLogger(__name__)


def scores_published(campaign_id: int, month: dt.date, unit_ids: list[int]) -> None:
    """A campaign's month was published: tell the units.

    TODO: call the notifications app's ``score.published`` emitter here (inbox,
    email and the ``score.published`` webhook to each unit in ``unit_ids``);
    the lead wires it when the notifications app lands. Until then this only
    logs."""
    logger.info("scores published campaign=%s month=%s units=%d", campaign_id, f"{month:%Y-%m}", len(unit_ids))
