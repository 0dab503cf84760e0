from importlib import import_module

from django.apps import apps as django_apps
from django.core.management import call_command
from django.db.models import Count, F

from campaigns.scope import _path_subquery, scoped_models

from campaigns.models import User
from inspections.models import Finding, FindingCategory, Inspection, RectificationTask, TaskEvent, Visit


def test_default_categories_are_seeded_in_groups(db):
    # The data migration's own step (inspections/migrations/0003), run again: it is idempotent, and a
    # transactional test that ran earlier in this process (in any order, on any xdist worker) may have
    # emptied the table the migration filled when the test database was created.
    import_module("inspections.migrations.0003_default_categories").seed(django_apps, None)
    assert FindingCategory.objects.values("code").annotate(n=Count("pk")).filter(n__gt=1).count() == 0
    groups = FindingCategory.objects.filter(group__isnull=True)
    assert {"环境卫生", "公共秩序", "市容建设", "基础设施", "公益宣传", "消防安全", "服务设施", "文明行为"} <= set(
        groups.values_list("name", flat=True))
    assert FindingCategory.objects.filter(group__isnull=False).count() >= 25
    assert FindingCategory.objects.filter(engineering=True).exists()


def test_load_demo_builds_the_loop_once_in_every_state_and_colour(db, client):
    call_command("load_demo", "--quiet")
    first = Finding.objects.count()
    call_command("load_demo", "--quiet")
    # 300 findings from the loop demo, plus the few the reminders demo adds; nothing twice.
    assert Inspection.objects.count() == 4 and Visit.objects.count() == 160
    assert Finding.objects.count() == first >= 300
    statuses = set(Finding.objects.values_list("status", flat=True))
    assert statuses == set(Finding.Status.values)
    tasks = RectificationTask.objects.with_light()
    assert set(tasks.values_list("status", flat=True)) == set(RectificationTask.Status.values)
    assert set(tasks.exclude(light="").values_list("light", flat=True)) == {"green", "yellow", "red"}
    assert set(tasks.values_list("supervision", flat=True)) == set(RectificationTask.Supervision.values)
    # Every task has its dispatch event, closed tasks their pass, reworks their fails.
    assert TaskEvent.objects.filter(action="dispatch").count() == tasks.count()
    assert TaskEvent.objects.filter(action="verify_pass").count() == tasks.filter(status="closed").count()
    reworks = sum(tasks.values_list("rework_count", flat=True))
    assert TaskEvent.objects.filter(action="verify_fail").count() == reworks > 0
    assert Finding.objects.filter(status="duplicate", duplicate_of__isnull=False).exists()
    assert Finding.history.filter(history_type="+").count() == first
    # The demo accounts see their part of it.
    handler = User.objects.get(username="handler_a")
    client.force_login(handler)
    assert len(client.get("/workbench/").context["page"]) > 0
    assert Finding.objects.visible_to(handler).count() < first
    assert Finding.objects.values("unit__path").annotate(n=Count("id")).count() > 10  # spread over the city
    # The bulk loaders (bulk_create, with or without history) fill every scope path column.
    for model in scoped_models():
        assert model._base_manager.exists(), model.__name__
        for column, lookup in model.SCOPE_PATHS.items():
            stale = model._base_manager.annotate(expected=_path_subquery(model, lookup)).exclude(**{column: F("expected")})
            assert not stale.exists(), (model.__name__, column)
