import logging

from celery import shared_task
from django.utils import timezone

logger = logging.getLogger(__name__)


@shared_task(name="civportal.heartbeat")
def heartbeat() -> str:
    """Beat -> broker -> worker round trip; the log line shows both are alive."""
    now = timezone.now().isoformat()
    logger.info("heartbeat %s", now)
    return now
