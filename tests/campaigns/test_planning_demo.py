from django.core.management import call_command
from django.db.models import Sum

from campaigns.models import Campaign, Indicator, IndicatorSystem, Point, WorkItem


def test_load_demo_builds_the_plans_once(db):
    call_command("load_demo", "--quiet")
    call_command("load_demo", "--quiet")
    system = IndicatorSystem.objects.get(is_sample=True)
    criteria = system.indicators.filter(level=Indicator.Level.CRITERION)
    assert system.indicators.filter(depth=1).count() == 7
    assert system.indicators.filter(level=Indicator.Level.ITEM).count() == 30
    assert 95 <= criteria.count() <= 110
    assert criteria.aggregate(total=Sum("points"))["total"] == 100
    assert "样例" in system.name
    assert Campaign.objects.filter(status=Campaign.Status.ACTIVE, indicator_system=system).count() == 1
    assert Point.objects.count() == 200 and WorkItem.objects.count() == 150
