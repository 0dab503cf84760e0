"""Findings recorded one at a time through the API before issue 14 could
have no campaign, which left their rectification out of the index. Give
each the campaign whose period holds the day it was recorded (Asia/Shanghai),
preferring an active campaign, then the one that started last. Findings
recorded outside every campaign's period stay as they are."""

import datetime as dt
from zoneinfo import ZoneInfo

from django.db import migrations

SHANGHAI = ZoneInfo("Asia/Shanghai")


def assign_campaigns(apps, schema_editor):
    Campaign = apps.get_model("campaigns", "Campaign")
    Finding = apps.get_model("inspections", "Finding")
    if not Finding.objects.filter(campaign__isnull=True).exists():
        return
    # Most preferred first: each update takes only findings still without a campaign.
    campaigns = sorted(Campaign.objects.all(), key=lambda c: (c.status != "active", -c.starts_on.toordinal(), -c.pk))
    for campaign in campaigns:  # a handful of campaigns: one UPDATE each
        start = dt.datetime.combine(campaign.starts_on, dt.time.min, tzinfo=SHANGHAI)
        end = dt.datetime.combine(campaign.ends_on + dt.timedelta(days=1), dt.time.min, tzinfo=SHANGHAI)
        Finding.objects.filter(campaign__isnull=True, created_at__gte=start, created_at__lt=end).update(
            campaign=campaign)


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0003_api_clients"),
        ("inspections", "0008_cursor_order_indexes"),
    ]

    operations = [migrations.RunPython(assign_campaigns, migrations.RunPython.noop, elidable=True)]
