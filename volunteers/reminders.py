"""The day-before reminder for volunteers signed up to an activity: once
per sign-up (ReminderLog), to volunteers who have a login account (inbox +
email). Sent by the daily beat entry ``volunteer-activity-reminders``."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from notifications.models import Event
from notifications.services import Text, notify, reminder_claim

from .models import Signup
from .services import activity_reminders_due

LEVEL = "day_before"


def signup_remind(*, signup: Signup) -> bool:
    with transaction.atomic():
        if not reminder_claim(obj=signup, level=LEVEL):
            return False
        activity, user = signup.activity, signup.volunteer.user
        params = {"title": activity.title, "address": activity.address,
                  "start": timezone.localtime(activity.starts_at).strftime("%Y-%m-%d %H:%M")}
        notify(event=Event.ACTIVITY_REMINDER, recipients=[user], target=activity, unit=activity.unit,
               title=Text(_("Tomorrow: %(title)s"), params),
               body=Text(_("You signed up for “%(title)s”, starting %(start)s at %(address)s. Please check in on "
                           "site; if you cannot come, cancel your sign-up so someone else can take the place."),
                         params),
               url=reverse("volunteers:activity_detail", args=[activity.pk]),
               data={"activity_id": activity.pk, "signup_id": signup.pk, "starts_at": activity.starts_at.isoformat()})
    return True


def send_activity_reminders(now: dt.datetime | None = None) -> int:
    sent = 0
    for signup in activity_reminders_due(now or timezone.now()).filter(volunteer__user__isnull=False,
                                                                       volunteer__user__is_active=True):
        sent += signup_remind(signup=signup)
    return sent
